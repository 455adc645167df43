"""One stage of a running job (docs/jobs.md#groupings): its tasks, made from the outputs of the stage before.

The stage before hands its outputs over with :meth:`StageRun.feed`, one batch per task done,
tagged with that task's position in its stage, and calls :meth:`StageRun.close` once it has
finished (all its tasks done and every earlier stage finished). The first stage gets the job's
inputs (the virtual ``input`` stage) as one closed batch, so it runs as a plain stage even if
flagged concurrent.

* A plain stage waits for ``close``, groups all the outputs (producers in position order) and
  creates one task per group, with a final input set.
* A concurrent stage places each batch as it arrives (:func:`disco.master.grouping.placements`):
  an output goes to the task of its group key, created on first use (``split``: one new task per
  entry); the first batch logs ``Stage <s> started concurrently``. Its tasks run while inputs
  still arrive (their INPUT replies say ``"more"``; ``close`` makes every input set final) but
  may only start while ``2 x running tasks of the stage < running tasks of the unfinished
  earlier stages`` (:meth:`StageRun.admit`).

A stage finishes once closed with all its tasks done: its results are saved and it closes the
next stage. Tasks are positioned by group key (``split``: producer position, entry), so the
results and outputs of a stage, in position order, are the same whether it ran concurrently or not.
"""
import time

from disco.master.grouping import group, placements
from disco.master.names import count
from disco.master.taskinputs import TaskInputs


class StageRun:
    """Stage ``stage`` (:class:`disco.master.jobspec.Stage`) of the job run by ``job`` (the
    :class:`disco.master.coordinator.Coordinator`: ``new_task``, ``start``, ``event``,
    ``stage_finished``), fed by ``upstream`` (a StageRun, or None for the first stage)."""

    def __init__(self, job, stage, upstream):
        self.job, self.stage, self.upstream = job, stage, upstream
        self.downstream = None
        if upstream is not None:
            upstream.downstream = self
        self.concurrent = stage.concurrent and upstream is not None
        self.batches = []      # (position, outputs) fed to a plain stage
        self.groups = {}       # group key -> Task (a concurrent stage but split)
        self.tasks = []
        self.done = []         # (position, outputs) of tasks done
        self.closed = self.finished = False
        self.started = None

    def feed(self, position, outputs):
        """Take the ``outputs`` of the producer at ``position``."""
        if not self.concurrent:
            self.batches.append((position, outputs))
            return
        if self.started is None:
            self.started = time.time()
            self.job.event("Stage %s started concurrently" % self.stage.name)
        placed = [p for o in outputs for p in placements(self.stage.grouping, o)]
        for entry, (key, inp) in enumerate(placed):
            if self.stage.grouping == "split":
                self._add_task((position, entry), key, [inp])
            elif key in self.groups:
                self.groups[key].inputs.add([inp])
            else:
                self.groups[key] = self._add_task(key, key, [inp])

    def close(self):
        """The producers have finished: make the task set and every input set final."""
        self.closed = True
        if self.started is None:
            self.started = time.time()
        if self.concurrent:
            for task in self.tasks:
                task.inputs.close()
        else:
            outputs = [o for _position, batch in sorted(self.batches, key=_position) for o in batch]
            for position, (key, inputs) in enumerate(group(self.stage.grouping, outputs)):
                self._add_task(position, key, inputs)
        self.job.event("Stage %s scheduled with %s" % (self.stage.name, count(len(self.tasks), "task")))
        self._finish_if_done()

    def admit(self, running):
        """May a task of this stage start, given the job's running tasks per stage?"""
        earlier = []
        stage = self.upstream
        while stage is not None:
            if not stage.finished:
                earlier.append(running.get(stage.stage.name, 0))
            stage = stage.upstream
        return not earlier or 2 * running.get(self.stage.name, 0) < sum(earlier)

    def outputs(self):
        """The outputs of the tasks done, in position order."""
        return [o for _position, outputs in sorted(self.done, key=_position) for o in outputs]

    def _add_task(self, position, key, inputs):
        task = self.job.new_task(self.stage, key, TaskInputs(inputs, final=not self.concurrent),
                                 self.admit if self.concurrent else None)
        self.tasks.append(task)
        self.job.start(self, task, lambda outputs: self._task_done(position, outputs))
        return task

    def _task_done(self, position, outputs):
        self.done.append((position, outputs))
        if self.downstream is not None:
            self.downstream.feed(position, outputs)
        self._finish_if_done()

    def replace_outputs(self, old, new):
        """A task done ran again: its outputs ``old`` are ``new`` now (here and in the batches
        the next stage has not grouped yet)."""
        self.done = [(position, new if outputs is old else outputs) for position, outputs in self.done]
        if self.downstream is not None:
            self.downstream.batches = [(position, new if outputs is old else outputs)
                                       for position, outputs in self.downstream.batches]
        if self.finished:
            self.job.stage_finished(self.stage.name, self.outputs(), None)

    def _finish_if_done(self):
        if self.finished or not self.closed or len(self.done) < len(self.tasks):
            return
        self.finished = True
        self.job.stage_finished(self.stage.name, self.outputs(), time.time() - self.started)
        if self.downstream is not None:
            self.downstream.close()


def _position(item):
    return item[0]

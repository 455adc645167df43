"""The job coordinator: runs one job from its inputs to its results (docs/master.md#stages-and-tasks,
docs/master.md#failures-and-retries, docs/master.md#saving-results).

The job's inputs become the outputs of the virtual ``input`` stage (index inputs are read to
learn their labels). The stages are chained :class:`disco.master.stages.StageRun` objects: each
groups the previous stage's outputs into tasks (task ids numbered across the job) -- once the
previous stage has finished, or, for a stage flagged ``concurrent``, as each producer task is done
-- and records its results when it finishes. All task attempts of the job run in one task group,
so a failure or a kill cancels them all; each attempt is recorded in :attr:`Coordinator.attempts`
(:mod:`disco.master.attempts`). The job results are the output URL lists of the last
stage (the inputs for an empty pipeline); with ``save_results`` they are saved in DDFS and the
results are ``["tag://disco:results:<job>"]``.

A finished task's index output that a later task cannot read (its node died, its file went
missing) is re-created: the producer runs again (:meth:`Coordinator.recover`), the consumers'
inputs point to its new output, and a consumer that failed for want of it is retried as soon as it
is there, without counting a failure. A producer re-run more than ``max_failure_rate`` times kills
the job.

A task that fails recoverably for the n-th time is retried after ``min(n, 60) + random(0..min(n,
30))`` times ``retry_base`` seconds (``DISCO_RETRY_BASE``, default 1), avoiding the nodes where it
failed: the spread grows with the failures, reaching the original Disco's 30 from the 30th on
(Disco 0.5 waits ``n + random(0..30)`` seconds on paper, but its unseeded Erlang random made it a
constant 13.3 s; 1-2 s for a first failure retries sooner). More than ``max_failure_rate``
failures, or one fatal failure, kill the job.
"""
import asyncio
import logging
import os
import random
import time
from dataclasses import dataclass

from disco.master import attempts
from disco.master.ddfs.errors import DDFSError
from disco.master.jobinputs import InputError, job_outputs
from disco.master.model import Task
from disco.master.outputs import DirOutput, url_host
from disco.master.names import duration
from disco.master.stages import StageRun

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """The job must end as ``dead``; ``str`` is the reason."""


@dataclass
class Services:
    """What a coordinator uses: ``registry``, ``events``, ``scheduler``, ``host`` (the worker host),
    ``cluster`` (runtime settings and node counters), the ``data_roots`` and HTTP ``port`` used to
    read index inputs, ``retry_base`` (seconds) and ``ddfs`` (the master's DDFS, for
    ``save_results``)."""

    registry: object
    events: object
    scheduler: object
    host: object
    cluster: object
    data_roots: dict
    port: int
    retry_base: float
    ddfs: object = None


class Coordinator:
    """Runs the job ``job`` (:class:`disco.master.model.JobRun`) of :class:`JobSpec` ``spec``."""

    def __init__(self, job, spec, services):
        self.job, self.spec, self.s = job, spec, services
        self.next_taskid = 0
        self._runs = None    # the task group of the job's task attempts
        self.made_by = {}    # URL of an index output -> (producer Task, its StageRun)
        self.outputs_of = {} # Task done -> its outputs
        self.rerunning = {}  # producer Task -> future done once its outputs are re-created
        self.attempts = attempts.JobAttempts(attempts.path(os.path.dirname(job.jobfile)), job.started)

    def event(self, message, host="master"):
        self.s.events.add(self.job.name, message, host)

    async def run(self):
        """Run the job and record how it ended (``ready`` with results, or ``dead``). Cancelling
        it kills its running workers; the canceller records the job's end."""
        self.event("New job initialized!")
        try:
            outputs = await job_outputs(self.spec.inputs, self.s.data_roots, self.s.port)
            self.s.registry.save_stage_results(self.job.name, "input", [o.result for o in outputs])
            if self.spec.pipeline:
                outputs = await self._run_pipeline(outputs)
            results = [o.result for o in outputs]
            if self.spec.jobdict.get("save_results"):
                results = await self.s.ddfs.save_results(self.job.name, outputs, self.s.data_roots,
                                                         self.s.port)
        except Exception as error:      # a plain exception, or the task group's ExceptionGroup
            if not all(isinstance(leaf, (JobFailed, InputError, DDFSError)) for leaf in _leaves(error)):
                log.error("job %s: internal exception", self.job.name, exc_info=error)
            self._end("dead", _failure_message(error))
        else:
            self._end("ready", "READY: Job done in %s" % duration(time.time() - self.job.started), results)

    def _end(self, status, message, results=()):
        record = self.s.registry.job(self.job.name)
        if record is None or record.status != "active":
            return      # killed meanwhile: the killer recorded the end (exactly one end event)
        self.s.registry.finish_job(self.job.name, status, results)
        self.event(message)

    async def _run_pipeline(self, outputs):
        """Run every stage on the job's input ``outputs``; return the last stage's outputs."""
        stages = []
        for spec in self.spec.pipeline:
            stages.append(StageRun(self, spec, stages[-1] if stages else None))
        async with asyncio.TaskGroup() as self._runs:
            stages[0].feed(0, outputs)
            stages[0].close()
        return stages[-1].outputs()

    def new_task(self, stage, key, inputs, admit):
        """A new task of ``stage`` for group ``key`` with ``inputs``, registered."""
        task = Task(self.job, self.next_taskid, stage.name, stage.grouping, key, inputs, admit=admit)
        self.s.registry.add_task(self.job.name, self.next_taskid, stage.name)
        self.next_taskid += 1
        return task

    def start(self, stage, task, done):
        """Run ``task`` of ``stage`` in the job's task group; call ``done(outputs)`` when done."""
        task.inputs.recover = self.recover
        async def run():
            outputs = await self._run_task(task)
            self._produced(stage, task, outputs)
            done(outputs)
        self._runs.create_task(run())

    def _produced(self, stage, task, outputs):
        self.outputs_of[task] = outputs
        for output in _index_outputs(outputs):
            self.made_by[output.url] = (task, stage)

    def recover(self, urls):
        """The input at ``urls`` cannot be read: if a task of this job made it, run that task
        again; return a future done once its new output is in place (None: not ours)."""
        made = next((self.made_by[u] for u in urls if u in self.made_by), None)
        if made is None:
            return None
        task, stage = made
        future = self.rerunning.get(task)
        if future is None:
            future = self.rerunning[task] = asyncio.get_running_loop().create_future()
            self._runs.create_task(self._rerun(stage, task, future))
            lost = set(urls)
            for consumer in stage.downstream.tasks if stage.downstream is not None else ():
                if any(lost.intersection(inp.urls) for inp in consumer.inputs.inputs):
                    consumer.inputs.pending.add(future)
        return future

    def node_lost(self, node):
        """``node`` left: re-create the outputs of this job's tasks that lived there and are
        still needed (the next stage has not finished, or they are the job's results)."""
        if self._runs is None:
            return
        for url, (_task, stage) in list(self.made_by.items()):
            needed = stage.downstream is None or not stage.downstream.finished
            if needed and url_host(url) == node:
                self.recover([url])

    async def _rerun(self, stage, task, future):
        task.reruns += 1
        if task.reruns > self.s.cluster.max_failure_rate:
            raise JobFailed("The output of task %s was lost %d times" % (task.name, task.reruns))
        self.event("Output of %s lost: running it again" % task.name)
        old = self.outputs_of.pop(task)
        new = await self._run_task(task)
        lost = _index_outputs(old)
        for output in lost:
            self.made_by.pop(output.url, None)
        self._produced(stage, task, new)
        for before, after in zip(lost, _index_outputs(new)):
            for consumer in stage.downstream.tasks if stage.downstream is not None else ():
                consumer.inputs.replace(before.url, after.url)
        stage.replace_outputs(old, new)
        del self.rerunning[task]
        future.set_result(None)

    def stage_finished(self, name, outputs, seconds):
        """Record the results of stage ``name`` (its ``outputs``, done in ``seconds``; None when
        they changed after it finished)."""
        self.s.registry.save_stage_results(self.job.name, name, [o.result for o in outputs])
        if seconds is None:
            return
        self.event("Stage %s finished in %s" % (name, duration(seconds)))
        self.s.scheduler.wake()     # concurrent stages after it may start tasks now

    async def _run_task(self, task):
        """Run ``task`` until it is done (return its outputs) or kills the job (raise JobFailed)."""
        registry, name = self.s.registry, self.job.name
        while True:
            if task.inputs.pending:
                await task.inputs.recovered()
            node = await self.s.scheduler.acquire(task)
            task.runs += 1
            registry.set_task(name, task.taskid, "running", node)
            self.event("%s assigned to %s" % (task.name, node))
            attempt = self.attempts.start(task, node)
            try:
                outcome = await self.s.host.run(task, node)
            except BaseException:
                self.attempts.end(attempt, "killed")
                raise
            finally:
                self.s.scheduler.release(task, node)
            self.attempts.end(attempt, outcome.kind, bool(task.inputs.pending))
            self.s.cluster.count(node, outcome.kind)
            if outcome.kind == "done":
                registry.set_task(name, task.taskid, "done")
                return outcome.outputs
            if outcome.kind == "error" and task.inputs.pending:
                registry.set_task(name, task.taskid, "waiting")
                self.event("%s waits for its lost inputs to be re-created" % task.name)
                await task.inputs.recovered()
                continue
            registry.task_failed(name, task.taskid)
            if outcome.kind == "fatal":
                self.event("FATAL: [%s] %s" % (task.name, outcome.message), node)
                raise JobFailed("Task %s failed: %s" % (task.name, outcome.message))
            await self._after_failure(task, node, outcome.message)

    async def _after_failure(self, task, node, message):
        task.failures += 1
        task.failed_hosts.add(node)
        self.event("WARNING: [%s] %s" % (task.name, message), node)
        allowed = self.s.cluster.max_failure_rate
        if task.failures > allowed:
            raise JobFailed("Task %s failed %d times. At most %d failures are allowed."
                            % (task.name, task.failures, allowed))
        base = self.s.retry_base
        n = task.failures
        delay = min(n, 60) * base + random.uniform(0, min(n, 30) * base)
        self.event("Task %s failed on %s (%d failure%s so far); retrying in %.3g s"
                   % (task.name, node, n, "" if n == 1 else "s", delay))
        await asyncio.sleep(delay)


def _index_outputs(outputs):
    """The index (dir) outputs of a task's ``outputs``: the ones on a node, which can be lost."""
    return [o for o in outputs if isinstance(o, DirOutput)]


def _leaves(error):
    """The exceptions inside ``error``, nested exception groups flattened."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _failure_message(error):
    """The one event that ends a failed job: the first failure by kind (DDFS, then a task or an
    input failure), else the first internal exception."""
    leaves = _leaves(error)
    for kinds, text in ((DDFSError, "saving the results in DDFS failed: %s"),
                        ((JobFailed, InputError), "%s")):
        for leaf in leaves:
            if isinstance(leaf, kinds):
                return "ERROR: Job killed: " + text % leaf
    return "ERROR: Job killed due to an internal exception: %r" % leaves[0]

"""The job coordinator: runs one job from its inputs to its results (SPEC §2.14, §6.2, §6.4).

The job's inputs become the outputs of the virtual ``input`` stage (index inputs are read to
learn their labels). Each stage then groups the previous stage's outputs, creates one task per
group (task ids numbered across the job), runs them all and records the stage results. The job
results are the output URL lists of the last stage (the inputs for an empty pipeline); with
``save_results`` they are saved in DDFS and the results are ``["tag://disco:results:<job>"]``.

Stages run one after the other: a stage flagged ``concurrent`` waits for the previous stage like
any other (same results, less overlap).

A task that fails recoverably is retried after ``min(n, 60) + random(0..30)`` times
``retry_base`` seconds (``DISCO_RETRY_BASE``, default 1) avoiding the nodes where it failed; more
than ``max_failure_rate`` failures, or one fatal failure, kill the job.
"""
import asyncio
import random
import time
from dataclasses import dataclass

from disco.master.ddfs.errors import DDFSError
from disco.master.grouping import group
from disco.master.jobinputs import InputError, job_outputs
from disco.master.model import Task
from disco.master.names import duration, ordinal
from disco.master.taskinputs import TaskInputs


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

    def event(self, message, host="master"):
        self.s.events.add(self.job.name, message, host)

    async def run(self):
        """Run the job and record how it ended (``ready`` with results, or ``dead``). Cancelling
        it kills its running workers; the canceller records the job's end."""
        self.event("New job initialized!")
        try:
            outputs = await job_outputs(self.spec.inputs, self.s.data_roots, self.s.port)
            self.s.registry.save_stage_results(self.job.name, "input", [o.result for o in outputs])
            for stage in self.spec.pipeline:
                outputs = await self._run_stage(stage, outputs)
            results = [o.result for o in outputs]
            if self.spec.jobdict.get("save_results"):
                results = await self.s.ddfs.save_results(self.job.name, outputs, self.s.data_roots,
                                                         self.s.port)
        except* DDFSError as failures:
            self._end("dead", "ERROR: Job killed: saving the results in DDFS failed: %s"
                      % failures.exceptions[0])
        except* (JobFailed, InputError) as failures:
            self._end("dead", "ERROR: Job killed: %s" % failures.exceptions[0])
        except* Exception as errors:
            self._end("dead", "ERROR: Job killed due to an internal exception: %r" % errors.exceptions[0])
        else:
            self._end("ready", "READY: Job done in %s" % duration(time.time() - self.job.started), results)

    def _end(self, status, message, results=()):
        self.s.registry.finish_job(self.job.name, status, results)
        self.event(message)

    async def _run_stage(self, stage, outputs):
        tasks = []
        for key, inputs in group(stage.grouping, outputs):
            tasks.append(Task(self.job, self.next_taskid, stage.name, stage.grouping, key,
                              TaskInputs(inputs)))
            self.s.registry.add_task(self.job.name, self.next_taskid, stage.name)
            self.next_taskid += 1
        self.event("Stage %s scheduled with %d tasks" % (stage.name, len(tasks)))
        started = time.time()
        async with asyncio.TaskGroup() as runs:
            results = [runs.create_task(self._run_task(task)) for task in tasks]
        outputs = [o for r in results for o in r.result()]
        self.s.registry.save_stage_results(self.job.name, stage.name, [o.result for o in outputs])
        self.event("Stage %s finished in %s" % (stage.name, duration(time.time() - started)))
        return outputs

    async def _run_task(self, task):
        """Run ``task`` until it is done (return its outputs) or kills the job (raise JobFailed)."""
        registry, name = self.s.registry, self.job.name
        while True:
            node = await self.s.scheduler.acquire(task)
            task.runs += 1
            registry.set_task(name, task.taskid, "running", node)
            self.event("%s assigned to %s" % (task.name, node))
            try:
                outcome = await self.s.host.run(task, node)
            finally:
                self.s.scheduler.release(task, node)
            self.s.cluster.count(node, outcome.kind)
            if outcome.kind == "done":
                registry.set_task(name, task.taskid, "done")
                return outcome.outputs
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
        delay = min(task.failures, 60) * base + random.uniform(0, 30 * base)
        self.event("Task %s failed on %s, %s failures so far. Sleeping %.3g seconds before retrying."
                   % (task.name, node, ordinal(task.failures), delay))
        await asyncio.sleep(delay)

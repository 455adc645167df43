"""Jobs as clients see them: submit, kill, clean, purge, results (long poll), jobinfo, joblist.

A job pack is uploaded to a file ``DISCO_MASTER_ROOT/.uploads/<n>`` (never held in memory); once
its header, jobdict and jobenvs are valid the job gets a unique name and the file is renamed to
``DISCO_MASTER_ROOT/<HH>/<job>/jobfile`` beside its event log, it is recorded ``active`` in
the registry and a :class:`~disco.master.coordinator.Coordinator` runs it. Only jobs known to the
registry are ever touched on disk, so a job name never becomes a path outside the master root.
"""
import asyncio
import os
import shutil
import time

from disco.master import attempts, jobspec
from disco.master.coordinator import Coordinator
from disco.master.model import JobRun
from disco.master.names import JobNamer, job_dir, timestamp

UPLOADS = ".uploads"


class Jobs:
    """The master's jobs; ``services`` is the coordinators' :class:`~disco.master.coordinator.Services`."""

    def __init__(self, master_root, services, backend, nodes):
        self.master_root = master_root
        self.s = services
        self.backend = backend
        self.nodes = nodes              # callable: the configured node names
        self.namer = JobNamer()
        self._uploads = 0
        shutil.rmtree(os.path.join(master_root, UPLOADS), ignore_errors=True)   # a crash's leftovers
        self.running = {}               # job name -> (its Coordinator, the asyncio.Task running it)
        self._changed = asyncio.Event()
        for name in self.s.registry.dead_on_restart():
            if os.path.isdir(self.dir(name)):
                self.s.events.add(name, "ERROR: Job killed: the master stopped while it was active")

    def dir(self, name):
        return job_dir(self.master_root, name)

    def path(self, name, filename):
        """``<job dir>/<filename>`` of a known job, else None."""
        return os.path.join(self.dir(name), filename) if self.s.registry.job(name) else None

    def new_upload(self):
        """A fresh path to upload a job pack to (then :meth:`submit` it or :meth:`discard` it)."""
        uploads = os.path.join(self.master_root, UPLOADS)
        os.makedirs(uploads, exist_ok=True)
        self._uploads += 1
        return os.path.join(uploads, "%d-%d" % (os.getpid(), self._uploads))

    @staticmethod
    def discard(upload):
        try:
            os.unlink(upload)
        except FileNotFoundError:
            pass

    async def submit(self, upload):
        """Validate and start the job pack in the file ``upload`` (from :meth:`new_upload`; it
        becomes the job's jobfile, or is deleted); return the job name. Raises
        :class:`disco.master.jobspec.SubmitError`."""
        try:
            spec = await asyncio.to_thread(jobspec.parse_file, upload)
        except BaseException:
            self.discard(upload)
            raise
        name = self.namer(spec.prefix)
        while os.path.exists(self.dir(name)):
            name = self.namer(spec.prefix)
        os.makedirs(self.dir(name))
        jobfile = os.path.join(self.dir(name), "jobfile")
        os.replace(upload, jobfile)
        job = JobRun(name, jobfile, spec.worker, spec.jobenvs, spec.max_cores, time.time())
        self.s.registry.add_job(name, spec.owner, spec.worker, job.started,
                                [[s.name, s.grouping, s.concurrent] for s in spec.pipeline],
                                [url for _label, _size, urls in spec.inputs for url in urls])
        run = Coordinator(job, spec, self.s)
        coordinator = asyncio.create_task(run.run())
        self.running[name] = (run, coordinator)
        coordinator.add_done_callback(lambda _task: self._ended(name))
        return name

    def node_lost(self, node):
        """Tell the active jobs that ``node`` left (their outputs there are lost)."""
        for run, _task in self.running.values():
            run.node_lost(node)

    def _ended(self, name):
        run, _task = self.running.pop(name, (None, None))
        if run is not None:
            run.attempts.close()
        self._changed.set()
        self._changed = asyncio.Event()

    async def kill(self, name, message="WARN: Job killed"):
        """Kill an active job: it becomes ``dead`` and its workers are killed before this returns."""
        _run, coordinator = self.running.get(name, (None, None))
        if coordinator is None or coordinator.done():
            return
        self.s.registry.finish_job(name, "dead")
        self.s.events.add(name, message)
        coordinator.cancel()
        await asyncio.wait([coordinator])

    async def clean(self, name):
        """Kill the job and forget it: its master directory and records are deleted."""
        if self.s.registry.job(name) is None:
            return
        await self.kill(name)
        self.s.registry.delete_job(name)
        self.s.events.forget(name)
        await asyncio.to_thread(shutil.rmtree, self.dir(name), True)

    async def purge(self, name):
        """Clean the job and delete its data on every configured node and its OOB tag."""
        if self.s.registry.job(name) is None:
            return
        await self.clean(name)
        for node in self.nodes():
            await self.backend.remove_job_data(node, name)
        if self.s.ddfs is not None:
            await self.s.ddfs.delete_oob(name)

    async def shutdown(self):
        """Kill every active job (the master is stopping)."""
        for name in list(self.running):
            await self.kill(name, "WARN: Job killed: the master is stopping")

    def status(self, name):
        """``[status, results]``: ``ready`` with results, ``active``, ``dead`` or ``unknown job``."""
        record = self.s.registry.job(name)
        if record is None:
            return ["unknown job", []]
        return [record.status, record.results if record.status == "ready" else []]

    async def results(self, timeout_ms, names):
        """``[[name, [status, results]], ...]`` once one of the listed active jobs has ended or
        ``timeout_ms`` has passed (at once when none is active)."""
        active = {n for n in names if self.status(n)[0] == "active"}
        deadline = time.monotonic() + timeout_ms / 1000
        while active and all(self.status(n)[0] == "active" for n in active):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                break
        return [[n, self.status(n)] for n in names]

    def joblist(self, times=False):
        """``[[start, status, name], ...]``, newest first; with ``times`` each row goes on with
        when the job ended (None while it runs) and its duration in seconds (so far)."""
        records = self.s.registry.jobs()
        if not times:
            return [[int(r.started), r.status, r.name] for r in records]
        ends, now = self.s.registry.job_ends(), time.time()
        return [[int(r.started), r.status, r.name, ends.get(r.name),
                 round((ends.get(r.name) or now) - r.started, 3)] for r in records]

    async def attempts(self, name, since):
        """The attempts reply of docs/http-api.md#reply-shapes for the attempts that ended
        since the ``since``-th, or None for an unknown job."""
        record = self.s.registry.job(name)
        if record is None:
            return None
        run = self.running.get(name, (None,))[0]
        if run is not None:
            ended, running, count, following = run.attempts.reply(since)
        else:
            running = []
            ended, count, following = await asyncio.to_thread(
                attempts.read, attempts.path(self.dir(name)), since)
        end = self.s.registry.ended(name)
        return {"started": record.started, "now": round((end or time.time()) - record.started, 3),
                "active": record.status, "live": run is not None, "count": count,
                "next": following, "attempts": ended, "running": running}

    def jobinfo(self, name):
        """The jobinfo object of docs/http-api.md#reply-shapes, or None for an unknown job."""
        record = self.s.registry.job(name)
        if record is None:
            return None
        counts = self.s.registry.stage_counts(name)
        run = self.running.get(name, (None,))[0]
        capped = run is not None and self.s.scheduler.capped(name, run.job.max_cores)
        stages = []
        for stage, _grouping, _concurrent in record.pipeline:
            known, running, done, failed = counts.get(stage, (0, 0, 0, 0))
            waiting = known - running - done if record.status == "active" else 0   # a dead job waits for nothing
            stages.append([stage, waiting if capped else 0, waiting, running, done, failed])
        ended = self.s.registry.ended(name)
        return {"timestamp": timestamp(record.started), "ended": timestamp(ended) if ended else "",
                "duration": round((ended or time.time()) - record.started, 3),
                "tasks": self.s.registry.unfinished_tasks(name),
                "active": record.status, "pipeline": stages,
                "results": [url for result in record.results
                            for url in ([result] if isinstance(result, str) else result)],
                "inputs": record.inputs, "worker": record.worker,
                "hosts": self.s.registry.running_hosts(name), "owner": record.owner}

    def events(self, name, num, query=""):
        """The last ``num`` events of a known job matching ``query``, newest first (see
        :meth:`disco.master.events.EventLog.tail`); none for an unknown job."""
        return self.s.events.tail(name, num, query) if self.s.registry.job(name) else []

    def stage_results(self, name, stage):
        """The results of a finished stage, or None (unknown job or stage not finished)."""
        return self.s.registry.stage_results(name, stage)

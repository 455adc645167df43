"""disco.job -- Disco jobs (``Job``, ``SimpleJob``, ``JobChain``); the job pack classes of
:mod:`disco.jobpack` are re-exported here (their Disco 0.5 home).
"""
import functools
import time

from disco.core import Disco
from disco.error import DiscoError, JobError
from disco.jobpack import (JOBPACK_VERSION1, JOBPACK_VERSION2, JobPack, JobPackError,  # noqa: F401
                           PackedJobPack)
from disco.settings import DiscoSettings
from disco.task import jobdata
from disco.util import iterify

__all__ = ["Job", "SimpleJob", "JobChain", "JobPack", "PackedJobPack", "JobPackError",
           "JOBPACK_VERSION1", "JOBPACK_VERSION2"]


# -- jobs -----------------------------------------------------------------------------------------

class Job(object):
    """A Disco job: ``Job(name=None, master=None, worker=None, settings=None)``.

    ``name`` (default: the class name) is the prefix of the unique name the master assigns on
    ``run``; ``master`` a URL or a ``disco.core.Disco``; ``worker`` default ``self.Worker()``.
    The methods of ``Disco`` named in ``proxy_functions`` are available with the job's name
    filled in (``job.wait()`` is ``disco.wait(job.name)``). Any worker parameter may be a class
    attribute of a Job subclass.
    """

    from disco.worker.classic.worker import Worker

    proxy_functions = ("clean", "events", "kill", "jobinfo", "jobpack", "oob_get", "oob_list",
                       "profile_stats", "purge", "results", "stageresults", "wait")

    def __init__(self, name=None, master=None, worker=None, settings=None):
        self.name = name or type(self).__name__
        self.settings = settings or DiscoSettings()
        self.worker = worker or self.Worker()
        self.disco = master if isinstance(master, Disco) else Disco(master, settings=self.settings)

    @property
    def master(self):
        return self.disco.master

    def __getattr__(self, attr):
        if attr in type(self).proxy_functions:
            return functools.partial(getattr(self.disco, attr), self.name)
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, attr))

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)

    def wait(self, *args, **kwargs):
        """The job's results once it is ready (``Disco.wait``); an inline job's at once."""
        inline = self.__dict__.get("_inline_results")
        if inline is not None:
            return inline
        return self.disco.wait(self.name, *args, **kwargs)

    def run(self, inline=False, **jobargs):
        """Build the job pack with the worker (``jobdict``, ``jobenvs``, ``jobhome``) and
        ``disco.task.jobdata(self, jobargs)``, submit it and take the master's unique name.
        Returns the job; JobError if the pack cannot be built or the master refuses it.
        ``inline=True`` runs the job in this process instead, for debugging (``disco.inline``):
        ``wait()`` then returns its results at once."""
        if inline:
            from disco.inline import run_inline
            self._inline_results = run_inline(self, jobargs)
            return self
        worker = self.worker
        try:
            jobpack = JobPack(worker.jobpack_version, worker.jobdict(self, **jobargs),
                              worker.jobenvs(self, **jobargs), worker.jobhome(self, **jobargs),
                              jobdata(self, jobargs))
            self.name = self.disco.submit(jobpack.dumps())
        except DiscoError as e:
            raise JobError(self, str(e)) from e
        return self


class SimpleJob(Job):
    """A Job run by ``disco.worker.simple.Worker``."""

    from disco.worker.simple import Worker


class JobChain(dict):
    """Jobs mapped to their inputs: a list of URLs, a Job (its results), or a list mixing both.
    ``wait()`` runs each job as soon as the jobs it reads from are ready."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = set()

    def wait(self, poll_interval=1):
        """Walk the chain until every job is ready; returns the chain. JobError if a job dies."""
        while self.walk() != "ready":
            time.sleep(poll_interval)
        return self

    def walk(self):
        """One step: start the jobs whose job inputs are all ready; ``'ready'`` when every job
        is, else ``'active'``. JobError for a job that is neither active nor ready."""
        statuses = {job: self._status(job) for job in self}
        for job, status in statuses.items():
            if status == "unknown job" and job not in self.started:
                if all((statuses[j] if j in statuses else self._status(j)) == "ready"
                       for j in self._jobs(job)):
                    job.run(input=self.inputs(job))
                    self.started.add(job)
            elif status not in ("active", "ready"):
                raise JobError(job, "Status %s" % status)
        return "ready" if all(s == "ready" for s in statuses.values()) else "active"

    def _status(self, job):
        if job in self and job not in self.started:
            return "unknown job"
        return job.results(timeout=0)[0]

    def _jobs(self, job):
        return [i for i in iterify(self[job]) if isinstance(i, Job)]

    def inputs(self, job):
        """The input list of ``job``: URLs as given, Jobs replaced by their results."""
        inputs = []
        for input in iterify(self[job]):
            inputs.extend(input.results(timeout=0)[1] if isinstance(input, Job) else [input])
        return inputs

    def purge(self):
        """Purge every job of the chain that was started."""
        for job in self.started:
            job.purge()

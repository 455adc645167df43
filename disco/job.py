"""disco.job -- Disco jobs (``Job``, ``SimpleJob``, ``JobChain``) and the job pack.

The job pack is the binary a client POSTs to the master's
``/disco/job/new`` (SPEC §2.1).  A pack is a 128-byte header -- big-endian ``!IIIII`` =
``(0xd5c0 << 16 | version, jobdict offset (128), jobenvs offset, jobhome offset, jobdata offset)``,
zero padded -- followed by four sections back to back: the jobdict (UTF-8 JSON object), the jobenvs
(JSON object of string -> string), the jobhome (zip archive bytes) and the jobdata (opaque bytes, to
the end).  The compiled :mod:`disco._jobpack` does the header work, the validation, the slicing and
the JSON; this module is the Disco 0.5 API on top.

Malformed packs raise :class:`JobPackError` (a :class:`disco.error.DiscoError`) naming the problem
and the field or offset.
"""
import functools
import struct
import time

from disco import JOBPACK_VERSION1, JOBPACK_VERSION2  # re-exported: tests and workers import them from here
from disco import _jobpack
from disco._jobpack import JobPackError

__all__ = ["Job", "SimpleJob", "JobChain", "JobPack", "PackedJobPack", "JobPackError",
           "JOBPACK_VERSION1", "JOBPACK_VERSION2"]


class JobPack(object):
    """The job pack: ``version`` (1 = classic, 2 = pipeline), ``jobdict`` (dict for the master),
    ``jobenvs`` (environment variables for the worker, str -> str), ``jobhome`` (zip archive
    bytes unpacked as the job home) and ``jobdata`` (bytes for the worker)."""

    MAGIC = 0xd5c0 << 16
    MAGIC_MASK = 0xffff << 16
    VERSION = JOBPACK_VERSION1
    HEADER_FORMAT = "!IIIII"
    HEADER_SIZE = 128

    def __init__(self, version, jobdict, jobenvs, jobhome, jobdata):
        self.version = version
        self.jobdict = jobdict
        self.jobenvs = jobenvs
        self.jobhome = jobhome
        self.jobdata = jobdata

    def __repr__(self):
        return "<%s v%s: %d dict keys, %d envs, %d bytes home, %d bytes data>" % (
            type(self).__name__, self.version, len(self.jobdict), len(self.jobenvs),
            len(self.jobhome), len(self.jobdata))

    @classmethod
    def header(cls, offsets, magic=MAGIC, version=VERSION,
               header_format=HEADER_FORMAT, header_size=HEADER_SIZE):
        """The header for the four section ``offsets``, zero padded to ``header_size`` bytes."""
        if header_format == cls.HEADER_FORMAT:
            return _jobpack.pack_header(magic + version, offsets, header_size)
        toc = struct.pack(header_format, magic + version, *offsets)
        return toc + b"\0" * (header_size - len(toc))

    def contents(self, offset=HEADER_SIZE):
        """Yield ``(offset, field_bytes)`` for the encoded jobdict, jobenvs, jobhome and jobdata."""
        _jobpack.check_fields(self.version, self.jobdict, self.jobenvs)
        for field in (_jobpack.encode_json(self.jobdict), _jobpack.encode_json(self.jobenvs),
                      self.jobhome, self.jobdata):
            yield offset, field
            offset += len(field)

    def dumps(self):
        """The serialized job pack (bytes); validates version and jobenvs first."""
        return _jobpack.dumps(self.version, self.jobdict, self.jobenvs, self.jobhome, self.jobdata)

    @classmethod
    def offsets(cls, jobfile):
        """Read and validate the header of the seekable binary file ``jobfile``; return the
        offsets of jobdict, jobenvs, jobhome and jobdata."""
        return cls._read_header(jobfile)[1]

    @classmethod
    def _read_header(cls, jobfile):
        size = jobfile.seek(0, 2)
        jobfile.seek(0)
        version, offsets = _jobpack.parse_header(jobfile.read(cls.HEADER_SIZE), size)
        return version, offsets, size

    @classmethod
    def load(cls, jobfile):
        """Read and validate a job pack from the binary file object ``jobfile``."""
        return PackedJobPack(jobfile)

    @classmethod
    def loads(cls, data):
        """Decode and validate a job pack from bytes-like ``data``."""
        jobpack = cls.__new__(cls)   # also right for PackedJobPack, whose __init__ takes a file
        JobPack.__init__(jobpack, *_jobpack.loads(data))
        return jobpack


class PackedJobPack(JobPack):
    """A :class:`JobPack` read from a binary file (Disco 0.5 name); fully validated on creation.

    Seekable files are read section by section, others read whole."""

    def __init__(self, jobfile):
        if not _seekable(jobfile):
            JobPack.__init__(self, *_jobpack.loads(jobfile.read()))
            return
        version, (dict_at, envs_at, home_at, data_at), size = self._read_header(jobfile)
        jobfile.seek(dict_at)
        sections = [jobfile.read(end - start) for start, end in
                    ((dict_at, home_at), (home_at, data_at), (data_at, size))]
        for name, start, section, end in zip(("jobdict", "jobhome", "jobdata"), (dict_at, home_at, data_at),
                                             sections, (home_at, data_at, size)):
            if len(section) != end - start:
                raise JobPackError("job pack truncated: %s at offset %d is %d bytes, expected %d"
                                   % (name, start, len(section), end - start))
        jobdict, jobenvs = _jobpack.decode_meta(sections[0], envs_at - dict_at, dict_at)
        JobPack.__init__(self, version, jobdict, jobenvs, sections[1], sections[2])


def _seekable(jobfile):
    try:
        return jobfile.seekable()
    except (AttributeError, OSError, ValueError):
        return False


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
        from disco.core import Disco
        from disco.settings import DiscoSettings
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

    def run(self, **jobargs):
        """Build the job pack with the worker (``jobdict``, ``jobenvs``, ``jobhome``) and
        ``disco.task.jobdata(self, jobargs)``, submit it and take the master's unique name.
        Returns the job; JobError if the pack cannot be built or the master refuses it."""
        from disco.error import DiscoError, JobError
        from disco.task import jobdata
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
                from disco.error import JobError
                raise JobError(job, "Status %s" % status)
        return "ready" if all(s == "ready" for s in statuses.values()) else "active"

    def _status(self, job):
        if job in self and job not in self.started:
            return "unknown job"
        return job.results(timeout=0)[0]

    def _jobs(self, job):
        from disco.util import iterify
        return [i for i in iterify(self[job]) if isinstance(i, Job)]

    def inputs(self, job):
        """The input list of ``job``: URLs as given, Jobs replaced by their results."""
        from disco.util import iterify
        inputs = []
        for input in iterify(self[job]):
            inputs.extend(input.results(timeout=0)[1] if isinstance(input, Job) else [input])
        return inputs

    def purge(self):
        """Purge every job of the chain that was started."""
        for job in self.started:
            job.purge()

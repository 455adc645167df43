"""The job pack (``disco.jobpack``): the binary a client POSTs to the master's ``/disco/job/new``.

A leaf module: the master parses submissions with it without loading the client or worker
library, and ``disco.job`` re-exports every name. The layout (docs/formats/jobpack.md): a 128-byte
header -- big-endian ``!IIIII`` = ``(0xd5c0 << 16 | version, jobdict offset (128), jobenvs
offset, jobhome offset, jobdata offset)``, zero padded -- followed by four sections back to back:
the jobdict (UTF-8 JSON object), the jobenvs (JSON object of string -> string), the jobhome (zip
archive bytes) and the jobdata (opaque bytes, to the end). The compiled :mod:`disco._jobpack`
does the header work, the validation, the slicing and the JSON; this module is the Disco 0.5 API
on top.

Malformed packs raise :class:`JobPackError` (a :class:`disco.error.DiscoError`) naming the problem
and the field or offset.
"""
import struct

from disco import JOBPACK_VERSION1, JOBPACK_VERSION2
from disco import _jobpack
from disco._jobpack import JobPackError

__all__ = ["JobPack", "PackedJobPack", "JobPackError", "JOBPACK_VERSION1", "JOBPACK_VERSION2"]


def classic_stages(jobdict):
    """The ``(stage, grouping)`` pipeline the master runs for a classic (version 1) jobdict:
    ``map``/``map_shuffle`` with ``map?``, then ``reduce`` (``group_all`` for one reduce, else
    ``group_label``, followed by ``reduce_shuffle`` with ``reduce_shuffle?``) with ``reduce?``
    (docs/formats/jobpack.md#the-jobdict). Flags are not validated here."""
    stages = []
    if jobdict.get("map?"):
        stages += [("map", "split"), ("map_shuffle", "group_node")]
    if jobdict.get("reduce?"):
        if jobdict.get("nr_reduces") == 1:
            stages.append(("reduce", "group_all"))
        else:
            stages.append(("reduce", "group_label"))
            if jobdict.get("reduce_shuffle?"):
                stages.append(("reduce_shuffle", "group_node"))
    return stages


def result_stage(version, jobdict):
    """The name of the stage whose outputs are the job's results (its last one), or None."""
    if version == JOBPACK_VERSION1:
        stages = classic_stages(jobdict)
    else:
        stages = jobdict.get("pipeline") or []
    return stages[-1][0] if stages else None


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
    def parse_header(cls, data):
        """``(version, (jobdict, jobenvs, jobhome, jobdata offsets))`` of the whole job pack
        ``data`` (bytes-like): the header validated against the size of ``data``."""
        return _jobpack.parse_header(data)

    @classmethod
    def loads(cls, data, header=None):
        """Decode and validate a job pack from bytes-like ``data``. ``header`` is
        ``parse_header(data)`` when the caller has it already: it is not parsed again."""
        jobpack = cls.__new__(cls)   # also right for PackedJobPack, whose __init__ takes a file
        if header is None:
            JobPack.__init__(jobpack, *_jobpack.loads(data))
        else:
            JobPack.__init__(jobpack, *_sections(memoryview(data), *header))
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


def _sections(data, version, offsets):
    """``(version, jobdict, jobenvs, jobhome, jobdata)`` of the pack ``data`` (a memoryview)
    whose header, already validated, gave ``version`` and ``offsets``."""
    dict_at, envs_at, home_at, data_at = offsets
    jobdict, jobenvs = _jobpack.decode_meta(data[dict_at:home_at], envs_at - dict_at, dict_at)
    return version, jobdict, jobenvs, bytes(data[home_at:data_at]), bytes(data[data_at:])


def _seekable(jobfile):
    try:
        return jobfile.seekable()
    except (AttributeError, OSError, ValueError):
        return False

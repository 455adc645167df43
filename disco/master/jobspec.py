"""Validation of a submitted job pack (docs/formats/jobpack.md) into a :class:`JobSpec`.

Checks, in order: the header (``invalid header``, ``unsupported version``), the JSON of jobdict and
jobenvs, the required keys (``jobpack missing key '<k>'``), then the fields (``invalid prefix``,
``invalid pipeline``, ``invalid inputs``, ...). Every failure raises :class:`SubmitError`, whose
text the master replies as ``["error", "Job failed to start: <text>"]``.

A v1 (classic) jobdict is translated into a pipeline by the table of
docs/formats/jobpack.md#the-jobdict; its ``input`` items become inputs with label 0 and size 0 (a
replica list that starts with a ``dir://`` URL keeps only that URL). ``save_results`` saves in
DDFS; HDFS (``save_info = "hdfs,..."``) is refused.
"""
import json
from dataclasses import dataclass

from disco._jobpack import decode_meta
from disco.jobpack import JobPack, JobPackError, classic_stages
from disco.master.jsontypes import is_int, is_text

GROUPINGS = ("split", "group_label", "group_node", "group_node_label", "group_all")
DEFAULT_MAX_CORES = 2 ** 31
MAX_PREFIX = 128        # job names add 20 characters at most
MAX_PATH = 1024
MAX_STAGE = 64
_COMMON_KEYS = ("prefix", "worker", "owner", "scheduler")
_VERSION_KEYS = {1: ("input", "nr_reduces"), 2: ("pipeline", "inputs")}


class SubmitError(Exception):
    """A job pack the master refuses; ``str`` is the reason."""


@dataclass(frozen=True)
class Stage:
    name: str
    grouping: str
    concurrent: bool = False


@dataclass
class JobSpec:
    """A validated job: what the coordinator needs, plus the raw jobdict and jobenvs."""

    version: int
    jobdict: dict
    jobenvs: dict
    prefix: str
    worker: str
    owner: str
    max_cores: int
    pipeline: list   # [Stage]
    inputs: list     # [(label, size_hint, [url, ...])]


def parse(data):
    """The :class:`JobSpec` of the job pack bytes ``data``; raises :class:`SubmitError`."""
    return _spec(_decode(data))


def parse_file(path):
    """The :class:`JobSpec` of the job pack file ``path``: only its header, jobdict and jobenvs
    are read (the job home and job data may be large). Raises :class:`SubmitError`."""
    with open(path, "rb") as f:
        return _spec(_decode_file(f))


def _spec(pack):
    jobdict = pack.jobdict
    for key in _COMMON_KEYS + _VERSION_KEYS[pack.version]:
        if key not in jobdict:
            raise SubmitError("jobpack missing key '%s'" % key)
    _check_text(jobdict, "jobdict")
    _check_jobenvs(pack.jobenvs)
    prefix = jobdict["prefix"]
    # '/' and '.' as Disco 0.5; whitespace too: job names go into index-file lines and URLs;
    # bounded: a job name is a file name and part of a DDFS tag name (disco:results:<job>)
    if (not is_text(prefix) or not prefix or "/" in prefix or "." in prefix
            or any(c.isspace() for c in prefix)):
        raise SubmitError("invalid prefix: %.100r" % (prefix,))
    _require(len(prefix) <= MAX_PREFIX, "invalid prefix: longer than %d characters" % MAX_PREFIX)
    worker = jobdict["worker"]
    if (not is_text(worker, MAX_PATH) or not worker or worker.startswith("/")
            or ".." in worker.split("/")):
        raise SubmitError("invalid worker: %.100r" % (worker,))
    _require(isinstance(jobdict["owner"], str), "invalid owner")
    max_cores = _max_cores(jobdict["scheduler"])
    _check_save(jobdict)
    if pack.version == 1:
        pipeline, inputs = v1_pipeline(jobdict), v1_inputs(jobdict["input"])
    else:
        pipeline, inputs = v2_pipeline(jobdict["pipeline"]), v2_inputs(jobdict["inputs"])
    return JobSpec(pack.version, jobdict, pack.jobenvs, prefix, worker, jobdict["owner"], max_cores,
                   pipeline, inputs)


def _decode(data):
    """The JobPack of ``data``; its header is parsed once."""
    try:
        header = JobPack.parse_header(data)
    except JobPackError as e:
        raise _header_error(data[:4], e) from None
    try:
        return JobPack.loads(data, header=header)
    except JobPackError as e:
        raise SubmitError("invalid job pack (%s)" % e) from None


def _decode_file(f):
    """A JobPack of the file ``f`` holding only version, jobdict and jobenvs."""
    try:
        dict_at, envs_at, home_at, _data_at = JobPack.offsets(f)
    except JobPackError as e:
        f.seek(0)
        raise _header_error(f.read(4), e) from None
    f.seek(0)
    version = int.from_bytes(f.read(4)[2:4], "big")
    f.seek(dict_at)
    try:
        jobdict, jobenvs = decode_meta(f.read(home_at - dict_at), envs_at - dict_at, dict_at)
    except JobPackError as e:
        raise SubmitError("invalid job pack (%s)" % e) from None
    return JobPack(version, jobdict, jobenvs, b"", b"")


def _header_error(head, error):
    """The SubmitError of a header (first bytes ``head``) that failed with ``error``."""
    if head[:2] == b"\xd5\xc0" and int.from_bytes(head[2:4], "big") not in (1, 2):
        return SubmitError("unsupported version")
    return SubmitError("invalid header (%s)" % error)


def _require(ok, message):
    if not ok:
        raise SubmitError(message)


def _check_text(value, what):
    """Every string of the decoded JSON ``value`` is valid Unicode (no lone surrogate: they
    cannot be stored, logged or passed on)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        raise SubmitError("invalid %s: a string holds a lone surrogate (%s)" % (what, e.reason)) from None
    except RecursionError:
        raise SubmitError("invalid %s: nested too deeply" % what) from None


def _check_jobenvs(jobenvs):
    """jobenvs become the workers' environment: names without ``=`` or NUL, values without NUL."""
    _require(isinstance(jobenvs, dict), "invalid jobenvs: not a JSON object")
    _check_text(jobenvs, "jobenvs")
    for key, value in jobenvs.items():
        _require(key and "=" not in key and "\0" not in key,
                 "invalid jobenvs: variable name %.100r" % (key,))
        _require(isinstance(value, str) and "\0" not in value,
                 "invalid jobenvs: value of %.100r must be a string without NUL" % (key,))



def _max_cores(scheduler):
    _require(isinstance(scheduler, dict), "invalid scheduler")
    max_cores = scheduler.get("max_cores", DEFAULT_MAX_CORES)
    _require(is_int(max_cores) and max_cores > 0, "invalid scheduler")
    return max_cores


def _check_save(jobdict):
    save_results = jobdict.get("save_results", False)
    _require(isinstance(save_results, bool), "invalid save_results")
    save_info = jobdict.get("save_info", "ddfs")
    _require(isinstance(save_info, str) and save_info.startswith(("ddfs", "hdfs")), "invalid save_info")
    _require(not (save_results and save_info.startswith("hdfs")),
             "save_info 'hdfs' is not supported by this master (results are saved in DDFS)")


def v1_pipeline(jobdict):
    """The pipeline of a classic jobdict (the table of docs/formats/jobpack.md#the-jobdict);
    raises :class:`SubmitError`."""
    flags = [jobdict.get(k, False) for k in ("map?", "reduce?", "reduce_shuffle?")]
    _require(all(isinstance(f, bool) for f in flags), "invalid map?/reduce?/reduce_shuffle?")
    _require(is_int(jobdict["nr_reduces"]), "invalid nr_reduces")
    return [Stage(name, grouping) for name, grouping in classic_stages(jobdict)]


def v1_inputs(items):
    """Inputs ``(0, 0, urls)`` of a classic ``input`` list (URL strings or replica lists)."""
    _require(isinstance(items, list), "invalid input")
    inputs = []
    for item in items:
        urls = [item] if isinstance(item, str) else item
        _require(_is_url_list(urls), "invalid input")
        inputs.append((0, 0, _replicas(urls)))
    return inputs


def v2_pipeline(pipeline):
    """The stages of a v2 ``pipeline`` ``[[name, grouping, concurrent], ...]`` (unique names)."""
    stages = []
    for name, grouping, concurrent in _triples(pipeline, "invalid pipeline"):
        _require(isinstance(name, str) and name and name != "input" and grouping in GROUPINGS
                 and isinstance(concurrent, bool), "invalid pipeline")
        # stage names are part of index file names and URLs
        _require(is_text(name, MAX_STAGE) and "/" not in name and not any(c.isspace() for c in name),
                 "invalid pipeline: stage name %.100r" % (name,))
        stages.append(Stage(name, grouping, concurrent))
    _require(len({s.name for s in stages}) == len(stages), "invalid pipeline")
    return stages


def v2_inputs(inputs):
    """The inputs of a v2 ``inputs`` list ``[[label, size_hint, [url, ...]], ...]``."""
    result = []
    for label, size, urls in _triples(inputs, "invalid inputs"):
        _require(is_int(label) and label >= 0 and is_int(size) and size >= 0 and _is_url_list(urls),
                 "invalid inputs")
        result.append((label, size, _replicas(urls)))
    return result


def _triples(value, message):
    """``value`` if it is a list of 3-item lists, else raise :class:`SubmitError` ``message``."""
    _require(isinstance(value, list) and all(isinstance(i, list) and len(i) == 3 for i in value), message)
    return value


def _is_url_list(urls):
    return isinstance(urls, list) and bool(urls) and all(isinstance(u, str) and u for u in urls)


def _replicas(urls):
    """The replicas of one input; an index (``dir://``) input keeps only its first URL."""
    return urls[:1] if urls[0].startswith("dir://") else list(urls)

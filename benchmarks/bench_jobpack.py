"""Job pack encode/decode: disco.job.JobPack (compiled disco._jobpack) vs a plain struct + json codec.

Workload: a realistic classic job pack -- a jobdict with 1000 input URLs (every third one a list
of two replicas), a few jobenvs, a ~500 KB jobhome zip and ~20 KB of jobdata.
"""
import io
import json
import random
import struct
import zipfile

import pytest

from disco.error import DiscoError
from disco.job import JobPack

# --- baseline: the obvious struct + json implementation, with the same checks ----------------------

MAGIC, MAGIC_MASK, HEADER_FORMAT, HEADER_SIZE = 0xd5c0 << 16, 0xffff << 16, "!IIIII", 128


def baseline_dumps(version, jobdict, jobenvs, jobhome, jobdata):
    if isinstance(version, bool) or version not in (1, 2):
        raise DiscoError("unsupported version %r" % (version,))
    if not isinstance(jobdict, dict):
        raise DiscoError("jobdict must be a dict")
    if not isinstance(jobenvs, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in jobenvs.items()):
        raise DiscoError("jobenvs must map str to str")
    fields = [json.dumps(jobdict).encode("utf-8"), json.dumps(jobenvs).encode("utf-8"), jobhome, jobdata]
    offsets, offset = [], HEADER_SIZE
    for field in fields:
        offsets.append(offset)
        offset += len(field)
    header = struct.pack(HEADER_FORMAT, MAGIC | version, *offsets).ljust(HEADER_SIZE, b"\0")
    return b"".join([header] + fields)


def baseline_loads(data):
    if len(data) < HEADER_SIZE:
        raise DiscoError("job pack too short")
    word, d, e, h, j = struct.unpack_from(HEADER_FORMAT, data)
    if word & MAGIC_MASK != MAGIC:
        raise DiscoError("bad magic")
    version = word & 0xffff
    if version not in (1, 2):
        raise DiscoError("unsupported version %d" % version)
    if d != HEADER_SIZE or e <= d or h < e or j < h or j > len(data):
        raise DiscoError("invalid header")
    try:
        jobdict = json.loads(data[d:e].decode("utf-8"))
        jobenvs = json.loads(data[e:h].decode("utf-8"))
    except (ValueError, RecursionError) as exc:   # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise DiscoError("invalid jobdict/jobenvs: %s" % exc)
    if not isinstance(jobdict, dict):
        raise DiscoError("jobdict must be an object")
    if not isinstance(jobenvs, dict) or not all(isinstance(v, str) for v in jobenvs.values()):
        raise DiscoError("jobenvs must map str to str")
    return version, jobdict, jobenvs, data[h:j], data[j:]


# --- the workload ---------------------------------------------------------------------------------

def realistic_pack():
    rng = random.Random(2013)
    urls = ["http://node%02d.cluster.example.com:8989/disco/node%02d/ab/job@5a1:b2:c3/part-%05d"
            % (rng.randrange(64), rng.randrange(64), i) for i in range(1000)]
    jobdict = {"prefix": "WordCount", "save_results": False, "save_info": "ddfs",
               "scheduler": {"max_cores": 2 ** 31, "force_local": False, "force_remote": False},
               "owner": "alice@client.example.com", "worker": "lib/disco/worker/classic/worker.py",
               "input": [[u, u.replace("node", "replica", 1)] if i % 3 == 0 else u for i, u in enumerate(urls)],
               "map?": True, "reduce?": True, "reduce_shuffle?": False, "nr_reduces": 8}
    jobenvs = {"PYTHONPATH": "lib:usr/lib/python311.zip:usr/lib/python3.11:usr/lib/python3.11/lib-dynload",
               "LD_LIBRARY_PATH": "lib", "LC_ALL": "C.UTF-8", "DISCO_EVENTS": "1"}
    home = io.BytesIO()
    with zipfile.ZipFile(home, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(40):   # mostly incompressible module payloads, ~500 KB of zip in all
            z.writestr("lib/pkg/mod%02d.py" % i, rng.randbytes(12 * 1024) + b"\n# pad\n" * 100)
        z.writestr("lib/disco/worker/classic/worker.py", b"#!/usr/bin/env python\n" * 200)
    return 1, jobdict, jobenvs, home.getvalue(), rng.randbytes(20 * 1024)


FIELDS = realistic_pack()
PACKED = baseline_dumps(*FIELDS)
assert JobPack(*FIELDS).dumps() == PACKED
_back = JobPack.loads(PACKED)
assert (_back.version, _back.jobdict, _back.jobenvs, _back.jobhome, _back.jobdata) == baseline_loads(PACKED) == FIELDS


@pytest.mark.benchmark(group="jobpack-dumps")
@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_dumps(benchmark, impl):
    if impl == "ours":
        out = benchmark(lambda: JobPack(*FIELDS).dumps())
    else:
        out = benchmark(baseline_dumps, *FIELDS)
    assert out == PACKED


@pytest.mark.benchmark(group="jobpack-loads")
@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_loads(benchmark, impl):
    if impl == "ours":
        jp = benchmark(JobPack.loads, PACKED)
        out = (jp.version, jp.jobdict, jp.jobenvs, jp.jobhome, jp.jobdata)
    else:
        out = benchmark(baseline_loads, PACKED)
    assert out == FIELDS

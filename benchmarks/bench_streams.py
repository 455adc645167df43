"""Record streams: our compiled v1/v2 codecs against the stronger plain-Python v1 (see baselines).

The baseline side reads with one ``pickle.Unpickler`` per hunk (``unpickler_input_stream``) and
writes with one fast-mode ``pickle.Pickler`` per hunk (``PicklerOutputStream_v1``); Disco 0.5's
own per-record ``pickle.load``/``dumps`` code is slower than that (reads about 2x), so it is not
run here.
The v1 read benchmark reads the same v1 file (written as Disco 0.5 writes it) with both readers;
the v2 read benchmark reads the same records from a v2 file (the baseline again reads the v1 file).
Workloads: 1,000,000 word-count-like ``(str, int)`` records (short random strings drawn from a
50,000-word vocabulary, small ints), and 200,000 records of mixed types.
"""
import collections
import io
import random

import pytest

from baselines import BaselineOutputStream_v1, PicklerOutputStream_v1, unpickler_input_stream
from disco.fileutils import DiscoOutputStream_v1, DiscoOutputStream_v2
from disco.worker.task_io import disco_input_stream


def wordcount_records(n=1000000, seed=1):
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 10))) for _ in range(50000)]
    return [(rnd.choice(vocabulary), rnd.randint(1, 1000) if rnd.random() < 0.2 else 1) for _ in range(n)]


def mixed_records(n=200000, seed=2):
    rnd = random.Random(seed)

    def value(depth=0):
        kind = rnd.randrange(9 if depth < 2 else 6)
        if kind == 0:
            return rnd.randint(-10 ** 6, 10 ** 6)
        if kind == 1:
            return rnd.random() * 1000
        if kind == 2:
            return "".join(rnd.choice("abcdéf日本 ") for _ in range(rnd.randint(0, 12)))
        if kind == 3:
            return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 8)))
        if kind == 4:
            return rnd.choice([None, True, False])
        if kind == 5:
            return rnd.randint(2 ** 40, 2 ** 70)
        if kind == 6:
            return tuple(value(depth + 1) for _ in range(rnd.randint(0, 4)))
        if kind == 7:
            return [value(depth + 1) for _ in range(rnd.randint(0, 4))]
        return {"k%d" % i: value(depth + 1) for i in range(rnd.randint(0, 3))}

    return [(value(1), value()) for _ in range(n)]


WORKLOADS = {"wordcount": wordcount_records(), "mixed": mixed_records()}


def write(cls, records):
    buf = io.BytesIO()
    w = cls(buf)
    for r in records:
        w.append(r)
    w.close()
    return buf.getvalue()


FILES = {name: {"v1": write(BaselineOutputStream_v1, recs), "v2": write(DiscoOutputStream_v2, recs)}
         for name, recs in WORKLOADS.items()}
WRITERS = {"v1": DiscoOutputStream_v1, "v2": DiscoOutputStream_v2, "baseline": PicklerOutputStream_v1}


def consume(reader, data):
    collections.deque(reader(io.BytesIO(data), len(data), "bench"), maxlen=0)


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_write(benchmark, workload, version, impl):
    benchmark.group = "write %s %s" % (version, workload)
    cls = WRITERS[version if impl == "ours" else "baseline"]
    data = benchmark.pedantic(write, args=(cls, WORKLOADS[workload]), rounds=3, iterations=1)
    assert list(disco_input_stream(io.BytesIO(data), len(data), "x"))[-10:] == WORKLOADS[workload][-10:]


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_read(benchmark, workload, version, impl):
    benchmark.group = "read %s %s" % (version, workload)
    if impl == "ours":
        reader, data = disco_input_stream, FILES[workload][version]
    else:
        reader, data = unpickler_input_stream, FILES[workload]["v1"]
    benchmark.pedantic(consume, args=(reader, data), rounds=3, iterations=1)

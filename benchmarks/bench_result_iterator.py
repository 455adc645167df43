"""result_iterator over a local result file of 1,000,000 word-count records, against the plain
Python reader of Disco 0.5's format (baselines.baseline_input_stream, without the original's
extra Input layers: a conservative baseline). Ours reads the same v1 file, and a v2 file."""
import collections

import pytest

from baselines import BaselineOutputStream_v1, baseline_input_stream
from bench_streams import WORKLOADS, write
from disco.core import result_iterator
from disco.fileutils import DiscoOutputStream_v2


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("results")
    paths = {}
    for name, cls in (("v1", BaselineOutputStream_v1), ("v2", DiscoOutputStream_v2)):
        paths[name] = d / ("result.%s" % name)
        paths[name].write_bytes(write(cls, WORKLOADS["wordcount"]))
    return paths


def ours(path):
    collections.deque(result_iterator(["file://%s" % path]), maxlen=0)


def baseline(path):
    with open(path, "rb") as f:
        collections.deque(baseline_input_stream(f, None, str(path)), maxlen=0)


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_result_iterator(benchmark, files, version, impl):
    benchmark.group = "result_iterator 1M records, %s file" % version
    fn, path = (ours, files[version]) if impl == "ours" else (baseline, files["v1"])
    benchmark.pedantic(fn, args=(path,), rounds=3, iterations=1)

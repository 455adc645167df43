"""Map input lines: a 100 MB text file read through the classic worker's input path (scheme
``file``, replica-aware SerialInput) against plain iteration of a Python text file."""
import collections

import pytest

from disco.worker import SerialInput
from disco.worker.task_io import StreamCombiner, task_input_stream


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("lines") / "text.txt"
    line = "the quick brown fox jumps over the lazy dog %d\n"
    with open(path, "w") as f:
        for i in range(0, 2200000):
            f.write(line % i)
    return str(path)


def ours(path):
    def open_url(url):
        return StreamCombiner(url, [task_input_stream], None)
    collections.deque(SerialInput([[path]], open=open_url), maxlen=0)


def baseline(path):
    with open(path, encoding="utf-8") as f:
        collections.deque(f, maxlen=0)


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_lines(benchmark, text_file, impl):
    benchmark.group = "map input lines, 100 MB file"
    benchmark.pedantic(ours if impl == "ours" else baseline, args=(text_file,), rounds=3, iterations=1)

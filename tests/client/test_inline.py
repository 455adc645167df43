"""Job.run(..., inline=True): the job runs in this process, with no master, for debugging."""
import collections

import pytest

from disco.core import Job, result_iterator
from disco.worker.classic.func import sum_combiner

LINES = ["the quick brown fox", "jumps over the lazy dog", "the dog sleeps"]
COUNTS = sorted(collections.Counter(w for line in LINES for w in line.split()).items())


def noisy_map(line, params):
    print("mapping %r" % line)
    for word in line.split():
        yield word, 1


def count_reduce(iter, params):
    from disco.util import kvgroup
    for word, counts in kvgroup(sorted(iter)):
        yield word, sum(counts)


@pytest.fixture(autouse=True)
def no_master(monkeypatch):
    monkeypatch.setenv("DISCO_MASTER", "http://127.0.0.1:1")     # nothing listens there


def test_inline_map_reduce_with_partitions_and_combiner(capsys):
    job = Job().run(input=["raw://" + line for line in LINES], map=noisy_map, reduce=count_reduce,
                    partitions=3, inline=True)
    assert sorted(result_iterator(job.wait())) == COUNTS
    assert "mapping 'the dog sleeps'" in capsys.readouterr().out     # print works in map
    job = Job().run(input=["raw://" + line for line in LINES], map=noisy_map, combiner=sum_combiner,
                    reduce=count_reduce, inline=True)
    assert sorted(result_iterator(job.wait())) == COUNTS


def test_inline_map_only_and_files(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("\n".join(LINES) + "\n")
    job = Job().run(input=[str(path)], map=noisy_map, inline=True)
    assert sorted(w for w, _n in result_iterator(job.wait())) == sorted(
        w for line in LINES for w in line.split())


def test_inline_errors_propagate_with_their_traceback():
    def broken(line, params):
        yield line, 1 / 0
    with pytest.raises(ZeroDivisionError):
        Job().run(input=["raw://x"], map=broken, inline=True)


def test_disco_run_inline(tmp_path, monkeypatch, capsys):
    """``disco run --inline module.JobClass inputs``: the result records, tab-separated."""
    from disco.cli import main
    (tmp_path / "inlinejobs.py").write_text(
        "from disco.job import Job\n"
        "class Count(Job):\n"
        "    partitions = 2\n"
        "    @staticmethod\n"
        "    def map(line, params):\n"
        "        for w in line.split():\n"
        "            yield w, 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    assert main(["run", "--inline", "inlinejobs.Count", "raw://a b a"]) == 0
    assert sorted(capsys.readouterr().out.splitlines()) == ["a\t1", "a\t1", "b\t1"]

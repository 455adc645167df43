"""End to end: jobs submitted to a real master (disco.master.embedded) with real workers.

The clients get the master's settings as objects (``Job(settings=...)``,
``result_iterator(..., settings=...)``), never through the environment: the autouse
``disco_env`` fixture points the environment at an empty data directory and no master."""
import subprocess
import sys

import pytest

from client import jobs
from disco.worker.classic.func import default_partition
from disco.core import result_iterator
from disco.job import Job
from disco.settings import DiscoSettings
from masters import point_clients_at

TEXT = ["raw://hello world hello", "raw://world of disco"]
COUNTS = [("disco", 1), ("hello", 2), ("of", 1), ("world", 2)]
# one reduce task per partition label the words fall into (jobs.WordCount has 3 partitions)
LABELS = len({default_partition(w, jobs.WordCount.partitions, None) for w, _ in COUNTS})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    embedded = pytest.importorskip("disco.master.embedded")
    with embedded.start_master(str(tmp_path_factory.mktemp("master")), DISCO_WORKERS="2") as m:
        yield m


@pytest.fixture
def settings(cluster):
    """Client settings of the master: DISCO_DATA et al. as the master has them."""
    return cluster.settings


def test_word_count(settings):
    job = Job(settings=settings).run(input=TEXT, map=jobs.word_map, reduce=jobs.word_reduce)
    results = job.wait(timeout=120)
    assert sorted(result_iterator(results, settings=settings)) == COUNTS
    assert sorted(job.disco.result_iterator(results)) == COUNTS
    assert job.jobinfo()["active"] == "ready"
    job.purge()


def test_results_over_http(settings):
    job = Job(settings=settings).run(input=TEXT, map=jobs.word_map, reduce=jobs.word_reduce)
    results = job.wait(timeout=120)
    remote = DiscoSettings(settings, DISCO_DATA="/nonexistent")  # no local file: HTTP on DISCO_PORT
    assert sorted(result_iterator(results, settings=remote)) == COUNTS


def test_results_carry_the_settings_of_their_master(settings):
    """The results ``wait`` returns remember their master's settings; bare URLs, read with the
    environment's settings (no data, no master), cannot be read."""
    job = Job(settings=settings).run(input=TEXT, map=jobs.word_map, reduce=jobs.word_reduce)
    results = job.wait(timeout=120)
    assert sorted(result_iterator(results)) == COUNTS
    from disco.error import CommError
    with pytest.raises(CommError):
        list(result_iterator(list(results)))


def test_partitioned_job_and_chain(settings):
    first = jobs.WordCount(settings=settings).run(input=TEXT * 2)
    results = first.wait(timeout=120)
    assert len(results) == LABELS
    assert sorted(result_iterator(results, settings=settings)) == [(w, 2 * n) for w, n in COUNTS]
    second = jobs.Chained(settings=settings).run(input=results)
    assert sorted(result_iterator(second.wait(timeout=120), settings=settings)) == sorted(
        (2 * n, w) for w, n in COUNTS)


def test_failing_job_is_dead(settings):
    def map(line, params):
        raise ValueError("no")
    job = Job(settings=settings).run(input=["raw://x"], map=map)
    from disco.error import JobError
    with pytest.raises(JobError, match="dead"):
        job.wait(timeout=120)


def test_readme_script(cluster, tmp_path, monkeypatch):
    """The Disco README's word count, functions in the user's script (``__main__``), pointed at
    the master by the environment (as a user's shell would be)."""
    point_clients_at(monkeypatch, cluster)
    script = tmp_path / "count_words.py"
    script.write_text(
        "from disco.core import Job, result_iterator\n"
        "\n"
        "def map(line, params):\n"
        "    for word in line.split():\n"
        "        yield word, 1\n"
        "\n"
        "def reduce(iter, params):\n"
        "    from disco.util import kvgroup\n"
        "    for word, counts in kvgroup(sorted(iter)):\n"
        "        yield word, sum(counts)\n"
        "\n"
        "if __name__ == '__main__':\n"
        "    job = Job().run(input=%r, map=map, reduce=reduce)\n"
        "    for word, count in result_iterator(job.wait()):\n"
        "        print(word, count)\n" % TEXT)
    out = subprocess.check_output([sys.executable, str(script)], cwd=str(tmp_path), timeout=180)
    assert sorted(out.decode().split("\n")[:-1]) == ["%s %d" % wc for wc in COUNTS]

"""End to end: Disco jobs written as users write them, on a real master with real workers."""
import collections
import os
import subprocess
import sys

import pytest

from disco.core import Disco, result_iterator
from disco.error import JobError
from disco.job import Job, JobChain
from disco.wordcount import map_words, reduce_counts, reduce_counts_out as reduce_out
from disco.worker.classic.func import chain_reader, nop_map, sum_combiner, sum_reduce
from masters import point_clients_at, wait_gone

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = ["the quick brown fox", "jumps over the lazy dog", "the dog sleeps", "a fox is quick"] * 5


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    from disco.master.embedded import start_master
    root = tmp_path_factory.mktemp("e2e")
    m = start_master(str(root / "root"), DISCO_WORKERS="2")
    patch = pytest.MonkeyPatch()
    point_clients_at(patch, m)
    yield m
    patch.undo()
    m.stop()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("text")
    paths = []
    for i in range(4):
        p = d / ("part%d.txt" % i)
        p.write_text("\n".join(TEXT[i::4]) + "\n")
        paths.append(str(p))
    return paths


def expected_counts():
    return collections.Counter(w for line in TEXT for w in line.split())




def test_word_count(master, inputs):
    job = Job().run(input=inputs, map=map_words, reduce=reduce_counts)
    results = job.wait()
    assert dict(result_iterator(results)) == expected_counts()
    status, urls = Disco().results(job.name)
    assert status == "ready" and urls == results
    info = job.jobinfo()
    assert info["active"] == "ready"
    assert [row[0] for row in info["pipeline"]] == ["map", "map_shuffle", "reduce"]
    assert info["pipeline"][0][4] == len(inputs)  # one map task per input, all done


def test_partitions_combiner_and_three_argument_reduce(master, inputs):
    job = Job().run(input=inputs, map=map_words, combiner=sum_combiner, partitions=3, reduce=reduce_out)
    results = job.wait()
    assert dict(result_iterator(results)) == expected_counts()
    reduce_row = [row for row in job.jobinfo()["pipeline"] if row[0] == "reduce"][0]
    assert 1 < reduce_row[4] <= 3  # one reduce task per partition label produced


def test_results_read_over_http_match_local(master, inputs, monkeypatch):
    job = Job().run(input=inputs, map=map_words, reduce=reduce_counts)
    results = job.wait()
    local = list(result_iterator(results))
    monkeypatch.setenv("DISCO_DATA", "/nonexistent")  # the locality rule now finds no local file
    assert list(result_iterator(results)) == local


def test_map_only_non_partitioned_and_raw_inputs(master):
    job = Job().run(input=["raw://alpha beta", "raw://gamma"], map=map_words, partitions=None)
    assert sorted(result_iterator(job.wait())) == [("alpha", 1), ("beta", 1), ("gamma", 1)]


def test_params_and_job_subclass(master, inputs):
    class Shout(Job):
        @staticmethod
        def map(line, params):
            for word in line.split():
                yield word.upper() + params.suffix, 1

        reduce = staticmethod(sum_reduce)

    from disco.worker import Params
    job = Shout().run(input=inputs, params=Params(suffix="!"))
    counts = dict(result_iterator(job.wait()))
    assert counts == {w.upper() + "!": n for w, n in expected_counts().items()}


def test_job_chain(master, inputs):
    first = Job(name="first")
    second = Job(name="second")
    chain = JobChain({first: inputs, second: first})
    for job, args in ((first, dict(map=map_words, reduce=reduce_counts)),
                      (second, dict(map=nop_map, map_reader=chain_reader, reduce=reduce_counts))):
        for key, value in args.items():
            setattr(job, key, value)
    chain.wait(poll_interval=0.2)
    assert dict(result_iterator(second.wait())) == expected_counts()


def bad_map(line, params):
    raise ValueError("this map is broken")


def test_failing_map_fails_the_job(master, inputs):
    job = Job().run(input=inputs[:1], map=bad_map)
    with pytest.raises(JobError) as e:
        job.wait(timeout=60)
    assert job.name in str(e.value)
    events = "".join(msg for _, (_, _, msg) in Disco().events(job.name))
    assert "this map is broken" in events


def test_readme_example_runs_unchanged(master):
    out = subprocess.run([sys.executable, os.path.join(REPO, "examples", "wordcount.py")],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert "distinct words; the top 10" in out.stdout
    assert "started the embedded master" not in out.stdout  # it used the running master


def test_cli_against_the_master(master, inputs):
    job = Job().run(input=inputs, map=map_words, reduce=reduce_counts)
    job.wait()

    def disco(*args):
        return subprocess.run([sys.executable, "-m", "disco.cli", "-M", master.url] + list(args),
                              capture_output=True, text=True, timeout=60)

    jobs = disco("jobs", "-S")
    assert jobs.returncode == 0 and "%s\tready" % job.name in jobs.stdout
    results = disco("results", "@")
    assert results.returncode == 0 and results.stdout.split() == [u for r in job.wait() for u in r]
    events = disco("events", "@?%s" % job.name.split("@")[1])
    assert "READY" in events.stdout
    missing = disco("results", "nosuchjob@1:2:3")
    assert missing.returncode != 0 and missing.stderr.startswith("disco: ")


def _busy_map(line, params):
    import os
    import time
    with open(params["pidfile"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)
    yield line, 1


def test_a_worker_busy_in_user_code_exits_when_its_master_dies(tmp_path, monkeypatch):
    """The master is SIGKILLed while its worker sleeps in map(): the worker, re-parented, kills
    its process group (it would otherwise run on, an orphan, for 2 minutes)."""
    import signal
    import time
    from disco.master.embedded import start_master
    master = start_master(str(tmp_path / "root"), DISCO_WORKERS="1")
    try:
        point_clients_at(monkeypatch, master)
        pidfile = tmp_path / "worker.pid"
        Job().run(input=["raw://x"], map=_busy_map, params={"pidfile": str(pidfile)})
        deadline = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.05)
        pid = int(pidfile.read_text())
        os.killpg(master.proc.pid, signal.SIGKILL)
        master.proc.wait()
        wait_gone(pid, 10, "the worker outlived its master")
    finally:
        master.stop()


def test_results_resolve_through_the_master_the_job_ran_on(tmp_path, monkeypatch):
    """Job(master=url) on a master that is not at DISCO_PORT: result_iterator(job.wait()) reads
    the results through that master's port, whatever the environment says."""
    from disco.master.embedded import start_master
    master = start_master(str(tmp_path / "root"), DISCO_WORKERS="2")
    try:
        monkeypatch.setenv("DISCO_SETTINGS_FILE", os.devnull)
        monkeypatch.delenv("DISCO_MASTER", raising=False)
        monkeypatch.setenv("DISCO_PORT", "1")                       # nothing listens there
        monkeypatch.setenv("DISCO_DATA", str(tmp_path / "elsewhere"))   # no local shortcut
        job = Job(master=master.url).run(input=["raw://a b a"], map=map_words, reduce=reduce_counts)
        assert sorted(result_iterator(job.wait())) == [("a", 2), ("b", 1)]
        assert sorted(Disco(master.url).result_iterator(job.wait())) == [("a", 2), ("b", 1)]
    finally:
        master.stop()



def test_a_dead_job_says_why(master):
    """JobError names the failing task, its node and the end of the worker's error; a function
    shipped by value keeps its file name and line in the traceback."""
    def divide(line, params):
        yield line, 1 / 0
    job = Job().run(input=["raw://x"], map=divide)
    with pytest.raises(JobError) as failed:
        job.wait()
    message = str(failed.value)
    assert "Task map:0 failed on localhost" in message
    assert "ZeroDivisionError: division by zero" in message
    assert 'File "%s", line %d, in divide' % (__file__, divide.__code__.co_firstlineno + 1) in message


def test_a_missing_input_fails_the_job_at_once(master, tmp_path, monkeypatch):
    """A local input that does not exist fails the job with an error naming it (it was retried
    for about 1.6 hours); a relative path means the file relative to the submitter's cwd."""
    monkeypatch.chdir(tmp_path)
    job = Job().run(input=["no-such-file.txt"], map=map_words)
    with pytest.raises(JobError) as failed:
        job.wait()
    assert "Unable to access resource (%s): input not found: No such file or directory" % (
        tmp_path / "no-such-file.txt") in str(failed.value)
    (tmp_path / "here.txt").write_text("a b a\n")
    job = Job().run(input=["here.txt"], map=map_words, reduce=reduce_counts)
    assert sorted(result_iterator(job.wait())) == [("a", 2), ("b", 1)]

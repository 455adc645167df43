"""Worker processes (``python -m disco.worker`` via the job home launcher) driven over the
Worker Protocol by a scripted master (client.fakemaster)."""
import functools
import os
import subprocess
import sys

import pytest

from client import jobs
from disco.worker.classic.func import default_partition
from disco.core import result_iterator
from disco.job import Job, SimpleJob
from disco.worker import Params, jobhome
from disco.worker.classic.func import (make_range_partition, nop_map,
                                       sum_combiner, sum_reduce)

TEXT = ["raw://hello world hello", "raw://world of disco"]
COUNTS = [("disco", 1), ("hello", 2), ("of", 1), ("world", 2)]
# one reduce task per partition label the words fall into (jobs.WordCount has 3 partitions)
LABELS = len({default_partition(w, jobs.WordCount.partitions, None) for w, _ in COUNTS})


@pytest.fixture(autouse=True)
def submit_to_fake_master(master, monkeypatch):
    """Disco.submit hands job packs to the fake master."""
    from disco.core import Disco
    monkeypatch.setattr(Disco, "submit", lambda self, data: master.submit(data))


def run(master, job, **jobargs):
    job.run(**jobargs)
    return master.run_classic(job.name)


def test_word_count(master):
    results = run(master, Job(), input=TEXT, map=jobs.word_map, reduce=jobs.word_reduce)
    assert sorted(result_iterator(results)) == COUNTS


def test_partitioned_word_count_runs_a_reduce_per_label(master):
    results = run(master, jobs.WordCount(), input=TEXT * 3)
    assert len(results) == LABELS
    assert sorted(result_iterator(results)) == [(w, 3 * n) for w, n in COUNTS]
    per_reduce = [sorted(result_iterator([r])) for r in results]
    assert sorted(w for part in per_reduce for w, _ in part) == [w for w, _ in COUNTS]


def test_three_argument_reduce_combiner_and_params(master):
    def map(line, params):
        for word in line.split():
            yield word + params.suffix, 1
    results = run(master, Job(), input=TEXT, map=map, combiner=sum_combiner,
                  reduce=jobs.word_reduce3, params=Params(suffix="!"))
    assert sorted(result_iterator(results)) == [(w + "!", n) for w, n in COUNTS]


def test_non_partitioned_map_without_reduce(master):
    results = run(master, Job(), input=TEXT, map=jobs.word_map, partitions=None)
    assert sorted(result_iterator(results)) == sorted(
        [("hello", 1)] * 2 + [("world", 1)] * 2 + [("of", 1), ("disco", 1)])


def test_range_partition_and_sum_reduce(master):
    def map(line, params):
        for n in line.split():
            yield int(n), 1
    results = run(master, Job(), input=["raw://0 1 2 3 4 5 6 7 8 9 9"], map=map,
                  partition=make_range_partition(0, 9), partitions=2, reduce=sum_reduce)
    parts = [sorted(result_iterator([r])) for r in results]
    assert parts == [[(n, 1) for n in range(5)], [(n, 1) for n in range(5, 9)] + [(9, 2)]]


def test_chained_job_reads_results_with_map_reader(master):
    first = run(master, Job(), input=TEXT, map=jobs.word_map, reduce=jobs.word_reduce)
    results = run(master, jobs.Chained(), input=first)
    assert sorted(result_iterator(results)) == sorted((n, w) for w, n in COUNTS)


def test_reduce_only_job_over_index_files_and_sort(master):
    first = run(master, Job(), input=TEXT, map=jobs.word_map, partitions=2)
    results = run(master, Job(), input=[r[0] for r in first], reduce=jobs.word_reduce, sort=True,
                  sort_buffer_size=2)
    assert sorted(result_iterator(results)) == COUNTS


def test_file_and_http_inputs_with_replica_fail_over(master, server, tmp_path):
    local = tmp_path / "local.txt"
    local.write_text("hello world\n")
    with open(os.path.join(server.root, "remote.txt"), "w") as f:
        f.write("of disco\nhello world\n")
    inputs = [str(local), [server.url + "/missing.txt", server.url + "/remote.txt"]]
    results = run(master, Job(), input=inputs, map=jobs.word_map, reduce=jobs.word_reduce)
    assert sorted(result_iterator(results)) == COUNTS


def test_simple_worker(master):
    def map(worker, task, **jobargs):
        out = worker.output(task, 0).file
        for line in worker.input(task):
            out.add(line, len(line))

    def reduce(worker, task, **jobargs):
        out = worker.output(task).file
        for k, v in worker.input(task):
            out.add(k.upper(), v)
    results = run(master, SimpleJob(), input=["raw://ab", "raw://c"], map=map, reduce=reduce)
    assert sorted(result_iterator(results)) == [("AB", 2), ("C", 1)]


def submit(master, job, **jobargs):
    return job.run(**jobargs).name


def test_protocol_session_messages_and_outputs(master):
    def map(line, params):
        print("mapping", line)
        yield line, 1
    name = submit(master, Job(), input=["raw://x"], map=map)
    run_ = master.run_task(name, "map", [(0, ["raw://x"])], group=(0, "localhost"))
    assert run_.status == "DONE", run_.error
    types = [t for t, _ in run_.log]
    assert types[:3] == ["WORKER", "TASK", "INPUT"] and types[-1] == "DONE"
    assert "mapping x" in run_.messages and "Results sent to master" in run_.messages[-1]
    [(label, path, size)] = run_.outputs
    assert label == 0 and not os.path.isabs(path) and size > 0
    assert os.path.isfile(os.path.join(master.jobhome(name), path))


def _protocol_accepts_input_err():
    import io
    from disco import protocol
    try:
        return protocol.read_message(io.BytesIO(protocol.encode("INPUT_ERR", [0, [0]])))
    except protocol.ProtocolError:
        return False


@pytest.mark.xfail(not _protocol_accepts_input_err(), strict=True,
                   reason="disco.protocol rejects the message type INPUT_ERR (isalpha)")
def test_all_replicas_failing_is_an_error_and_reported(master, server):
    """Replicas that fail for a reason a retry may heal (HTTP 500): ERROR, the master retries."""
    name = submit(master, Job(), input=["raw://x"], map=jobs.word_map)
    for path in ("/a", "/b"):
        server.faults[path] = [500]
    urls = [server.url + "/a", server.url + "/b"]
    run_ = master.run_task(name, "map", [(0, urls)])
    assert run_.status == "ERROR" and "Exhausted all available replicas" in run_.error
    assert run_.input_errs == [[0, [0, 1]]]


def test_an_input_absent_on_every_replica_is_fatal(master, server):
    """Replicas that do not exist (HTTP 404): no retry can heal it, the job fails at once."""
    name = submit(master, Job(), input=["raw://x"], map=jobs.word_map)
    urls = [server.url + "/a", server.url + "/b"]
    run_ = master.run_task(name, "map", [(0, urls)])
    assert run_.status == "FATAL" and "InputMissing" in run_.error and "input not found" in run_.error
    assert run_.input_errs == [[0, [0, 1]]]


def test_exception_in_job_code_is_fatal(master):
    def map(line, params):
        raise ValueError("bad record %s" % line)
    name = submit(master, Job(), input=["raw://x"], map=map)
    run_ = master.run_task(name, "map", [(0, ["raw://x"])])
    assert run_.status == "FATAL" and "ValueError: bad record x" in run_.error


def test_python_version_mismatch_is_fatal(master):
    name = submit(master, Job(), input=["raw://x"], map=nop_map, version="2.7")
    run_ = master.run_task(name, "map", [(0, ["raw://x"])])
    assert run_.status == "FATAL" and "Python version mismatch" in run_.error


def test_messages_are_rate_limited(master):
    def map(line, params):
        for i in range(30):
            print("line %d" % i)
        yield line, 1
    name = submit(master, Job(), input=["raw://x"], map=map, status_interval=0)
    run_ = master.run_task(name, "map", [(0, ["raw://x"])])
    assert run_.status == "DONE"
    text = "\n".join(run_.messages)
    assert all("line %d" % i in text for i in range(30))
    assert len(run_.messages) <= 6


def test_job_script_functions_from_main(master, tmp_path, python):
    script = tmp_path / "wordcount.py"
    script.write_text(
        "import sys\n"
        "from disco.job import Job\n"
        "from disco.util import kvgroup\n"
        "from disco.core import Disco\n"
        "from client.fakemaster import FakeMaster\n"
        "def fun_map(line, params):\n"
        "    for word in line.split():\n"
        "        yield word, 1\n"
        "def fun_reduce(iter, params):\n"
        "    for word, counts in kvgroup(sorted(iter)):\n"
        "        yield word, sum(counts)\n"
        "if __name__ == '__main__':\n"
        "    master = FakeMaster(sys.argv[1])\n"
        "    Disco.submit = lambda self, data: master.submit(data)\n"
        "    job = Job()\n"
        "    job.run(input=%r, map=fun_map, reduce=fun_reduce)\n"
        "    print(master.run_classic(job.name)[0][0])\n" % TEXT)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__file__)))
    out = subprocess.check_output([python, str(script), master.root], cwd=str(tmp_path), env=env)
    assert sorted(result_iterator([out.decode().strip()])) == COUNTS


def test_job_functions_get_the_classic_helpers(master):
    def map(line, params):
        yield this_name(), (Task.stage, this_partition(), this_host())  # noqa: F821
    name = submit(master, Job(), input=["raw://x"], map=map, partitions=None)
    run_ = master.run_task(name, "map", [(0, ["raw://x"])], group=(0, "localhost"))
    assert run_.status == "DONE", run_.error
    from disco.worker.task_io import disco_input_stream
    path = os.path.join(master.jobhome(name), run_.outputs[0][1])
    with open(path, "rb") as f:
        assert list(disco_input_stream(f, None, path)) == [(name, ("map", 0, "localhost"))]


def test_profile_runs_the_task_under_cprofile(master):
    name = submit(master, Job(), input=["raw://x"], map=nop_map, profile=True,
                  map_reader=lambda fd, size, url: [("k", "v")])
    run_ = master.run_task(name, "map", [(0, ["raw://x"])])
    assert run_.status == "DONE", run_.error
    assert any("Profile saved in" in m and "not stored as OOB data" in m for m in run_.messages)


def test_reduce_shuffle_stage(master):
    name = submit(master, Job(), input=["raw://x"], map=jobs.word_map, reduce=jobs.word_reduce,
                  reduce_shuffle=True)
    assert master.jobs[name].jobdict["reduce_shuffle?"] is True
    first = master.run_stage(name, "map", [((0, "localhost"), [(0, ["raw://a b a"])])], "split")
    dirs = master.run_stage(name, "reduce_shuffle", [((0, "localhost"), [("all", first)])],
                            "group_node")
    assert sorted(result_iterator(dirs)) == [("a", 1), ("a", 1), ("b", 1)]


NO_SUBMITTER = functools.partial(jobhome.launcher_script, "/no/such/bin/python")


def _path_with_python3(tmp_path, body):
    """A PATH whose only ``python3`` is a shell script with ``body``."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").write_text("#!/bin/sh\n" + body)
    (bindir / "python3").chmod(0o755)
    return {"PATH": str(bindir)}


def _map_task(master, job, **kwargs):
    return master.run_task(job.name, "map", [(0, ["raw://hello world"])], python=None, **kwargs)


def test_launcher_on_a_master_that_sets_nothing_uses_the_submitting_interpreter(master, tmp_path):
    """Issue 14.5: Disco 0.5's master sets no DISCO_PYTHON; a python3 without disco comes first."""
    path = _path_with_python3(tmp_path, 'echo "No module named disco" >&2; exit 1\n')
    job = Job().run(input=TEXT, map=jobs.word_map)
    run = _map_task(master, job, env=path)
    assert run.status == "DONE", run.error
    assert len(run.outputs) == 1


def test_launcher_falls_back_to_python3_with_the_package(master, tmp_path, monkeypatch):
    monkeypatch.setattr(jobhome, "launcher_script", NO_SUBMITTER)
    path = _path_with_python3(tmp_path, 'exec %s "$@"\n' % sys.executable)
    job = Job().run(input=TEXT, map=jobs.word_map)
    run = _map_task(master, job, env=path)
    assert run.status == "DONE", run.error


def test_launcher_last_words_when_no_interpreter_has_the_package(master, tmp_path, monkeypatch):
    monkeypatch.setattr(jobhome, "launcher_script", NO_SUBMITTER)
    path = _path_with_python3(tmp_path, 'echo "No module named disco" >&2; exit 1\n')
    job = Job().run(input=TEXT, map=jobs.word_map)
    run = _map_task(master, job, env=path)
    assert run.status == "crashed"
    assert run.error.strip() == (
        "disco_worker: no Python interpreter on this node has the disco package (tried: DISCO_PYTHON"
        " (unset), /no/such/bin/python, python3). Install Disco for one of them, or set DISCO_PYTHON"
        " (for example in the job's environment).")

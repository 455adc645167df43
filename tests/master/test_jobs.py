"""Jobs run by shell-script workers: results, classic jobs, retries, failures, kill, max_cores."""
import json
import os
import time

import pytest

from masters import alive
from master_support import (call, get_json, jobhome, jobpack, messages, read_results, run, seen, submit,
                            wait, written_pid)

MAP_REDUCE = {"pipeline": [["map", "split", False], ["reduce", "group_label", False]]}
WORDS = [[0, 0, ["raw://0-apple"]], [0, 0, ["raw://1-banana"]], [0, 0, ["raw://0-cherry"]]]


def test_map_reduce_by_label(master):
    name, (status, results) = run(master, jobpack(inputs=WORDS, **MAP_REDUCE))
    assert status == "ready" and len(results) == 2
    assert read_results(master, results) == ["apple", "banana", "cherry"]
    reports = seen(master, name)
    assert {k: v["group"] for k, v in reports.items() if k[0] == "reduce"} == {("reduce", 3): "0,", ("reduce", 4): "1,"}
    assert [label for label, _url in reports[("reduce", 3)]["inputs"]] == ["0", "0"]
    assert all(r["jobhome"] == "yes" and r["python"] == "yes" for r in reports.values())
    assert "Stage reduce scheduled with 2 tasks" in messages(master, name)


def test_classic_map_reduce_pipeline(master):
    name, (status, results) = run(master, jobpack(1, input=["raw://0-x", ["raw://2-y", "raw://2-z"]],
                                                  nr_reduces=1, **{"map?": True, "reduce?": True}))
    assert status == "ready" and read_results(master, results) == ["x", "y"]
    assert get_json(master, "/disco/ctrl/jobinfo?name=" + name)["pipeline"] == [
        ["map", 0, 0, 0, 2, 0], ["map_shuffle", 0, 0, 0, 1, 0], ["reduce", 0, 0, 0, 1, 0]]
    assert sorted(seen(master, name)) == [("map", 0), ("map", 1), ("map_shuffle", 2), ("reduce", 3)]


def test_empty_pipeline_results_are_the_inputs(master):
    _name, reply = run(master, jobpack(inputs=[[0, 0, ["raw://a", "raw://b"]], [1, 5, ["raw://c"]]]))
    assert reply == ["ready", [["raw://a", "raw://b"], ["raw://c"]]]
    _name, reply = run(master, jobpack(1, input=["raw://a", ["raw://b", "raw://c"]]))
    assert reply == ["ready", [["raw://a"], ["raw://b", "raw://c"]]]


def test_index_inputs_keep_their_labels(master):
    _first, (_status, results) = run(master, jobpack(inputs=WORDS, pipeline=[["map", "split", False]]))
    name, (status, chained) = run(master, jobpack(inputs=[[0, 0, r] for r in results],
                                                  pipeline=[["reduce", "group_label", False]]))
    assert status == "ready" and read_results(master, chained) == ["apple", "banana", "cherry"]
    assert sorted(v["group"] for v in seen(master, name).values()) == ["0,", "1,"]


def test_data_outputs(master):
    name, (status, results) = run(master, jobpack(envs={"BEHAVIOUR": "forward"}, inputs=WORDS,
                                                  pipeline=[["fwd", "split", False]]))
    assert (status, results) == ("ready", [["raw://0-apple"], ["raw://1-banana"], ["raw://0-cherry"]])


def test_retry_after_transient_error(master, tmp_path):
    name, (status, results) = run(master, jobpack(envs={"BEHAVIOUR": "error", "ONCE": "1", "TEST_DIR": str(tmp_path)},
                                                  inputs=WORDS[:1], pipeline=[["map", "split", False]]))
    assert status == "ready" and read_results(master, results) == ["apple"]
    events = messages(master, name)
    assert "WARNING: [map:0] transient failure" in events
    retries = [e for e in events if e.startswith("Task map:0 failed on localhost (1 failure so far); retrying in ")]
    assert len(retries) == 1
    assert 0.01 <= float(retries[0].rsplit(" ", 2)[1]) <= 0.02      # (1 + random(0..1)) x DISCO_RETRY_BASE
    assert events.count("map:0 assigned to localhost") == 2
    assert get_json(master, "/disco/ctrl/jobinfo?name=" + name)["pipeline"] == [["map", 0, 0, 0, 1, 1]]


@pytest.mark.parametrize("behaviour, warning", [
    ("crash", "WARNING: [map:0] Worker crashed! (exit code: 3)"),
    ("garbage", "WARNING: [map:0] Worker died. Last words: this is not a protocol frame\n"),
    ("badoutput", "WARNING: [map:0] invalid_output: '/etc/passwd' is not a path relative to the job home"),
])
def test_recoverable_failures_are_retried(master, tmp_path, behaviour, warning):
    name, (status, _results) = run(master, jobpack(envs={"BEHAVIOUR": behaviour, "ONCE": "1", "TEST_DIR": str(tmp_path)},
                                                   inputs=WORDS[:1], pipeline=[["map", "split", False]]))
    assert status == "ready"
    assert warning in messages(master, name)


def test_fatal_kills_the_job(master):
    name, reply = run(master, jobpack(envs={"BEHAVIOUR": "fatal"}, inputs=WORDS, **MAP_REDUCE))
    assert reply == ["dead", []]
    events = messages(master, name)
    assert any(e in events for e in ("FATAL: [map:%d] fatal failure" % i for i in range(3)))
    assert events[-1].startswith("ERROR: Job killed: Task map:")
    assert not any(e.startswith("Stage reduce") for e in events)
    map_stage = get_json(master, "/disco/ctrl/jobinfo?name=" + name)["pipeline"][0]
    assert map_stage[0] == "map" and map_stage[1:3] == [0, 0]      # no task of a dead job waits


def test_too_many_failures_kill_the_job(start):
    master = start(DISCO_MAX_FAILURE_RATE="1")
    name, reply = run(master, jobpack(envs={"BEHAVIOUR": "crash"}, inputs=WORDS[:1], pipeline=[["map", "split", False]]))
    assert reply == ["dead", []]
    events = messages(master, name)
    assert events.count("WARNING: [map:0] Worker crashed! (exit code: 3)") == 2
    assert events[-1] == "ERROR: Job killed: Task map:0 failed 2 times. At most 1 failures are allowed."
    info = get_json(master, "/disco/ctrl/nodeinfo")["localhost"]
    assert info["data_error"] == 2 and info["job_ok"] == 0


def test_message_flood_kills_the_job(master):
    name, reply = run(master, jobpack(envs={"BEHAVIOUR": "flood"}, inputs=WORDS[:1], pipeline=[["map", "split", False]]))
    assert reply == ["dead", []]
    events = messages(master, name)
    assert events.count("MSG: [map:0] flood") == 9
    assert any(e.startswith("FATAL: [map:0] Worker is behaving badly") for e in events)


def test_missing_worker_kills_the_job(master):
    name, reply = run(master, jobpack(worker="nowhere.sh", inputs=WORDS[:1], pipeline=[["map", "split", False]]))
    assert reply == ["dead", []]
    assert any("worker 'nowhere.sh' not found in the job home" in e for e in messages(master, name))


def test_kill_stops_workers_and_their_children(master, tmp_path):
    name = submit(master, jobpack(envs={"BEHAVIOUR": "sleep", "TEST_DIR": str(tmp_path)}, inputs=WORDS[:1],
                                  pipeline=[["map", "split", False]]))
    sleep_pid = written_pid(tmp_path / "sleep.pid")
    info = get_json(master, "/disco/ctrl/jobinfo?name=" + name)
    assert info["active"] == "active" and info["hosts"] == ["localhost"]
    assert get_json(master, "/disco/ctrl/nodeinfo")["localhost"]["tasks"] == [name]
    assert get_json(master, "/disco/ctrl/kill_job", name) == ""
    assert wait(master, name) == ["dead", []]
    assert not alive(sleep_pid)
    assert messages(master, name)[-1] == "WARN: Job killed"
    assert "tasks" not in get_json(master, "/disco/ctrl/nodeinfo")["localhost"]


def test_max_cores_limits_running_tasks(master, tmp_path):
    name = submit(master, jobpack(envs={"BEHAVIOUR": "sleep", "TEST_DIR": str(tmp_path)}, inputs=WORDS,
                                  scheduler={"max_cores": 1}, pipeline=[["map", "split", False]]))
    written_pid(tmp_path / "sleep.pid")
    time.sleep(0.2)
    assert get_json(master, "/disco/ctrl/jobinfo?name=" + name)["pipeline"] == [["map", 2, 2, 1, 0, 0]]
    get_json(master, "/disco/ctrl/kill_job", name)
    assert wait(master, name)[0] == "dead"


def test_jobhome_is_unpacked_once_per_node(master):
    name, (status, results) = run(master, jobpack(home=jobhome({"lib/data.txt": b"payload"}), inputs=WORDS,
                                                  pipeline=[["map", "split", False]]))
    home = os.path.dirname(os.path.dirname(os.path.join(master.settings["DISCO_DATA"],
                                                        results[0][0].split("/disco/", 1)[1])))
    assert sorted(os.listdir(home)) == [".disco", ".jobhome", "jobfile", "lib", "out", "worker.sh"]
    assert open(os.path.join(home, "lib", "data.txt")).read() == "payload"
    with open(os.path.join(home, "jobfile"), "rb") as f:
        assert f.read() == call(master, "/disco/ctrl/parameters?name=" + name)[2]


def test_input_errors_and_ping(master):
    name, (status, results) = run(master, jobpack(envs={"BEHAVIOUR": "replicas"}, inputs=[[0, 0, ["raw://0-a", "raw://0-b"]]],
                                                  pipeline=[["map", "split", False]]))
    assert (status, results) == ("ready", [])
    replies = [m for m in messages(master, name) if m.startswith("MSG: [map:0] replies ")][0]
    assert replies.split(" replies ", 1)[1].split("|") == [
        "RETRY 18 [[1, 'raw://0-b']]",
        "INPUT 62 ['done', [[0, 'ok', 0, [[1, 'raw://0-b'], [0, 'raw://0-a']]]]]",
        "FAIL 2 ''", "OK 6 'pong'"]


@pytest.mark.parametrize("url, host", [("raw://0-a", "0-a"), ("raw://two words/x", "")])
def test_task_reply(master, url, host):
    """The TASK reply; a group "host" that is no host name (the data of a raw:// input) is ""
    (Disco 0.5 workers put it in their output file names, which may not hold whitespace)."""
    name, (status, _results) = run(master, jobpack(envs={"BEHAVIOUR": "task"}, inputs=[[0, 0, [url]]],
                                                   pipeline=[["map", "split", False]]))
    assert status == "ready"
    assert "Stage map scheduled with 1 task" in messages(master, name)
    report = [m for m in messages(master, name) if m.startswith("MSG: [map:0] task ")][0]
    msg_type, _length, payload = report.split(" task ", 1)[1].split(" ", 2)
    task = json.loads(payload.replace("'", '"'))
    assert msg_type == "TASK" and os.path.isabs(task.pop("jobfile"))
    assert task == {"taskid": 0, "master": master.url, "disco_port": master.port, "put_port": 8990,
                    "ddfs_data": master.settings["DDFS_DATA"], "disco_data": master.settings["DISCO_DATA"],
                    "stage": "map", "grouping": "split", "group": [0, host], "jobname": name,
                    "host": "localhost"}


@pytest.mark.parametrize("end", ["fatal", "kill"])
def test_slots_come_back_when_a_job_dies_with_tasks_waiting(start, tmp_path, end):
    """A fatal task (or a kill) while several tasks of the same job wait for the only slot: the
    slot must come back, the job ends once, and later jobs run."""
    master = start(DISCO_WORKERS="1")
    words = [[0, 0, ["raw://0-w%d" % i]] for i in range(5)]
    envs = {"BEHAVIOUR": "fatal" if end == "fatal" else "sleep", "TEST_DIR": str(tmp_path)}
    name = submit(master, jobpack(envs=envs, inputs=words, pipeline=[["map", "split", False]]))
    if end == "kill":
        written_pid(tmp_path / "sleep.pid")
        assert get_json(master, "/disco/ctrl/kill_job", name) == ""
    assert wait(master, name)[0] == "dead"
    ends = [e for e in messages(master, name) if e.startswith(("ERROR: Job killed", "WARN: Job killed"))]
    assert len(ends) == 1, ends
    for _ in range(2):
        assert run(master, jobpack(inputs=WORDS, **MAP_REDUCE))[1][0] == "ready"
    assert "tasks" not in get_json(master, "/disco/ctrl/nodeinfo")["localhost"]


def test_workers_inherit_the_masters_settings(start):
    """Issue 14.1: a worker that resolves disco:// URLs through DISCO_PORT alone (as Disco 0.5's
    do) reaches a master that is not on 8989; jobenvs still win over the inherited settings."""
    master = start()
    assert master.port != 8989
    rest = "localhost/test/file.txt"
    os.makedirs(os.path.dirname(os.path.join(master.settings["DISCO_DATA"], rest)))
    with open(os.path.join(master.settings["DISCO_DATA"], rest), "w") as f:
        f.write("served by the master")
    with open(os.path.join(os.path.dirname(__file__), "envworker.py"), "rb") as f:
        home = jobhome({"envworker.py": f.read()})
    envs = {"TEST_URL": "disco://localhost/disco/" + rest, "DDFS_DATA": "/from/jobenvs"}
    name, (status, _results) = run(master, jobpack(home=home, worker="envworker.py", envs=envs,
                                                   inputs=[[0, 0, ["raw://0-a"]]],
                                                   pipeline=[["map", "split", False]]))
    assert status == "ready", messages(master, name)
    report, = [json.loads(m.split("] ", 1)[1]) for m in messages(master, name) if m.startswith("MSG: ")]
    assert report == {"read": "served by the master", "local": True, "env": {
        "DISCO_MASTER": master.url, "DISCO_MASTER_HOST": "127.0.0.1", "DISCO_PORT": str(master.port),
        "DISCO_DATA": master.settings["DISCO_DATA"], "DDFS_DATA": "/from/jobenvs"}}


def test_a_detached_child_does_not_hold_the_task(master, tmp_path):
    """A worker whose child left its process group (setsid) and keeps the output pipe open: the
    attempt still ends at DONE, and the job with it (it used to wait for the child's 40 s)."""
    name = submit(master, jobpack(envs={"BEHAVIOUR": "detach", "TEST_DIR": str(tmp_path)},
                                  inputs=WORDS[:1], pipeline=[["map", "split", False]]))
    try:
        assert wait(master, name, timeout=20)[0] == "ready"
        assert "tasks" not in get_json(master, "/disco/ctrl/nodeinfo")["localhost"]
    finally:
        os.kill(written_pid(tmp_path / "detached.pid"), 9)

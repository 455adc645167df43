"""Task attempts (docs/master.md#attempts): recorded per attempt, served by /disco/ctrl/jobattempts,
saved in batches to the job's ``attempts`` file, kept over a restart; the job list's times."""
import json
import os
import signal
import time
import types

from disco.master import attempts as attempts_mod
from disco.master.names import job_dir
from master_support import call, get_json, jobpack, submit, wait, written_pid

MAP_REDUCE = {"pipeline": [["map", "split", False], ["reduce", "group_all", False]]}
INPUTS = [[0, 0, ["raw://0-a"]], [0, 0, ["raw://0-b"]], [0, 0, ["raw://0-c"]]]


def attempts(master, name, since=0):
    return get_json(master, "/disco/ctrl/jobattempts?name=%s&since=%d" % (name, since))


def test_a_failed_then_done_task_has_two_attempts(start, tmp_path):
    master = start()
    name = submit(master, jobpack(envs={"BEHAVIOUR": "error", "ONCE": "1", "TEST_DIR": str(tmp_path),
                                        "BEHAVIOUR_STAGE": "map"}, inputs=INPUTS, **MAP_REDUCE))
    assert wait(master, name)[0] == "ready"
    reply = attempts(master, name)
    assert reply["active"] == "ready" and reply["live"] is False and reply["running"] == []
    total = len(reply["attempts"])
    assert reply["count"] == reply["next"] == total
    info = get_json(master, "/disco/ctrl/jobinfo?name=" + name)
    assert abs(reply["now"] - info["duration"]) < 0.01
    by_task = {}
    for stage, taskid, attempt, node, begin, end, outcome in reply["attempts"]:
        assert node == "localhost" and 0 <= begin <= end <= reply["now"]
        by_task.setdefault((stage, taskid), []).append((attempt, outcome))
    assert sorted(by_task) == [("map", 0), ("map", 1), ("map", 2), ("reduce", 3)]
    # ONCE fails the first map worker (two starting at once may both fail): failed attempts,
    # then one done, numbered from 1; as many failed attempts as jobinfo counts failures
    for runs in by_task.values():
        assert sorted(runs) == [(n, "failed") for n in range(1, len(runs))] + [(len(runs), "done")]
    failed = [a for a in reply["attempts"] if a[6] == "failed"]
    assert failed and {a[0] for a in failed} == {"map"} and total == 4 + len(failed)
    assert [stage[5] for stage in info["pipeline"]] == [len(failed), 0]
    (reduce_start,) = [a[4] for a in reply["attempts"] if a[0] == "reduce"]
    assert all(a[5] <= reduce_start for a in reply["attempts"] if a[0] == "map" and a[6] == "done")

    # incremental: since counts the ended attempts already seen
    tail = attempts(master, name, 3)
    assert tail["attempts"] == reply["attempts"][3:] and tail["next"] == total
    assert attempts(master, name, total)["attempts"] == [] and attempts(master, name, 99)["next"] == total

    # the job's file, one attempt a line
    path = attempts_mod.path(job_dir(master.settings["DISCO_MASTER_ROOT"], name))
    with open(path) as f:
        assert [json.loads(line) for line in f] == reply["attempts"]


def test_bad_attempt_requests(master):
    name = submit(master, jobpack(inputs=INPUTS[:1], pipeline=[["map", "split", False]]))
    wait(master, name)
    for query, field in (("since=-1", "since"), ("since=x", "since"), ("since=1e3", "since"),
                         ("since=" + "9" * 40, "since"), ("", "name")):
        status, _h, body = call(master, "/disco/ctrl/jobattempts?name=%s&%s" % (name if field != "name" else "", query))
        assert status == 400 and field in json.loads(body), (query, body)
    assert call(master, "/disco/ctrl/jobattempts?name=nosuchjob")[0] == 404
    assert call(master, "/disco/ctrl/jobattempts")[0] == 400
    assert call(master, "/disco/ctrl/jobattempts?name=" + name)[0] == 200     # since defaults to 0


def test_running_attempts_are_live_and_a_kill_ends_them(master, tmp_path):
    name = submit(master, jobpack(envs={"BEHAVIOUR": "sleep", "TEST_DIR": str(tmp_path)}, inputs=INPUTS[:1],
                                  pipeline=[["map", "split", False]]))
    written_pid(tmp_path / "sleep.pid")
    reply = attempts(master, name)
    assert reply["active"] == "active" and reply["live"] is True
    assert reply["attempts"] == [] and reply["count"] == 0
    (running,) = reply["running"]
    assert running[:4] == ["map", 0, 1, "localhost"] and running[5:] == [None, "running"]
    assert 0 <= running[4] <= reply["now"]
    get_json(master, "/disco/ctrl/kill_job", name)
    wait(master, name)
    reply = attempts(master, name)
    assert reply["live"] is False and reply["running"] == [] and reply["active"] == "dead"
    (killed,) = reply["attempts"]
    assert killed[:5] == running[:5] and killed[6] == "killed" and killed[5] >= killed[4]


def test_attempts_of_finished_jobs_survive_a_restart(start, tmp_path):
    root = tmp_path / "root"
    master = start(root=root)
    name = submit(master, jobpack(inputs=INPUTS, pipeline=[["map", "split", False]]))
    wait(master, name)
    before = attempts(master, name)
    assert [a[6] for a in before["attempts"]] == ["done"] * 3
    os.killpg(master.proc.pid, signal.SIGKILL)
    master.proc.wait()
    master = start(root=root)
    assert attempts(master, name) == before
    get_json(master, "/disco/ctrl/purge_job", name)
    assert call(master, "/disco/ctrl/jobattempts?name=" + name)[0] == 404


def test_job_list_with_times(master):
    name = submit(master, jobpack(inputs=INPUTS[:1], pipeline=[["map", "split", False]]))
    wait(master, name)
    rows = {row[2]: row for row in get_json(master, "/disco/ctrl/joblist?times=1")}
    start, status, _name, ended, duration = rows[name]
    info = get_json(master, "/disco/ctrl/jobinfo?name=" + name)
    assert status == "ready" and ended >= start and abs(duration - info["duration"]) < 0.01
    assert [row[:3] for row in get_json(master, "/disco/ctrl/joblist")] == \
        [row[:3] for row in get_json(master, "/disco/ctrl/joblist?times=0")]
    assert all(len(row) == 3 for row in get_json(master, "/disco/ctrl/joblist"))
    status, _h, body = call(master, "/disco/ctrl/joblist?times=yes")
    assert status == 400 and "times" in json.loads(body)


# ---- JobAttempts on its own: batching and the file ----

def _task(stage, taskid, runs):
    return types.SimpleNamespace(stage=stage, taskid=taskid, runs=runs)


def test_attempts_are_saved_in_batches_and_on_close(tmp_path, monkeypatch):
    monkeypatch.setattr(attempts_mod, "FLUSH_COUNT", 3)
    path = str(tmp_path / "attempts")
    job = attempts_mod.JobAttempts(path, time.time())
    first = [job.start(_task("map", i, 1), "n%d" % i) for i in range(4)]
    for a in first[:2]:
        job.end(a, "done")
    assert not os.path.exists(path)             # no I/O per attempt
    job.end(first[2], "error")
    assert attempts_mod.read(path, 0)[1] == 3   # a batch of FLUSH_COUNT
    job.end(first[2], "done")                   # ended once only
    ended, running, count, following = job.reply(1)
    assert [a[6] for a in ended] == ["done", "failed"] and running == [first[3]] and count == following == 3
    lost = job.start(_task("reduce", 9, 2), "n0")
    job.end(lost, "error", lost_input=True)
    job.close()                                  # the running one was killed
    saved, count, following = attempts_mod.read(path, 0)
    assert count == following == 5 and [a[6] for a in saved] == ["done", "done", "failed", "lost_input", "killed"]
    assert saved[3][:4] == ["reduce", 9, 2, "n0"]
    assert attempts_mod.read(path, 3, limit=1) == (saved[3:4], 5, 4)
    with open(path, "a") as f:
        f.write('["not", "an attempt"]\n{}\n["map", 1, 1, "n", 0, 1, "done"]\n["map", 1, 1')  # the end cut short
    assert attempts_mod.read(path, 0) == (saved + [["map", 1, 1, "n", 0, 1, "done"]], 8, 8)
    assert attempts_mod.read(path, 6) == ([["map", 1, 1, "n", 0, 1, "done"]], 8, 8)
    assert attempts_mod.read(str(tmp_path / "none"), 0) == ([], 0, 0)


def test_a_batch_is_saved_after_flush_seconds(tmp_path, monkeypatch):
    monkeypatch.setattr(attempts_mod, "FLUSH_SECONDS", 0)
    os.mkdir(tmp_path / "job")
    path = str(tmp_path / "job" / "attempts")
    job = attempts_mod.JobAttempts(path, time.time())
    job.end(job.start(_task("map", 0, 1), "n"), "fatal")
    assert [a[6] for a in attempts_mod.read(path, 0)[0]] == ["fatal"]
    os.unlink(path)
    os.rmdir(tmp_path / "job")                   # the job was deleted: nothing to keep, no error
    job.end(job.start(_task("map", 1, 1), "n"), "done")

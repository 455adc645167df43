"""Unbounded growth (issue 9, item 8): MSG texts, job event logs and job pack uploads."""
import os

from disco.job import JobPack
from disco.master.events import EventLog
from disco.master.names import job_dir
from master_support import call, get_json, jobdict, jobhome, jobpack, messages, run

MAP = {"pipeline": [["map", "split", False]]}


def inputs(n):
    return [[0, 0, ["raw://0-w%d" % i]] for i in range(n)]


def test_a_long_msg_is_truncated_with_a_marker(master):
    name, reply = run(master, jobpack(envs={"BEHAVIOUR": "bigmsg"}, inputs=inputs(1), **MAP))
    assert reply[0] == "ready"
    (msg,) = [m for m in messages(master, name) if m.startswith("MSG: [map:0] <")]
    assert msg == "MSG: [map:0] <" + "x" * (64 * 1024 - 1) + " [... truncated: %d more characters]" % (
        200002 - 64 * 1024)


def test_event_log_keeps_its_start_and_end(start):
    master = start(DISCO_MAX_EVENTS_SIZE="60000")
    name, reply = run(master, jobpack(envs={"BEHAVIOUR": "bigmsg", "MSG_SIZE": "9000"}, inputs=inputs(30), **MAP),
                      timeout=120)
    assert reply[0] == "ready"
    path = os.path.join(job_dir(master.settings["DISCO_MASTER_ROOT"], name), "events")
    assert os.path.getsize(path) <= 60000 + 10000
    events = messages(master, name)
    assert events[0] == "New job initialized!" and events[-1].startswith("READY: Job done in ")
    (marker,) = [e for e in events if e.startswith("WARN: event log truncated: ")]
    dropped = int(marker.split()[4])
    # 30 x (MSG, assigned, DONE), the stage and job events: all logged or counted as dropped
    assert len(events) - 1 + dropped >= 30 * 3 + 3


def test_event_log_rewrites_count_every_dropped_event(tmp_path):
    log = EventLog(str(tmp_path), max_size=2000)
    os.makedirs(os.path.dirname(log.path("j@1")))
    for i in range(500):
        log.add("j@1", "event %d %s" % (i, "y" * (i % 50)))
        assert os.path.getsize(log.path("j@1")) <= 2000 + 200
    events = [e[2] for e in reversed(log.tail("j@1", 1000))]
    marker = [i for i, e in enumerate(events) if e.startswith("WARN: event log truncated")]
    assert len(marker) == 1 and events[0] == "event 0 "
    dropped = int(events[marker[0]].split()[4])
    assert events[-1].startswith("event 499 ")
    assert len(events) - 1 + dropped == 500
    numbers = [int(e.split()[1]) for e in events if e.startswith("event ")]
    assert numbers == sorted(numbers) and numbers[marker[0]] - numbers[marker[0] - 1] == dropped + 1


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])


def test_job_pack_upload_is_streamed_to_a_file(master):
    run(master, jobpack())      # warm up: the master has served a job
    before = peak_rss_kib(master.proc.pid)
    data = os.urandom(1 << 20) * 96
    pack = JobPack(2, jobdict(), {}, jobhome(), data).dumps()
    name, reply = run(master, pack)
    assert reply == ["ready", []]
    grown = peak_rss_kib(master.proc.pid) - before
    assert grown < 40 * 1024, "the master grew %d KiB for a %d KiB job pack" % (grown, len(pack) // 1024)
    status, _h, body = call(master, "/disco/ctrl/parameters?name=" + name)
    assert status == 200 and body == pack
    uploads = os.path.join(master.settings["DISCO_MASTER_ROOT"], ".uploads")
    assert get_json(master, "/disco/job/new", b"\xd5\xc0\x00\x02" + b"\0" * 200)[0] == "error"
    assert os.listdir(uploads) == []

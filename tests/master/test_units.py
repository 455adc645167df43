"""Unit tests of the master's plain classes and functions (no HTTP, no processes)."""
import asyncio
import io
import os
import re
import zipfile

import pytest

from disco.job import JobPack
from disco.master import datafiles, jobhome, jobspec
from disco.master.config import ClusterConfig, ConfigError, ConfigFile, expand
from disco.master.grouping import group
from disco.master.jobinputs import read_index
from disco.master.model import JobRun, Task
from disco.master.names import JobNamer, duration, hexhash, job_dir, ordinal
from disco.master.outputs import DataOutput, DirOutput, TaskInput, index_labels, url_host
from disco.master.scheduler import Scheduler
from disco.master.taskinputs import TaskInputs
from master_support import get_json, jobdict, run, jobpack


# names
def test_job_names_are_unique_and_well_formed():
    namer = JobNamer()
    names = [namer("word_count") for _ in range(1000)]
    assert len(set(names)) == 1000
    assert all(re.fullmatch(r"word_count@[0-9a-f]+:[0-9a-f]+:[0-9a-f]+", n) for n in names)


def test_name_helpers():
    assert hexhash("abc") == "90"   # md5("abc") = 900150983cd24fb0...
    assert job_dir("/m/", "j@1:2:3") == "/m/%s/j@1:2:3" % hexhash("j@1:2:3")
    assert duration(3723.4567) == "1:02:03.457"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]


# config
def test_config_ranges_and_errors():
    assert expand([["node01:03", "2"], ["big", "8"]]) == {"node01": 2, "node02": 2, "node03": 2, "big": 8}
    assert list(expand([["n8:10", "1"]])) == ["n08", "n09", "n10"]
    with pytest.raises(ConfigError, match="duplicate nodes"):
        expand([["n1:3", "1"], ["n2", "1"]])
    for bad in ("x", [["a"]], [["a", 1]], [["a", "x"]], [["n5:2", "1"]], [["", "1"]], [["a/b", "1"]]):
        with pytest.raises(ConfigError, match="invalid config"):
            expand(bad)


def test_config_file_prunes_blacklists_and_reads_legacy(tmp_path):
    path = str(tmp_path / "c.config")
    cf = ConfigFile(path, [["localhost", "3"]])
    assert cf.load().nodes == {"localhost": 3}
    cf.save(ClusterConfig.from_table([["a1:2", "1"]], ["a1", "zz"], ["a2"]))
    config = cf.load()
    assert (config.table, config.blacklist, config.gc_blacklist) == ([["a1:2", "1"]], ["a1"], ["a2"])
    with open(path, "w") as f:
        f.write('[["x", "2"]]')
    assert cf.load().nodes == {"x": 2}


# job spec
@pytest.mark.parametrize("flags, nr, expected", [
    ((False, False, False), 1, []),
    ((False, True, False), 1, [("reduce", "group_all")]),
    ((False, True, True), 4, [("reduce", "group_label"), ("reduce_shuffle", "group_node")]),
    ((False, True, False), 4, [("reduce", "group_label")]),
    ((True, False, False), 4, [("map", "split"), ("map_shuffle", "group_node")]),
    ((True, True, True), 1, [("map", "split"), ("map_shuffle", "group_node"), ("reduce", "group_all")]),
    ((True, True, True), 4, [("map", "split"), ("map_shuffle", "group_node"), ("reduce", "group_label"),
                             ("reduce_shuffle", "group_node")]),
    ((True, True, False), 4, [("map", "split"), ("map_shuffle", "group_node"), ("reduce", "group_label")]),
])
def test_v1_pipeline_table(flags, nr, expected):
    jd = dict(zip(("map?", "reduce?", "reduce_shuffle?"), flags), nr_reduces=nr)
    assert [(s.name, s.grouping) for s in jobspec.v1_pipeline(jd)] == expected


def test_parse_v1_inputs_and_scheduler():
    pack = JobPack(1, jobdict(1, input=["raw://a", ["http://h/x", "http://g/x"], ["dir://h/i", "dir://g/i"]],
                              scheduler={"max_cores": 3}, **{"map?": True}), {}, b"", b"").dumps()
    spec = jobspec.parse(pack)
    assert spec.inputs == [(0, 0, ["raw://a"]), (0, 0, ["http://h/x", "http://g/x"]), (0, 0, ["dir://h/i"])]
    assert spec.max_cores == 3 and [s.name for s in spec.pipeline] == ["map", "map_shuffle"]


def test_a_submission_parses_the_job_pack_header_once(monkeypatch):
    from disco import _jobpack
    calls = []
    for name in ("parse_header", "loads"):
        real = getattr(_jobpack, name)
        monkeypatch.setattr(_jobpack, name, lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a))
    spec = jobspec.parse(jobpack(2, envs={"A": "b"}))
    assert calls == ["parse_header"]
    assert spec.jobenvs == {"A": "b"} and spec.prefix


# outputs and groupings
def test_url_host_and_index_labels():
    assert url_host("disco://n1/disco/x") == "n1"
    assert url_host("http://h:8989/x") == "h"
    assert url_host("raw://hello") == "hello"
    assert url_host("tag://user:tok@/name") == ""
    assert index_labels("1 u 5\n0 v 2\n1 w 3\n") == ((0, 2), (1, 8))


D1 = DirOutput("dir://n1/disco/n1/i1", ((0, 5), (1, 7)))
D2 = DirOutput("dir://n2/disco/n2/i2", ((1, 3),))
DATA = DataOutput(2, 9, ("disco://n2/d", "disco://n3/d"))


def first(urls):
    return urls[0]


def test_groupings():
    outputs = [D1, D2, DATA]
    assert group("split", outputs, first) == [
        ((0, "n1"), [TaskInput(0, (D1.url,))]), ((1, "n1"), [TaskInput(1, (D1.url,))]),
        ((1, "n2"), [TaskInput(1, (D2.url,))]), ((2, "n2"), [TaskInput(2, DATA.urls)])]
    assert group("group_label", outputs, first) == [
        ((0, ""), [TaskInput(0, (D1.url,))]),
        ((1, ""), [TaskInput(1, (D1.url,)), TaskInput(1, (D2.url,))]),
        ((2, ""), [TaskInput(2, DATA.urls)])]
    assert group("group_node_label", outputs, first) == [
        ((0, "n1"), [TaskInput(0, (D1.url,))]), ((1, "n1"), [TaskInput(1, (D1.url,))]),
        ((1, "n2"), [TaskInput(1, (D2.url,))]), ((2, "n2"), [TaskInput(2, DATA.urls)])]
    assert group("group_node", outputs, first) == [
        ((0, "n1"), [TaskInput("all", (D1.url,))]),
        ((0, "n2"), [TaskInput("all", (D2.url,)), TaskInput(2, DATA.urls)])]
    assert group("group_all", outputs, first) == [
        ((0, ""), [TaskInput("all", (D1.url,)), TaskInput("all", (D2.url,)), TaskInput(2, DATA.urls)])]
    assert group("group_all", [], first) == [] and group("split", [], first) == []


# task inputs
def test_task_inputs_select_and_fail():
    inputs = TaskInputs([TaskInput(0, ("a0", "a1", "a2")), TaskInput("all", ("b0",))])
    assert inputs.reply("") == ["done", [[0, "ok", 0, [[0, "a0"], [1, "a1"], [2, "a2"]]],
                                         [1, "ok", "all", [[0, "b0"]]]]]
    assert inputs.reply(["include", [1]]) == ["done", [[1, "ok", "all", [[0, "b0"]]]]]
    assert inputs.reply(["exclude", [0, 1]]) == ["done", []]
    assert inputs.fail([0, [1]]) == [[0, "a0"], [2, "a2"]]
    assert inputs.fail([0, [0]]) == [[2, "a2"]]
    assert inputs.reply(["include", [0]])[1][0][3] == [[2, "a2"], [1, "a1"], [0, "a0"]]
    assert inputs.fail([1, [0]]) == []
    for bad in (["include", 1], ["all", []], 5, ["exclude", ["x"]]):
        with pytest.raises(ValueError):
            inputs.reply(bad)
    with pytest.raises(ValueError):
        inputs.fail([7, [0]])


# scheduler
def _task(job, taskid, host="", inputs=()):
    return Task(job, taskid, "s", "split", (0, host), TaskInputs(inputs))


def test_scheduler_slots_pins_caps_and_failed_hosts():
    async def scenario():
        sched = Scheduler("fifo")
        sched.configure({"a": 1, "b": 1}, ["b"])
        old, new = JobRun("old", "", "w", {}, 1, 1.0), JobRun("new", "", "w", {}, 5, 2.0)
        t_pinned = _task(old, 0, host="a")
        assert await sched.acquire(t_pinned) == "a"
        waiting_old = asyncio.ensure_future(sched.acquire(_task(old, 1)))
        waiting_new = asyncio.ensure_future(sched.acquire(_task(new, 0, inputs=[TaskInput(0, ("disco://b/x",))])))
        await asyncio.sleep(0)
        assert not waiting_old.done() and not waiting_new.done()     # a is full, b blacklisted
        assert sched.capped("old", 1)
        sched.configure({"a": 1, "b": 1}, [])
        assert await waiting_new == "b"                             # old is capped at max_cores=1
        sched.release(t_pinned, "a")
        assert await waiting_old == "a"
        retry = _task(new, 1)
        retry.failed_hosts = {"a"}
        retry.runs = 1
        pending = asyncio.ensure_future(sched.acquire(retry))
        await asyncio.sleep(0)
        assert not pending.done()      # b is busy and a failed
        pending.cancel()
        await asyncio.sleep(0)
        assert not sched.waiting
    asyncio.run(scenario())


def test_fair_policy_prefers_the_job_with_fewer_running_tasks():
    async def scenario():
        sched = Scheduler("fair")
        sched.configure({"a": 2}, [])
        old, new = JobRun("old", "", "w", {}, 9, 1.0), JobRun("new", "", "w", {}, 9, 2.0)
        running = _task(old, 0)
        assert await sched.acquire(running) == "a"
        assert await sched.acquire(_task(old, 1)) == "a"     # a is full now
        queued_old = asyncio.ensure_future(sched.acquire(_task(old, 2)))
        queued_new = asyncio.ensure_future(sched.acquire(_task(new, 0)))
        await asyncio.sleep(0)
        sched.release(running, "a")
        assert await queued_new == "a" and not queued_old.done()
        queued_old.cancel()
    asyncio.run(scenario())


# data files and job homes
def test_datafiles_resolve(tmp_path):
    root = tmp_path / "data"
    (root / "n").mkdir(parents=True)
    (root / "n" / "f").write_text("x")
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", root / "n" / "link")
    assert datafiles.resolve(str(root), "n/f") == str((root / "n" / "f").resolve())
    for bad in ("../secret", "n/../../secret", "/etc/passwd", "n/link", "n"):
        with pytest.raises(datafiles.Forbidden):
            datafiles.resolve(str(root), bad)
    with pytest.raises(FileNotFoundError):
        datafiles.resolve(str(root), "n/missing")


def _pack_file(tmp_path, entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    path = tmp_path / "jobfile.in"
    path.write_bytes(JobPack(2, jobdict(), {}, buf.getvalue(), b"").dumps())
    return str(path)


def test_jobhome_unpack_and_escaping_entries(tmp_path):
    home = tmp_path / "home"
    pack = _pack_file(tmp_path, {"worker.sh": "#!/bin/sh\n", "lib/x": "y"})
    jobhome.unpack(str(home), pack, "worker.sh")
    assert (home / ".jobhome").exists() and (home / "lib" / "x").read_text() == "y"
    assert os.access(home / "worker.sh", os.X_OK) and (home / "jobfile").exists()
    assert os.path.samefile(home / "jobfile", pack)     # a hard link: no copy on one file system
    for bad in ("../escape", "/abs/path", "a/../../escape"):
        with pytest.raises(jobhome.JobHomeError, match="escapes"):
            jobhome.unpack(str(tmp_path / "h2"), _pack_file(tmp_path, {"worker.sh": "", bad: "x"}), "worker.sh")
    assert not (tmp_path / "escape").exists()
    with pytest.raises(jobhome.JobHomeError, match="not found"):
        jobhome.unpack(str(tmp_path / "h3"), _pack_file(tmp_path, {"other": ""}), "worker.sh")


def test_read_index_over_http(master, tmp_path):
    """An index file that is not local is fetched from http://<host>:<port>/<path>."""
    name, (status, results) = run(master, jobpack(pipeline=[["map", "split", False]],
                                                  inputs=[[0, 0, ["raw://3-x"]], [0, 0, ["raw://5-y"]]]))
    url = results[0][0].replace("dir://localhost/", "dir://127.0.0.1/")
    text = asyncio.run(read_index(url, {"disco": str(tmp_path)}, master.port))
    assert index_labels(text) in (((3, 2),), ((5, 2),))
    assert get_json(master, "/disco/ctrl/get_stageresults?stage=map&name=" + name) == results

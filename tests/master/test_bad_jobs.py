"""Broken job packs and misbehaving workers (issue 9, items 6 and 10): the job ends (or is
refused) with a message saying what was wrong, never "internal exception"; job homes are capped
and lose dangerous mode bits."""
import os
import stat
import zipfile

import pytest

from master_support import get_json, jobhome, jobpack, messages, run

MAP = {"inputs": [[0, 0, ["raw://0-apple"]]], "pipeline": [["map", "split", False]]}


def dead_with(master, pack, *texts):
    """Run ``pack``; it must end dead with an event holding every one of ``texts``."""
    name, reply = run(master, pack)
    assert reply == ["dead", []], reply
    events = messages(master, name)
    assert not any("internal exception" in e for e in events), events
    assert any(all(t in e for t in texts) for e in events), events
    return name


def test_garbage_job_home(master):
    dead_with(master, jobpack(home=b"PK\x03\x04 this is no zip", **MAP), "Cannot set up the job home",
              "invalid job home")


def test_corrupt_compressed_entry(master):
    home = bytearray(jobhome([("data.txt", b"a" * 100000)]))
    at = home.index(b"data.txt") + len("data.txt") + 10    # inside the deflated data
    home[at:at + 20] = b"\xff" * 20
    dead_with(master, jobpack(home=bytes(home), **MAP), "Cannot set up the job home", "'data.txt'")


@pytest.mark.parametrize("entry", [".disco", ".disco/x", "jobfile", ".jobhome"])
def test_entries_on_names_the_master_uses(master, entry):
    dead_with(master, jobpack(home=jobhome([(entry, b"x")]), **MAP), "job home entry %r" % entry)


@pytest.mark.parametrize("envs, reason", [({"A\0B": "1"}, "variable name"), ({"A=B": "1"}, "variable name"),
                                          ({"": "1"}, "variable name"), ({"A": "x\0y"}, "without NUL")])
def test_bad_jobenvs_are_refused_at_submit(master, envs, reason):
    reply = get_json(master, "/disco/job/new", jobpack(envs=envs, **MAP))
    assert reply[0] == "error" and "invalid jobenvs" in reply[1] and reason in reply[1], reply


def test_deeply_nested_msg(master):
    dead_with(master, jobpack(envs={"BEHAVIOUR": "deepmsg"}, **MAP),
              "Invalid message from the worker: MSG payload is nested too deeply")


def test_output_path_with_a_space(master):
    dead_with(master, jobpack(envs={"BEHAVIOUR": "spaceoutput"}, **MAP), "invalid_output: 'out/a b'")


def tree_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _dirs, files in os.walk(path) for f in files)


def test_job_home_size_is_capped(start):
    master = start(DISCO_MAX_JOBHOME_SIZE="200000")
    pack = jobpack(home=jobhome([("zeros", b"\0" * (10 * 1024 * 1024))]), **MAP)
    assert len(pack) < 100000
    name = dead_with(master, pack, "job home unpacks to more than 200000 bytes (DISCO_MAX_JOBHOME_SIZE)",
                     "'zeros'")
    home = os.path.join(master.settings["DISCO_DATA"], "localhost")
    assert tree_size(home) < 200000 + len(pack) + 10000, tree_size(home)
    reply = run(master, jobpack(home=jobhome([("small", b"\0" * 1000)]), **MAP))[1]
    assert reply[0] == "ready", (name, reply)


def test_setuid_setgid_and_world_write_bits_are_dropped(master):
    entries = []
    for name, mode in (("suid", 0o4755), ("sgid", 0o2775), ("sticky", 0o1777), ("open", 0o777),
                       ("plain", 0o666)):
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFREG | mode) << 16
        entries.append((info, b"#!/bin/sh\n"))
    name, reply = run(master, jobpack(home=jobhome(entries), **MAP))
    assert reply[0] == "ready", reply
    home = os.path.join(master.settings["DISCO_DATA"], "localhost")
    for d, _dirs, files in os.walk(home):
        for f in files:
            mode = os.stat(os.path.join(d, f)).st_mode
            assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH), (f, oct(mode))

"""Warm Python workers (disco.worker.forkserver, disco.master.warmworkers): a forked worker is the
worker an executed launcher would have been -- same environment, sys.path, cwd, file descriptors,
no threads, its own process group -- and the exec path stays for what the warm process cannot
run (an interpreter-changing jobenv, DISCO_WORKER_FORKSERVER=off)."""
import asyncio
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from disco.core import Disco, result_iterator
from disco.job import Job
from disco.master.embedded import start_master
from disco.master.warmworkers import LAUNCHER_PREFIX, WarmWorkers
from disco.worker.jobhome import LAUNCHER_SCRIPT
from masters import point_clients_at


def describe(e, params):
    """One record describing the worker process that runs the task."""
    import os
    import sys
    import threading
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    env = {k: v for k, v in os.environ.items() if k.startswith(("DISCO_", "DDFS_", "PYTHON", "LD_"))}
    yield "worker", {"ppid": os.getppid(), "pgid": os.getpgid(0), "pid": os.getpid(),
                     "cwd": os.getcwd(), "path": sys.path, "env": env, "fds": fds,
                     "threads": threading.active_count(), "argv": sys.argv}


def run_describe(**jobargs):
    job = Job().run(input=["raw://x"], map=describe, partitions=None, **jobargs)
    (_key, info), = result_iterator(job.wait())
    job.purge()
    return info


def describe_with(root, mode):
    """The worker description of a 1-input job on a fresh master with ``DISCO_WORKER_FORKSERVER=mode``."""
    patch = pytest.MonkeyPatch()
    try:
        with start_master(str(root), DISCO_WORKERS="2", DISCO_WORKER_FORKSERVER=mode) as m:
            point_clients_at(patch, m)
            return run_describe(), m
    finally:
        patch.undo()


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")


def test_the_launcher_starts_with_the_prefix_the_warm_path_recognises():
    assert LAUNCHER_SCRIPT.startswith(LAUNCHER_PREFIX)


def test_a_forked_worker_is_the_worker_the_launcher_would_run(tmp_path):
    on, warm = describe_with(tmp_path / "on", "on")
    off, cold = describe_with(tmp_path / "off", "off")
    assert on["ppid"] != warm.proc.pid and off["ppid"] == cold.proc.pid
    for info, master in ((on, warm), (off, cold)):
        assert info["pgid"] == info["pid"]            # its own process group: killpg reaches it all
        assert info["fds"][:3] == [0, 1, 2] and len(info["fds"]) <= 4   # + the one listing them
        assert info["argv"][0].endswith(os.path.join("disco", "worker", "__main__.py"))
        assert info["path"][:2] == [info["cwd"], os.path.join(info["cwd"], "lib")]
        assert info["env"]["PYTHONPATH"].startswith("lib:")
        assert info["env"]["DISCO_DATA"] == master.settings["DISCO_DATA"]
    strip = lambda info: [p.replace(info["cwd"], "<home>") for p in info["path"]]  # noqa: E731
    assert strip(on) == strip(off)
    assert on["fds"] == off["fds"]
    assert on["threads"] == off["threads"]          # the worker's own, no more
    volatile = ("DISCO_MASTER", "DISCO_PORT", "DISCO_ROOT", "DISCO_DATA", "DDFS_DATA", "DDFS_ROOT")
    assert {k: v for k, v in on["env"].items() if k not in volatile} == \
        {k: v for k, v in off["env"].items() if k not in volatile}


@pytest.fixture
def warm_master(tmp_path):
    patch = pytest.MonkeyPatch()
    with start_master(str(tmp_path / "root"), DISCO_WORKERS="2", DISCO_RETRY_BASE="0.01") as m:
        point_clients_at(patch, m)
        yield m
    patch.undo()


@pytest.fixture
def launcher_home(tmp_path):
    (tmp_path / "disco_worker").write_bytes(LAUNCHER_SCRIPT)
    (tmp_path / "other_worker").write_bytes(b"#!/bin/sh\nexec python2 worker.py\n")
    return str(tmp_path)


def test_what_the_warm_process_runs_and_what_it_leaves_to_the_exec_path(launcher_home):
    warm = WarmWorkers()
    base = dict(os.environ, DISCO_PYTHON=sys.executable, PYTHONPATH="lib:x/y", LD_LIBRARY_PATH="lib")
    assert warm.eligible(launcher_home, "disco_worker", base)
    assert not warm.eligible(launcher_home, "other_worker", base)     # Disco 0.5, other languages
    assert not warm.eligible(launcher_home, "missing", base)
    assert not warm.eligible(launcher_home, "disco_worker", dict(base, DISCO_PYTHON="/usr/bin/python3.9"))
    assert not warm.eligible(launcher_home, "disco_worker", dict(base, PYTHONHASHSEED="7"))
    assert not warm.eligible(launcher_home, "disco_worker", dict(base, LD_PRELOAD="x.so"))
    os.mkdir(os.path.join(launcher_home, "lib"))        # LD_LIBRARY_PATH=lib would find libraries
    assert not warm.eligible(launcher_home, "disco_worker", base)


def sleeper(e, params):
    import os
    import time
    with open(params, "w") as f:
        f.write("%d\n" % os.getpid())
    time.sleep(600)
    yield e, 1


def test_killing_the_job_kills_a_forked_worker(warm_master, tmp_path):
    pidfile = str(tmp_path / "pid")
    job = Job().run(input=["raw://x"], map=sleeper, params=pidfile, partitions=None)
    deadline = time.monotonic() + 30
    while not (os.path.exists(pidfile) and open(pidfile).read().endswith("\n")):
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    pid = int(open(pidfile).read())
    assert b"disco.worker.forkserver" in cmdline(_ppid(pid))
    Disco().kill(job.name)
    deadline = time.monotonic() + 30
    while _alive(pid):
        assert time.monotonic() < deadline, "the worker survived the kill"
        time.sleep(0.05)
    job.purge()


def _ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_killed_by_a_signal_is_a_crash_and_retried(warm_master, tmp_path):
    marker = str(tmp_path / "first")
    job = Job().run(input=["raw://x"], map=suicide_once, params=marker, partitions=None)
    assert list(result_iterator(job.wait())) == [("x", 1)]
    assert any("exit code: -%d" % signal.SIGKILL in e[2] for _o, e in Disco().events(job.name))
    job.purge()


def suicide_once(e, params):
    import os
    import signal
    if not os.path.exists(params):
        open(params, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    yield e, 1


def test_the_warm_process_leaves_nothing_behind_when_its_master_dies(tmp_path, monkeypatch):
    master = start_master(str(tmp_path / "root"), DISCO_WORKERS="1")
    try:
        point_clients_at(monkeypatch, master)
        info = run_describe()
        server = info["ppid"]
        sock = cmdline(server)[-2].decode()
        assert os.path.exists(sock)
        os.killpg(master.proc.pid, signal.SIGKILL)      # the master's group: not the warm process
        master.proc.wait()
        deadline = time.monotonic() + 30
        while _alive(server):
            assert time.monotonic() < deadline, "the warm process outlived its master"
            time.sleep(0.05)
        assert not os.path.exists(os.path.dirname(sock))
    finally:
        master.stop()


def test_a_forked_worker_gets_exactly_the_environment_asked_for():
    """The child edits the environment it inherits into the requested one (only what differs)."""
    code = ("import json, os; from disco.worker.forkserver import _set_environ; "
            "_set_environ({'KEEP': 'x', 'CHANGE': 'new', 'ADD': '1'}); print(json.dumps(dict(os.environ)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"KEEP": "x", "CHANGE": "old", "DROP": "y", "PATH": os.environ["PATH"]})
    assert json.loads(out.stdout) == {"KEEP": "x", "CHANGE": "new", "ADD": "1"}


def test_one_connection_serves_many_workers_and_its_loss_ends_them(launcher_home):
    """Workers are asked for over one connection (concurrently, replies matched by request id);
    a bad request is refused without closing it; once the warm process is gone, every worker
    it started counts as killed and its group is killed."""
    async def run():
        warm = WarmWorkers()
        env = dict(os.environ, DISCO_PYTHON=sys.executable, PYTHONPATH="lib")
        procs = await asyncio.gather(*(warm.start_attempt(launcher_home, "disco_worker", env, "", "")
                                       for _ in range(3)))
        assert all(p is not None for p in procs) and len({p.pid for p in procs}) == 3
        for proc in procs:      # each speaks the protocol: its first request, then it waits
            assert (await asyncio.wait_for(proc.output.readline(), 30)).startswith(b"WORKER ")
        warm.conn.sock.send(b'{"id": 99}')      # no streams attached: refused
        more = await warm.start_attempt(launcher_home, "disco_worker", env, "", "")
        assert more is not None and not warm.conn.closed
        procs.append(more)
        procs[0].kill()
        assert await asyncio.wait_for(procs[0].wait(), 30) == -signal.SIGKILL
        server = warm.proc
        warm.close()
        await server.wait()
        for proc in procs[1:]:
            assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL
            proc.kill()
        return [p.pid for p in procs]
    # in a thread of its own: the browser tests leave an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pids = pool.submit(asyncio.run, run()).result()
    for pid in pids:
        deadline = time.monotonic() + 10
        while _alive(pid):
            assert time.monotonic() < deadline, "a worker survived its warm process"
            time.sleep(0.05)

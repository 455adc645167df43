"""A restarted master keeps its history; jobs active when it died become dead. The daemon API."""
import os
import signal
import time

import pytest

from disco.master import daemon
from disco.settings import DiscoSettings
from masters import alive, wait_gone
from master_support import (call, get_json, jobpack, messages, read_results, run, submit, wait,
                            written_pid)

MAP = {"pipeline": [["map", "split", False]]}


def test_restart_keeps_history_and_kills_orphans(start, tmp_path):
    root = tmp_path / "root"
    master = start(root=root)
    done, (status, results) = run(master, jobpack(inputs=[[0, 0, ["raw://0-kept"]]], **MAP))
    get_json(master, "/disco/ctrl/save_config_table", [["localhost", "3"]])
    get_json(master, "/disco/ctrl/save_settings", {"max_failure_rate": "5"})
    raw = call(master, "/disco/ctrl/rawevents?name=" + done)[2]

    active = submit(master, jobpack(envs={"BEHAVIOUR": "sleep", "TEST_DIR": str(tmp_path)},
                                    inputs=[[0, 0, ["raw://0-x"]]], **MAP))
    sleep_pid = written_pid(tmp_path / "sleep.pid")
    os.killpg(master.proc.pid, signal.SIGKILL)        # a crash: workers are left behind
    master.proc.wait()
    assert alive(sleep_pid)

    master = start(root=root)           # kills the process groups the crashed master left
    wait_gone(sleep_pid, 10, "the crashed master's worker survived its restart")
    assert [j[1:] for j in get_json(master, "/disco/ctrl/joblist")] == [["dead", active], ["ready", done]]
    assert wait(master, done) == ["ready", results] and read_results(master, results) == ["kept"]
    assert call(master, "/disco/ctrl/rawevents?name=" + done)[2] == raw
    assert wait(master, active) == ["dead", []]
    assert messages(master, active)[-1] == "ERROR: Job killed: the master stopped while it was active"
    assert get_json(master, "/disco/ctrl/load_config_table") == [["localhost", "3"]]
    assert get_json(master, "/disco/ctrl/get_settings")["max_failure_rate"] == 5
    assert get_json(master, "/disco/ctrl/jobinfo?name=" + done)["pipeline"] == [["map", 0, 0, 0, 1, 0]]
    name, (status, _results) = run(master, jobpack(inputs=[[0, 0, ["raw://0-new"]]], **MAP))
    assert status == "ready" and name not in (done, active)


def test_stop_kills_running_workers(start, tmp_path):
    master = start()
    active = submit(master, jobpack(envs={"BEHAVIOUR": "sleep", "TEST_DIR": str(tmp_path)},
                                    inputs=[[0, 0, ["raw://0-x"]]], **MAP))
    sleep_pid = written_pid(tmp_path / "sleep.pid")
    master.stop()
    assert master.proc.returncode == 0
    deadline = time.monotonic() + 5
    while os.path.exists("/proc/%d" % sleep_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists("/proc/%d" % sleep_pid)
    master = start(root=tmp_path / "root")
    assert wait(master, active) == ["dead", []]
    assert "WARN: Job killed: the master is stopping" in messages(master, active)


def test_daemon_start_status_stop(tmp_path):
    settings = DiscoSettings({"DISCO_ROOT": str(tmp_path), "DISCO_PORT": "0", "DISCO_SETTINGS_FILE": os.devnull})
    assert daemon.status(settings).running is False
    url = daemon.start(settings)
    try:
        state = daemon.status(settings)
        assert state.running and state.pid > 0
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        with pytest.raises(daemon.DaemonError, match="already running"):
            daemon.start(settings)
        with open(daemon.log_file(settings)) as f:
            assert "disco master listening on " + url in f.read()
    finally:
        assert daemon.stop(settings) is True
    assert daemon.status(settings).running is False
    assert not os.path.exists(daemon.pid_file(settings))
    assert daemon.stop(settings) is False

"""Shared by the suites that start masters: point this process's Disco clients at one; tell
whether a process the test started is still running."""
import os
import time

CLIENT_ENV = ("DISCO_MASTER", "DISCO_PORT", "DISCO_ROOT", "DISCO_DATA", "DDFS_ROOT", "DDFS_DATA")
CLEARED = ("DDFS_READ_TOKEN", "DDFS_WRITE_TOKEN", "DISCO_PROXY", "DISCO_STREAM_VERSION")


def point_clients_at(patch, master):
    """Set, through ``patch`` (a pytest MonkeyPatch), the environment that makes ``Job()``,
    ``Disco()``, ``DDFS()`` and ``result_iterator`` of this process use ``master`` (a
    ``disco.master.embedded.MasterProcess``), with no settings file, proxy or token around."""
    patch.setenv("DISCO_SETTINGS_FILE", os.devnull)
    for key in CLIENT_ENV:
        patch.setenv(key, str(master.settings[key]))
    for key in CLEARED:
        patch.delenv(key, raising=False)


def alive(pid):
    """True while process ``pid`` runs (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid, timeout, what):
    """Wait up to ``timeout`` seconds for process ``pid`` to end; fail the test saying ``what``."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)

"""Running the master as a daemon: what ``disco start|stop|status|restart|nodaemon`` call.

The daemon is ``python -m disco.master`` in its own session with the environment
``settings.env``; its pid is kept in ``DISCO_PID_DIR/<DISCO_NAME>.pid`` and its output (the
listening line, logs) appended to ``DISCO_LOG_DIR/<DISCO_NAME>.log``.
"""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from disco.master.embedded import LISTENING


class DaemonError(Exception):
    """The master could not be started or stopped; ``str`` says why."""


@dataclass
class Status:
    running: bool
    pid: int | None
    url: str          # DISCO_MASTER of the settings


def pid_file(settings):
    return os.path.join(settings["DISCO_PID_DIR"], "%s.pid" % settings["DISCO_NAME"])


def log_file(settings):
    return os.path.join(settings["DISCO_LOG_DIR"], "%s.log" % settings["DISCO_NAME"])


def status(settings):
    """The :class:`Status` of the master of ``settings`` (a stale pid file counts as stopped)."""
    pid = _read_pid(pid_file(settings))
    running = pid is not None and _is_master(pid)
    return Status(running, pid if running else None, str(settings["DISCO_MASTER"]))


def start(settings, timeout=30):
    """Start the master in the background and wait until it listens; return its URL (as printed).
    Raises :class:`DaemonError` if it is already running or fails to start."""
    current = status(settings)
    if current.running:
        raise DaemonError("master already running (pid %d)" % current.pid)
    settings.ensuredirs()
    log_path = log_file(settings)
    offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "disco.master"], env=settings.env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    with open(pid_file(settings), "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = _listening_url(log_path, offset)
        if url:
            return url
        if proc.poll() is not None:
            os.unlink(pid_file(settings))
            raise DaemonError("master exited with code %d; see %s" % (proc.returncode, log_path))
        time.sleep(0.05)
    raise DaemonError("master did not start listening within %d s; see %s" % (timeout, log_path))


def stop(settings, timeout=30):
    """Stop the master (SIGTERM, then SIGKILL after ``timeout``); return whether it was running."""
    current = status(settings)
    if current.running:
        os.kill(current.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(current.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(current.pid):
            os.kill(current.pid, signal.SIGKILL)
    if os.path.exists(pid_file(settings)):
        os.unlink(pid_file(settings))
    return current.running


def restart(settings, timeout=30):
    """Stop the master if it runs, then start it; return its URL."""
    stop(settings, timeout)
    return start(settings, timeout)


def nodaemon(settings):
    """Run the master in the foreground of this process until SIGTERM/SIGINT."""
    from disco.master.server import run     # here: start/stop/status need no aiohttp (fast CLI)
    run(settings)


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a child of ours that has exited stays a zombie until reaped
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return not _zombie(pid)


def _zombie(pid):
    """True when ``pid`` has exited and waits for its parent (init, for the daemon) to reap it:
    some inits reap only every second or so, and ``disco stop`` need not wait for that."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _is_master(pid):
    """True if ``pid`` is alive and (where /proc tells) runs ``disco.master``."""
    if not _alive(pid):
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"disco.master" in f.read()
    except OSError:
        return True


def _listening_url(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        for line in f.read().decode("utf-8", "replace").splitlines():
            if line.startswith(LISTENING):
                return line[len(LISTENING):].strip()
    return None

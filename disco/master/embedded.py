"""A master in a subprocess, for tests and the quick start.

``start_master(root)`` starts ``python -m disco.master`` with everything under ``root`` and waits
until it listens. The master sees only the settings given here (plus defaults): Disco variables
of the calling environment and settings files are ignored, so ``root`` decides where data goes.
"""
import json
import os
import select
import signal
import subprocess
import sys
import time

from disco.settings import DiscoSettings

LISTENING = "disco master listening on "


class MasterProcess:
    """A running master: ``url``, ``port``, ``settings`` (a :class:`DiscoSettings` for clients of
    this master: ``DISCO_MASTER``, ``DISCO_PORT``, ``DISCO_ROOT``, ``DISCO_DATA``, ...) and
    ``proc`` (the :class:`subprocess.Popen`). Usable as a context manager that stops it."""

    def __init__(self, proc, url, settings):
        self.proc = proc
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.settings = settings

    def stop(self, timeout=30):
        """Stop the master, which kills its workers first; wait for it (SIGKILL after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_master(root, port=0, config=None, timeout=30, stderr=None, **settings):
    """Start a master with ``DISCO_ROOT=root`` on ``port`` (0: ephemeral) and the given settings
    (``DISCO_WORKERS=2``, ...). ``config`` is written as its config file first: a table
    ``[["hostspec", "N"], ...]`` or a whole config object (docs/settings.md#cluster-config).
    ``stderr`` (a file object; default: this process's) receives the master's log. Returns a
    :class:`MasterProcess` once the master listens; raises RuntimeError if it does not start."""
    explicit = {"DISCO_SETTINGS_FILE": os.devnull, **settings,
                "DISCO_ROOT": os.path.abspath(root), "DISCO_PORT": str(port)}
    resolved = _resolve(explicit)
    if config is not None:
        _write_config(resolved["DISCO_MASTER_CONFIG"], config)
    env = {k: v for k, v in os.environ.items() if k not in DiscoSettings.defaults}
    env.update({k: str(v) for k, v in resolved.items() if v is not None})
    proc = subprocess.Popen([sys.executable, "-m", "disco.master"], env=env, stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    line = _first_line(proc, timeout)
    if not line.startswith(LISTENING):
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError("disco master did not start (exit code %s): %r" % (proc.returncode, line))
    url = line[len(LISTENING):].strip()
    port = url.rsplit(":", 1)[1]
    return MasterProcess(proc, url, DiscoSettings({**resolved, "DISCO_PORT": port, "DISCO_MASTER": url}))


def _resolve(explicit):
    """Every setting as a master started with ``explicit`` (and no Disco variables) sees it,
    plus the explicit settings that have no default (``DISCO_RETRY_BASE``, ...)."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k in DiscoSettings.defaults}
    try:
        settings = DiscoSettings(explicit)
        return {**explicit, **{k: settings[k] for k in DiscoSettings.defaults}}
    finally:
        os.environ.update(saved)


def _write_config(path, config):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(config, f)


def _first_line(proc, timeout):
    """The first line the master prints ("" if it exits or ``timeout`` passes first)."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([proc.stdout], [], [], remaining)[0]:
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")

"""Warm Python workers: a node's side of the fork server :mod:`disco.worker.forkserver`.

:meth:`WarmWorkers.start_attempt` starts an attempt's worker by forking the node's warm process
(started on first use, restarted after it failed) instead of executing the job home's launcher,
when that is exactly what the launcher would have run: the job's worker is the launcher of the
Python worker (:data:`LAUNCHER_PREFIX`: it runs ``$DISCO_PYTHON -m disco.worker``), the
environment's ``DISCO_PYTHON`` is this interpreter and the variables that change how an
interpreter starts (``PYTHON*``, ``LD_*``) are those the warm process started with, except
``PYTHONPATH``, which the warm process applies to the worker's ``sys.path`` as an interpreter
would, and an ``LD_LIBRARY_PATH`` that adds no existing directory. Otherwise --
workers of other languages, Disco 0.5 workers, jobenvs changing the interpreter -- and whenever
the warm process cannot serve the request, it returns None and the caller takes the exec path
(a warm process that fails to start is not tried again).

The worker speaks the Worker Protocol exactly as an executed one does; :class:`WarmProcess` is a
:class:`~disco.master.backends.WorkerProcess` over its pipes. Its exit code comes from the warm
process (the worker is not our child); if the warm process goes away first, the worker's process
group is killed and the attempt ends with ``-SIGKILL``.

Only this module is needed on a node: the Dask backend's node side (:mod:`disco.node.attempt`)
can call ``start_attempt`` the same way before ``create_subprocess_exec``.
"""
import array
import asyncio
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile

from disco.master.backends import WorkerProcess, write_atomically

LAUNCHER_PREFIX = b'#!/bin/sh\n[ -z "$DISCO_PYTHON" ] || exec "$DISCO_PYTHON" -m disco.worker "$@"\n'
INTERPRETER_VARS = ("PYTHON", "LD_")
START_TIMEOUT = 60
STREAM_LIMIT = 2 ** 16      # as asyncio's subprocess streams
MAX_KNOWN = 4096            # launcher checks remembered

log = logging.getLogger(__name__)


def interpreter_env(env):
    """The variables of ``env`` that change how a Python interpreter starts, but ``PYTHONPATH``
    (the warm process applies it to each worker) and ``LD_LIBRARY_PATH`` (see :func:`_libraries`)."""
    return {k: v for k, v in env.items()
            if k.startswith(INTERPRETER_VARS) and k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}


def _libraries(home, env):
    """True when the worker's ``LD_LIBRARY_PATH`` finds no library the warm process would not:
    every entry it adds is a relative path missing from the job home (the Python worker's
    jobenvs add ``lib``, usually absent)."""
    ours = os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)
    added = [p for p in env.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p and p not in ours]
    return all(not os.path.isabs(p) and not os.path.exists(os.path.join(home, p)) for p in added)


def _is_launcher(path):
    try:
        with open(path, "rb") as f:
            return f.read(len(LAUNCHER_PREFIX)) == LAUNCHER_PREFIX
    except OSError:
        return False


class WarmWorkers:
    """The warm process of this node (one per :class:`WarmWorkers`)."""

    def __init__(self):
        self.proc = None        # the warm process (asyncio subprocess), once started
        self.dir = None         # private directory of its socket
        self.broken = False     # True once it failed to start: never tried again
        self._interpreter = interpreter_env(os.environ)   # the warm process's (it inherits ours)
        self._launchers = {}    # worker path -> is it the launcher (a job home does not change)
        self._lock = asyncio.Lock()
        self.conn = None        # the _Connection to the warm process

    def eligible(self, home, worker, env):
        """True when executing ``home/worker`` with ``env`` would run this interpreter's
        ``-m disco.worker`` as the warm process does."""
        if env.get("DISCO_PYTHON") != sys.executable:
            return False
        if interpreter_env(env) != self._interpreter or not _libraries(home, env):
            return False
        path = os.path.join(home, worker)
        known = self._launchers.get(path)
        if known is None:
            if len(self._launchers) >= MAX_KNOWN:
                self._launchers.clear()
            known = self._launchers[path] = _is_launcher(path)
        return known

    async def start_attempt(self, home, worker, env, disco_data, ddfs_data):
        """A :class:`WarmProcess` running the worker of job home ``home`` with ``env``, or None
        (the caller executes ``home/worker`` itself)."""
        if self.broken or not self.eligible(home, worker, env):
            return None
        try:
            conn = await self._connection()
            return await conn.fork(home, env, disco_data, ddfs_data)
        except asyncio.TimeoutError:
            log.warning("the warm process does not answer: restarting it, executing the launcher")
            self.close()
        except (OSError, ValueError) as e:
            log.warning("warm worker unavailable, executing the launcher: %s", e)
        return None

    async def _connection(self):
        """The open :class:`_Connection` to the running warm process (started if needed)."""
        async with self._lock:
            if self.proc is not None and self.proc.returncode is None:
                if self.conn is not None and not self.conn.closed:
                    return self.conn
            else:
                await self._start()
            self.conn = await _Connection.open(os.path.join(self.dir, "sock"))
            return self.conn

    async def _start(self):
        self.close()
        self.dir = tempfile.mkdtemp(prefix="disco-warm-")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "disco.worker.forkserver", os.path.join(self.dir, "sock"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True)
        line = await asyncio.wait_for(self.proc.stdout.readline(), START_TIMEOUT)
        if line != b"ready\n":
            self.close()
            self.broken = True
            raise OSError("the warm process did not start (%r): not trying again" % line)

    def close(self):
        """Stop the warm process (its workers keep running until their groups are killed)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            if self.proc.returncode is None:
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
            self.proc.stdin.close()     # the child watcher reaps it (closing the transport would race it)
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class _Connection:
    """The node side's connection to the warm process: requests go out as they come, replies
    (``pid``, ``exit``, ``error``, each naming its request) are read by one task and handed to
    the request's futures. If the connection breaks, every worker it started is killed and
    reported ended by ``SIGKILL`` (nobody can tell its exit any more)."""

    def __init__(self, sock):
        self.sock = sock
        self.ids = itertools.count()
        self.started = {}       # request id -> future of the pid
        self.exits = {}         # request id -> future of the exit code
        self.closed = False
        self._reading = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, path)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    async def fork(self, home, env, disco_data, ddfs_data):
        """Ask for a worker; its :class:`WarmProcess` once the warm process forked it. Its
        streams are two pipes (with one socket for both, an answer written after the worker
        exited would fail the reading side too, and lose what the worker said last)."""
        loop = asyncio.get_running_loop()
        id = next(self.ids)
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        started = self.started[id] = loop.create_future()
        self.exits[id] = loop.create_future()
        try:
            try:
                self.sock.sendmsg([json.dumps({"id": id, "cwd": home, "env": env}).encode()],
                                  [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [stdin_r, out_w]))])
            finally:
                os.close(stdin_r)
                os.close(out_w)
            pid = await asyncio.wait_for(asyncio.shield(started), START_TIMEOUT)
        except BaseException:
            os.close(stdin_w)
            os.close(out_r)
            self.started.pop(id, None)
            self.exits.pop(id, None)
            raise
        stdin = await _writer(loop, stdin_w)
        output = await _reader(loop, out_r)
        return WarmProcess(pid, self.exits[id], stdin, output, home, disco_data, ddfs_data)

    async def _read(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                reply = (await loop.sock_recv(self.sock, 4096)).decode()
                if not reply:
                    break
                kind, _, rest = reply.partition(" ")
                id, _, value = rest.partition(" ")
                if kind == "pid":
                    _resolve(self.started.pop(int(id), None), result=int(value))
                elif kind == "exit":
                    _resolve(self.exits.pop(int(id), None), result=int(value))
                elif kind == "error":
                    self.exits.pop(int(id), None)
                    _resolve(self.started.pop(int(id), None),
                             error=OSError("the warm process refused: %s" % value))
        except (OSError, ValueError):
            pass
        finally:
            self.close()

    def close(self):
        """Close the connection: pending requests fail, running workers count as killed."""
        if self.closed:
            return
        self.closed = True
        self.sock.close()
        for future in self.started.values():
            _resolve(future, error=OSError("the warm process went away"))
        for future in self.exits.values():
            _resolve(future, result=None)
        self.started.clear()
        self.exits.clear()
        if not self._reading.done() and self._reading is not asyncio.current_task():
            self._reading.cancel()


def _resolve(future, result=None, error=None):
    if future is not None and not future.done():
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class WarmProcess(WorkerProcess):
    """A worker forked by the warm process: ``stdin`` and ``output`` are our ends of its pipes;
    ``wait()`` returns the exit code the warm process tells (``exited``, a future: None when it
    cannot tell any more, then the worker's group is killed)."""

    forget = None

    def __init__(self, pid, exited, stdin, output, home, disco_data, ddfs_data):
        self.pid = pid
        self.exited = exited
        self.stdin = stdin
        self._output_transport, self.output = output
        self.home, self.disco_data, self.ddfs_data = home, disco_data, ddfs_data

    async def wait(self):
        code = await asyncio.shield(self.exited)
        if code is None:        # the warm process went away: the worker cannot be watched
            self._killpg()
            return -signal.SIGKILL
        return code

    def _killpg(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self):
        """SIGKILL the worker's process group and close our ends of its pipes (idempotent);
        call ``forget(pid)`` (the backend stops remembering the group), if set."""
        self._killpg()
        self.stdin.close()
        self._output_transport.close()
        if self.forget is not None:
            self.forget(self.pid)

    async def write_file(self, relpath, text):
        write_atomically(os.path.join(self.home, relpath), text)


async def _writer(loop, fd):
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                        os.fdopen(fd, "wb", 0))
    return asyncio.StreamWriter(transport, protocol, None, loop)


async def _reader(loop, fd):
    reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    transport, _protocol = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                        os.fdopen(fd, "rb", 0))
    return transport, reader

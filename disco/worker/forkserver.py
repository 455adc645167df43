"""The warm Python worker of a node (``python -m disco.worker.forkserver SOCKET``): a process with the
worker library already imported that forks one child per task attempt.

Starting a fresh interpreter that imports disco, cloudpickle and the worker library costs tens of
milliseconds per task; forking this process costs about one. The node's side
(:mod:`disco.master.warmworkers`) connects to ``SOCKET`` (a Unix ``SOCK_SEQPACKET`` socket) once
and sends one message per attempt: the JSON object ``{"id": n, "cwd": job home, "env":
environment}`` with two file descriptors attached (``SCM_RIGHTS``): the read end of the worker's
stdin and the write end of its output (stdout and stderr). The server forks and answers ``pid <id> <pid>``; once the child has exited it
sends ``exit <id> <code>`` (negative: killed by that signal, as :mod:`asyncio` reports it). A
request it cannot serve gets ``error <id> <reason>``. Children outlive the connection that asked
for them (their exit is then told to nobody).

The child is what ``cwd$ python -m disco.worker`` would be (the Worker Protocol exactly as the
exec path speaks it): its own process group (both parent and child call ``setpgid``, so a
``killpg`` right after ``pid`` reaches it), stdin and output on fds 0/1/2 and no other file
descriptor, the server's signal handlers reset, ``os.environ`` replaced by ``env``, cwd the job
home and ``sys.path`` what that interpreter's would be (job home, ``PYTHONPATH``, the rest).
Modules the server preloaded (:data:`PRELOAD`) stay loaded even if ``PYTHONPATH`` would find a
module of the same name first (a job home shipping its own ``cloudpickle``, say). The server never starts a thread, so the child inherits no lock held
by another thread and no socket of the server. It exits like an interpreter does: non-daemon
threads joined, ``atexit`` functions run, streams flushed.

The server imports :data:`PRELOAD` and every URL scheme module once, with the garbage collector
off, and freezes its objects (``gc.freeze``) before each fork: a child's collections neither walk
nor copy the pages it shares with the server (a full collection in a child that did not freeze
cost about 6 ms of CPU, the fork itself about 1).

The server exits when its stdin reaches end of file (the node went away), removing its socket
and the socket's directory; children it started keep running until their process group is
killed (a Python worker kills its own group once its parent is gone).
"""
import array
import gc
import importlib.util
import json
import os
import pkgutil
import selectors
import signal
import socket
import sys

# what every Python worker imports anyway: paid once here instead of once per task
PRELOAD = ("disco.worker", "disco.worker.classic.worker", "disco.worker.classic.func",
           "disco.worker.pipeline.worker", "disco.worker.simple", "disco.core", "disco.job",
           "cloudpickle", "resource", "ctypes")
MAX_REQUEST = 1 << 20
ENTRY = importlib.util.find_spec("disco.worker.__main__").origin   # sys.argv[0] of -m disco.worker


def main(argv):
    path, = argv
    gc.disable()    # no collection leaves holes in the pages children share (see the module doc)
    for name in PRELOAD + _schemes():
        __import__(name)
    from disco.worker.channel import _prctl
    _prctl()
    Server(path).serve()


class Server:
    def __init__(self, path):
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(path)
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._reap)
        self.selector.register(0, selectors.EVENT_READ, self._stdin)
        self.conns = set()      # connections of the node's side
        self.children = {}      # pid -> (connection, request id) to tell its exit code
        self.running = True
        self.base_path = _base_path()

    def serve(self):
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGTERM, lambda *_: self._stop())
        print("ready", flush=True)
        while self.running:
            for key, _events in self.selector.select():
                key.data(key.fileobj)
        self._reap(None)
        try:    # the socket's directory is ours alone (made for it by the node's side)
            os.unlink(self.path)
            os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass

    def _stop(self):
        self.running = False

    def _stdin(self, _fd):
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            self._stop()

    def _accept(self, listener):
        try:
            conn, _addr = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        self.conns.add(conn)
        self.selector.register(conn, selectors.EVENT_READ, self._request)

    def _request(self, conn):
        fds, id = [], None
        try:
            msg, fds = _recv_fds(conn)
        except OSError:
            msg = b""
        if not msg:     # the node's side closed the connection
            for fd in fds:
                os.close(fd)
            self.selector.unregister(conn)
            self.conns.discard(conn)
            conn.close()
            return
        try:
            request = json.loads(msg)
            id, cwd, env = request["id"], request["cwd"], request["env"]
            if len(fds) != 2 or not isinstance(id, int) or not isinstance(cwd, str) \
                    or not isinstance(env, dict):
                raise ValueError("expected {id, cwd, env} and 2 file descriptors")
        except (ValueError, KeyError, TypeError) as e:
            for fd in fds:
                os.close(fd)
            _send(conn, "error %s %s" % (id if isinstance(id, int) else -1, e))
            return
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()     # the child's collections skip (and so do not copy) what it inherits
        pid = os.fork()
        if pid == 0:
            self._child(cwd, env, fds)      # never returns
        for fd in fds:
            os.close(fd)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass        # the child did it first (EACCES once it has run) or is already gone
        self.children[pid] = (conn, id)
        _send(conn, "pid %d %d" % (id, pid))

    def _reap(self, _fd):
        try:
            while os.read(self.wake_r, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            asked = self.children.pop(pid, None)
            if asked is not None:
                conn, id = asked
                _send(conn, "exit %d %d" % (id, os.waitstatus_to_exitcode(status)))

    def _child(self, cwd, env, fds):
        code = 1
        try:
            gc.enable()
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGCHLD, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            os.setpgid(0, 0)
            self.selector.close()
            self.listener.close()
            for conn in self.conns:
                conn.close()
            stdin, output = fds
            os.dup2(stdin, 0)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            os.chdir(cwd)
            _set_environ(env)
            sys.path[:] = _sys_path(cwd, env.get("PYTHONPATH", ""), self.base_path)
            sys.argv[:] = [ENTRY]
            code = _run_worker()
        finally:
            os._exit(code)


def _set_environ(env):
    """Make ``os.environ`` equal ``env``, touching only what differs (most of a worker's
    environment is the server's: a whole new one would cost a child ~150 page faults)."""
    for key in [k for k in os.environ if k not in env]:
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _schemes():
    """The modules of the URL schemes Disco reads (``disco.schemes.scheme_*``)."""
    import disco.schemes
    return tuple("disco.schemes." + m.name for m in pkgutil.iter_modules(disco.schemes.__path__)
                 if m.name.startswith("scheme_"))


def _base_path():
    """This interpreter's ``sys.path`` without what ``-m`` and ``PYTHONPATH`` put first."""
    own = {os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    return [p for p in sys.path[1:] if os.path.abspath(p) not in own]


def _sys_path(cwd, pythonpath, base):
    """``sys.path`` of ``python -m`` started in ``cwd`` with ``PYTHONPATH=pythonpath``: cwd, the
    ``PYTHONPATH`` entries (relative ones from cwd, made absolute as ``site`` does), then the
    rest as it is (it holds entries that are not paths, such as path hooks' names); no duplicates."""
    added = [os.path.abspath(os.path.join(cwd, p)) for p in pythonpath.split(os.pathsep) if p]
    seen, path = set(), []
    for entry in [os.path.abspath(cwd)] + added + base:
        if entry not in seen:
            seen.add(entry)
            path.append(entry)
    return path


def _run_worker():
    """Run ``disco.worker.main()`` and shut down as the interpreter would; the exit status."""
    import atexit
    import threading
    from disco.worker import main
    try:
        try:
            code = main()
        except SystemExit as e:
            code = e.code
        if code is None:
            code = 0
        elif not isinstance(code, int):
            sys.stderr.write("%s\n" % code)
            code = 1
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    return code


def _recv_fds(conn):
    fds = array.array("i")
    msg, ancdata, _flags, _addr = conn.recvmsg(MAX_REQUEST, socket.CMSG_LEN(16 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    return msg, list(fds)


def _send(conn, text):
    try:
        conn.send(text.encode())
    except OSError:
        pass        # the node stopped listening: nothing to tell


if __name__ == "__main__":
    main(sys.argv[1:])

"""The worker's end of the Disco Worker Protocol (docs/worker-protocol.md) and the entry point of
a worker process (``python -m disco.worker``).

The master starts the launcher with cwd = job home; ``main()`` speaks the protocol on stderr
(requests) and stdin (replies): ``WORKER``, ``TASK``, unpickles ``(job, jobargs)`` from the job
pack and calls ``job.worker.start(task, job, **jobargs)``, then ``DONE``. ``DataError``,
``EnvironmentError`` and ``MemoryError`` end the task with ``ERROR`` (the master retries it), any
other exception -- ``InputMissing`` too: an input that does not exist -- with ``FATAL`` (the job
is killed). ``print`` output becomes ``MSG`` events, sent
at most ``MSG_RATE`` in any second (more are joined) so that the master's rate limit is never hit.

A worker outlives nobody: once the process that started it (the master, the node process of a
remote node, or a node's warm process) is gone, the worker's process group is killed, even while
it is busy in user code that never talks to the master (``watch_parent``: the kernel's
parent-death signal on Linux, a watchdog thread elsewhere).
"""
import collections
import functools
import io
import os
import signal
import sys
import threading
import time
import traceback

from disco import protocol
from disco.error import DataError, InputMissing
from disco.task import Task

DISCO_WORKER_MAX_TIME = 24 * 60 * 60
MSG_RATE = 4
MAX_MSG = 64 * 1024
ACKNOWLEDGED = ("WORKER", "MSG", "OUTPUT")    # requests answered by OK alone
MAX_UNREAD = 64


class Channel(object):
    """The worker's end of the protocol: requests written to ``out``, replies read from ``inp``
    (binary streams). At most ``MSG_RATE`` ``MSG`` requests go out in any second; one beyond
    that is held and joined to the next, or sent right before DONE/ERROR/FATAL (one more than
    ``MSG_RATE`` stays well under the master's limit, so the final message never waits).

    Requests whose reply is only an acknowledgement (:data:`ACKNOWLEDGED`: ``WORKER``, ``MSG``,
    ``OUTPUT``) do not wait for it: the master answers requests in order, so their replies are
    read, and checked, right before the reply of the next request that returns something (at most
    :data:`MAX_UNREAD` wait, so the master never blocks on a full pipe). A master that refuses one
    ends the attempt itself; the worker learns it at its next exchange."""

    def __init__(self, out, inp):
        self.out, self.inp = out, inp
        self.pending = []
        self.sent = collections.deque(maxlen=MSG_RATE)
        self.unread = []        # types of the acknowledged requests whose reply is not read yet

    def request(self, msg_type, payload=""):
        """Send a request; its reply ``(type, payload)`` (``("OK", "ok")`` at once for an
        acknowledged request)."""
        if msg_type == "MSG":
            self.pending.append(str(payload))
            return self.flush_messages()
        self.flush_messages()
        if msg_type in ACKNOWLEDGED:
            self._send_acknowledged(msg_type, payload)
            return "OK", "ok"
        return self._exchange(msg_type, payload)

    def post(self, msg_type, payload=""):
        """Send a final message (DONE, ERROR, FATAL): the master does not reply."""
        self.flush_messages(force=True)
        self._write(msg_type, payload)

    def flush_messages(self, force=False):
        if not self.pending:
            return "OK", "ok"
        if len(self.sent) == MSG_RATE and not force and self.sent[0] + 1.0 > time.monotonic():
            return "OK", "ok"
        text, self.pending = "\n".join(self.pending), []
        if len(text) > MAX_MSG:
            text = text[:MAX_MSG // 2] + "\n[... %d characters cut ...]\n" % (len(text) - MAX_MSG) \
                + text[-MAX_MSG // 2:]
        self._send_acknowledged("MSG", text)
        self.sent.append(time.monotonic())
        return "OK", "ok"

    def _write(self, msg_type, payload):
        self.out.write(protocol.encode(msg_type, payload))
        self.out.flush()

    def _send_acknowledged(self, msg_type, payload):
        if len(self.unread) >= MAX_UNREAD:
            self._read_acknowledgements()
        self._write(msg_type, payload)
        self.unread.append(msg_type)

    def _read_acknowledgements(self):
        while self.unread:
            msg_type = self.unread.pop(0)
            reply = self._read(msg_type)
            if reply[0] != "OK":
                raise protocol.ProtocolError("the master answered %s with %s %r"
                                             % (msg_type, reply[0], reply[1]))

    def _read(self, msg_type):
        reply = protocol.read_message(self.inp)
        if reply is None:
            raise protocol.ProtocolError("the master closed the connection (after %s)" % msg_type)
        return reply

    def _exchange(self, msg_type, payload):
        self._write(msg_type, payload)
        self._read_acknowledgements()
        return self._read(msg_type)


_channel = None


def channel():
    """The protocol channel of this process (stderr/stdin of the process when first used)."""
    global _channel
    if _channel is None:
        _channel = Channel(sys.__stderr__.buffer, sys.__stdin__.buffer)
    return _channel


class MessageWriter(io.TextIOBase):
    """A text file replacing ``sys.stdout``/``sys.stderr`` in workers: complete lines are sent
    as ``MSG`` requests (blank ones dropped); ``flush()`` sends a pending partial line."""

    def __init__(self, worker=None):
        self.send = send if worker is None else worker.send
        self.line = ""

    def writable(self):
        return True

    def write(self, string):
        self.line += string
        if "\n" in self.line or len(self.line) > MAX_MSG:
            text, _, self.line = self.line.rpartition("\n")
            if not text:
                text, self.line = self.line, ""
            self._send(text)
        return len(string)

    def flush(self):
        text, self.line = self.line, ""
        self._send(text)

    def _send(self, text):
        text = "\n".join(line.rstrip() for line in text.split("\n") if line.strip())
        if text:
            self.send("MSG", text)


def send(msg_type, payload=""):
    """Send a protocol message on this process's channel; the reply's payload (None for DONE,
    ERROR and FATAL, which get no reply)."""
    if msg_type in ("DONE", "ERROR", "FATAL"):
        channel().post(msg_type, payload)
        return None
    return channel().request(msg_type, payload)[1]


def set_mem_limit(limit):
    """Limit the address space of this process: ``'N%'`` of physical memory, or N bytes; ''
    or 0 = no limit. Never raises the hard limit."""
    import resource
    limit = str(limit or "").strip()
    if not limit or limit in ("0", "0%"):
        return
    try:
        if limit.endswith("%"):
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            limit = int(total * float(limit[:-1]) / 100)
        else:
            limit = int(limit)
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def watch_parent(interval=0.5):
    """Kill this process's group once its parent has gone (see the module doc): on Linux the
    kernel tells us (``PR_SET_PDEATHSIG``: a signal whose handler kills the group), elsewhere a
    watchdog thread polls ``getppid()``."""
    parent = os.getppid()
    if parent == 1:
        return
    if _parent_death_signal(PARENT_DEATH_SIGNAL):
        signal.signal(PARENT_DEATH_SIGNAL, _kill_group)
        if os.getppid() != parent:      # gone before the kernel was asked to tell us
            _kill_group()
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        _kill_group()
    threading.Thread(target=watch, name="disco-parent-watchdog", daemon=True).start()


PARENT_DEATH_SIGNAL = getattr(signal, "SIGRTMIN", 34) + 3   # a signal no library uses


def _kill_group(*_):
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _parent_death_signal(signum):
    """Ask Linux to send ``signum`` to this process when its parent exits; False where it cannot."""
    prctl = _prctl()
    return prctl is not None and prctl(1, signum, 0, 0, 0) == 0     # 1 = PR_SET_PDEATHSIG


@functools.lru_cache(maxsize=None)      # the warm process looks it up once for all its workers
def _prctl():
    """libc's ``prctl`` (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def main():
    """Run one task in this process (see the module doc); returns the exit status."""
    if os.getpgrp() == os.getpid():     # our own process group: started by a master or a node
        watch_parent()
    chan = channel()
    sys.stdout = sys.stderr = MessageWriter()
    try:
        send("WORKER", {"pid": os.getpid(), "version": protocol.VERSION})
        task = Task(**send("TASK"))
        job, jobargs = task.jobobjs
        job.worker.start(task, job, **jobargs)
        sys.stdout.flush()
        send("DONE")
        return 0
    except protocol.ProtocolError as e:
        sys.__stderr__.write("disco worker: protocol error: %s\n" % e)
        return 2
    except InputMissing:        # no retry can heal it
        _report(chan, "FATAL")
        return 1
    except (DataError, EnvironmentError, MemoryError):
        _report(chan, "ERROR")
        return 1
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        _report(chan, "FATAL")
        return 1
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _report(chan, msg_type):
    try:
        sys.stdout.flush()
        chan.post(msg_type, traceback.format_exc()[-MAX_MSG * 16:])
    except (OSError, protocol.ProtocolError):
        pass

"""External map/reduce programs of the classic worker (docs/jobs.md).

A job gives ``map`` or ``reduce`` as a dict ``{'op': program bytes, name: bytes, ...}`` (built by
``package(files)`` = ``disco.util.external(files)``); the files are shipped in the job home under
``ext.<mode>/`` and ``ext.<mode>/op`` is run with argv ``[path, 'map'|'reduce']`` in the job home.

Protocol on the program's pipes:

* stdin starts with the parameters: ``ext_params`` netstring-encoded when it is a non-empty dict
  (``netstring.encode_netstring_fd``), else ``b"0\\n"``; then key/value pairs, each item as a
  native-order ``uint32`` length and its bytes. Map input entries that are not ``(k, v)`` pairs
  are sent with an empty key; str items are sent UTF-8 encoded, other objects as ``str(obj)``.
* stdout carries batches: ``uint32 count`` then ``count`` key/value pairs. A map program answers
  every input pair with exactly one batch (possibly empty); a reduce program gets its whole input
  and then end of file on stdin, may write batches at any time, and ends by closing stdout (and
  exiting with status 0). Output keys and values are bytes. An item is at most ``MAX_ITEM`` bytes.
* stderr lines ``**<MSG> text`` become worker messages, ``**<ERR> text`` fails the job (FATAL);
  any other line is passed on as a message.

All pipes are served by one ``selectors`` loop in the worker's thread, so a program that writes a
lot to stderr, or reads slowly, never deadlocks the worker.
"""
import os
import select
import selectors
import struct
import subprocess
import time

from disco.error import DiscoError
from disco.worker.classic.netstring import encode_netstring_fd

UINT = struct.Struct("=I")
MAX_ITEM = 1024 ** 3
READ_SIZE = 256 * 1024
FEED_SIZE = 256 * 1024

program = None
"""The running external program of this task (a Program), set by ``prepare``."""


def package(files):
    """The dict of an external program: ``op`` = the bytes of ``files[0]``, then every other file
    under its base name."""
    files = list(files)
    package = {}
    for i, path in enumerate(files):
        with open(path, "rb") as f:
            package["op" if i == 0 else os.path.basename(path)] = f.read()
    return package


def _item(obj):
    if isinstance(obj, bytes):
        data = obj
    elif isinstance(obj, (bytearray, memoryview)):
        data = bytes(obj)
    else:
        data = str(obj).encode("utf-8", "surrogateescape")
    if len(data) > MAX_ITEM:
        raise DiscoError("External program item of %d bytes is over the 1 GiB limit" % len(data))
    return UINT.pack(len(data)) + data


def encode_pair(entry):
    """The stdin bytes of one input entry (see the module doc)."""
    k, v = entry if isinstance(entry, tuple) and len(entry) == 2 else (b"", entry)
    return _item(k) + _item(v)


class Program(object):
    """A running external program (see the module doc): ``send`` bytes, ``pairs()`` of the
    output read so far, ``batches`` completed, ``finish_input``, ``close``. ``message(text)`` is
    called for its messages."""

    def __init__(self, path, mode, params, message):
        self.mode, self.message = mode, message
        self.proc = subprocess.Popen([path, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0, close_fds=True)
        self.selector = selectors.DefaultSelector()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            os.set_blocking(pipe.fileno(), False)
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.selector.register(self.proc.stderr, selectors.EVENT_READ)
        self.pending, self.out, self.err = bytearray(), bytearray(), bytearray()
        self.stdout_eof = self.stderr_eof = self.input_done = False
        self.remaining = None   # pairs left in the current output batch; None: a count is next
        self.batches = 0
        self.send(encode_netstring_fd(params) if isinstance(params, dict) and params else b"0\n")

    # -- pipes ------------------------------------------------------------------------------------

    def send(self, data):
        """Queue bytes for stdin (written while waiting for output)."""
        if not self.pending and not self.input_done:
            self.selector.register(self.proc.stdin, selectors.EVENT_WRITE)
        self.pending += data

    def finish_input(self):
        """Close stdin once everything queued is written."""
        self.input_done = True
        if not self.pending:
            self._close_stdin()

    def _close_stdin(self):
        if not self.proc.stdin.closed:
            try:
                self.selector.unregister(self.proc.stdin)
            except KeyError:
                pass
            self.proc.stdin.close()

    def pump(self):
        """Wait for one round of pipe events and serve them."""
        if self.stdout_eof and self.stderr_eof:
            return
        for key, _mask in self.selector.select():
            pipe = key.fileobj
            if pipe is self.proc.stdin:
                self._write()
            elif pipe is self.proc.stdout:
                data = os.read(pipe.fileno(), READ_SIZE)
                self.out += data
                self.stdout_eof = self._eof(pipe, data)
            else:
                data = os.read(pipe.fileno(), READ_SIZE)
                self.err += data
                self.stderr_eof = self._eof(pipe, data)
                self._messages()

    def _write(self):
        try:
            written = os.write(self.proc.stdin.fileno(), self.pending[:FEED_SIZE])
        except BrokenPipeError:
            self.pending.clear()
            self._close_stdin()
            self.drain_messages()
            raise DiscoError("External %s program stopped reading its input%s"
                             % (self.mode, self._exit_note()))
        del self.pending[:written]
        if not self.pending:
            self.selector.unregister(self.proc.stdin)
            if self.input_done:
                self._close_stdin()

    def drain_messages(self, wait=1.0):
        """The program stopped talking: deliver what it still wrote on stderr (its last
        messages), waiting up to ``wait`` seconds for the rest."""
        deadline = time.monotonic() + wait
        while not self.stderr_eof and time.monotonic() < deadline:
            if not select.select([self.proc.stderr], [], [], max(deadline - time.monotonic(), 0))[0]:
                break
            data = os.read(self.proc.stderr.fileno(), READ_SIZE)
            self.err += data
            self.stderr_eof = self._eof(self.proc.stderr, data)
            self._messages()

    def _eof(self, pipe, data):
        if data:
            return False
        self.selector.unregister(pipe)
        return True

    def _messages(self):
        lines = self.err.split(b"\n")
        self.err = bytearray() if self.stderr_eof else bytearray(lines.pop())
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip()
            if text.startswith("**<ERR>"):
                raise DiscoError("External %s program failed: %s" % (self.mode, text[7:].strip()))
            if text.startswith("**<MSG>"):
                text = text[7:].strip()
            if text:
                self.message(text)

    def _exit_note(self):
        code = self.proc.poll()
        return "" if code is None else " (it exited with code %d)" % code

    # -- output -----------------------------------------------------------------------------------

    def pairs(self):
        """The output pairs complete so far (consumed); counts finished ``batches``."""
        buf, pos, pairs = self.out, 0, []
        while True:
            if self.remaining is None:
                if len(buf) - pos < 4:
                    break
                self.remaining = UINT.unpack_from(buf, pos)[0]
                pos += 4
            if self.remaining == 0:
                self.remaining = None
                self.batches += 1
                continue
            pair, end = self._pair(buf, pos)
            if pair is None:
                break
            pairs.append(pair)
            pos = end
            self.remaining -= 1
        del buf[:pos]
        return pairs

    @staticmethod
    def _pair(buf, pos):
        items = []
        for _ in range(2):
            if len(buf) - pos < 4:
                return None, pos
            n = UINT.unpack_from(buf, pos)[0]
            if n > MAX_ITEM:
                raise DiscoError("External program wrote an item of %d bytes (limit 1 GiB)" % n)
            if len(buf) - pos - 4 < n:
                return None, pos
            items.append(bytes(buf[pos + 4:pos + 4 + n]))
            pos += 4 + n
        return tuple(items), pos

    def check_truncated(self):
        if self.stdout_eof and (self.out or self.remaining is not None):
            raise DiscoError("External %s program ended in the middle of an output batch%s"
                             % (self.mode, self._exit_note()))

    def close(self):
        """Stop the program (SIGKILL) and release its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.selector.close()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            pipe.close()


# -- the classic worker's entry points ------------------------------------------------------------

def prepare(params, mode, message=print):
    """Start ``ext.<mode>/op`` (made executable) with ``params`` (``ext_params``)."""
    global program
    path = os.path.abspath(os.path.join("ext.%s" % mode, "op"))
    if not os.path.isfile(path):
        raise DiscoError("The external %s program %s is missing from the job home" % (mode, path))
    os.chmod(path, 0o755)
    program = Program(path, mode, params, message)
    return program


def map(entry, params):
    """Send one input entry to the program; the pairs of its answer batch."""
    program.send(encode_pair(entry))
    done, pairs = program.batches + 1, []
    while program.batches < done:
        if program.stdout_eof:
            program.check_truncated()
            program.drain_messages()
            raise DiscoError("External map program closed its output%s" % program._exit_note())
        program.pump()
        pairs += program.pairs()
    return pairs


def reduce(input, output, params):
    """Feed every input pair to the program, then end its input; ``output.add`` every pair it
    writes until it closes its output. A non-zero exit status is an error."""
    entries, end = iter(input), object()
    while not program.stdout_eof:
        while not program.input_done and len(program.pending) < FEED_SIZE:
            entry = next(entries, end)
            if entry is end:
                program.finish_input()
            else:
                program.send(encode_pair(entry))
        program.pump()
        for k, v in program.pairs():
            output.add(k, v)
    program.check_truncated()
    while not program.stderr_eof:
        program.pump()
    if program.proc.wait() != 0:
        raise DiscoError("External reduce program exited with code %d" % program.proc.returncode)


def close():
    """Stop the running program, if any."""
    global program
    if program is not None:
        program.close()
        program = None

"""Input and output streams of records, shared by clients and workers (``disco.worker.task_io``
of Disco 0.5 re-exports every name).

Above the URL schemes (``task_input_stream`` opens a URL by its scheme), below the readers of
inputs (``disco.readers``), the DDFS client and the worker library. A stream function takes ``(stream, size, url[, params])`` (input) or ``(stream, partition, url
[, params])`` (output) and returns a file-like object, or ``(fd, url)``, or ``(fd, size, url)``.
"""
import codecs
import gzip
import inspect
import io
import re
import types
import zlib

from disco import schemes
from disco._streams import RecordReader
from disco.error import DataError
from disco.fileutils import AtomicFile, DiscoOutputStream, DiscoOutputStream_v0

_READ = 64 * 1024


def old_netstr_reader(fd, size, fname, head=b""):
    """Records ``(key, value)`` of the version 0 text format: ``"<len k> <k> <len v> <v>\\n"``.

    Lengths count characters of UTF-8 text (as Disco's writer produced them); undecodable bytes
    are kept with ``surrogateescape``. At most ``size`` bytes are read (including ``head``, bytes
    the caller already took from ``fd``); ``size=None`` reads to end of file.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    left = None if size is None else size - len(head)
    buf = decoder.decode(head)
    pos = 0        # position in buf
    consumed = 0   # characters before buf
    eof = False

    def more():
        nonlocal buf, pos, consumed, left, eof
        n = _READ if left is None else min(_READ, left)
        data = fd.read(n) if n > 0 else b""
        if left is not None:
            left -= len(data)
        if not data:
            eof = True
        consumed += pos
        buf = buf[pos:] + decoder.decode(data, final=eof)
        pos = 0

    def field():
        nonlocal pos
        while (space := buf.find(" ", pos, pos + 21)) == -1 and not eof and len(buf) - pos <= 21:
            more()
        lenstr = buf[pos:space] if space != -1 else ""
        if not (lenstr.isascii() and lenstr.isdigit()):
            raise DataError("Corrupted input: could not parse a value length at character %d"
                            % (consumed + pos), fname)
        n = int(lenstr)
        end = space - pos + 1 + n  # relative to pos: the value ends here, then one separator
        while len(buf) - pos < end + 1 and not eof:
            more()
        if len(buf) - pos < end + 1:
            raise DataError("Truncated input: expected a value of %d characters at character %d"
                            % (n, consumed + pos + end - n), fname)
        value = buf[pos + end - n:pos + end]
        pos += end + 1
        return value

    while True:
        if len(buf) - pos == 0:
            if eof:
                return
            more()
            if len(buf) - pos == 0:
                return
        key = field()
        yield key, field()


def disco_input_stream(stream, size, url, ignore_corrupt=False):
    """Records of a Disco record stream (v1 or v2 hunks, or v0 text when the first byte is < 128).

    Corrupt data raises DataError naming ``url`` and the byte range, unless ``ignore_corrupt``:
    then the corrupt hunk is skipped.
    """
    return RecordReader(stream, size, url, ignore_corrupt, old_netstr_reader)


chain_reader = disco_input_stream


def disco_output_stream(stream, partition, url, params):
    """Output stream: records in the default record stream version (``DISCO_STREAM_VERSION``)."""
    return DiscoOutputStream(stream)


def task_output_stream(stream, partition, url, params):
    """Output stream: an AtomicFile at ``url`` (a local path)."""
    return AtomicFile(url)


class DiscoPlainOut(DiscoOutputStream_v0):
    """Plain text output, the same layout as version 0."""


def plain_output_stream(stream, partition, url, params):
    """Output stream: plain text records (``"<len k> <k> <len v> <v>\\n"``)."""
    return DiscoPlainOut(stream)


# -- input streams and combinations ---------------------------------------------------------------

def task_input_stream(stream, size, url, params):
    """Input stream: opens ``url`` with its scheme (``disco.schemes.scheme_<scheme>``, ``file``
    when there is none) -> ``(fd, size, url)``."""
    return schemes.input_stream(stream, size, url, params)


def open_chain(url, task=None):
    """The records of the record stream at ``url`` (opened by its scheme)."""
    fd = schemes.open(url, task=task)
    return chain_reader(fd, getattr(fd, "size", None), url)


def string_input_stream(string, size, url, params):
    """Input stream over the bytes (or text) ``string`` itself."""
    if isinstance(string, str):
        string = string.encode("utf-8", "surrogateescape")
    return io.BytesIO(string), len(string), url


def gzip_reader(fd, size, url, params):
    """Input stream: the gunzipped bytes of ``fd``."""
    return gzip.GzipFile(fileobj=fd), size, url


def gzip_line_reader(fd, size, url, params):
    """Input stream: the text lines of gzipped ``fd``; a corrupt tail ends the lines with a
    warning (printed, i.e. a worker MSG) instead of failing the task."""
    try:
        for line in gzip.GzipFile(fileobj=fd):
            yield line.decode("utf-8", "surrogateescape")
    except (OSError, EOFError, zlib.error) as e:
        print("gzip_line_reader stopped reading %s: %s" % (url, e))


def re_reader(item_re_str, fd, size, fname, output_tail=False, read_buffer_size=8192):
    """``match.groups()`` of consecutive matches of ``item_re_str`` anchored at the start of the
    unread data (a str pattern reads the data as UTF-8 text, a bytes pattern as bytes), reading
    at most ``size`` bytes. A tail that does not match is yielded as ``[tail]`` when
    ``output_tail``, else reported in a warning; fewer than ``size`` bytes -> DataError."""
    item_re = re.compile(item_re_str)
    text = isinstance(item_re.pattern, str)
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape") if text else None
    buf = "" if text else b""
    total = 0
    while True:
        data = fd.read(read_buffer_size if size is None else min(read_buffer_size, size - total))
        total += len(data)
        last = not data or (size is not None and total >= size)
        buf += decoder.decode(data, final=last) if text else data
        pos = 0
        m = item_re.match(buf, pos)
        while m and m.end() > pos:
            yield m.groups()
            pos = m.end()
            m = item_re.match(buf, pos)
        buf = buf[pos:]
        if last:
            break
    if size is not None and total < size:
        raise DataError("Truncated input: expected %d bytes, got %d" % (size, total), fname)
    if buf:
        if output_tail:
            yield [buf]
        else:
            print("Could not match the last %d %s of %s; some input may be missing"
                  % (len(buf), "characters" if text else "bytes", fname))


def _wants_params(fn):
    """True when stream function ``fn`` takes ``params``: 4 or more positional parameters
    without defaults (partial-bound ones excluded)."""
    if type(fn) is types.FunctionType and not hasattr(fn, "__wrapped__") \
            and not hasattr(fn, "__signature__"):   # what inspect.signature would find, cheaply
        return fn.__code__.co_argcount - len(fn.__defaults__ or ()) >= 4
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    required = [p for p in signature.parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    return len(required) >= 4


class StreamCombiner(object):
    """Applies ``streams`` in order, each to the ``(fd, size, url)`` the previous returned
    (starting from ``(fd, size, url)``); ``fds`` keeps every object, iteration iterates the last,
    ``close()`` closes them in reverse order. A stream may return ``fd``, ``(fd, url)`` or
    ``(fd, size, url)``; it gets ``params`` when it takes 4 positional arguments."""

    def __init__(self, url, streams, params, fd=None, size=None):
        self.url = url
        self.fds = []
        try:
            for stream in streams:
                args = (fd, size, url, params) if _wants_params(stream) else (fd, size, url)
                result = stream(*args)
                if isinstance(result, tuple) and len(result) == 3:
                    fd, size, url = result
                elif isinstance(result, tuple) and len(result) == 2:
                    fd, url = result
                else:
                    fd = result
                self.fds.append(fd)
        except BaseException:
            self.close()
            raise

    def __iter__(self):
        return iter(self.fds[-1])

    def close(self):
        for fd in reversed(self.fds):
            close = getattr(fd, "close", None)
            if close is not None:
                close()
        self.fds = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


chain_stream = (task_input_stream, chain_reader)
default_stream = (task_input_stream,)
gzip_stream = (task_input_stream, gzip_reader)
gzip_line_stream = (task_input_stream, gzip_line_reader)


# -- interface documentation (Disco 0.5 names) ----------------------------------------------------

def input_stream(stream, size, url, params):
    """Interface of an input stream: return ``fd``, ``(fd, url)`` or ``(fd, size, url)``; the
    last stream of a chain returns an iterable of records (or lines)."""


def output_stream(stream, partition, url, params):
    """Interface of an output stream: return ``fd``, ``(fd, url)`` or ``(fd, size, url)``; the
    last stream of a chain returns an object with ``add(key, value)``."""


class InputStream(object):
    """Interface of the object an input stream returns: iterable, ``read(n)`` when chained."""

    def __iter__(self):
        raise NotImplementedError

    def read(self, num_bytes=None):
        raise NotImplementedError


class OutputStream(object):
    """Interface of the object an output stream returns."""

    def add(self, key, value):
        raise NotImplementedError

    def close(self):
        pass

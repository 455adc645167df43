"""Files and record streams (``disco.fileutils`` of Disco 0.5).

Record stream writers come from the compiled codec ``disco._streams`` (its docstring documents the
v1 and v2 layouts). ``DiscoOutputStream(stream)`` writes the version set by ``DISCO_STREAM_VERSION``
(default 2, ours: lz4 + compact typed records); version 1 is Disco 0.5's format, for clusters that
mix this implementation with the original; version 0 is the old netstring text format.
"""
import io
import os

from disco._streams import DiscoOutputStream_v1, DiscoOutputStream_v2  # noqa: F401
from disco.error import DataError, DiscoError

MIN_DISK_SPACE = 1024 ** 2
MAX_RECORD_SIZE = 1024 ** 2
HUNK_SIZE = 1024 ** 2
CHUNK_SIZE = 64 * 1024 ** 2
STREAM_VERSIONS = (0, 1, 2)


class Wait(Exception):
    """An input would block: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after=1):
        super().__init__(retry_after)
        self.retry_after = retry_after


def default_stream_version():
    """The record stream version writers use when none is given (``DISCO_STREAM_VERSION``)."""
    value = os.environ.get("DISCO_STREAM_VERSION", "2")
    try:
        version = int(value)
    except ValueError:
        version = None
    if version not in STREAM_VERSIONS:
        raise DiscoError("DISCO_STREAM_VERSION must be one of %s, not %r" % (STREAM_VERSIONS, value))
    return version


def ensure_path(path):
    """Create directory ``path`` (and its parents) unless it exists."""
    os.makedirs(path, exist_ok=True)


def ensure_free_space(path):
    """Raise DataError if the file system holding ``path`` has less than MIN_DISK_SPACE free."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    if free < MIN_DISK_SPACE:
        raise DataError("Only %d KB of disk space available" % (free // 1024), path)


class AtomicFile(object):
    """A file written as ``<path>.partial`` and renamed to ``path`` by ``close()`` after fsync
    (unless the class attribute ``sync`` is false: see ``disco.worker.Worker.start``).

    Until then, readers see either nothing or the previous complete file: partial output never
    becomes visible. ``abort()`` (or leaving a ``with`` block by an exception) removes the partial.
    """

    sync = True

    def __init__(self, path):
        dirname = os.path.dirname(path)
        if dirname:
            ensure_path(dirname)
        self.path = path
        self.partial = "%s.partial" % path
        self.file = open(self.partial, "wb", HUNK_SIZE)
        self.isopen = True

    def write(self, data):
        self.file.write(data)

    def flush(self):
        self.file.flush()

    def tell(self):
        return self.file.tell()

    def close(self):
        if not self.isopen:
            return
        self.file.flush()
        if self.sync:
            os.fsync(self.file.fileno())
        self.file.close()
        os.rename(self.partial, self.path)
        self.isopen = False

    def abort(self):
        if not self.isopen:
            return
        self.file.close()
        os.unlink(self.partial)
        self.isopen = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()


class DiscoOutputStream_v0(object):
    """The version 0 text format: ``"<len k> <k> <len v> <v>\\n"`` per record, lengths in
    characters of ``str(k)``/``str(v)``, UTF-8 encoded."""

    def __init__(self, stream):
        self.stream = stream

    def add(self, k, v):
        k, v = str(k), str(v)
        self.stream.write(("%d %s %d %s\n" % (len(k), k, len(v), v)).encode("utf-8", "surrogateescape"))

    def append(self, record):
        self.add(*record)

    def close(self):
        pass


def DiscoOutputStream(stream, version=-1, **kwargs):
    """A record stream writer of ``version`` (-1: ``DISCO_STREAM_VERSION``, default 2)."""
    if version == -1:
        version = default_stream_version()
    if version == 0:
        return DiscoOutputStream_v0(stream)
    if version == 1:
        return DiscoOutputStream_v1(stream, **kwargs)
    if version == 2:
        return DiscoOutputStream_v2(stream, **kwargs)
    raise DiscoError("unknown record stream version %r (known: %s)" % (version, STREAM_VERSIONS))


class DiscoOutput(object):
    """Records written atomically to ``path`` in record stream ``version``."""

    def __init__(self, path, version=-1, **kwargs):
        self.path = path
        self.fd = AtomicFile(path)
        self.stream = DiscoOutputStream(self.fd, version=version, **kwargs)

    def add(self, k, v):
        self.stream.add(k, v)

    def append(self, record):
        self.stream.append(record)

    def close(self):
        self.stream.close()
        self.fd.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.fd.abort()


class Chunker(object):
    """Records re-encoded as independent record streams ("chunks", for ``ddfs chunk``): a chunk
    is closed once its written plus buffered size exceeds ``chunk_size`` bytes. Written in
    ``version`` (-1: ``DISCO_STREAM_VERSION``; chunks are never version 0, which means 1 here)."""

    def __init__(self, chunk_size=CHUNK_SIZE, max_record_size=MAX_RECORD_SIZE, version=-1):
        self.chunk_size = chunk_size
        self.max_record_size = max_record_size
        self.version = (default_stream_version() if version == -1 else version) or 1

    def _output(self, buffer):
        return DiscoOutputStream(buffer, version=self.version, max_record_size=self.max_record_size,
                                 min_hunk_size=min(HUNK_SIZE, self.chunk_size))

    def chunks(self, records):
        """Each chunk of ``records`` as bytes (none for no records); ValueError for a record
        larger than ``max_record_size``."""
        buffer = out = None
        for record in records:
            if out is None:
                buffer = io.BytesIO()
                out = self._output(buffer)
            out.append(record)
            if out.size + out.hunk_size > self.chunk_size:
                out.close()
                yield buffer.getvalue()
                out = None
        if out is not None:
            out.close()
            yield buffer.getvalue()

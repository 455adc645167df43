"""Input and output streams of tasks (``disco.worker.task_io`` of Disco 0.5).

A stream function takes ``(stream, size, url[, params])`` (input) or ``(stream, partition, url
[, params])`` (output) and returns a file-like object, or ``(fd, url)``, or ``(fd, size, url)``.
"""
import codecs

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

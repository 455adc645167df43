"""Framing of the Disco Worker Protocol 1.1, shared by the worker side and the master side.

A message is ``<TYPE> SP <payload length in bytes> SP <JSON payload> LF``: TYPE is 1-10 bytes of
upper-case ASCII letters and ``_`` (``INPUT_ERR``), the payload at most 100 MiB. Workers write
requests to stderr and read replies on stdin; the master does the opposite. A message without payload sends ``""`` (length 2).
"""
import json

VERSION = "1.1"
MAX_TYPE = 10
MAX_PAYLOAD = 100 * 1024 * 1024
_MAX_HEADER = MAX_TYPE + 1 + len(str(MAX_PAYLOAD)) + 1


class ProtocolError(Exception):
    """A frame that does not follow the protocol; ``data`` holds the bytes read so far."""

    def __init__(self, msg, data=b""):
        super().__init__(msg)
        self.data = data


class PayloadError(ProtocolError):
    """A whole frame whose payload is not JSON the reader can decode."""


def encode(msg_type, payload=""):
    """The bytes of one message."""
    body = json.dumps(payload).encode("utf-8")
    return b"%s %d %s\n" % (msg_type.encode("ascii"), len(body), body)


def _header_read(head):
    """Whether ``head``, the bytes read so far, is a whole header ``b'TYPE LEN '``; a newline
    or an overlong header is a ProtocolError."""
    if head.endswith(b"\n") or len(head) > _MAX_HEADER:
        raise ProtocolError("malformed message header %r" % head[:40], head)
    return head.endswith(b" ") and head.count(b" ") >= 2


def _end_of_stream(head):
    """End of stream before a header: None between messages, an error inside one."""
    if head:
        raise ProtocolError("end of stream inside a message header", head)
    return None


def _header(head):
    """``(type, length)`` from the bytes before the JSON payload (``b'TYPE LEN '``)."""
    parts = head.split(b" ")
    if len(parts) != 3 or parts[2] != b"":
        raise ProtocolError("malformed message header %r" % head[:40], head)
    msg_type, length = parts[0], parts[1]
    if not (1 <= len(msg_type) <= MAX_TYPE and msg_type.replace(b"_", b"A").isalpha()
            and msg_type.isupper()):
        raise ProtocolError("invalid message type %r" % msg_type[:40], head)
    if not length.isdigit() or int(length) > MAX_PAYLOAD:
        raise ProtocolError("invalid payload length %r" % length[:40], head)
    return msg_type.decode("ascii"), int(length)


def _payload(msg_type, body, head):
    if body[-1:] != b"\n":
        raise ProtocolError("%s message not terminated by a newline" % msg_type, head + body)
    try:
        return json.loads(body[:-1].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise PayloadError("%s payload is not valid JSON: %s" % (msg_type, e), head + body)
    except RecursionError:
        raise PayloadError("%s payload is nested too deeply" % msg_type, head + body)


def read_message(stream):
    """``(type, payload)`` of the next message of a binary file object; None at end of file."""
    head = b""
    peek = getattr(stream, "peek", None)
    if peek is not None:    # a buffered stream: take a whole header at once when it is there
        data = peek(_MAX_HEADER + 1)[:_MAX_HEADER + 1]
        first = data.find(b" ")
        second = data.find(b" ", first + 1) if first >= 0 else -1
        if second >= 0 and b"\n" not in data[:second]:
            head = stream.read(second + 1)
    while not _header_read(head):
        c = stream.read(1)
        if not c:
            return _end_of_stream(head)
        head += c
    msg_type, length = _header(head)
    body = b""
    while len(body) < length + 1:
        chunk = stream.read(length + 1 - len(body))
        if not chunk:
            raise ProtocolError("end of stream inside a %s message" % msg_type, head + body)
        body += chunk
    return msg_type, _payload(msg_type, body, head)


class MessageReader:
    """The messages of an ``asyncio.StreamReader``, parsed from a buffer of its own: one read
    from the stream may bring several messages (a worker sends some requests without waiting
    for their replies), and a header costs no read per byte. ``await read()`` is the next
    ``(type, payload)``, None at end of stream; a ProtocolError's ``data`` holds every byte read
    and not yet returned."""

    CHUNK = 1 << 16

    def __init__(self, reader):
        self.reader = reader
        self.buf = bytearray()

    async def read(self):
        while True:
            try:
                message = self._parse()
            except ProtocolError as e:
                e.data = bytes(self.buf)    # what a bad frame came with, for the master's "last words"
                raise
            if message is not None:
                return message
            chunk = await self.reader.read(self.CHUNK)
            if not chunk:
                return self._end()
            self.buf += chunk

    def _parse(self):
        """The first whole message of the buffer (removed from it), or None."""
        buf = self.buf
        first = buf.find(b" ", 0, _MAX_HEADER)
        second = buf.find(b" ", first + 1, _MAX_HEADER) if first >= 0 else -1
        if second < 0:
            head = bytes(buf[:_MAX_HEADER + 1])
            if b"\n" in head or len(head) > _MAX_HEADER:
                raise ProtocolError("malformed message header %r" % head[:40], bytes(buf))
            return None
        head = bytes(buf[:second + 1])
        if b"\n" in head:
            raise ProtocolError("malformed message header %r" % head[:40], bytes(buf))
        msg_type, length = _header(head)
        end = second + 2 + length
        if len(buf) < end:
            return None
        message = msg_type, _payload(msg_type, bytes(buf[second + 1:end]), head)
        del buf[:end]
        return message

    def _end(self):
        if not self.buf:
            return None
        data = bytes(self.buf)
        first = data.find(b" ")
        if first < 0 or data.find(b" ", first + 1) < 0:
            raise ProtocolError("end of stream inside a message header", data)
        raise ProtocolError("end of stream inside a %s message" % data[:first].decode("ascii"), data)

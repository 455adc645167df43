"""Netstring dictionaries: the parameters of external map/reduce programs (docs/jobs.md).

A dictionary is encoded as ``"<klen> <k> <vlen> <v>\\n"`` per item (lengths in bytes, keys and
values str (UTF-8) or bytes); ``encode_netstring_fd`` prefixes the total length and a newline, so
an empty dictionary is ``b"0\\n"``. Decoding gives bytes keys and values. A length field longer
than ``MAX_LEN_STR`` characters or a packet over ``MAX_PACKET_LEN`` raises ``NetStringError``.
"""
from disco.error import DiscoError

MAX_LEN_STR = 10
MAX_PACKET_LEN = 1024 ** 3


class NetStringError(DiscoError):
    """Malformed netstring data."""


def _bytes(value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def encode_netstring_str(items):
    """``b"<len k> <k> <len v> <v>\\n"`` for each ``(k, v)`` of ``items``."""
    out = []
    for k, v in items:
        k, v = _bytes(k), _bytes(v)
        out.append(b"%d %s %d %s\n" % (len(k), k, len(v), v))
    return b"".join(out)


def encode_netstring_fd(dictionary):
    """The dictionary as a length-prefixed packet: ``b"<total length>\\n" + body``."""
    body = encode_netstring_str(dictionary.items())
    return b"%d\n%s" % (len(body), body)


def _length(data, pos, end, sep):
    stop = data.find(sep, pos, min(end, pos + MAX_LEN_STR + 1))
    if stop == -1 or not data[pos:stop].isdigit():
        raise NetStringError("invalid netstring length at byte %d" % pos)
    return int(data[pos:stop]), stop + 1


def decode_netstring_str(data):
    """The ``(k, v)`` pairs (bytes) of an item body written by ``encode_netstring_str``."""
    data = _bytes(data)
    pos, pairs = 0, []
    while pos < len(data):
        item = []
        for sep in (b" ", b"\n"):
            n, pos = _length(data, pos, len(data), b" ")
            if pos + n + 1 > len(data) or data[pos + n:pos + n + 1] != sep:
                raise NetStringError("truncated or malformed netstring item at byte %d" % pos)
            item.append(data[pos:pos + n])
            pos += n + 1
        pairs.append(tuple(item))
    return pairs


def decode_netstring_fd(fd):
    """The dictionary of a packet read from binary file ``fd`` (``encode_netstring_fd``)."""
    head = b""
    while not head.endswith(b"\n"):
        c = fd.read(1)
        if not c or len(head) > MAX_LEN_STR:
            raise NetStringError("invalid netstring packet length %r" % head)
        head += c
    if not head[:-1].isdigit():
        raise NetStringError("invalid netstring packet length %r" % head)
    n = int(head)
    if n > MAX_PACKET_LEN:
        raise NetStringError("netstring packet of %d bytes is too large" % n)
    body = fd.read(n)
    if len(body) != n:
        raise NetStringError("truncated netstring packet: %d of %d bytes" % (len(body), n))
    return dict(decode_netstring_str(body))

"""Unit checks of the sort, netstring and external-program modules (no master)."""
import io
import operator
import os
import random

import pytest

from disco.error import DiscoError
from disco.util import disk_sort, dsorted
from disco.worker.classic import external
from disco.worker.classic.netstring import (NetStringError, decode_netstring_fd,
                                            decode_netstring_str, encode_netstring_fd,
                                            encode_netstring_str)
from disco.worker.sort import DEFAULT_BUFFER, MAX_BUFFER, MIN_BUFFER, buffer_limits, sorted_records


def test_buffer_limits():
    assert buffer_limits(1000) == (1000, None)
    assert buffer_limits("64M") == (None, 64 * 1024 ** 2)
    assert buffer_limits("2k") == buffer_limits("2") == (None, 2048)
    assert buffer_limits("10b") == (None, 10)
    assert MIN_BUFFER <= buffer_limits("10%")[1] <= MAX_BUFFER
    assert buffer_limits(None) == buffer_limits(0) == (None, DEFAULT_BUFFER)
    for bad in ("lots", -1, "5x"):
        with pytest.raises(DiscoError):
            buffer_limits(bad)


@pytest.mark.parametrize("buffer_size,fanin", [(1, 2), (13, 3), ("300b", 128), ("10%", 128)])
def test_sorted_records_is_stable_with_any_key_types(tmp_path, buffer_size, fanin):
    rnd = random.Random(buffer_size if isinstance(buffer_size, int) else 5)
    keys = [(1, "a"), (0, "z"), (1, "b"), (0.5, ""), (-3, "q")]
    records = [(rnd.choice(keys), i) for i in range(500)]
    got = list(sorted_records(iter(records), buffer_size, str(tmp_path), max_fanin=fanin))
    assert got == sorted(records, key=operator.itemgetter(0))
    assert os.listdir(str(tmp_path)) == []


def test_dsorted_and_disk_sort(tmp_path):
    sent = []

    class Worker(object):
        @staticmethod
        def send(kind, text):
            sent.append((kind, text))
    data = [(random.random(), None) for _ in range(1000)]
    assert list(disk_sort(Worker, iter(data), str(tmp_path / "sort.dl"), 100)) == sorted(data)
    assert sent and all(kind == "MSG" and text.startswith("Sorting: ") for kind, text in sent)
    assert list(dsorted([3, 1, 2], buffer_size=1, tempdir=str(tmp_path))) == [1, 2, 3]


def test_netstrings():
    packet = encode_netstring_fd({"a": "xyz", b"k k": b"v\nw", "n": 5})
    assert packet == b"30\n1 a 3 xyz\n3 k k 3 v\nw\n1 n 1 5\n"
    assert decode_netstring_fd(io.BytesIO(packet)) == {b"a": b"xyz", b"k k": b"v\nw", b"n": b"5"}
    assert encode_netstring_fd({}) == b"0\n"
    assert decode_netstring_str(encode_netstring_str([("é", "")])) == [("é".encode(), b"")]
    for bad in (b"3 ab", b"x a 1 b\n", b"1 a 1 bc"):
        with pytest.raises(NetStringError):
            decode_netstring_str(bad)
    with pytest.raises(NetStringError):
        decode_netstring_fd(io.BytesIO(b"99999999999\n"))


def test_package_and_pairs(tmp_path):
    (tmp_path / "op.sh").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "table.txt").write_bytes(b"data")
    assert external.package([str(tmp_path / "op.sh"), str(tmp_path / "table.txt")]) == \
        {"op": b"#!/bin/sh\n", "table.txt": b"data"}
    assert external.encode_pair("line") == b"\0\0\0\0" + b"\4\0\0\0line"
    assert external.encode_pair((b"k", 7)) == b"\1\0\0\0k\1\0\0\0" + b"7"


def map_with(tmp_path, script, error):
    """Run the external map ``script`` (sh) on one entry: it must raise ``error``; the messages."""
    path = tmp_path / "op"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    messages = []
    external.program = external.Program(str(path), "map", {}, messages.append)
    try:
        with pytest.raises(DiscoError, match=error):
            external.map("line", None)
    finally:
        external.close()
    return messages


def test_a_program_that_stops_early_is_an_error(tmp_path):
    script = 'echo "**<MSG> bye" >&2\nexit 3\n'
    assert map_with(tmp_path, script, "closed its output|stopped reading") == ["bye"]


def test_an_err_line_fails(tmp_path):
    map_with(tmp_path, 'echo "**<ERR> broken" >&2\nsleep 5\n', "failed: broken")


# -- the protocol channel: acknowledged requests do not wait for their reply ----------------------

def _replies(*messages):
    from disco import protocol
    return io.BytesIO(b"".join(protocol.encode(t, p) for t, p in messages))


def test_acknowledged_requests_are_read_before_the_next_reply():
    from disco import protocol
    from disco.worker.channel import Channel
    out = io.BytesIO()
    inp = _replies(("OK", "ok"), ("OK", "ok"), ("TASK", {"taskid": 3}))
    chan = Channel(out, inp)
    assert chan.request("WORKER", {"pid": 1, "version": "1.1"}) == ("OK", "ok")
    assert chan.request("OUTPUT", [0, "a", 1]) == ("OK", "ok")
    assert inp.tell() == 0                      # nothing read yet
    assert chan.request("TASK") == ("TASK", {"taskid": 3})
    out.seek(0)
    sent = []
    while (msg := protocol.read_message(out)) is not None:
        sent.append(msg[0])
    assert sent == ["WORKER", "OUTPUT", "TASK"]


def test_a_refused_acknowledged_request_fails_the_next_exchange():
    from disco import protocol
    from disco.worker.channel import Channel
    chan = Channel(io.BytesIO(), _replies(("ERROR", "no"), ("TASK", {})))
    chan.request("OUTPUT", [0, "a", 1])
    with pytest.raises(protocol.ProtocolError, match="answered OUTPUT with ERROR"):
        chan.request("TASK")


def test_unread_acknowledgements_are_bounded():
    """A worker that only sends MSGs reads their replies every MAX_UNREAD, so the master never
    blocks on a full pipe."""
    from disco.worker.channel import MAX_UNREAD, Channel
    n = MAX_UNREAD * 3 + 1
    chan = Channel(io.BytesIO(), _replies(*[("OK", "ok")] * n))
    for i in range(n):
        chan._send_acknowledged("MSG", "m%d" % i)
        assert len(chan.unread) <= MAX_UNREAD
    assert len(chan.unread) == 1 + (n - 1) % MAX_UNREAD  # the rest were read

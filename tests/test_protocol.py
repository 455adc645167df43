"""Worker Protocol 1.1 framing (disco.protocol), both readers."""
import asyncio
import io

import pytest

from disco import protocol


def read_all_sync(data):
    stream, out = io.BytesIO(data), []
    while (msg := protocol.read_message(stream)) is not None:
        out.append(msg)
    return out


def read_all_async(data):
    async def run():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        out, messages = [], protocol.MessageReader(reader)
        while (msg := await messages.read()) is not None:
            out.append(msg)
        return out
    return asyncio.run(run())


MESSAGES = [("WORKER", {"version": "1.1", "pid": 42}), ("TASK", ""), ("MSG", "héllo\nworld"),
            ("INPUT_ERR", [3, [0, 1]]), ("OUTPUT", [0, "dir/file", 12])]


def test_async_reader_gets_messages_split_anywhere():
    """The master's reader parses messages across reads of any size (here: one byte each,
    then all at once)."""
    data = b"".join(protocol.encode(t, p) for t, p in MESSAGES)

    async def run():
        reader = asyncio.StreamReader()
        messages = protocol.MessageReader(reader)

        async def read_all():
            out = []
            while (msg := await messages.read()) is not None:
                out.append(msg)
            return out
        reading = asyncio.ensure_future(read_all())
        for i in range(len(data)):
            reader.feed_data(data[i:i + 1])
            await asyncio.sleep(0)
        reader.feed_eof()
        return await reading
    assert asyncio.run(run()) == MESSAGES


@pytest.mark.parametrize("read_all", [read_all_sync, read_all_async])
def test_round_trip(read_all):
    data = b"".join(protocol.encode(t, p) for t, p in MESSAGES)
    assert read_all(data) == MESSAGES
    assert protocol.encode("TASK") == b'TASK 2 ""\n'
    assert protocol.encode("MSG", "é") == b'MSG 8 "\\u00e9"\n'


@pytest.mark.parametrize("read_all", [read_all_sync, read_all_async])
@pytest.mark.parametrize("data,message", [
    (b"garbage here\n", "malformed message header"),
    (b"X" * 40, "malformed message header"),
    (b"lower 2 \"\"\n", "invalid message type"),
    (b"TOOLONGTYPE 2 \"\"\n", "invalid message type"),
    (b"MSG x \"\"\n", "invalid payload length"),
    (b"MSG %d " % (protocol.MAX_PAYLOAD + 1), "invalid payload length"),
    (b"MSG 5 \"ab\"\n", "end of stream inside a MSG message"),
    (b"MSG 2 \"\"X", "not terminated by a newline"),
    (b"MSG 2 {]\n", "not valid JSON"),
    (b"MSG", "end of stream inside a message header"),
])
def test_bad_frames(read_all, data, message):
    with pytest.raises(protocol.ProtocolError, match=message) as e:
        read_all(data)
    assert e.value.data  # the bytes read so far, for the master's "last words"

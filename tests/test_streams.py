"""Record streams: vectors of the original Disco, round trips, corruption, memory."""
import ast
import collections
import datetime
import decimal
import fractions
import io
import os
import pickle
import struct
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disco import _streams
from disco.error import DataError, DiscoError
from disco.fileutils import (AtomicFile, DiscoOutput, DiscoOutputStream, DiscoOutputStream_v0,
                             DiscoOutputStream_v1, DiscoOutputStream_v2)
from disco.worker.task_io import chain_reader, disco_input_stream, old_netstr_reader
from strict import strict_equal

Point = collections.namedtuple("Point", "x y")


# -- reference: the original Disco 0.5 reader, in plain Python -------------------------------------

def original_reader(data):
    """Records of a v1 stream read the way Disco 0.5's disco_input_stream reads them."""
    stream = io.BytesIO(data)
    while True:
        marker = stream.read(1)
        if not marker:
            return
        assert marker[0] >= 128
        compressed, checksum, size = struct.unpack("<BIQ", stream.read(13))
        if not size:
            return
        hunk = stream.read(size)
        payload = zlib.decompress(hunk) if compressed else hunk
        assert checksum == zlib.crc32(payload) & 0xFFFFFFFF
        records = io.BytesIO(payload)
        while True:
            try:
                yield pickle.load(records)
            except EOFError:
                break


def original_writer(records, level=2, hunk_size=1024 ** 2):
    """A v1 stream as Disco 0.5's DiscoOutputStream_v1 writes it."""
    out, hunk = io.BytesIO(), io.BytesIO()

    def flush():
        payload = hunk.getvalue()
        stored = zlib.compress(payload, level) if level else payload
        out.write(struct.pack("<BBIQ", 129, int(level > 0), zlib.crc32(payload) & 0xFFFFFFFF, len(stored)))
        out.write(stored)
        hunk.seek(0)
        hunk.truncate()

    for r in records:
        hunk.write(pickle.dumps(r, 1))
        if hunk.tell() > hunk_size:
            flush()
    if hunk.tell():
        flush()
    flush()
    return out.getvalue()


def write(records, version, **kw):
    buf = io.BytesIO()
    w = DiscoOutputStream(buf, version=version, **kw)
    for r in records:
        w.append(r)
    w.close()
    return buf.getvalue()


def read(data, url="mem://stream", **kw):
    return list(disco_input_stream(io.BytesIO(data), len(data), url, **kw))


# -- strategies -------------------------------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-2 ** 70, 2 ** 70)
           | st.floats(allow_nan=False) | st.text() | st.binary()
           | st.characters(min_codepoint=0xd800, max_codepoint=0xdfff))  # lone surrogates
values = st.recursive(
    scalars,
    lambda inner: (st.lists(inner, max_size=6) | st.lists(inner, max_size=6).map(tuple)
                   | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=6)),
    max_leaves=30)
others = st.sampled_from([
    Point(1, "a"), {1, 2, 3}, frozenset(["x"]), decimal.Decimal("1.25"), fractions.Fraction(3, 7),
    datetime.date(2026, 11, 22), collections.OrderedDict(a=1), complex(1, 2), bytearray(b"ab"),
    collections.defaultdict(list, {"k": [1]}), range(5),
])
records = st.lists(values | others | st.tuples(st.text(), st.integers()), max_size=40)


# -- vectors written by the original Disco ----------------------------------------------------------

V1_VECTORS = ["v1-wordcount", "v1-mixed", "v1-multihunk", "v1-uncompressed", "v1-empty",
              "v1-bigrecord", "v1-py2"]


@pytest.mark.parametrize("name", V1_VECTORS + ["v0-netstring"])
def test_vectors_decode_exactly(vectors, name):
    with open(os.path.join(vectors, name + ".expected")) as f:
        expected = ast.literal_eval(f.read())
    path = os.path.join(vectors, name + ".disco")
    with open(path, "rb") as f:
        got = list(chain_reader(f, os.path.getsize(path), path))
    assert len(got) == len(expected)
    assert strict_equal(got, expected)


def test_py2_strings_are_lossless(vectors):
    with open(os.path.join(vectors, "v1-py2.disco"), "rb") as f:
        keys = [k for k, _ in disco_input_stream(f, None, "v1-py2")]
    raw = [k for k in keys if "\udcff" in k]
    assert raw and raw[0].encode("utf-8", "surrogateescape").startswith(b"\xff")


@pytest.mark.parametrize("name", V1_VECTORS)
def test_v1_writer_reproduces_vectors_for_the_original_reader(vectors, name):
    with open(os.path.join(vectors, name + ".expected")) as f:
        expected = ast.literal_eval(f.read())
    data = write(expected, 1)
    assert strict_equal(list(original_reader(data)), expected)
    assert strict_equal(read(data), expected)


def test_v0_writer_matches_original_bytes(vectors):
    with open(os.path.join(vectors, "v0-netstring.expected")) as f:
        expected = ast.literal_eval(f.read())
    buf = io.BytesIO()
    w = DiscoOutputStream_v0(buf)
    for k, v in expected:
        w.add(k, v)
    with open(os.path.join(vectors, "v0-netstring.disco"), "rb") as f:
        assert buf.getvalue() == f.read()


# -- v2 files written before the string table (tests/data, by the writer of commit 068c112) -------

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@pytest.mark.parametrize("name", ["v2-before-string-table", "v2-before-string-table-raw"])
def test_v2_files_without_string_table_still_read(name):
    with open(os.path.join(DATA, "v2-before-string-table.expected")) as f:
        expected = ast.literal_eval(f.read())
    with open(os.path.join(DATA, name + ".disco"), "rb") as f:
        data = f.read()
    assert len(hunks(data)) > 5 and {data[start] for start, _ in hunks(data)} == {0x82}
    assert strict_equal(read(data), expected)


# -- round trips -----------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_round_trip_v1_through_both_readers(recs):
    data = write(recs, 1)
    assert strict_equal(read(data), recs)
    assert strict_equal(list(original_reader(data)), recs)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_round_trip_v2(recs):
    assert strict_equal(read(write(recs, 2)), recs)
    assert strict_equal(read(write(recs, 2, compression_level=0)), recs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(), st.text()), max_size=30))
def test_round_trip_v0(pairs):
    assert read(write(pairs, 0)) == pairs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(values | others, max_size=10), st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_v1_decoder_equals_pickle_for_every_protocol(recs, protocol):
    payload = b"".join(pickle.dumps(r, protocol) for r in recs)
    expected = [pickle.loads(pickle.dumps(r, protocol)) for r in recs]
    assert strict_equal(_streams.decode_records(payload, 1), expected)


def test_v1_decoder_keeps_shared_references_like_pickle():
    shared = [1, 2]
    rec = (shared, shared, {"a": shared})
    got = _streams.decode_records(pickle.dumps(rec, 1), 1)[0]
    assert got == rec and got[0] is got[1] is got[2]["a"]


def test_v1_decoder_odd_int_spellings_follow_pickle():
    for text in (b"I012\n.", b"I 7\n.", b"I1_0\n.", b"L0x10L\n.", b"I01\n.", b"I00\n.", b"L-12L\n."):
        try:
            expected = pickle.loads(text)
        except Exception:
            with pytest.raises(ValueError):
                _streams.decode_records(text, 1)
        else:
            assert strict_equal(_streams.decode_records(text, 1), [expected])


@pytest.mark.parametrize("data", [
    b"(q\x00K\x01t.", b"K\x01K\x02\x87.", b"(K\x01tq\x00q\x01.", b"(K\x01t", b"(K\x01tK\x02.",
    b"\x80\x02K\x01K\x02\x86.", b"\x80\x09K\x01\x85.", b"(X\x02\x00\x00\x00\xff\xfeK\x01t.",
    b"(U\x02\xff\xfeK\x01t.", b"(K\x01tr\x00\x00.", b"(K\x01K\x02t.", b"(K\x01h\x00t.",
    b"(" + b"K\x01" * 17 + b"t.", b"(NK\x01\x88\x89M\x01\x02J\xff\xff\xff\xff\x8c\x01at.",
])
def test_v1_flat_tuples_decode_as_pickle_does(data):
    """Flat tuples of atoms take a shortcut past the stack machine: same results and errors."""
    try:
        expected = pickle.loads(data, encoding="utf-8", errors="surrogateescape")
    except Exception:
        with pytest.raises(ValueError):
            _streams.decode_records(data, 1)
    else:
        assert strict_equal(_streams.decode_records(data, 1), [expected])


def test_unsupported_objects_fall_back_to_pickle():
    recs = [Point(1, 2), {1, 2}, True, 1, 1.0, decimal.Decimal("3")]
    for version in (1, 2):
        got = read(write(recs, version))
        assert strict_equal(got, recs) and type(got[0]) is Point


def test_deep_and_recursive_records():
    deep = current = []
    for _ in range(300):  # deeper than MAX_DEPTH: such records go through pickle
        current.append([])
        current = current[0]
    loop = [1]
    loop.append(loop)
    for version in (1, 2):
        got = read(write([deep, loop], version))
        assert got[0] == deep
        assert got[1][1] is got[1]


def test_many_hunks_and_hunk_size():
    recs = [("word%d" % i, i) for i in range(20000)]
    for version in (1, 2):
        buf = io.BytesIO()
        w = DiscoOutputStream(buf, version=version, min_hunk_size=4096)
        for r in recs:
            w.append(r)
            assert w.hunk_size <= 4096 + 64
        w.close()
        assert w.size == len(buf.getvalue())
        assert read(buf.getvalue()) == recs


def test_short_reads():
    class Dribble(io.RawIOBase):
        def __init__(self, data):
            self.data, self.pos = data, 0

        def readable(self):
            return True

        def read(self, n=-1):
            n = min(n if n >= 0 else 7, 7)
            chunk = self.data[self.pos:self.pos + n]
            self.pos += len(chunk)
            return chunk

    recs = [("k%d" % i, [i] * 3) for i in range(3000)]
    for version in (0, 1, 2):
        expected = [(str(k), str(v)) for k, v in recs] if version == 0 else recs
        data = write(recs, version, **({} if version == 0 else {"min_hunk_size": 1000}))
        assert list(disco_input_stream(Dribble(data), len(data), "dribble")) == expected


def test_reader_is_lazy():
    class Exploding(io.RawIOBase):
        def read(self, n=-1):
            raise AssertionError("read before iteration")

    disco_input_stream(Exploding(), 0, "lazy")  # nothing read until iterated


# -- writer settings and atomic files -------------------------------------------------------------

def test_default_version_is_2_and_setting_selects(monkeypatch):
    monkeypatch.delenv("DISCO_STREAM_VERSION", raising=False)
    assert write([1], -1)[0] == 0x82
    monkeypatch.setenv("DISCO_STREAM_VERSION", "1")
    assert write([1], -1)[0] == 0x81
    monkeypatch.setenv("DISCO_STREAM_VERSION", "0")
    assert isinstance(DiscoOutputStream(io.BytesIO()), DiscoOutputStream_v0)
    monkeypatch.setenv("DISCO_STREAM_VERSION", "7")
    with pytest.raises(DiscoError, match="DISCO_STREAM_VERSION"):
        DiscoOutputStream(io.BytesIO())
    with pytest.raises(DiscoError, match="unknown record stream version 5"):
        DiscoOutputStream(io.BytesIO(), version=5)


def test_v1_terminators_match_the_original():
    assert write([], 1) == struct.pack("<BBIQ", 129, 1, 0, 8) + zlib.compress(b"", 2)
    assert write([], 1, compression_level=0) == struct.pack("<BBIQ", 129, 0, 0, 0)
    assert write([], 2) == struct.pack("<BBIQ", 130, 0, 0, 0)


@pytest.mark.parametrize("cls", [DiscoOutputStream_v1, DiscoOutputStream_v2])
def test_max_record_size(cls):
    buf = io.BytesIO()
    w = cls(buf, max_record_size=100)
    w.append(("small", 1))
    with pytest.raises(ValueError, match=r"Record of size \d+ is larger than max_record_size: 100"):
        w.append(("big", "x" * 200))
    w.append(("after", 2))
    w.close()
    assert read(buf.getvalue()) == [("small", 1), ("after", 2)]


def test_atomic_file_is_invisible_until_closed(tmp_path):
    path = tmp_path / "sub" / "out"
    f = AtomicFile(str(path))
    f.write(b"data")
    assert not path.exists()
    f.close()
    assert path.read_bytes() == b"data"
    with pytest.raises(RuntimeError):
        with DiscoOutput(str(tmp_path / "failed")) as out:
            out.add("k", "v")
            raise RuntimeError("task failed")
    assert os.listdir(tmp_path) == ["sub"]
    with DiscoOutput(str(tmp_path / "ok"), version=2) as out:
        out.add("k", "v")
    with open(tmp_path / "ok", "rb") as f:
        assert list(disco_input_stream(f, None, "ok")) == [("k", "v")]


# -- corruption -----------------------------------------------------------------------------------

def hunks(data):
    """[(start, end)] byte ranges of the hunks of a v1/v2 stream."""
    out, pos = [], 0
    while pos < len(data):
        size = struct.unpack("<Q", data[pos + 6:pos + 14])[0]
        out.append((pos, pos + 14 + size))
        pos += 14 + size
    return out


def three_hunks(version):
    recs = [("r%d" % i, i) for i in range(3000)]
    data = write(recs, version, min_hunk_size=10000)
    spans = hunks(data)
    assert len(spans) >= 4
    first = read(data[:spans[1][0]] + data[spans[-1][0]:])
    return recs, data, spans, first


def corrupt(data, at):
    data = bytearray(data)
    data[at] ^= 0xff
    return bytes(data)


@pytest.mark.parametrize("version", [1, 2])
def test_checksum_mismatch_names_url_and_range(version):
    recs, data, spans, first = three_hunks(version)
    start, end = spans[1]
    bad = corrupt(data, start + 20)
    with pytest.raises(DataError) as e:
        read(bad, url="disco://host/x")
    assert "disco://host/x" in str(e.value) and "between bytes %d-%d" % (start, end) in str(e.value)
    got = read(bad, ignore_corrupt=True)
    assert got[:len(first)] == first and len(got) < len(recs)
    assert set(got) <= set(recs) and got[-1] == recs[-1]


def rehunk(version, payload, flags):
    """One hunk holding ``payload`` as stored, with a correct checksum."""
    if version == 1:
        crc = zlib.crc32(zlib.decompress(payload) if flags else payload)
    else:
        crc = zlib.crc32(payload)
    return struct.pack("<BBIQ", 128 + version, flags, crc, len(payload)) + payload


@pytest.mark.parametrize("version", [1, 2])
def test_bad_record_bytes_with_valid_checksum(version):
    good = _streams.encode_records([("ok", 1)], version)
    garbage = b"\xfe\xfe\xfe" if version == 1 else b"\x0c\x00\x00"  # no such opcode / type tag
    bad = rehunk(version, good + garbage, 0)
    data = bad + rehunk(version, good, 0) + struct.pack("<BBIQ", 128 + version, 0, 0, 0)
    with pytest.raises(DataError, match=r"Corrupted data between bytes 0-%d: record at payload offset %d"
                       % (len(bad), len(good))):
        read(data)
    # records decode lazily: those before the undecodable one were delivered, the rest is skipped
    assert read(data, ignore_corrupt=True) == [("ok", 1), ("ok", 1)]


def test_bad_compression():
    garbage = b"\x78\x9c" + b"\x00" * 10
    data = struct.pack("<BBIQ", 129, 1, 0, len(garbage)) + garbage
    with pytest.raises(DataError, match="Corrupted data between bytes 0-%d" % len(data)):
        read(data)
    data2 = struct.pack("<BBIQ", 130, 1, zlib.crc32(garbage), len(garbage)) + garbage
    with pytest.raises(DataError, match="Corrupted data between bytes 0-%d" % len(data2)):
        read(data2)


@pytest.mark.parametrize("version", [1, 2])
def test_truncation_is_always_an_error(version):
    data = write([("k", i) for i in range(100)], version)
    for cut in (5, 14, 20, len(data) - 20):
        with pytest.raises(DataError, match="Truncated data"):
            read(data[:cut], url="u", ignore_corrupt=True)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_damage_gives_records_or_data_error(data):
    version = data.draw(st.sampled_from([1, 2]))
    stream = write([("w%d" % i, [i, float(i), None]) for i in range(50)], version, min_hunk_size=200)
    stream = bytearray(stream)
    for _ in range(data.draw(st.integers(1, 5))):
        stream[data.draw(st.integers(0, len(stream) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(stream)))
    try:
        read(bytes(stream[:cut]))
        read(bytes(stream[:cut]), ignore_corrupt=True)
    except DataError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_v2_decoder_rejects_garbage_cleanly(payload):
    try:
        _streams.decode_records(payload, 2)
    except ValueError:
        pass


def test_v0_needs_well_formed_lengths():
    with pytest.raises(DataError, match="could not parse a value length at character 0"):
        list(old_netstr_reader(io.BytesIO(b"x kmc 3 234\n"), 12, "v0"))


# -- the v2 string table ---------------------------------------------------------------------------

def test_v2_string_table_bytes():
    """A repeated str is written once per hunk (tag 0x0e) and then referred to (tag 0x0f)."""
    recs = [("the", 1), ("the", 2), ("of", "the"), ("é", "é"), ("é", 3)]
    data = write(recs, 2, compression_level=0, string_table=True)
    payload = data[14:hunks(data)[0][1]]
    assert payload == (b"\x12\x0e\x03the\x81" + b"\x12\x0f\x00\x82" + b"\x12\x0e\x02of\x43the"
                       + b"\x12\x0e\x02\xc3\xa9\x42\xc3\xa9" + b"\x12\x0f\x02\x83")  # keys only
    got = read(data)
    assert got == recs
    assert got[0][0] is got[1][0] and got[3][0] is got[4][0]  # one str object per distinct key
    assert write(recs, 2, compression_level=0) == write(recs, 2, compression_level=0, string_table=False)
    assert b"\x0e" not in write(recs, 2, compression_level=0)[14:]  # off unless asked for


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["a", "ab", "é日", "\ud800x", "k" * 70, "", "the"]),
                          st.sampled_from(["ab", "the", 1]) | values), max_size=60),
       st.sampled_from([30, 200, 10 ** 6]), st.sampled_from([0, 1]))
def test_round_trip_v2_with_repeated_strings(recs, hunk_size, level):
    data = write(recs, 2, min_hunk_size=hunk_size, compression_level=level, string_table=True)
    assert strict_equal(read(data), recs)
    assert strict_equal(read(data + data), recs + recs)  # tables are per hunk, also across streams


def test_v2_string_table_is_per_hunk_and_optional():
    recs = [("k%d" % (i % 50), i) for i in range(5000)]
    with_table = write(recs, 2, min_hunk_size=2000, compression_level=0, string_table=True)
    without = write(recs, 2, min_hunk_size=2000, compression_level=0)
    assert len(hunks(with_table)) > 5 and len(with_table) < len(without)
    assert read(with_table) == read(without) == recs


def test_v2_writer_drops_the_table_where_strings_do_not_repeat():
    unique = [("u%d" % i, i) for i in range(20000)]
    assert len(write(unique, 2, compression_level=0, string_table=True)) == len(
        write(unique, 2, compression_level=0)) + 4096  # 4096 entries, one byte more each, then none


def test_v2_string_table_forgets_entries_of_records_not_kept():
    deep = []
    for _ in range(_streams.MAX_DEPTH + 5):
        deep = [deep]
    buf = io.BytesIO()
    w = DiscoOutputStream_v2(buf, max_record_size=1000, string_table=True)
    w.append(("fresh", deep))  # too deep: pickled whole, after "fresh" got an entry
    with pytest.raises(ValueError, match="max_record_size"):
        w.append(("other", "x" * 2000))
    w.append(("fresh", 1))
    w.append(("other", 2))
    w.close()
    assert strict_equal(read(buf.getvalue()), [("fresh", deep), ("fresh", 1), ("other", 2)])


@pytest.mark.parametrize("payload, offset, message", [
    (b"\x12\x0e\x02ab\x81" + b"\x12\x0f\x01\x81", 6, "string table reference 1, the table has 1 entries"),
    (b"\x0f\x00", 0, "string table reference 0, the table has 0 entries"),
    (b"\x81" + b"\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 1, "reference 18446744073709551615"),
    (b"\x81\x0f", 1, "truncated varint"),
    (b"\x0e\x05ab", 0, "length 5 past the end"),
])
def test_v2_bad_string_table_references_raise_data_error(payload, offset, message):
    data = rehunk(2, payload, 0) + struct.pack("<BBIQ", 130, 0, 0, 0)
    with pytest.raises(DataError, match=r"Corrupted data between bytes 0-%d: record at payload offset %d: "
                       r"_BadRecord: .*%s" % (14 + len(payload), offset, message)):
        read(data, url="u")
    with pytest.raises(ValueError, match=message):
        _streams.decode_records(payload, 2)


def test_v2_string_table_entries_do_not_cross_hunks():
    first = rehunk(2, b"\x12\x0e\x02ab\x81", 0)
    second = rehunk(2, b"\x12\x0f\x00\x82", 0)
    end = struct.pack("<BBIQ", 130, 0, 0, 0)
    with pytest.raises(DataError, match="bytes %d-%d: record at payload offset 0: .*reference 0, the table has 0"
                       % (len(first), len(first) + len(second))):
        read(first + second + end)
    assert read(first + second + end, ignore_corrupt=True) == [("ab", 1)]


# -- memory ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2])
def test_memory_stays_within_a_few_hunks(tmp_path, version):
    path = str(tmp_path / "big")
    n = 5000  # incompressible values: the file is really ~40 MiB
    tracemalloc.start()
    try:
        with DiscoOutput(path, version=version) as out:
            for i in range(n):
                out.add(i, os.urandom(8 * 1024))
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        count = 0
        with open(path, "rb") as f:
            for k, v in disco_input_stream(f, None, path):
                count += 1
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n and os.path.getsize(path) > 40 * 10 ** 6
    assert write_peak < 8 * 1024 ** 2, write_peak
    assert read_peak < 8 * 1024 ** 2, read_peak


def test_int_boundaries():
    edges = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 10 ** 18 - 1, 10 ** 18, 10 ** 36,
             10 ** 36 + 7, 10 ** 37]
    edges += [2 ** k + d for k in (62, 63, 64, 126, 127, 128, 300) for d in (-1, 0, 1)]
    recs = edges + [-e for e in edges]
    for version in (1, 2):
        assert strict_equal(read(write(recs, version)), recs)
    assert strict_equal(list(original_reader(write(recs, 1))), recs)
    assert strict_equal(read(original_writer(recs)), recs)


@pytest.mark.parametrize("version,kw", [(1, {}), (1, {"compression_level": 0}), (2, {})])
def test_concatenated_streams_read_as_one(version, kw):
    a, b = [("a", i) for i in range(5)], [("b", i) for i in range(7)]
    assert read(write(a, version, **kw) + write([], version, **kw) + write(b, version, **kw)) == a + b


def test_atomic_tuples_are_untracked_like_cpython_does():
    import gc
    recs = [("k", 1), ("k", (1, "x")), ("k", {}), ("k", [1]), (("a", 2.5), None)]
    for version in (1, 2):
        got = read(write(recs, version))
        tracked = [gc.is_tracked(r) for r in got]
        assert tracked == [False, False, True, True, False], (version, tracked)
        got[2][1]["cycle"] = got[2]  # a dict inside a tuple may gain containers: still collectable


# -- the v2 writer, byte for byte ---------------------------------------------------------------------

def v2_reference(obj, depth=0, max_depth=_streams.MAX_DEPTH):
    """The v2 record bytes of ``obj`` as the format's table in src/streams.pyx defines them (no
    string table), in plain Python: the writer's fast paths must write exactly these."""
    def varint(n):
        out = bytearray()
        while n >= 0x80:
            out.append(n & 0x7f | 0x80)
            n >>= 7
        return bytes(out + bytes([n]))

    def enc(o, d):
        if d > max_depth:
            raise TypeError
        t = type(o)
        if o is None or t is bool:
            return bytes([{None: 0, False: 1, True: 2}[o]])
        if t is int:
            if 0 <= o < 128:
                return bytes([0x80 + o])
            if -2 ** 63 <= o < 2 ** 63:
                return b"\x03" + varint(((o << 1) ^ (o >> 63)) & (2 ** 64 - 1))
            high = o >> 64
            n = 16 if -2 ** 63 <= high < 2 ** 63 else (o.bit_length() + 8) // 8
            return b"\x04" + varint(n) + o.to_bytes(n, "little", signed=True)
        if t is float:
            return b"\x05" + struct.pack("<d", o)
        if t is str:
            data = o.encode("utf-8", "surrogatepass")
            return (bytes([0x40 + len(data)]) if len(data) < 64 else b"\x06" + varint(len(data))) + data
        if t is bytes:
            return b"\x07" + varint(len(o)) + o
        if t is tuple:
            head = bytes([0x10 + len(o)]) if len(o) < 16 else b"\x08" + varint(len(o))
            return head + b"".join(enc(x, d + 1) for x in o)
        if t is list:
            return b"\x09" + varint(len(o)) + b"".join(enc(x, d + 1) for x in o)
        if t is dict:
            return b"\x0a" + varint(len(o)) + b"".join(enc(k, d + 1) + enc(v, d + 1) for k, v in o.items())
        raise TypeError

    try:
        return enc(obj, depth)
    except TypeError:
        data = pickle.dumps(obj, 5)
        return b"\x0b" + varint(len(data)) + data


class Str(str):
    pass


class Int(int):
    pass


def nested(depth, leaf):
    for _ in range(depth):
        leaf = (leaf,)
    return leaf


# the edges of the writer's fast paths: str lengths around its small-copy sizes and the one-byte
# length tags, ints around one internal digit (2**30) and 7 bits, exact types only
FAST_PATH_EDGES = (
    ["x" * n for n in (0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 200)]
    + ["é" * n for n in (1, 8, 40)] + ["日本", "\U0001f600", "\ud800", "a\udfffb", "\x00", "\x7f\x80"]
    + [Str("sub"), Str(""), Int(5), True, False, None, 0.5]
    + [v + d for v in (0, 127, 128, 255, 2 ** 30, 2 ** 31, 2 ** 60, 2 ** 63, 2 ** 64, 2 ** 127, 10 ** 40)
       for d in (-1, 0, 1)]
    + [-v for v in (1, 64, 127, 128, 2 ** 30 - 1, 2 ** 30, 2 ** 30 + 1, 2 ** 63, 2 ** 63 + 1, 10 ** 40)])


@pytest.mark.parametrize("value", FAST_PATH_EDGES, ids=repr)
def test_v2_writer_bytes_of_each_value(value):
    recs = [value, (value, 1), ("k", value), (value, value, value), [value], {value: value}
            if isinstance(value, (str, int)) else {"v": value}]
    for r in recs:
        assert _streams.encode_records([r]) == v2_reference(r), r
    got = read(write(recs, 2))
    assert strict_equal(got, recs)
    assert type(got[0]) is type(value)  # a subclass keeps its type (pickled), bool stays bool


def test_v2_writer_depth_limit_bytes():
    limit = _streams.MAX_DEPTH
    for depth in (limit - 1, limit, limit + 1, limit + 5):
        for leaf in ("abc", 7, 300, "é", [1]):
            r = nested(depth, leaf)
            data = _streams.encode_records([r])
            assert data == v2_reference(r), (depth, leaf)
            assert (data[0] == 0x0b) == (depth + (type(leaf) is list) > limit)  # pickled whole
            assert read(write([r], 2)) == [r]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(values | st.tuples(st.text(), st.integers()), max_size=20))
def test_v2_writer_bytes_equal_the_format_table(recs):
    assert _streams.encode_records(recs) == b"".join(v2_reference(r) for r in recs)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(values | others, values | others), max_size=20), st.booleans())
def test_v2_add_writes_what_append_of_the_pair_writes(pairs, table):
    outs = []
    for method in ("add", "append"):
        buf = io.BytesIO()
        w = DiscoOutputStream_v2(buf, compression_level=0, string_table=table)
        for k, v in pairs:
            w.add(k, v) if method == "add" else w.append((k, v))
        w.close()
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]
    assert strict_equal(read(outs[0]), pairs)


def test_v2_writer_encodes_each_record_as_it_was_when_added():
    buf = io.BytesIO()
    w = DiscoOutputStream_v2(buf)
    value = [1, "a"]
    w.add("k", value)
    w.append(("k", value))
    value.append("later")
    w.close()
    assert read(buf.getvalue()) == [("k", [1, "a"])] * 2


def test_v2_writer_reproduces_earlier_files_byte_for_byte():
    """The v2 files in tests/data were written before the writer's fast paths (hunks of 300 bytes,
    compressed and raw); the writer still writes them exactly."""
    with open(os.path.join(DATA, "v2-before-string-table.expected")) as f:
        expected = ast.literal_eval(f.read())
    for name, kw in (("v2-before-string-table", {}), ("v2-before-string-table-raw", {"compression_level": 0})):
        with open(os.path.join(DATA, name + ".disco"), "rb") as f:
            assert write(expected, 2, min_hunk_size=300, **kw) == f.read(), name


def flags_of(data):
    return [data[start + 1] for start, end in hunks(data) if end > start + 14]


def test_v2_hunks_lz4_cannot_shrink_are_stored_raw():
    import random
    rnd = random.Random(5)
    noise = [bytes(rnd.randrange(256) for _ in range(100)) for _ in range(3000)]  # 300 KB
    text = [("the quick brown fox %d" % (i % 50), i % 7) for i in range(30000)]
    mixed = noise[:600] + text  # a 64 KiB sample of noise decides a large hunk: raw
    small = noise[:500]  # a hunk under 128 KiB is judged by its whole compressed size
    for recs, flags in ((noise, [0]), (text, [1]), (mixed, [0]), (small, [0]), (text[:3000], [1])):
        data = write(recs, 2)
        assert flags_of(data) == flags
        assert read(data) == recs
    many = flags_of(write(text, 2, min_hunk_size=50000))
    assert len(many) > 5 and set(many) == {1}
    assert flags_of(write(text, 2, compression_level=0)) == [0]

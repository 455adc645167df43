"""disco.job.JobPack and its compiled codec disco._jobpack (docs/formats/jobpack.md)."""
import io
import json
import os
import struct
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from disco import _jobpack
from disco.error import DiscoError
from disco.job import JOBPACK_VERSION1, JOBPACK_VERSION2, JobPack, JobPackError, PackedJobPack

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(REPO, "..", "shared", "vectors")


# --- a plain struct + json reference implementation ---------------------------------------------

def ref_dumps(version, jobdict, jobenvs, jobhome, jobdata):
    return build(version, json.dumps(jobdict).encode("utf-8"), json.dumps(jobenvs).encode("utf-8"), jobhome, jobdata)


def build(version, *sections):
    """A pack from four raw sections."""
    fields = [bytes(s) for s in sections]
    offsets, offset = [], 128
    for field in fields:
        offsets.append(offset)
        offset += len(field)
    header = struct.pack("!IIIII", (0xd5c0 << 16) | version, *offsets)
    return header.ljust(128, b"\0") + b"".join(fields)


def pack(version=1, jobdict=None, jobenvs=None, jobhome=b"PK\5\6" + b"\0" * 18, jobdata=b"data"):
    jobdict = {"prefix": "p", "worker": "w", "owner": "o", "scheduler": {}} if jobdict is None else jobdict
    return ref_dumps(version, jobdict, {"LANG": "C"} if jobenvs is None else jobenvs, jobhome, jobdata)


def with_header(data, *words):
    """``data`` with its header words replaced (``None`` keeps a word)."""
    old = struct.unpack_from("!IIIII", data)
    new = [o if w is None else w for o, w in zip(old, words + (None,) * (5 - len(words)))]
    return struct.pack("!IIIII", *new) + data[20:]


def same(a, b):
    """Equality that also tells NaN, -0.0, 1 and 1.0 and True apart (repr + types all the way down)."""
    return repr(a) == repr(b) and _types(a) == _types(b)


def _types(x):
    if isinstance(x, dict):
        return ("d", [(_types(k), _types(v)) for k, v in x.items()])
    if isinstance(x, list):
        return ("l", [_types(v) for v in x])
    return type(x).__name__


# --- vectors written by the original Disco ---------------------------------------------------------

@pytest.fixture(params=[1, 2])
def vector(request):
    with open(os.path.join(VECTORS, "jobpack-v%d.bin" % request.param), "rb") as f:
        data = f.read()
    with open(os.path.join(VECTORS, "jobpack-v%d.expected.json" % request.param)) as f:
        return data, json.load(f)


def check_expected(jp, expected):
    assert jp.version == expected["version"]
    assert jp.jobdict == expected["jobdict"]
    assert jp.jobenvs == expected["jobenvs"]
    assert zipfile.ZipFile(io.BytesIO(jp.jobhome)).namelist() == expected["jobhome_files"]
    assert jp.jobdata.hex() == expected["jobdata_hex"]


class Unseekable(io.RawIOBase):
    def __init__(self, data):
        self.stream = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        return self.stream.readinto(b)


def test_vectors_loads(vector):
    data, expected = vector
    check_expected(JobPack.loads(data), expected)
    check_expected(JobPack.loads(bytearray(data)), expected)
    check_expected(JobPack.loads(memoryview(data)), expected)
    assert isinstance(PackedJobPack.loads(data), PackedJobPack)


def test_vectors_load(vector, tmp_path):
    data, expected = vector
    jp = JobPack.load(io.BytesIO(data))
    assert isinstance(jp, PackedJobPack) and isinstance(jp, JobPack)
    check_expected(jp, expected)
    path = tmp_path / "pack"
    path.write_bytes(data)
    with open(path, "rb") as f:
        check_expected(JobPack.load(f), expected)
    with open(path, "rb", buffering=0) as f:
        check_expected(PackedJobPack(f), expected)
    check_expected(JobPack.load(Unseekable(data)), expected)


def test_vectors_redump_byte_for_byte(vector):
    data, _ = vector
    jp = JobPack.loads(data)
    assert jp.dumps() == data
    assert JobPack.offsets(io.BytesIO(data)) == struct.unpack_from("!IIIII", data)[1:]


# --- API ------------------------------------------------------------------------------------------

def test_constants():
    assert JobPack.MAGIC == 0xd5c0 << 16
    assert JobPack.MAGIC_MASK == 0xffff << 16
    assert JobPack.VERSION == 1 == JOBPACK_VERSION1
    assert JOBPACK_VERSION2 == 2
    assert JobPack.HEADER_FORMAT == "!IIIII"
    assert JobPack.HEADER_SIZE == 128
    assert issubclass(JobPackError, DiscoError)


def test_header():
    h = JobPack.header((128, 200, 300, 400))
    assert h == struct.pack("!IIIII", 0xd5c00001, 128, 200, 300, 400) + b"\0" * 108
    assert JobPack.header((128, 129, 129, 129), version=2)[:4] == b"\xd5\xc0\x00\x02"
    assert JobPack.header((1, 2, 3, 4), header_size=20) == struct.pack("!IIIII", 0xd5c00001, 1, 2, 3, 4)
    assert JobPack.header((1, 2, 3, 4), header_format="<IIIII", header_size=24) == \
        struct.pack("<IIIII", 0xd5c00001, 1, 2, 3, 4) + b"\0" * 4
    with pytest.raises(JobPackError, match="4 offsets"):
        JobPack.header((128, 200))
    with pytest.raises(JobPackError, match="out of range"):
        JobPack.header((128, 2 ** 32, 0, 0))
    with pytest.raises(JobPackError, match="out of range"):
        JobPack.header((128, -1, 0, 0))


def test_contents_and_dumps():
    jp = JobPack(2, {"a": [1, "é"]}, {"K": "V"}, b"home", bytearray(b"data"))
    contents = list(jp.contents())
    d, e = json.dumps(jp.jobdict).encode(), json.dumps(jp.jobenvs).encode()
    assert contents == [(128, d), (128 + len(d), e), (128 + len(d) + len(e), b"home"),
                        (128 + len(d) + len(e) + 4, bytearray(b"data"))]
    assert [o for o, _ in jp.contents(offset=0)] == [o - 128 for o, _ in contents]
    offsets, fields = zip(*contents)
    assert jp.dumps() == JobPack.header(offsets, version=2) + b"".join(fields)
    assert jp.dumps() == ref_dumps(2, *[getattr(jp, f) for f in ("jobdict", "jobenvs", "jobhome", "jobdata")])
    assert jp.dumps()[:4] == b"\xd5\xc0\x00\x02"
    back = JobPack.loads(jp.dumps())
    assert (back.version, back.jobdict, back.jobenvs, back.jobhome, back.jobdata) == \
        (2, {"a": [1, "é"]}, {"K": "V"}, b"home", b"data")
    assert type(back.jobhome) is bytes and type(back.jobdata) is bytes


def test_empty_home_and_data():
    jp = JobPack.loads(JobPack(1, {}, {}, b"", b"").dumps())
    assert (jp.jobdict, jp.jobenvs, jp.jobhome, jp.jobdata) == ({}, {}, b"", b"")


@pytest.mark.parametrize("version, msg", [(0, "version"), (3, "version"), (True, "version"), ("1", "version"),
                                          (None, "version")])
def test_dumps_rejects_version(version, msg):
    with pytest.raises(JobPackError, match=msg):
        JobPack(version, {}, {}, b"", b"").dumps()
    with pytest.raises(JobPackError, match=msg):
        list(JobPack(version, {}, {}, b"", b"").contents())


@pytest.mark.parametrize("jobdict, jobenvs, home, data, msg", [
    ({}, {"A": 1}, b"", b"", "jobenvs value for 'A' must be a string, not int"),
    ({}, {1: "x"}, b"", b"", "jobenvs keys must be strings"),
    ({}, [("A", "B")], b"", b"", "jobenvs must be a JSON object"),
    ({}, None, b"", b"", "jobenvs must be a JSON object"),
    ([], {}, b"", b"", "jobdict must be a dict"),
    ({}, {}, "home", b"", "jobhome must be a bytes-like object, not str"),
    ({}, {}, b"", None, "jobdata must be a bytes-like object, not NoneType"),
])
def test_dumps_rejects_fields(jobdict, jobenvs, home, data, msg):
    with pytest.raises(JobPackError, match=msg):
        JobPack(1, jobdict, jobenvs, home, data).dumps()


def test_dumps_json_errors_are_jsons():
    cyclic = {"a": []}
    cyclic["a"].append(cyclic)
    for bad, exc in [({"x": object()}, TypeError), ({(1, 2): 1}, TypeError), (cyclic, ValueError)]:
        with pytest.raises(exc) as ours:
            JobPack(1, bad, {}, b"", b"").dumps()
        with pytest.raises(exc) as ref:
            json.dumps(bad)
        assert str(ours.value) == str(ref.value)


# --- decoding errors ------------------------------------------------------------------------------

GOOD = pack()
D, E, H, DATA = struct.unpack_from("!IIIII", GOOD)[1:]


@pytest.mark.parametrize("data, msg", [
    (b"", r"too short: 0 bytes"),
    (GOOD[:127], r"too short: 127 bytes"),
    (with_header(GOOD, 0xd5c10001), r"bad job pack magic 0xd5c1 at offset 0"),
    (b"\0" * 200, r"bad job pack magic 0x0000"),
    (with_header(GOOD, 0xd5c00000), r"unsupported job pack version 0"),
    (with_header(GOOD, 0xd5c00003), r"unsupported job pack version 3"),
    (with_header(GOOD, None, 129), r"jobdict offset 129 \(header offset 4\) must be 128"),
    (with_header(GOOD, None, None, 128), r"jobenvs offset 128 \(header offset 8\) must be greater than jobdict"),
    (with_header(GOOD, None, None, None, E - 1), r"jobhome offset %d \(header offset 12\) must not be less than jobenvs" % (E - 1)),
    (with_header(GOOD, None, None, None, None, H - 1), r"jobdata offset %d \(header offset 16\) must not be less than jobhome" % (H - 1)),
    (GOOD[:DATA - 1], r"truncated: jobdata offset %d is past the end \(%d bytes\)" % (DATA, DATA - 1)),
    (with_header(GOOD, None, None, None, None, 2 ** 32 - 1), r"truncated: jobdata offset 4294967295"),
    (with_header(GOOD, None, None, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1), r"truncated: jobenvs offset 4294967295"),
    (pack(jobdict=[1, 2]), r"jobdict at offset 128 must be a JSON object, not list"),
    (pack(jobenvs=["A"]), r"jobenvs at offset %d must be a JSON object of strings, not list" % E),
    (pack(jobenvs={"A": 1}), r"jobenvs at offset %d value for 'A' must be a string, not int" % E),
    (pack(jobenvs={"A": None}), r"value for 'A' must be a string, not NoneType"),
    (build(1, b"{\xff}", b"{}", b"", b""), r"jobdict at offset 128 is not valid UTF-8"),
    (build(1, b'{"a": "\xed\xa0\x80"}', b"{}", b"", b""), r"jobdict at offset 128 is not valid UTF-8"),
    (build(1, b"{}", b'{"A": "\xc3"}', b"", b""), r"jobenvs at offset 130 is not valid UTF-8"),
    (build(1, b"{'a'}", b"{}", b"", b""), r"jobdict at offset 128 is not valid JSON: Expecting property name"),
    (build(1, b"{}}", b"{}", b"", b""), r"jobdict at offset 128 is not valid JSON: Extra data"),
    (build(1, b"{}", b"   ", b"", b""), r"jobenvs at offset 130 is not valid JSON"),
    (with_header(GOOD, None, None, None, E, E), r"jobenvs at offset %d is not valid JSON" % E),
    (build(1, b"\xef\xbb\xbf{}", b"{}", b"", b""), r"jobdict at offset 128 is not valid JSON: Unexpected UTF-8 BOM"),
    (build(1, b'{"a": "\x01"}', b"{}", b"", b""), r"jobdict at offset 128 is not valid JSON: Invalid control character"),
])
def test_loads_rejects(data, msg):
    with pytest.raises(JobPackError, match=msg):
        JobPack.loads(data)
    with pytest.raises(JobPackError, match=msg):
        JobPack.load(io.BytesIO(data))
    with pytest.raises(JobPackError, match=msg):
        JobPack.load(Unseekable(data))
    with pytest.raises(JobPackError, match=msg):
        JobPack.loads(data, header=JobPack.parse_header(data))


def test_offsets_validates():
    assert JobPack.offsets(io.BytesIO(GOOD)) == (D, E, H, DATA)
    with pytest.raises(JobPackError, match="bad job pack magic"):
        JobPack.offsets(io.BytesIO(with_header(GOOD, 0x12345678)))
    with pytest.raises(JobPackError, match="truncated"):
        JobPack.offsets(io.BytesIO(GOOD[:H]))


def test_load_file_shrinking_under_us():
    class Shrinking(io.BytesIO):
        def read(self, n=-1):
            chunk = super().read(n)
            return chunk[:-1] if self.tell() > 128 else chunk
    with pytest.raises(JobPackError, match="truncated"):
        JobPack.load(Shrinking(GOOD))


def test_loads_rejects_non_bytes():
    with pytest.raises(JobPackError, match="bytes-like"):
        JobPack.loads("not bytes")


def test_deep_nesting_is_an_error_not_a_crash():
    for doc in (b"[" * 100000, b"[" * 100000 + b"]" * 100000, b'{"a":' * 50000 + b"1" + b"}" * 50000):
        with pytest.raises(JobPackError, match="jobdict at offset 128 is not valid JSON"):
            JobPack.loads(build(1, b'{"k": ' + doc + b"}", b"{}", b"", b""))


def test_fallback_semantics():
    """Inputs the fast paths leave to json still behave exactly like json."""
    for text in ['{"a": NaN, "b": -Infinity, "c": Infinity}', '{"big": %s}' % ("9" * 100), '{"x": "\\ud800"}',
                 '{"x": "\\udc00\\ud800\\u0041"}', '{"x": "\\ud83d\\ude00 \\u00e9 \\/"}', '{"a": 1, "a": 2}',
                 '  {"n": -0, "f": -0.0, "e": 1E400, "g": 1e-400, "h": 12.5e+3}\r\n\t',
                 '{"u": "é\u2028x", "k\u00e9": ["\\u00e9é"]}', '[%s]' % ",".join(["[" * 300 + "]" * 300] * 2)]:
        raw = text.encode("utf-8")
        assert same(_jobpack.decode_json(raw), json.loads(text)), text
    assert _jobpack.encode_json(float("nan")) == b"NaN"
    assert _jobpack.encode_json({1.5: 1, True: 2, None: 3, 10 ** 30: [1e300, -0.0, 1e16]}) == \
        json.dumps({1.5: 1, True: 2, None: 3, 10 ** 30: [1e300, -0.0, 1e16]}).encode()


SPECIALS = ['"', "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "/", "é", "\u2028", "\uffff",
            "\U0001f600", "\ud800", "\udfff", " "]


@pytest.mark.parametrize("special", SPECIALS)
def test_string_codec_every_position(special):
    """Exercise the 8-bytes-at-a-time scanners: a special character at every position."""
    for pos in range(20):
        for tail in (0, 1, 7, 8, 9):
            s = "a" * pos + special + "b" * tail
            enc = _jobpack.encode_json([s, {s: s}])
            assert enc == json.dumps([s, {s: s}]).encode("utf-8")
            assert _jobpack.decode_json(enc) == [s, {s: s}]
            raw = json.dumps(s, ensure_ascii=False).encode("utf-8", "surrogatepass")
            try:
                expected = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                with pytest.raises(JobPackError, match="UTF-8"):
                    _jobpack.decode_json(raw)
            else:
                assert _jobpack.decode_json(raw) == expected


# --- property tests -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(), c, max_size=5),
                           max_leaves=30)
jobdicts = st.dictionaries(st.text(), json_values, max_size=8)
jobenvs = st.dictionaries(st.text(), st.text(), max_size=6)
fields = st.tuples(st.sampled_from([1, 2]), jobdicts, jobenvs, st.binary(max_size=300), st.binary(max_size=300))


@given(fields)
def test_roundtrip(f):
    jp = JobPack(*f)
    data = jp.dumps()
    assert data == ref_dumps(*f)
    assert list(jp.contents()) == list(zip(struct.unpack_from("!IIIII", data)[1:],
                                           [json.dumps(f[1]).encode(), json.dumps(f[2]).encode(), f[3], f[4]]))
    for back in (JobPack.loads(data), JobPack.load(io.BytesIO(data))):
        assert (back.version, back.jobdict, back.jobenvs, back.jobhome, back.jobdata) == f
        assert same(back.jobdict, f[1])


any_keys = st.text() | st.integers() | st.floats() | st.booleans() | st.none()
any_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-2 ** 70, max_value=2 ** 70) | st.floats() |
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10ffff)),
    lambda c: st.lists(c, max_size=4) | st.lists(c, max_size=3).map(tuple) | st.dictionaries(any_keys, c, max_size=4),
    max_leaves=25)


@given(any_values)
def test_encode_json_equals_json_dumps(value):
    assert _jobpack.encode_json(value) == json.dumps(value).encode("utf-8")


@given(any_values, st.sampled_from([dict(), dict(ensure_ascii=False), dict(indent=1), dict(separators=(",", ":")),
                                    dict(indent="\t", ensure_ascii=False)]))
def test_decode_json_equals_json_loads(value, fmt):
    text = json.dumps(value, **fmt)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:   # lone surrogates with ensure_ascii=False
        return
    assert same(_jobpack.decode_json(raw), json.loads(text))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(any_values, st.data())
def test_decode_json_mutations_agree_with_json(value, data):
    raw = bytearray(json.dumps(value, ensure_ascii=data.draw(st.booleans())).encode("utf-8", "surrogatepass"))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        pos = data.draw(st.integers(0, len(raw)))
        byte = data.draw(st.sampled_from(b'"\\{}[],:-+.eE0123456789 \nntfu\x00\x7f\x80\xc3\xa9\xff'))
        if op == "set" and pos < len(raw):
            raw[pos] = byte
        elif op == "insert":
            raw.insert(pos, byte)
        elif op == "delete" and pos < len(raw):
            del raw[pos]
        elif op == "truncate":
            del raw[pos:]
    try:
        expected = json.loads(bytes(raw).decode("utf-8"))
    except (ValueError, RecursionError):
        with pytest.raises(JobPackError):
            _jobpack.decode_json(bytes(raw))
    else:
        assert same(_jobpack.decode_json(bytes(raw)), expected)


def loads_or_error(data):
    """Decoding arbitrary bytes returns a JobPack or raises JobPackError, whichever way it is read."""
    results = []
    for load in (JobPack.loads, lambda d: JobPack.load(io.BytesIO(d)), lambda d: JobPack.load(Unseekable(d)),
                 lambda d: JobPack.loads(d, header=JobPack.parse_header(d))):
        try:
            jp = load(data)
        except JobPackError as e:
            assert str(e)
            results.append(None)
        else:
            assert isinstance(jp.jobdict, dict) and isinstance(jp.jobenvs, dict)
            assert all(type(k) is str and type(v) is str for k, v in jp.jobenvs.items())
            results.append((jp.version, jp.jobdict, jp.jobenvs, jp.jobhome, jp.jobdata))
    assert results[0] == results[1] == results[2] == results[3]
    return results[0]


@given(st.binary(max_size=400))
def test_random_bytes(data):
    loads_or_error(data)


@given(st.binary(max_size=300), st.lists(st.integers(1, 300), min_size=3, max_size=3))
def test_random_bytes_behind_a_valid_header(data, cuts):
    cuts = sorted(cuts)
    header = struct.pack("!IIIII", 0xd5c00002, 128, 128 + cuts[0], 128 + cuts[1], 128 + cuts[2])
    loads_or_error(header.ljust(128, b"\0") + data)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(fields, st.data())
def test_mutated_packs(f, data):
    raw = bytearray(ref_dumps(*f))
    for _ in range(data.draw(st.integers(1, 5))):
        op = data.draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        pos = data.draw(st.integers(0, len(raw)))
        if op == "set" and pos < len(raw):
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del raw[pos:pos + data.draw(st.integers(1, 4))]
        elif op == "truncate":
            del raw[pos:]
    result = loads_or_error(bytes(raw))
    if bytes(raw) == ref_dumps(*f):
        assert result == f

"""disco.comm: requests with retries, streaming ranged readers, local files."""
import socket
import time

import pytest

from disco import comm
from disco.error import CommError, DataError


def write(server, name, data):
    with open("%s/%s" % (server.root, name), "wb") as f:
        f.write(data)
    return "%s/%s" % (server.url, name)


def test_request_returns_2xx_and_raises_commerror_otherwise(server):
    url = write(server, "f", b"hello")
    assert comm.request("GET", url).content == b"hello"
    with pytest.raises(CommError) as e:
        comm.request("GET", server.url + "/missing")
    assert e.value.code == 404 and "no such file" in e.value.msg
    assert e.value.url == server.url + "/missing"


def test_503_is_retried(server, fast_retries):
    url = write(server, "f", b"data")
    server.faults["/f"] = [503, 503]
    assert comm.download(url) == b"data"
    assert len(server.requests) == 3


def test_503_gives_up_after_retries(server, fast_retries, monkeypatch):
    monkeypatch.setattr(comm, "RETRIES", 3)
    server.faults["/f"] = [503] * 5
    with pytest.raises(CommError) as e:
        comm.download(server.url + "/f")
    assert e.value.code == 503 and len(server.requests) == 3


def test_refused_connection_fails_fast_without_status():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # nothing listens once closed
    start = time.time()
    with pytest.raises(CommError) as e:
        comm.download("http://127.0.0.1:%d/x" % port)
    assert e.value.code is None and time.time() - start < 5
    assert isinstance(e.value, DataError)


def test_download_offset_and_post(server):
    url = write(server, "f", b"0123456789")
    assert comm.download(url, offset=4) == b"456789"
    assert comm.download(url, offset=(2, 3)) == b"23"
    server.routes[("POST", "/echo")] = lambda handler, body: (200, body.upper())
    assert comm.download(server.url + "/echo", data=b"abc") == b"ABC"


def test_open_url_streams_reads_seeks_and_iterates_lines(server):
    data = "".join("line %d é\n" % i for i in range(20000)).encode()
    url = write(server, "text", data)
    f = comm.open_url(url)
    assert f.size == len(data) == len(f)
    assert f.read(5) == b"line "
    f.seek(len(data) - 10)
    assert f.read() == data[-10:]
    f.seek(0)
    lines = list(f)
    assert lines[0] == "line 0 é\n" and len(lines) == 20000
    f.close()


def test_open_url_resumes_a_dropped_connection(server):
    data = bytes(range(256)) * 10000
    url = write(server, "bin", data)
    server.drop_after["/bin"] = 100000
    f = comm.open_url(url)
    assert f.read() == data
    ranges = [h.get("Range") for m, p, h, b in server.requests]
    assert ranges == [None, "bytes=100000-"]


def test_open_url_skips_when_the_server_ignores_ranges(server):
    data = b"abcdefghij" * 1000
    url = write(server, "f", data)
    server.ignore_range = True
    f = comm.open_url(url)
    f.seek(5000)
    assert f.read(10) == data[5000:5010]


def test_open_url_missing_resource_is_a_commerror(server):
    with pytest.raises(CommError) as e:
        comm.open_url(server.url + "/nothing")
    assert e.value.code == 404


def test_open_local(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"a\nb\xff\n")
    f = comm.open_local("file://%s" % path)
    assert f.size == 5 and f.url == "file://%s" % path
    assert list(f) == ["a\n", "b\udcff\n"]
    with pytest.raises(DataError):
        comm.open_local(str(tmp_path / "missing"))
    assert comm.open_url(str(path)).read() == b"a\nb\xff\n"


def test_range_and_auth_headers():
    assert comm.range_header(0) == {} and comm.range_header(5) == {"Range": "bytes=5-"}
    assert comm.range_header((1, 2)) == {"Range": "bytes=1-2"}
    assert comm.auth_header(None) == {}
    assert comm.auth_header("t") == {"Authorization": "Basic dG9rZW46dA=="}

"""disco.schemes and the input streams of disco.worker.task_io."""
import gzip
import io
import os

import pytest

from disco import schemes
from disco.error import CommError, DataError, DiscoError
from disco.fileutils import DiscoOutput
from disco.task import Task
from disco.worker import task_io
from disco.worker.task_io import StreamCombiner, chain_stream, task_input_stream


def write_records(path, records, version=-1):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with DiscoOutput(path, version=version) as out:
        for k, v in records:
            out.add(k, v)


def test_import_scheme_dispatch():
    assert schemes.import_scheme("/p").__name__ == "disco.schemes.scheme_file"
    assert schemes.import_scheme("https://h/p").__name__ == "disco.schemes.scheme_https"
    with pytest.raises(DiscoError, match="Unknown URL scheme"):
        schemes.import_scheme("gopher://h/p")


def test_raw_reads_as_bytes_and_lines():
    f = schemes.open("raw://one\ntwo é")
    assert list(f) == ["one\n", "two é"]
    fd, size, url = task_input_stream(None, None, "raw://abc", None)
    assert (fd.read(), size, url) == (b"abc", 3, "raw://abc")


def test_file_and_bare_path(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("a b\nc\n")
    for url in (str(path), "file://%s" % path):
        fd, size, _url = task_input_stream(None, None, url, None)
        assert size == 6 and list(fd) == ["a b\n", "c\n"]
    with pytest.raises(DataError):
        task_input_stream(None, None, str(tmp_path / "nope"), None)


def test_disco_url_prefers_the_local_file(disco_env, server):
    write_records(str(disco_env / "data" / "node1" / "ab" / "out"), [("k", 1)])
    fd = schemes.open("disco://node1/disco/node1/ab/out")
    assert fd.url.startswith("file://")
    assert list(StreamCombiner("disco://node1/disco/node1/ab/out", chain_stream, None)) == [("k", 1)]


def test_disco_url_falls_back_to_http_on_disco_port(disco_env, server, monkeypatch):
    monkeypatch.setenv("DISCO_PORT", str(server.port))
    write_records(os.path.join(server.root, "disco", "remote", "ab", "out"), [("r", 2)], version=1)
    url = "disco://127.0.0.1/disco/remote/ab/out"
    assert list(StreamCombiner(url, chain_stream, None)) == [("r", 2)]
    assert server.requests[-1][1] == "/disco/remote/ab/out"
    with pytest.raises(CommError):
        schemes.open("disco://127.0.0.1/disco/remote/missing")


def test_disco_url_in_a_worker_uses_the_task_settings(tmp_path):
    task = Task(host="n", disco_data=str(tmp_path / "d"), ddfs_data=str(tmp_path / "dd"),
                disco_port=1, stage="map", group=[0, "n"], taskid=1, jobname="j")
    write_records(str(tmp_path / "dd" / "vol0" / "blob"), [(1, 2)])
    from disco.schemes.scheme_disco import locate
    assert locate("disco://n/ddfs/vol0/blob", task) == (str(tmp_path / "dd" / "vol0" / "blob"),
                                                        "http://n:1/ddfs/vol0/blob")
    assert locate("disco://n/disco/../etc/x", task)[0] is None
    assert list(schemes.open_chain("disco://n/ddfs/vol0/blob", task)) == [(1, 2)]


def test_dir_url_yields_member_records_by_label(disco_env):
    data = disco_env / "data"
    for label in (0, 1):
        write_records(str(data / "n" / ("part-%d" % label)), [("label", label)])
    index = data / "n" / "index.results"
    index.write_text("".join("%d disco://n/disco/n/part-%d 10\n" % (l, l) for l in (1, 0)))
    assert list(schemes.open("dir://n/disco/n/index.results")) == [("label", 0), ("label", 1)]
    task = Task(host="n", disco_data=str(data), stage="reduce", group=[1, ""],
                grouping="group_label", taskid=0, jobname="j")
    assert list(schemes.open("dir://n/disco/n/index.results", task=task)) == [("label", 1)]
    task.grouping = "group_all"
    assert len(list(schemes.open("dir://n/disco/n/index.results", task=task))) == 2


def test_stream_combiner_shapes_params_and_close():
    closed = []

    class Fd(io.BytesIO):
        def close(self):
            closed.append(self.name)
            super().close()

    def first(fd, size, url):
        f = Fd(b"x y z")
        f.name = "first"
        return f, 5, url + "!"

    def second(fd, size, url, params):
        assert (size, url, params) == (5, "u!", {"p": 1})
        f = Fd(fd.read())
        f.name = "second"
        return f, url

    def third(fd, size, url, ignore=False):    # 3 required args: no params
        assert ignore is False
        return fd.read().split()

    combined = StreamCombiner("u", [first, second, third], {"p": 1})
    assert list(combined) == [b"x", b"y", b"z"]
    combined.close()
    assert closed == ["second", "first"]


def test_gzip_readers_and_string_stream():
    data = gzip.compress(b"l1\nl2\n")
    fd, size, url = task_io.gzip_reader(io.BytesIO(data), len(data), "u", None)
    assert fd.read() == b"l1\nl2\n"
    assert list(task_io.gzip_line_reader(io.BytesIO(data), len(data), "u", None)) == ["l1\n", "l2\n"]
    fd, size, url = task_io.string_input_stream("héllo", None, "u", None)
    assert fd.read() == "héllo".encode() and size == 6


def test_re_reader():
    data = b"a=1;b=2;c=3;tail"
    items = list(task_io.re_reader(r"(\w)=(\d);", io.BytesIO(data), len(data), "u",
                                   output_tail=True, read_buffer_size=3))
    assert items == [("a", "1"), ("b", "2"), ("c", "3"), ["tail"]]
    assert list(task_io.re_reader(rb"(\w)=", io.BytesIO(b"x=y="), None, "u")) == [(b"x",), (b"y",)]
    with pytest.raises(DataError, match="Truncated"):
        list(task_io.re_reader(r"(\w)", io.BytesIO(b"ab"), 10, "u"))

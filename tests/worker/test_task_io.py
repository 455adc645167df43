"""Readers and streams of ``disco.worker.task_io`` in jobs on a real master, and unit checks."""
import functools
import gzip
import io

import pytest

from disco.core import result_iterator
from disco.error import DataError
from disco.job import Job
from disco.worker.classic.func import nop_map, nop_reduce
from disco.worker.task_io import (StreamCombiner, chain_reader, chain_stream, default_stream,
                                  disco_output_stream, gzip_line_reader, gzip_line_stream,
                                  gzip_reader, gzip_stream, plain_output_stream, re_reader,
                                  string_input_stream, task_input_stream, task_output_stream)

from wsupport import TEXT, map_words, reduce_sum, word_counts


@pytest.fixture(scope="module")
def gz_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("gz")
    paths = []
    for i in range(2):
        p = d / ("part%d.txt.gz" % i)
        p.write_bytes(gzip.compress("".join(line + "\n" for line in TEXT[i::2]).encode()))
        paths.append(str(p))
    return paths


def map_bytes_words(line, params):
    for word in line.split():
        yield word.decode(), 1


def test_gzip_line_reader_and_plain_output(master, gz_inputs):
    job = Job().run(input=gz_inputs, map=map_words, map_reader=gzip_line_reader, reduce=reduce_sum,
                    reduce_output_stream=(task_output_stream, plain_output_stream))
    results = job.wait()
    # plain text records read back as strings (the v0 format is detected by its first byte)
    assert dict(result_iterator(results)) == {w: str(n) for w, n in word_counts().items()}
    # chain_stream reads the results of a job as records (a job chain by hand)
    again = Job().run(input=results, map=nop_map, map_input_stream=chain_stream, reduce=nop_reduce)
    assert dict(result_iterator(again.wait())) == {w: str(n) for w, n in word_counts().items()}


def test_gzip_stream_gives_byte_lines(master, gz_inputs):
    job = Job().run(input=gz_inputs, map=map_bytes_words, map_input_stream=gzip_stream,
                    reduce=reduce_sum)
    assert dict(result_iterator(job.wait())) == word_counts()


def read_all(fd, size, url):
    """A 3-argument input stream: the bytes of the stream, upper-cased."""
    return fd.read().upper(), size, url


def map_pairs(entry, params):
    key, value = entry
    yield key, int(value)


def test_re_reader_string_input_stream_and_stream_arities(master, tmp_path):
    data = tmp_path / "pairs.txt"
    data.write_text("a=1\nb=2\na=3\nc=4\n")
    job = Job().run(input=[str(data)], map=map_pairs,
                    map_reader=functools.partial(re_reader, r"(\w+)=(\d+)\n"), reduce=reduce_sum)
    assert dict(result_iterator(job.wait())) == {"a": 4, "b": 2, "c": 4}
    # task_input_stream (4 args) -> read_all (3 args) -> string_input_stream (4 args): byte lines
    job = Job().run(input=[str(data)], map=map_bytes_words,
                    map_input_stream=(task_input_stream, read_all, string_input_stream),
                    reduce=reduce_sum)
    assert dict(result_iterator(job.wait())) == {"A=1": 1, "B=2": 1, "A=3": 1, "C=4": 1}


class Tagged(object):
    """An output stream object that prefixes keys."""

    def __init__(self, out):
        self.out = out

    def add(self, k, v):
        self.out.add("tag:" + k, v)

    def close(self):
        self.out.close()


def tagged_output(stream, partition, url):
    """A 3-argument output stream."""
    return Tagged(stream)


def test_output_stream_chain_with_three_argument_stream(master, text_inputs):
    job = Job().run(input=text_inputs, map=map_words, reduce=reduce_sum,
                    reduce_output_stream=(task_output_stream, disco_output_stream, tagged_output))
    assert dict(result_iterator(job.wait())) == {"tag:" + w: n for w, n in word_counts().items()}


def test_result_iterator_with_default_stream(master, text_inputs):
    job = Job().run(input=text_inputs, map=map_words, reduce=reduce_sum)
    assert dict(result_iterator(job.wait(), input_stream=default_stream)) == word_counts()


# -- unit checks ----------------------------------------------------------------------------------

def test_re_reader_tail_and_truncation():
    data = b"k1=v1;k2=v2;junk"
    records = list(re_reader(rb"(\w+)=(\w+);", io.BytesIO(data), len(data), "x", output_tail=True))
    assert records == [(b"k1", b"v1"), (b"k2", b"v2"), [b"junk"]]
    with pytest.raises(DataError):
        list(re_reader(r"(\w)", io.BytesIO(b"ab"), 10, "short"))


def test_gzip_line_reader_stops_at_a_corrupt_tail(capsys):
    data = gzip.compress(b"one\ntwo\n")[:-6]
    assert list(gzip_line_reader(io.BytesIO(data), len(data), "u", None))[:1] == ["one\n"]
    assert "stopped reading u" in capsys.readouterr().out


def test_stream_combiner_closes_in_reverse_and_streams_are_tuples():
    closed = []

    class F(io.BytesIO):
        def __init__(self, name, data=b""):
            super().__init__(data)
            self.name = name

        def close(self):
            closed.append(self.name)

    combiner = StreamCombiner("u", [lambda fd, size, url: F("a", b"x\ny\n"),
                                    lambda fd, size, url: (F("b", fd.read()), url)], None)
    assert list(combiner) == [b"x\n", b"y\n"]
    combiner.close()
    assert closed[:2] == ["b", "a"]
    assert gzip_line_stream == (task_input_stream, gzip_line_reader)
    assert gzip_stream == (task_input_stream, gzip_reader) and default_stream == (task_input_stream,)
    assert chain_stream == (task_input_stream, chain_reader)
    fd, size, url = string_input_stream("héllo", None, "s", None)
    assert (fd.read(), size, url) == ("héllo".encode(), 6, "s")


def test_url_and_hdfs_schemes(master):
    from disco.test import TestServer
    requested = []

    def webhdfs(path):
        requested.append(path)
        return "from hdfs\n"
    server = TestServer.create(("127.0.0.1", 0), webhdfs).start()
    try:
        hdfs = "hdfs://127.0.0.1:%d:/user/me/file.txt" % server.server_address[1]
        job = Job().run(input=["url://some words", hdfs], map=map_words, reduce=reduce_sum)
        assert dict(result_iterator(job.wait())) == {"url://some": 1, "words": 1, "from": 1, "hdfs": 1}
    finally:
        server.stop()
    assert "webhdfs/v1/user/me/file.txt?op=OPEN" in requested

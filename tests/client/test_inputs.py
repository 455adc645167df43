"""Inputs and outputs of disco.worker: replica fail-over, serial/parallel/merged inputs."""
import os

import pytest

from disco.error import DataError
from disco.fileutils import Wait
from disco.task import Task
from disco.worker import (BaseOutput, Input, InputIter, MergedInput, MessageWriter, Output,
                          ParallelInput, SerialInput, concat_streams)

DATA = {"a": [1, 4, 7], "b": [2, 5, 8], "c": [3, 6, 9]}


def opener(data=DATA, fail=()):
    def open(url):
        if url in fail:
            raise DataError("cannot open", url)
        return iter(data[url])
    return open


def test_serial_parallel_and_merged_inputs():
    urls = ["a", "b", "c"]
    assert list(SerialInput(urls, open=opener())) == [1, 4, 7, 2, 5, 8, 3, 6, 9]
    assert sorted(ParallelInput(urls, open=opener())) == list(range(1, 10))
    assert list(MergedInput(urls, open=opener())) == list(range(1, 10))


def test_replica_fail_over_skips_records_already_read():
    def broken(url):
        def records():
            yield "r0"
            yield "r1"
            raise DataError("connection lost", url)
        return records() if url == "bad" else iter(["r0", "r1", "r2", "r3"])
    assert list(Input(["bad", "good"], open=broken)) == ["r0", "r1", "r2", "r3"]
    assert list(Input(["missing", "good"], open=lambda u: broken(u) if u == "good" else
                      (_ for _ in ()).throw(DataError("no", u)))) == ["r0", "r1", "r2", "r3"]


def test_exhausted_replicas_name_the_last_error():
    with pytest.raises(DataError, match="(?s)Exhausted all available replicas.*cannot open"):
        list(Input(["a", "b"], open=opener(fail={"a", "b"})))


def test_input_waits_while_busy(monkeypatch):
    calls = []

    class Busy(InputIter):
        def __init__(self, *a, **kw):
            calls.append(1)
            if len(calls) < 3:
                raise Wait(0)
            super().__init__(*a, **kw)
    monkeypatch.setattr(Input, "input_iter", lambda self, input: Busy(input, **self.kwds))
    assert list(Input("a", open=opener())) == [1, 4, 7] and len(calls) == 3


def test_outputs(tmp_path):
    path = str(tmp_path / "out")
    out = Output((path, "disco", None))
    assert out.writer is out.file
    out.add("k", "v")
    out.close()
    assert out.label == 0 and out.size() == os.path.getsize(path) > 0
    assert BaseOutput((path, "part", "3")).label == 3
    from disco.worker.task_io import disco_input_stream
    with open(path, "rb") as f:
        assert list(disco_input_stream(f, None, path)) == [("k", "v")]


@pytest.mark.parametrize("version", [0, 1, 2])
def test_concatenated_record_streams_read_as_one(tmp_path, version):
    from disco.fileutils import DiscoOutput
    from disco.worker.task_io import disco_input_stream
    paths = []
    for i in range(3):
        paths.append(str(tmp_path / str(i)))
        with DiscoOutput(paths[-1], version=version) as out:
            for j in range(i + 1):
                out.add("k%d" % i, j)
    target = str(tmp_path / "all")
    with open(target, "wb") as f:
        concat_streams(f, (open(p, "rb") for p in paths), buffer_size=5)
    with open(target, "rb") as f:
        records = list(disco_input_stream(f, os.path.getsize(target), target))
    expected = [("k0", 0), ("k1", 0), ("k1", 1), ("k2", 0), ("k2", 1), ("k2", 2)]
    assert records == ([(k, str(v)) for k, v in expected] if version == 0 else expected)


def test_an_output_through_a_stream_chain_writes_records_to_its_last_stream(tmp_path):
    from disco.recordio import StreamCombiner, disco_output_stream, task_output_stream
    path = str(tmp_path / "out")
    out = Output((path, "part", 2), open=lambda p: StreamCombiner(p, [task_output_stream, disco_output_stream], None))
    assert out.writer is out.file.fds[-1] and out.label == 2
    out.add("k", 1)
    out.writer.add("l", 2)
    out.close()
    from disco.worker.task_io import disco_input_stream
    with open(path, "rb") as f:
        assert list(disco_input_stream(f, None, path)) == [("k", 1), ("l", 2)]


def test_message_writer_sends_lines():
    sent = []

    class W(object):
        @staticmethod
        def send(msg_type, payload):
            sent.append((msg_type, payload))
    writer = MessageWriter(W)
    print("a", "b", file=writer)
    writer.write("partial ")
    writer.write("line\n\n   \nnext")
    writer.flush()
    assert sent == [("MSG", "a b"), ("MSG", "partial line"), ("MSG", "next")]


def test_dir_input_of_a_worker_task(disco_env):
    from disco.fileutils import DiscoOutput
    data = disco_env / "data"
    (data / "n").mkdir(parents=True)
    with DiscoOutput(str(data / "n" / "p")) as out:
        out.add(1, 2)
    (data / "n" / "i").write_text("0 disco://n/disco/n/p 1\n")
    task = Task(host="n", disco_data=str(data), stage="reduce", group=[0, ""],
                grouping="group_all", taskid=0, jobname="j")
    assert list(Input("dir://n/disco/n/i", task=task)) == [(1, 2)]

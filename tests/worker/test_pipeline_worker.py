"""The pipeline worker against a real master: every grouping, concurrent stages, combine/sort,
input hooks, custom chains, job dict checks."""
import collections
import json
import re

import pytest

from disco.core import Disco, result_iterator
from disco.error import DiscoError, JobError
from disco.test import TestPipe
from disco.util import read_index
from disco.worker.pipeline.worker import Stage, Worker
from disco.worker.task_io import plain_output_stream, task_output_stream

from wsupport import word_counts


def split_words(interface, state, label, inp):
    for line in inp:
        for word in line.split():
            interface.output(len(word) % 3).add(word, 1)


class Recorder(Stage):
    """Passes records on under their label; prints the task's group and the labels it saw."""

    def __init__(self, name):
        super().__init__(name, init=self.start, process=self.record, done=self.finish)

    def start(self, interface, params):
        return set()

    def record(self, interface, state, label, inp):
        state.add(label)
        for k, v in inp:
            interface.output(label).add(k, v)

    def finish(self, interface, state):
        print("SEEN %s" % json.dumps([self.name, self.taskinfo.group, sorted(state)]))


def count_words(interface, state, label, inp):
    total, last = None, None
    for word, n in inp:
        if word != last and last is not None:
            interface.output(0).add(last, total)
            total = 0
        total = (total or 0) + n
        last = word
    if last is not None:
        interface.output(0).add(last, total)


def stage_tasks(job):
    return {row[0]: row[4] for row in job.jobinfo()["pipeline"]}


def index_entries(urls):
    """``[(label, host)]`` of every entry of the index files of a stage's results."""
    return [(label, url.split("/")[2]) for reps in urls for label, url, _ in read_index(reps[0])]


def test_every_grouping_in_one_pipeline(master, text_inputs):
    names = ["group_label", "group_node_label", "group_node", "group_all"]
    pipeline = [("split", Stage("words", process=split_words))]
    pipeline += [(g, Recorder("s_" + g), g == "group_node") for g in names]
    job = TestPipe().run(input=text_inputs, pipeline=pipeline)
    results = job.wait()
    assert collections.Counter(dict((k, 0) for k in word_counts())) + \
        collections.Counter(k for k, _v in result_iterator(results)) == word_counts()
    seen = collections.defaultdict(list)
    for _off, (_t, _host, msg) in Disco().events(job.name):
        m = re.search(r"SEEN (.*)", msg)
        if m:
            stage, group, labels = json.loads(m.group(1))
            seen[stage].append((group, labels))
    tasks = stage_tasks(job)
    disco = Disco()
    previous = "words"
    for g in names:
        entries = index_entries(disco.stageresults(job.name, previous))
        groups = {"group_label": {(label, "") for label, _host in entries},
                  "group_node_label": set(entries),
                  "group_node": {(0, host) for _label, host in entries},
                  "group_all": {(0, "")}}[g]
        assert tasks["s_" + g] == len(groups) == len(seen["s_" + g]), g
        assert {tuple(group.split("-", 1)) for group, _ in seen["s_" + g]} == \
            {(str(label), host) for label, host in groups}
        for group, labels in seen["s_" + g]:
            if g in ("group_label", "group_node_label"):
                assert labels == [int(group.split("-")[0])]
        previous = "s_" + g
    assert stage_tasks(job)["words"] == len(text_inputs)


def test_combine_sort_and_bare_string_inputs(master, text_inputs):
    pipeline = [("split", Stage("map", process=split_words)),
                ("group_label", Stage("reduce", process=count_words, combine=True, sort=True))]
    job = TestPipe().run(input=text_inputs, pipeline=pipeline)  # bare strings become replica lists
    results = job.wait()
    assert dict(result_iterator(results)) == word_counts()
    assert Disco().jobpack(job.name).jobdict["inputs"] == [[0, 0, [p]] for p in text_inputs]


def reversed_labels(state, labels):
    return list(reversed(labels))


def collect(interface, state, label, inp):
    for record in inp:
        interface.output(0).add(label, record)


def test_input_hook_and_custom_chains(master):
    first = Stage("first", process=lambda i, s, label, inp: [i.output(n).add(n, line.strip())
                                                              for n, line in enumerate(inp)],
                  output_chain=[task_output_stream, plain_output_stream])
    from disco.worker.task_io import old_netstr_reader, task_input_stream
    second = Stage("second", process=collect, input_hook=reversed_labels, combine=True,
                   input_chain=[task_input_stream, lambda fd, size, url: old_netstr_reader(fd, size, url)])
    job = TestPipe().run(input=["raw://a\nb\nc"], pipeline=[("split", first), ("group_all", second)])
    # plain text outputs read back as (str, str) records, labels in reversed order
    assert list(result_iterator(job.wait())) == [(2, ("2", "c")), (1, ("1", "b")), (0, ("0", "a"))]


def test_pipeline_validation():
    stage = Stage("a")
    for bad in ([("split",)], [("nosuch", stage)], [("split", stage), ("group_all", Stage("a"))],
                [("split", "notastage")], [("split", Stage(""))]):
        with pytest.raises(DiscoError):
            Worker(pipeline=bad).stages(None, {})
    assert Worker(pipeline=[("split", stage, True)]).stages(None, {}) == [("split", stage, True)]


def failing(interface, state, label, inp):
    raise ValueError("stage failed on purpose")


def test_failing_stage_fails_the_job(master):
    job = TestPipe().run(input=["raw://x"], pipeline=[("split", Stage("bad", process=failing))])
    with pytest.raises(JobError):
        job.wait(timeout=60)


def keep_words(interface, state, label, inp):
    for word, n in inp:
        interface.output(label).add(word, n)


def test_pipeline_reads_a_classic_jobs_index_results(master, text_inputs):
    from disco.job import Job
    from disco.worker.task_io import chain_reader, task_input_stream
    from wsupport import map_words, reduce_sum
    classic = Job().run(input=text_inputs, map=map_words, reduce=reduce_sum)
    results = classic.wait()
    assert all(reps[0].startswith("dir://") for reps in results)
    stage = Stage("copy", process=keep_words, input_chain=[task_input_stream, chain_reader])
    job = TestPipe().run(input=results, pipeline=[("split", stage, True)])
    assert dict(result_iterator(job.wait())) == word_counts()


def test_long_raw_input_keeps_task_names_short(master):
    """A raw:// input of 3000 characters is the group host of its split task: its directory and
    file names stay under the file system's limit (this failed with 'File name too long' and was
    retried for 10 minutes)."""
    text = " ".join("w%d" % (i % 7) for i in range(600))
    job = TestPipe().run(input=["raw://" + text], pipeline=[("split", Stage("words", process=split_words))])
    counts = collections.Counter(word for word, _n in result_iterator(job.wait(timeout=60)))
    assert counts == collections.Counter(text.split())

"""A concurrent pipeline stage with the Python pipeline worker: reducers start while slow mappers
run, keep asking for inputs until ``done`` (``Worker.get_inputs``) and produce the records of a
plain run."""
import collections
import time

from disco.core import Disco, result_iterator
from disco.test import TestPipe
from disco.worker.pipeline.worker import Stage

# "<seconds to sleep> <words>": the mappers finish one after the other
LINES = ["0 the quick brown fox", "0.6 jumps over the lazy dog", "1.2 the dog sleeps",
         "1.8 a fox is quick"]


def slow_words(interface, state, label, inp):
    for line in inp:
        delay, *words = line.split()
        time.sleep(float(delay))
        for word in words:
            interface.output(len(word) % 3).add(word, 1)


def count_words(interface, state, label, inp):
    counts = collections.Counter()
    for word, n in inp:
        counts[word] += n
    for word, n in sorted(counts.items()):
        interface.output(0).add(word, n)


def run(concurrent):
    pipeline = [("split", Stage("map", process=slow_words)),
                ("group_label", Stage("reduce", process=count_words, combine=True, sort=True), concurrent)]
    job = TestPipe().run(input=["raw://" + line for line in LINES], pipeline=pipeline)
    results = job.wait()
    events = [msg for _off, (_t, _host, msg) in Disco().events(job.name)]
    return [list(result_iterator([r])) for r in results], events


def test_reducers_start_early_and_produce_the_records_of_a_plain_run(master):
    concurrent, events = run(True)
    assert events[0] == "New job initialized!"      # oldest first
    map_finished = next(i for i, e in enumerate(events) if e.startswith("Stage map finished"))
    # a reducer ran before the last mapper was done: it must have asked until "done" to see it all
    assert any(e.startswith("reduce:") and "assigned to" in e for e in events[:map_finished])
    expected = collections.Counter(w for line in LINES for w in line.split()[1:])
    assert dict(r for records in concurrent for r in records) == expected
    plain, _events = run(False)
    assert concurrent == plain


def test_get_inputs_asks_until_done(monkeypatch):
    from disco.worker import Worker
    replies = iter([["more", [[0, "ok", 1, [[0, "raw://a"]]]]],
                    ["more", [[1, "ok", "all", [[0, "dir://n/x"]]]]],
                    ["done", []]])
    requests = []

    def send(type, payload=""):
        requests.append((type, list(payload[1])))
        return next(replies)
    monkeypatch.setattr(Worker, "send", staticmethod(send))
    assert [(i.id, i.label) for i in Worker.get_inputs()] == [(0, 1), (1, "all")]
    assert requests == [("INPUT", []), ("INPUT", [0]), ("INPUT", [0, 1])]

"""Concurrent stages (docs/jobs.md#groupings, docs/worker-protocol.md): consumers start while
producers run, get their inputs in steps (deferred INPUT, ``more``, then ``done``) and end with
the results of a plain run."""
import asyncio
import time

import pytest

from masters import alive

from disco.master.jobspec import Stage
from disco.master.model import JobRun, Task
from disco.master.outputs import TaskInput
from disco.master.scheduler import Scheduler
from disco.master.stages import StageRun
from disco.master.taskinputs import TaskInputs
from master_support import get_json, jobpack, messages, read_results, run, seen, submit, wait

WORDS = [[label, 0, ["raw://%d-%s" % (label, word)]] for label, word in
         [(0, "a"), (1, "b"), (1, "c"), (2, "d"), (0, "e")]]


def pipeline(grouping, concurrent):
    return [["map", "split", False], ["second", grouping, concurrent]]


def replies(report):
    """``[(flag, number of inputs), ...]`` of a shell worker's INPUT replies."""
    return [(r.split(":")[0], int(r.split(":")[1])) for r in report["replies"].split(",") if r]


def test_consumer_starts_while_producers_run_and_gets_inputs_in_steps(master):
    name, (status, results) = run(master, jobpack(
        envs={"SLOW_STAGE": "map", "SLOW_STEP": "0.6"}, inputs=WORDS[:3],
        pipeline=pipeline("group_all", True)))
    assert status == "ready" and read_results(master, results) == ["a", "b", "c"]
    events = messages(master, name)
    assert events.index("second:3 assigned to localhost") < events.index(
        next(e for e in events if e.startswith("Stage map finished")))
    assert "Stage second started concurrently" in events
    flags = replies(seen(master, name)[("second", 3)])
    # deferred requests: the worker asks again at once, yet never gets an empty "more" reply
    assert flags[-1][0] == "done" and len(flags) >= 2
    assert all(flag == "more" and n > 0 for flag, n in flags[:-1])
    assert sum(n for _flag, n in flags) == 3


@pytest.mark.parametrize("grouping", ["group_label", "group_all", "split", "group_node_label"])
def test_results_equal_those_of_a_plain_run(master, grouping):
    runs = {}
    for concurrent in (False, True):
        name, (status, results) = run(master, jobpack(
            envs={"SLOW_STAGE": "map", "SLOW_STEP": "0.15"}, inputs=WORDS,
            pipeline=pipeline(grouping, concurrent)))
        assert status == "ready"
        reports = [r for (stage, _id), r in sorted(seen(master, name).items()) if stage == "second"]
        runs[concurrent] = ([read_results(master, [r]) for r in results],
                            sorted((r["group"], sorted(label for label, _url in r["inputs"]))
                                   for r in reports))
        if concurrent:
            assert all(replies(r)[-1][0] == "done" for r in reports)
    assert runs[True] == runs[False]
    if grouping == "group_label":    # one consumer per label, fed every output with that label
        assert runs[True][1] == [("0,", ["0", "0"]), ("1,", ["1", "1"]), ("2,", ["2"])]


def test_chained_concurrent_stages(master):
    stages = [["map", "split", False], ["mid", "group_label", True], ["last", "group_all", True]]
    name, (status, results) = run(master, jobpack(envs={"SLOW_STAGE": "map", "SLOW_STEP": "0.1"},
                                                  inputs=WORDS, pipeline=stages))
    assert status == "ready" and read_results(master, results) == list("abcde")
    assert len(get_json(master, "/disco/ctrl/get_stageresults?stage=mid&name=" + name)) == 3


def test_failed_consumer_is_retried(master, tmp_path):
    envs = {"SLOW_STAGE": "map", "SLOW_STEP": "0.2", "BEHAVIOUR": "error", "BEHAVIOUR_STAGE": "second",
            "ONCE": "1", "TEST_DIR": str(tmp_path)}
    name, (status, results) = run(master, jobpack(envs=envs, inputs=WORDS[:3],
                                                  pipeline=pipeline("group_all", True)))
    assert status == "ready" and read_results(master, results) == ["a", "b", "c"]
    assert "WARNING: [second:3] transient failure" in messages(master, name)




def test_kill_while_a_consumer_waits_for_inputs(master, tmp_path):
    name = submit(master, jobpack(envs={"SLOW_STAGE": "map", "SLOW_STEP": "60", "TEST_DIR": str(tmp_path)},
                                  inputs=WORDS[:2], pipeline=pipeline("group_all", True)))
    deadline = time.monotonic() + 10
    while get_json(master, "/disco/ctrl/jobinfo?name=" + name)["pipeline"] != [
            ["map", 0, 0, 1, 1, 0], ["second", 0, 0, 1, 0, 0]]:
        assert time.monotonic() < deadline, "the consumer did not start"
        time.sleep(0.05)
    time.sleep(0.3)                       # the consumer's second INPUT request is deferred now
    pids = [int((tmp_path / p).read_text()) for p in ("pid-map-1", "pid-second-2")]
    assert all(alive(p) for p in pids)
    assert get_json(master, "/disco/ctrl/kill_job", name) == ""
    assert wait(master, name) == ["dead", []]
    assert not any(alive(p) for p in pids)
    assert messages(master, name)[-1] == "WARN: Job killed"


# units
def test_deferred_input_requests_wait_for_more_then_done():
    async def scenario():
        inputs = TaskInputs([TaskInput(0, ("a",))], final=False)
        assert inputs.reply("") == ["more", [[0, "ok", 0, [[0, "a"]]]]]
        assert inputs.reply(["exclude", [0]]) is None
        deferred = asyncio.ensure_future(inputs.wait_reply(["exclude", [0]]))
        await asyncio.sleep(0)
        assert not deferred.done()
        inputs.add([TaskInput(1, ("b",))])
        assert await deferred == ["more", [[1, "ok", 1, [[0, "b"]]]]]
        deferred = asyncio.ensure_future(inputs.wait_reply(["exclude", [0, 1]]))
        await asyncio.sleep(0)
        inputs.close()
        assert await deferred == ["done", []]
        with pytest.raises(ValueError):
            inputs.add([TaskInput(2, ("c",))])
    asyncio.run(scenario())


class _Job:
    """The coordinator interface of a StageRun, recording instead of running."""

    def __init__(self):
        self.tasks, self.events, self.finished = [], [], []

    def new_task(self, stage, key, inputs, admit):
        task = Task(None, len(self.tasks), stage.name, stage.grouping, key, inputs, admit=admit)
        self.tasks.append(task)
        return task

    def start(self, stage, task, done):
        task.done = done

    def event(self, message):
        self.events.append(message)

    def stage_finished(self, name, outputs, seconds):
        self.finished.append((name, outputs))


def test_stage_runs_feed_a_concurrent_stage_and_gate_it():
    from disco.master.outputs import DataOutput
    job = _Job()
    first = StageRun(job, Stage("map", "split"), None)
    second = StageRun(job, Stage("red", "group_label", True), first)
    first.feed(0, [DataOutput(label, 0, ("disco://n/%d" % label,)) for label in (0, 1, 2)])
    first.close()
    maps = list(job.tasks)
    assert [t.stage for t in maps] == ["map"] * 3 and all(t.admit is None for t in maps)
    assert second.admit({"map": 3}) and second.admit({"map": 3, "red": 1})
    assert not second.admit({"map": 2, "red": 1}) and not second.admit({})
    maps[2].done([DataOutput(7, 0, ("disco://n/x",))])
    maps[0].done([DataOutput(7, 0, ("disco://n/y",)), DataOutput(8, 0, ("disco://n/z",))])
    reds = job.tasks[3:]
    assert [(t.group, len(t.inputs.inputs), t.inputs.final) for t in reds] == [
        ((7, ""), 2, False), ((8, ""), 1, False)]
    maps[1].done([DataOutput(8, 0, ("disco://n/w",))])
    assert [(len(t.inputs.inputs), t.inputs.final) for t in reds] == [(2, True), (2, True)]
    assert second.admit({"red": 2})          # the producers have finished: no constraint
    assert job.finished[0][0] == "map"      # outputs in task order, not in order of completion
    assert [o.urls[0][-1] for o in job.finished[0][1]] == ["y", "z", "w", "x"]
    reds[1].done([DataOutput(0, 0, ("disco://n/8",))])
    reds[0].done([DataOutput(0, 0, ("disco://n/7",))])
    assert job.finished[1][0] == "red"
    assert [o.urls for o in job.finished[1][1]] == [("disco://n/7",), ("disco://n/8",)]  # by key


def test_scheduler_asks_admit_and_wakes():
    async def scenario():
        sched = Scheduler("fifo")
        sched.configure({"a": 4}, [])
        job = JobRun("j", "", "w", {}, 9, 1.0)
        gate = {"open": False}
        seen_running = []

        def admit(running):
            seen_running.append(dict(running))
            return gate["open"]
        producer = Task(job, 0, "map", "split", (0, ""), TaskInputs([]))
        assert await sched.acquire(producer) == "a"
        consumer = Task(job, 1, "red", "group_all", (0, ""), TaskInputs([], final=False), admit=admit)
        pending = asyncio.ensure_future(sched.acquire(consumer))
        await asyncio.sleep(0)
        assert not pending.done() and seen_running[-1] == {"map": 1}
        gate["open"] = True
        sched.wake()
        assert await pending == "a"
        sched.release(consumer, "a")
        sched.release(producer, "a")
        assert not sched.stage_running and not sched.job_running
    asyncio.run(scenario())

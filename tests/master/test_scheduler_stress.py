"""Randomized interleavings of acquire / release / cancel / kill / reconfigure against the
scheduler, checking its invariants after every step (the slot leak of a cancelled waiter handed a
freed slot in the same step was found this way)."""
import asyncio
import random

import pytest

from disco.master.model import JobRun, Task
from disco.master.outputs import TaskInput
from disco.master.scheduler import Scheduler
from disco.master.taskinputs import TaskInputs

NODES = ["a", "b", "c"]


class Harness:
    """Drives one scheduler; ``held`` maps a task to the node whose slot the test holds for it."""

    def __init__(self, rng, policy):
        self.rng = rng
        self.sched = Scheduler(policy)
        self.slots = {n: rng.randint(1, 3) for n in NODES}
        self.sched.configure(self.slots, [])
        self.jobs = [JobRun("job%d" % i, "", "w", {}, rng.randint(1, 6), float(i)) for i in range(4)]
        self.next_id = 0
        self.waiters = {}     # asyncio.Task of acquire -> Task
        self.held = {}        # Task -> node

    def new_task(self):
        job = self.rng.choice(self.jobs)
        host = self.rng.choice(NODES + ["", "", "elsewhere"])
        task = Task(job, self.next_id, self.rng.choice(["map", "reduce"]), "split", (0, host),
                    TaskInputs([]))
        self.next_id += 1
        return task

    def acquire(self):
        task = self.new_task()
        self.waiters[asyncio.ensure_future(self.sched.acquire(task))] = task

    def collect(self):
        """Move granted waiters to ``held``; forget finished or cancelled ones."""
        for fut, task in list(self.waiters.items()):
            if fut.done():
                del self.waiters[fut]
                if not fut.cancelled():
                    self.held[task] = fut.result()

    def release(self, task):
        self.sched.release(task, self.held.pop(task))

    def kill(self, job):
        """What a job kill does, without yielding in between: cancel the job's waiters and release
        the slots of its running tasks (each release re-dispatches at once)."""
        for fut, task in list(self.waiters.items()):
            if task.job is job:
                fut.cancel()
        for task in [t for t in self.held if t.job is job]:
            self.release(task)

    def step(self):
        op = self.rng.random()
        if op < 0.4:
            for _ in range(self.rng.randint(1, 3)):
                self.acquire()
        elif op < 0.6 and self.held:
            self.release(self.rng.choice(list(self.held)))
        elif op < 0.7 and self.waiters:
            # a fatal failure: one task's slot comes back while its siblings' waits are cancelled
            self.rng.choice(list(self.waiters)).cancel()
            if self.held:
                self.release(self.rng.choice(list(self.held)))
        elif op < 0.85:
            self.kill(self.rng.choice(self.jobs))
        else:
            self.slots = {n: self.rng.randint(0, 3) for n in NODES}
            blacklist = [n for n in NODES if self.rng.random() < 0.2]
            self.sched.configure(self.slots, blacklist)

    def check(self):
        self.sched.check()
        running = {n: sorted(t.taskid for t in ts) for n, ts in self.sched.running.items() if ts}
        expected = {}
        for task, node in self.held.items():
            expected.setdefault(node, []).append(task.taskid)
        assert running == {n: sorted(ids) for n, ids in expected.items()}, (running, expected)
        # work conservation: a usable node with a free slot leaves no unpinned waiter of a job
        # under its max_cores waiting
        live = [t for f, t in self.waiters.items() if not f.done()]
        for node in NODES:
            if not self.sched.usable(node) or len(self.sched.running[node]) >= self.sched.nodes[node]:
                continue
            for task in live:
                unpinned = not self.sched.usable(task.group[1]) or task.runs
                if unpinned and self.sched.job_running[task.job.name] < task.job.max_cores:
                    raise AssertionError("%s waits while %s has a free slot" % (task.name, node))


@pytest.mark.parametrize("policy", ["fair", "fifo"])
@pytest.mark.parametrize("seed", range(20))
def test_scheduler_invariants_hold_under_random_interleavings(seed, policy):
    async def scenario():
        h = Harness(random.Random(seed), policy)
        for _ in range(300):
            h.step()
            for _ in range(3):
                await asyncio.sleep(0)
            h.collect()
            h.check()
        for fut in h.waiters:
            fut.cancel()
        await asyncio.sleep(0)
        h.collect()
        for task in list(h.held):
            h.release(task)
        h.check()
        assert not h.sched.waiting and not h.sched.job_running
        assert all(not ts for ts in h.sched.running.values())
    asyncio.run(scenario())


def test_cancelled_waiter_is_not_handed_a_freed_slot():
    """The original failure: two waiters of a job are cancelled and, before their cancellation is
    delivered, a slot is released: the slot must go to nobody of that job and stay free."""
    async def scenario():
        sched = Scheduler("fair")
        sched.configure({"a": 1}, [])
        job = JobRun("j", "", "w", {}, 9, 1.0)
        first = Task(job, 0, "map", "split", (0, ""), TaskInputs([]))
        assert await sched.acquire(first) == "a"
        waiters = [asyncio.ensure_future(sched.acquire(Task(job, i, "map", "split", (0, ""),
                                                            TaskInputs([])))) for i in (1, 2)]
        await asyncio.sleep(0)
        for w in waiters:
            w.cancel()
        sched.release(first, "a")          # before the cancellations reach acquire()
        await asyncio.gather(*waiters, return_exceptions=True)
        sched.check()
        assert not sched.running["a"] and not sched.waiting and not sched.job_running
        other = JobRun("k", "", "w", {}, 9, 2.0)
        assert await asyncio.wait_for(
            sched.acquire(Task(other, 0, "map", "split", (0, ""), TaskInputs([]))), 1) == "a"
    asyncio.run(scenario())


class ScanningScheduler(Scheduler):
    """The scheduler's choice as it was made before the waiting requests were indexed: scan
    them all, in arrival order, for one pinned to the node, then one with an input there, then
    any (the reference the indexed ``_pick`` must agree with)."""

    def _pick(self, jobname, node):
        eligible = [r for r in self.waiting[jobname] if not r.future.done() and self._may_run(r, node)]
        for prefer in (lambda r: r.pin == node, lambda r: node in r.task.input_hosts, lambda r: True):
            for request in eligible:
                if prefer(request):
                    return request
        return None


class InputHarness(Harness):
    """Tasks with input replicas on random nodes, some of them in open input sets that grow or
    have replicas moved while they wait."""

    def __init__(self, rng, policy, scheduler):
        super().__init__(rng, policy)
        self.sched = scheduler(policy)
        self.sched.configure(self.slots, [])

    def new_task(self):
        task = super().new_task()
        inputs = [TaskInput(0, tuple("disco://%s/x/%d" % (self.rng.choice(NODES), i)
                                     for i in range(self.rng.randint(0, 2))))
                  for _ in range(self.rng.randint(0, 2))]
        task.inputs = TaskInputs(inputs, final=self.rng.random() < 0.5)
        return task

    def step(self):
        super().step()
        live = sorted((t for f, t in self.waiters.items() if not f.done()), key=lambda t: t.taskid)
        if live and self.rng.random() < 0.3:
            task = self.rng.choice(live)
            if not task.inputs.final:
                task.inputs.add([TaskInput(0, ("disco://%s/y" % self.rng.choice(NODES),))])
            elif task.inputs.inputs and task.inputs.inputs[0].urls:
                task.inputs.replace(task.inputs.inputs[0].urls[0], "disco://%s/z" % self.rng.choice(NODES))

    def grants(self):
        return sorted((t.taskid, n) for t, n in self.held.items())


@pytest.mark.parametrize("policy", ["fair", "fifo"])
@pytest.mark.parametrize("seed", range(10))
def test_indexed_choice_is_the_scanning_choice(seed, policy):
    async def scenario():
        ours = InputHarness(random.Random(seed), policy, Scheduler)
        reference = InputHarness(random.Random(seed), policy, ScanningScheduler)
        for _ in range(300):
            for h in (ours, reference):
                h.step()
            for _ in range(3):
                await asyncio.sleep(0)
            for h in (ours, reference):
                h.collect()
            ours.check()
            assert ours.grants() == reference.grants()
    asyncio.run(scenario())

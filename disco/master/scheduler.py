"""The scheduler: waiting tasks -> free node slots (docs/master.md#scheduling).

A node is usable when it is configured and not blacklisted; it runs at most ``max_workers`` tasks.
A job runs at most its ``max_cores`` tasks at once. On every change the free usable nodes, least
loaded first, are offered to the jobs in policy order; a job offers, for that node, a task pinned
to it, else a task with an input replica on it, else any task it may run there. A task is pinned
to its group's host on its first run when that host is a usable node; it never runs on a node
where it failed, unless it has failed on every usable node (then that list is forgotten). A task
with an ``admit`` predicate (a task of a concurrent stage) waits until it admits the job's running
tasks per stage; :meth:`Scheduler.wake` re-offers the slots when such a predicate may have changed.

A request whose waiter has been cancelled is never granted a slot: the cancellation may reach
:meth:`Scheduler.acquire` only after other slots were handed out (its future is cancelled at
once, its ``except`` clause runs later), so :meth:`_pick` skips requests whose future is done and
:meth:`_forget` tolerates a request that is already gone. :meth:`Scheduler.check` states the
invariants (the stress test calls it after every step).

Policies (``DISCO_SCHEDULER``): ``fifo`` serves the oldest job first; ``fair`` (default) serves
the job with the fewest running tasks first (oldest first among equals) -- the steady state of
Disco's fair-share priority, without its time-averaged bookkeeping.
"""
import asyncio
import collections
import heapq
import itertools

POLICIES = ("fair", "fifo")


class _Request:
    __slots__ = ("task", "pin", "future", "seq", "hosts")

    def __init__(self, task, pin, future, seq):
        self.task, self.pin, self.future, self.seq = task, pin, future, seq
        self.hosts = frozenset()    # input hosts as last indexed


class Scheduler:
    """Slots of the configured nodes, handed to tasks through :meth:`acquire`."""

    def __init__(self, policy="fair"):
        if policy not in POLICIES:
            raise ValueError("unknown scheduler policy %r (expected one of %s)" % (policy, POLICIES))
        self.policy = policy
        self.nodes = {}          # node -> max workers
        self.blacklist = set()
        self.running = collections.defaultdict(list)     # node -> [task]
        self.job_running = collections.Counter()          # job name -> running tasks
        self.stage_running = {}                           # job name -> Counter(stage -> running)
        self.waiting = {}        # job name -> {_Request: None} in arrival order
        # indexes of the waiting requests, so that a dispatch does not scan them all:
        self.pinned = {}         # job name -> {node: {_Request: None}} pinned there, in arrival order
        self.local = {}          # job name -> {host: heap of (seq, n, _Request)} with input there
        self._seq = itertools.count()

    def configure(self, nodes, blacklist):
        """Use ``nodes`` (``{node: max_workers}``) minus ``blacklist`` from now on."""
        self.nodes = dict(nodes)
        self.blacklist = set(blacklist)
        self._dispatch()

    def usable(self, node):
        return node in self.nodes and node not in self.blacklist

    def capped(self, jobname, max_cores):
        """True when the job has waiting tasks held back by its ``max_cores``."""
        return bool(self.waiting.get(jobname)) and self.job_running[jobname] >= max_cores

    async def acquire(self, task):
        """Wait for a slot for ``task``; return its node. The caller must :meth:`release` it."""
        host = task.group[1]
        pin = host if task.runs == 0 and self.usable(host) else None
        request = _Request(task, pin, asyncio.get_running_loop().create_future(), next(self._seq))
        name = task.job.name
        self.waiting.setdefault(name, {})[request] = None
        if pin is not None:
            self.pinned.setdefault(name, {}).setdefault(pin, {})[request] = None
        self._index_hosts(request)
        task.inputs.on_change = lambda: self._index_hosts(request)
        self._dispatch()
        try:
            return await request.future
        except asyncio.CancelledError:
            if request.future.done() and not request.future.cancelled():
                self.release(task, request.future.result())
            else:
                self._forget(request)
            raise

    def release(self, task, node):
        """Give back the slot ``task`` held on ``node``."""
        self.running[node].remove(task)
        self.job_running[task.job.name] -= 1
        if not self.job_running[task.job.name]:
            del self.job_running[task.job.name]
            del self.stage_running[task.job.name]
        else:
            self.stage_running[task.job.name][task.stage] -= 1
        self._dispatch()

    def wake(self):
        """Offer the free slots again (an ``admit`` predicate may say yes now)."""
        self._dispatch()

    def _forget(self, request):
        """Drop ``request`` from the waiting lists (no-op if it is not there)."""
        name = request.task.job.name
        requests = self.waiting.get(name)
        if requests is None or request not in requests:
            return
        del requests[request]
        request.task.inputs.on_change = None
        if request.pin is not None:
            del self.pinned[name][request.pin][request]
        if not requests:    # the heaps hold only this job's forgotten requests now
            del self.waiting[name]
            self.pinned.pop(name, None)
            self.local.pop(name, None)

    def _index_hosts(self, request):
        """Index ``request`` under the hosts of its task's inputs (called again when they change;
        entries of hosts it lost are dropped when met)."""
        hosts = frozenset(request.task.input_hosts)
        heaps = self.local.setdefault(request.task.job.name, {})
        for host in hosts - request.hosts:
            heapq.heappush(heaps.setdefault(host, []), (request.seq, next(self._seq), request))
        request.hosts = hosts

    def check(self):
        """Raise AssertionError unless the bookkeeping is consistent: running counts match the
        running lists, no node runs more than its slots (unless its slots were reduced), no empty
        or granted request waits."""
        per_job, per_stage = collections.Counter(), {}
        for node, tasks in self.running.items():
            assert len(set(map(id, tasks))) == len(tasks), "task running twice on %s" % node
            for task in tasks:
                per_job[task.job.name] += 1
                per_stage.setdefault(task.job.name, collections.Counter())[task.stage] += 1
        assert per_job == +self.job_running, (per_job, self.job_running)
        assert set(self.stage_running) == set(per_job), (self.stage_running, per_job)
        for name, stages in self.stage_running.items():
            assert +stages == per_stage[name], (name, stages, per_stage[name])
        for name, requests in self.waiting.items():
            assert requests, "empty waiting list of %s" % name
            for request in requests:
                assert not request.future.done() or request.future.cancelled(), \
                    "granted request of %s still waiting" % request.task.name

    def _dispatch(self):
        while self._assign_one():
            pass

    def _assign_one(self):
        free = [n for n in self.nodes if self.usable(n) and len(self.running[n]) < self.nodes[n]]
        free.sort(key=lambda n: len(self.running[n]) / max(self.nodes[n], 1))
        for node in free:
            for jobname in self._job_order():
                request = self._pick(jobname, node)
                if request is not None:
                    self._forget(request)
                    self.running[node].append(request.task)
                    self.job_running[jobname] += 1
                    self.stage_running.setdefault(jobname, collections.Counter())[request.task.stage] += 1
                    request.future.set_result(node)
                    return True
        return False

    def _job_order(self):
        jobs = [(name, next(iter(requests)).task.job) for name, requests in self.waiting.items()]
        jobs = [(name, job) for name, job in jobs if self.job_running[name] < job.max_cores]
        if self.policy == "fair":
            jobs.sort(key=lambda nj: (self.job_running[nj[0]], nj[1].started))
        else:
            jobs.sort(key=lambda nj: nj[1].started)
        return [name for name, _job in jobs]

    def _pick(self, jobname, node):
        """The request of ``jobname`` to run on ``node``: the first (in arrival order) that may
        run there of those pinned there, else of those with an input replica there, else of
        all. The indexes make this independent of the number of waiting requests, unless many
        of them may not run on ``node``."""
        for request in self.pinned.get(jobname, {}).get(node, ()):
            if self._eligible(request, node):
                return request
        request = self._pick_local(jobname, node)
        if request is not None:
            return request
        for request in self.waiting[jobname]:
            if self._eligible(request, node):
                return request
        return None

    def _pick_local(self, jobname, node):
        heap = self.local.get(jobname, {}).get(node)
        if not heap:
            return None
        waiting, skipped, found = self.waiting[jobname], [], None
        while heap:
            request = heap[0][2]
            if request not in waiting or node not in request.hosts:
                heapq.heappop(heap)     # forgotten, or its inputs moved
            elif self._eligible(request, node):
                found = request
                break
            else:
                skipped.append(heapq.heappop(heap))
        for entry in skipped:
            heapq.heappush(heap, entry)
        return found

    def _eligible(self, request, node):
        return not request.future.done() and self._may_run(request, node)

    def _may_run(self, request, node):
        admit = request.task.admit
        if admit is not None and not admit(self.stage_running.get(request.task.job.name, {})):
            return False
        if request.pin is not None and request.pin != node and self.usable(request.pin):
            return False
        failed = request.task.failed_hosts
        if failed and all(n in failed for n in self.nodes if self.usable(n)):
            failed.clear()
        return node not in failed

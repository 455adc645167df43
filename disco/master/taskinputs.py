"""The inputs of one task as the Worker Protocol serves them (``INPUT``, ``INPUT_ERR``;
docs/worker-protocol.md).

Inputs are numbered from 0 in the order they were added, replicas from 0 in URL order. Replicas
are listed never-failed first, then by time of their last failure. A task of a plain stage gets
a final input set at once; a task of a concurrent stage gets inputs while its producers finish
(:meth:`TaskInputs.add`) until the set is closed (:meth:`TaskInputs.close`). Replies carry the
flag ``"done"`` once the set is final, ``"more"`` before; a request whose selection is empty while
the set is not final is deferred (:meth:`TaskInputs.wait_reply`) until inputs arrive or the set
is closed.

An input whose replicas have all failed may be the lost output of a task of this job (its node
died, its file went missing): :meth:`TaskInputs.lost` asks the coordinator to re-create it
(``recover``, set by the coordinator) and remembers the recovery in ``pending``; the coordinator
then swaps the new output in (:meth:`TaskInputs.replace`) and retries the task once
:meth:`TaskInputs.recovered`.
"""
import asyncio
import itertools

from disco.master.jsontypes import is_int
from disco.master.outputs import TaskInput


class TaskInputs:
    """``inputs`` is a list of :class:`disco.master.outputs.TaskInput`; ``final=False`` leaves the
    set open for :meth:`add` until :meth:`close`."""

    def __init__(self, inputs, final=True):
        self.inputs = list(inputs)
        self.final = final
        self._failed = [{} for _ in self.inputs]    # per input: rep_id -> failure order
        self._clock = itertools.count()
        self._waiters = []   # futures of deferred requests
        self.recover = None  # urls -> future of the re-creation of the output at urls, or None
        self.pending = set() # futures of recoveries of inputs this task failed to read
        self.on_change = None  # called when inputs are added or replaced (the scheduler's index)

    def add(self, inputs):
        """Append ``inputs`` to an open set and answer the deferred requests."""
        inputs = list(inputs)
        if inputs and self.final:
            raise ValueError("the input set is final")
        self.inputs += inputs
        self._failed += [{} for _ in inputs]
        self._changed()
        self._wake()

    def close(self):
        """Make the set final and answer the deferred requests."""
        self.final = True
        self._wake()

    def reply(self, request):
        """The ``INPUT`` reply payload for ``request`` (``""``, ``["include", ids]`` or
        ``["exclude", ids]``), or None when it must be deferred; raises ValueError on a malformed
        request."""
        if request == "":
            ids = range(len(self.inputs))
        elif (isinstance(request, list) and len(request) == 2 and request[0] in ("include", "exclude")
              and isinstance(request[1], list) and all(is_int(i) for i in request[1])):
            chosen = set(request[1])
            ids = [i for i in range(len(self.inputs)) if (i in chosen) == (request[0] == "include")]
        else:
            raise ValueError("invalid INPUT request %r" % (request,))
        if not ids and not self.final:
            return None
        return ["done" if self.final else "more",
                [[i, "ok", self.inputs[i].label, self._replicas(i)] for i in ids]]

    async def wait_reply(self, request):
        """The reply to ``request`` once it need not be deferred any longer."""
        while (payload := self.reply(request)) is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return payload

    def fail(self, request):
        """Mark replicas failed for ``[input_id, [rep_id, ...]]``; return the replicas not failed
        (empty: the input has none left). Raises ValueError on a malformed request."""
        if not (isinstance(request, list) and len(request) == 2 and is_int(request[0])
                and 0 <= request[0] < len(self.inputs) and isinstance(request[1], list)
                and all(is_int(r) for r in request[1])):
            raise ValueError("invalid INPUT_ERR request %r" % (request,))
        input_id, rep_ids = request
        for rep_id in rep_ids:
            if 0 <= rep_id < len(self.inputs[input_id].urls):
                self._failed[input_id][rep_id] = next(self._clock)
        return [r for r in self._replicas(input_id) if r[0] not in self._failed[input_id]]

    def lost(self, input_id):
        """Input ``input_id`` cannot be read at all: True if it is being re-created."""
        future = self.recover(self.inputs[input_id].urls) if self.recover is not None else None
        if future is not None:
            self.pending.add(future)
        return future is not None

    async def recovered(self):
        """Wait for the re-creation of the lost inputs."""
        pending, self.pending = self.pending, set()
        for future in pending:
            await future

    def replace(self, old, new):
        """Input replicas at URL ``old`` are at ``new`` now (their failures are forgotten)."""
        for i, inp in enumerate(self.inputs):
            if old in inp.urls:
                self.inputs[i] = TaskInput(inp.label, tuple(new if u == old else u for u in inp.urls))
                self._failed[i] = {}
        self._changed()

    def _changed(self):
        if self.on_change is not None:
            self.on_change()

    def _replicas(self, input_id):
        failed = self._failed[input_id]
        order = sorted(range(len(self.inputs[input_id].urls)), key=lambda r: (r in failed, failed.get(r, 0)))
        return [[r, self.inputs[input_id].urls[r]] for r in order]

    def _wake(self):
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

"""The inputs of one task as the Worker Protocol serves them (``INPUT``, ``INPUT_ERR``; SPEC §2.11).

Inputs are numbered from 0 in group order, replicas from 0 in URL order. Replicas are listed
never-failed first, then by time of their last failure. Stages run one after the other here, so a
task's input set is always final: every ``INPUT`` reply carries the flag ``"done"``.
"""
import itertools

from disco.master.jsontypes import is_int


class TaskInputs:
    """``inputs`` is a list of :class:`disco.master.outputs.TaskInput`."""

    def __init__(self, inputs):
        self.inputs = list(inputs)
        self._failed = [{} for _ in self.inputs]   # per input: rep_id -> failure order
        self._clock = itertools.count()

    def reply(self, request):
        """The ``INPUT`` reply payload for ``request`` (``""``, ``["include", ids]`` or
        ``["exclude", ids]``); raises ValueError on a malformed request."""
        if request == "":
            ids = range(len(self.inputs))
        elif (isinstance(request, list) and len(request) == 2 and request[0] in ("include", "exclude")
              and isinstance(request[1], list) and all(is_int(i) for i in request[1])):
            chosen = set(request[1])
            ids = [i for i in range(len(self.inputs)) if (i in chosen) == (request[0] == "include")]
        else:
            raise ValueError("invalid INPUT request %r" % (request,))
        return ["done", [[i, "ok", self.inputs[i].label, self._replicas(i)] for i in ids]]

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

    def _replicas(self, input_id):
        failed = self._failed[input_id]
        order = sorted(range(len(self.inputs[input_id].urls)), key=lambda r: (r in failed, failed.get(r, 0)))
        return [[r, self.inputs[input_id].urls[r]] for r in order]


"""The inputs of a task as the master numbers them (``INPUT``/``INPUT_ERR`` requests of the
Worker Protocol, docs/worker-protocol.md): ``IDedInput`` and the order its replicas are tried
in (``ReplicaIter``: a replica on this node first). The records are read by ``disco.readers``.
"""
import os
import random

from disco.context import current_task
from disco.schemes.scheme_disco import locate
from disco.util import ispartitioned, schemesplit
from disco.worker.channel import channel


class IDedInput(tuple):
    """An input of the task as the master numbers it: ``(worker class, id, label)``; its
    ``replicas`` are asked from the master when used, but for the first use when the ``INPUT``
    reply that listed the input offered them (``offered``): no second round trip."""

    offered = None

    @property
    def worker(self):
        return self[0]

    @property
    def id(self):
        return self[1]

    @property
    def label(self):
        return self[2]

    @property
    def replicas(self):
        offered, self.offered = self.offered, None
        if offered is not None:
            return offered
        return self.worker.get_input(self.id)

    @property
    def isindex(self):
        return ispartitioned(self.locations)

    @property
    def locations(self):
        return [url for _rid, url in self.replicas]

    def unavailable(self, tried):
        """Report replicas ``tried`` as failed (``INPUT_ERR``); the remaining replicas
        ``[(id, url)]`` the master still offers (``RETRY``), or ``[]`` (``FAIL``)."""
        rtype, payload = channel().request("INPUT_ERR", [self.id, sorted(tried)])
        return [tuple(r) for r in payload] if rtype == "RETRY" else []

    def replica_urls(self):
        """The URLs to try, in order (``ReplicaIter``): what ``disco.readers.InputIter`` reads."""
        return ReplicaIter(self)

    def __str__(self):
        return "%s" % self.locations


def _is_local(url, task):
    scheme = schemesplit(url)[0]
    if scheme in ("", "file"):
        return True
    if scheme in ("disco", "dir"):
        local, _http = locate(url, task)
        return bool(local) and os.path.isfile(local)
    return False


class ReplicaIter(object):
    """URLs to try for an IDedInput: a replica stored on this node first, then untried replicas
    at random; when all failed, ``INPUT_ERR`` tells the master, and any replicas it still offers
    are tried before giving up."""

    def __init__(self, input):
        self.input, self.used = input, set()
        self.replicas = None
        self.checked_local = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.replicas is None:
            self.replicas = dict(self.input.replicas)
        untried = [rid for rid in self.replicas if rid not in self.used]
        if not untried:
            self.replicas = dict(self.input.unavailable(self.used))
            untried = [rid for rid in self.replicas if rid not in self.used]
            if not untried:
                raise StopIteration
        if not self.checked_local:
            self.checked_local = True
            for rid in untried:
                if _is_local(self.replicas[rid], current_task()):
                    self.used.add(rid)
                    return self.replicas[rid]
        rid = random.choice(untried)
        self.used.add(rid)
        return self.replicas[rid]

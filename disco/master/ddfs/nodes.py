"""The DDFS nodes: which exist, which take writes, and where new replicas go (docs/ddfs.md).

Every configured node holds DDFS data under ``DDFS_DATA/<node>/``: on this machine
(:class:`~disco.master.ddfs.volumes.NodeStore`, the ``local`` backend) or, when the backend
serves nodes remotely (``backend.remote_data``, the ``dask`` backend), on the node's own disk
(:class:`~disco.master.ddfs.remote.RemoteStore`). A local node is always UP; a remote one is UP
while the backend has it connected, then AWAY for ``grace`` seconds (``DISCO_NODE_GRACE``: its
replicas count as present but are not read), then LOST (its data counts as gone until it comes
back). A node takes new writes when it is UP and neither on the Disco blacklist nor the GC
blacklist. New replicas go to nodes with
more than 1 GiB free, chosen at random (weighted by free space when ``DDFS_SPACE_AWARE``: by free
bytes with ``DDFS_ABSOLUTE_SPACE``, else by the free fraction), and to the emptiest nodes when
those are too few.
"""
import random
import time

from disco.master.ddfs.remote import AWAY, LOST, UP, RemoteStore
from disco.master.ddfs.volumes import NodeStore

MIN_FREE = 1024 ** 3


class Nodes:
    """The nodes of ``config()`` (a :class:`disco.master.config.ClusterConfig`) with their data
    under ``root``; ``space_aware``/``absolute_space`` as the settings of the same names;
    ``backend`` (a :class:`disco.master.backends.NodeBackend`, None: all local) says which nodes
    are remote and connected; ``grace`` is ``DISCO_NODE_GRACE`` (seconds); ``headers`` go with
    the write requests to remote nodes."""

    def __init__(self, root, config, space_aware=False, absolute_space=False, backend=None, grace=600,
                 headers=None):
        self.root = root
        self.config = config
        self.space_aware = space_aware
        self.absolute_space = absolute_space
        self.backend = backend
        self.grace = grace
        self.remote = backend is not None and backend.remote_data
        self.headers = dict(headers or {}, **(backend.data_headers() if self.remote else {}))
        self._stores = {}
        self._up = set()                # remote nodes connected at the last change
        self._away = {}                 # remote node -> when it left (time.monotonic())
        self._started = time.monotonic()

    def store(self, node):
        """The store of ``node`` (a NodeStore or a RemoteStore)."""
        if node not in self._stores:
            if self.remote:
                self._stores[node] = RemoteStore(
                    node, lambda: self.presence(node), lambda: self.backend.data_server(node),
                    lambda: self.backend.disk_usage(node), self.headers)
            else:
                self._stores[node] = NodeStore(self.root, node)
        return self._stores[node]

    def presence(self, node):
        """UP, AWAY or LOST (see the module doc); a remote node never seen is away since the
        master started."""
        if not self.remote or self.backend.connected(node):
            return UP
        since = self._away.get(node, self._started)
        return AWAY if time.monotonic() - since < self.grace else LOST

    def readable(self, node):
        return self.presence(node) == UP

    def changed(self):
        """The backend's nodes changed: note when remote nodes left; the ones that (re)joined."""
        if not self.remote:
            return []
        now = time.monotonic()
        up = {n for n in self.all() if self.backend.connected(n)}
        for node in self._up - up:
            self._away[node] = now
        for node in up - self._up:
            self._away.pop(node, None)
        joined, self._up = sorted(up - self._up), up
        return joined

    def all(self):
        return list(self.config().nodes)

    def gc_blacklist(self):
        return list(self.config().gc_blacklist)

    def writable(self):
        config = self.config()
        barred = set(config.blacklist) | set(config.gc_blacklist)
        return [n for n in config.nodes if n not in barred and self.readable(n)]

    def choose(self, k, candidates):
        """At most ``k`` distinct nodes of ``candidates`` for new replicas (see the module doc)."""
        if k <= 0:
            return []
        free = {n: self.store(n).free_space() for n in candidates}
        roomy = [n for n in candidates if free[n][0] > MIN_FREE]
        if self.space_aware:
            weights = {n: f[0] if self.absolute_space else f[0] / max(f[1], 1) for n, f in free.items()}
            chosen = _weighted_sample(roomy, weights, k)
        else:
            chosen = random.sample(roomy, min(k, len(roomy)))
        rest = sorted((n for n in candidates if n not in chosen), key=lambda n: -free[n][0])
        return chosen + rest[:k - len(chosen)]


def _weighted_sample(items, weights, k):
    items, chosen = list(items), []
    while items and len(chosen) < k:
        pick = random.choices(items, [max(weights[i], 1e-9) for i in items])[0]
        items.remove(pick)
        chosen.append(pick)
    return chosen

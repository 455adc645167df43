"""The DDFS nodes: which exist, which take writes, and where new replicas go (docs/ddfs.md).

Every configured node holds DDFS data under ``DDFS_DATA/<node>/`` and is readable. A node takes
new writes unless it is on the Disco blacklist or the GC blacklist. New replicas go to nodes with
more than 1 GiB free, chosen at random (weighted by free space when ``DDFS_SPACE_AWARE``: by free
bytes with ``DDFS_ABSOLUTE_SPACE``, else by the free fraction), and to the emptiest nodes when
those are too few.
"""
import random

from disco.master.ddfs.volumes import NodeStore

MIN_FREE = 1024 ** 3


class Nodes:
    """The nodes of ``config()`` (a :class:`disco.master.config.ClusterConfig`) with their data
    under ``root``; ``space_aware``/``absolute_space`` as the settings of the same names."""

    def __init__(self, root, config, space_aware=False, absolute_space=False):
        self.root = root
        self.config = config
        self.space_aware = space_aware
        self.absolute_space = absolute_space
        self._stores = {}

    def store(self, node):
        """The :class:`NodeStore` of ``node``."""
        if node not in self._stores:
            self._stores[node] = NodeStore(self.root, node)
        return self._stores[node]

    def all(self):
        return list(self.config().nodes)

    def gc_blacklist(self):
        return list(self.config().gc_blacklist)

    def writable(self):
        config = self.config()
        barred = set(config.blacklist) | set(config.gc_blacklist)
        return [n for n in config.nodes if n not in barred]

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

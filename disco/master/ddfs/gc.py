"""DDFS garbage collection and re-replication (``ctrl/gc_*`` of docs/http-api.md#ddfs).

The first run starts ``initial_wait`` seconds after the master starts (``DDFS_GC_INITIAL_WAIT``
minutes, default 5), then one runs every day; ``start()`` (``gc_start``) runs one at once unless
the initial wait is still on. A run goes through these phases (``status``):

* ``build_map``: list every tag version, blob replica and partial file (``gcmap.Snapshot``);
* ``gc``: delete what nobody needs (``gcmap.collect``), drop ``+deleted`` entries older than 30
  days, and bring the tag store's view of the nodes up to date (a removed data directory is
  noticed here);
* ``rr_blobs``: give every referenced blob ``DDFS_BLOB_REPLICAS`` replicas on nodes that are not
  GC-blacklisted, copying from a surviving readable replica (a remote node fetches it from its
  peer: the data never passes through the master); replicas on GC-blacklisted nodes do not count,
  so their data moves off them; replicas on a node that is away count until its grace period
  ends (``Nodes``), then the node's data counts as lost;
* ``rr_tags``: write a new version of every tag whose URLs changed (replicas added, lost or moved
  off GC-blacklisted nodes) or that has fewer than ``DDFS_TAG_REPLICAS`` replicas on nodes that
  are not GC-blacklisted.

``stats`` is ``""`` before the first run, then ``{"timestamp", "stats": {"Tags kept": [files,
bytes], "Tags deleted", "Blobs kept", "Blobs deleted"}}``. ``safe_blacklist`` lists the
GC-blacklisted nodes whose data the last run found fully replicated elsewhere.
"""
import asyncio
import logging
import time

from disco.master.ddfs.errors import DDFSError
from disco.master.ddfs.gcmap import Snapshot, blob_object, claimed, collect, referenced
from disco.master.ddfs.remote import AWAY
from disco.master.names import timestamp

INTERVAL = 24 * 3600
DELETED_AGE = 30 * 24 * 3600
WAITING = "GC is waiting for the cluster to stabilize after startup."
PHASES = {
    "start": "GC is starting.",
    "build_map": "GC is building the map of tags and blobs.",
    "map_wait": "GC is waiting for the nodes to report their data.",
    "gc": "GC is deleting orphaned data.",
    "rr_blobs": "GC is re-replicating blobs.",
    "rr_blobs_wait": "GC is waiting for blob re-replication to finish.",
    "rr_tags": "GC is updating tags.",
}
log = logging.getLogger("disco.master")


class GC:
    """The collector of ``nodes`` and ``tags`` (a :class:`~disco.master.ddfs.tagstore.TagStore`);
    ``clock()`` gives timestamps; ``blob_replicas`` is ``DDFS_BLOB_REPLICAS``; ``paranoid``
    renames instead of deleting (``DDFS_PARANOID_DELETE``)."""

    def __init__(self, nodes, tags, clock, blob_replicas, initial_wait, paranoid=False):
        self.nodes, self.tags, self.clock = nodes, tags, clock
        self.blob_replicas = max(blob_replicas, 1)
        self.initial_wait = initial_wait
        self.paranoid = paranoid
        self.status = WAITING
        self.stats = ""
        self._safe = []
        self._run = self._timer = None

    @property
    def safe_blacklist(self):
        return [n for n in self._safe if n in self.nodes.gc_blacklist()]

    def schedule(self):
        """Start the timer of the periodic runs (in the running event loop)."""
        self._timer = asyncio.ensure_future(self._periodic())

    async def _periodic(self):
        await asyncio.sleep(self.initial_wait)
        self.status = ""
        while True:
            self.start()
            await asyncio.wait([self._run])
            await asyncio.sleep(INTERVAL)

    def start(self):
        """Start a run unless one is running; the ``gc_start`` reply."""
        if self.status == WAITING:
            return "GC is waiting"
        if self._run is None or self._run.done():
            self._phase("start")
            self._run = asyncio.ensure_future(self.run())
        return "GC has started"

    async def stop(self):
        for task in (self._timer, self._run):
            if task is not None:
                task.cancel()
                await asyncio.wait([task])

    def _phase(self, phase):
        self.status = PHASES[phase]

    async def run(self):
        """One collection (see the module doc)."""
        try:
            now = time.time()
            self._phase("build_map")
            snapshot = await asyncio.to_thread(Snapshot.build, self.nodes)
            self._phase("map_wait")
            live = {name: tag for name in self.tags.live() if (tag := self.tags.read(name))}
            live_blobs = referenced(live.values())
            self._phase("gc")
            stats, found = await asyncio.to_thread(collect, snapshot, live_blobs, set(self.tags.deleted),
                                                   now, self.paranoid)
            await self.tags.purge_deleted(now - DELETED_AGE)
            self.tags.merge(found)
            self._phase("rr_blobs")
            away = {n for n in self.nodes.all() if self.nodes.presence(n) == AWAY}
            locations = await asyncio.to_thread(self._replicate_blobs, snapshot, live_blobs,
                                                claimed(live.values(), away) if away else {})
            self._phase("rr_blobs_wait")
            self._phase("rr_tags")
            await self._replicate_tags(live, locations)
            self._safe = self._safe_nodes(locations)
            self.stats = {"timestamp": timestamp(), "stats": stats}
        except Exception:
            log.exception("DDFS GC failed")
        finally:
            self.status = ""

    def _replicate_blobs(self, snapshot, live_blobs, claimed):
        """``{object: {node: url}}`` of every referenced blob that has a replica, after copying
        those short of replicas on nodes that are not GC-blacklisted. ``claimed``: the replicas
        (``{object: {node: url}}``) that tags name on nodes that are away, which count too."""
        barred, configured = set(self.nodes.gc_blacklist()), set(self.nodes.all())
        writable = self.nodes.writable()
        locations = {}
        for obj in live_blobs:
            listed = snapshot.blobs.get(obj, {})
            have = [n for n in listed if n in configured]
            have += [n for n in claimed.get(obj, {}) if n in configured and n not in listed]
            if not have:
                continue
            good = [n for n in have if n not in barred]
            readable = [n for n in good + have if n in listed and self.nodes.readable(n)]
            others = [n for n in writable if n not in have]
            wanted = self.blob_replicas - len(good)
            if readable and wanted > 0:
                source = self.nodes.store(readable[0]).source(snapshot.blobs[obj][readable[0]].path)
                for node in self.nodes.choose(wanted, others):
                    try:
                        self.nodes.store(node).copy_in("blob", obj, source, self.clock())
                        have.append(node)
                    except OSError as e:
                        log.warning("DDFS GC: cannot copy %s to %s: %s", obj, node, e)
            locations[obj] = {n: url for n in have
                              if (url := self._blob_url(n, obj) or claimed.get(obj, {}).get(n))}
        return locations

    def _blob_url(self, node, obj):
        store = self.nodes.store(node)
        vol = store.locate("blob", obj)
        return store.url("blob", vol, obj) if vol else None

    async def _replicate_tags(self, live, locations):
        barred = set(self.nodes.gc_blacklist())
        want = min(self.tags.replicas, len(self.nodes.writable()))

        def fix(tag):
            tag["urls"] = relocated(tag["urls"], locations, barred)

        for name, tag in live.items():
            holders = self.tags.locations.get(name, {})
            good = [n for n in holders if n not in barred]
            if relocated(tag["urls"], locations, barred) != tag["urls"] or len(good) < want \
                    or len(good) < len(holders):
                try:
                    await self.tags.rewrite(name, fix)
                except DDFSError as e:
                    log.warning("DDFS GC: cannot rewrite tag %s: %s", name, e)

    def _safe_nodes(self, locations):
        barred = set(self.nodes.gc_blacklist())
        writable = len(self.nodes.writable())
        blobs_wanted = min(self.blob_replicas, writable)
        tags_wanted = min(self.tags.replicas, writable)

        def elsewhere(nodes, wanted):
            return len([n for n in nodes if n not in barred]) >= wanted

        return [node for node in barred
                if all(elsewhere(locs, blobs_wanted) for locs in locations.values() if node in locs)
                and all(elsewhere(locs, tags_wanted) for locs in self.tags.locations.values()
                        if node in locs)]


def relocated(urls, locations, barred):
    """``urls`` with each blob's replica set replaced by where the blob is now (``locations``):
    replicas on nodes outside ``barred`` (all of them when there are none), the listed ones
    first. Sets of other URLs, or of blobs without any replica, are kept."""
    result = []
    for reps in urls:
        where = locations.get(blob_object(reps[0]))
        if not where:
            result.append(reps)
            continue
        available = [u for n, u in where.items() if n not in barred] or list(where.values())
        result.append([u for u in reps if u in available] + [u for u in available if u not in reps])
    return result

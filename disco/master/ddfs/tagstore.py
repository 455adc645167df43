"""Tags across the nodes (docs/http-api.md#ddfs, docs/ddfs.md): versions, replicas, deletion, delayed updates.

Every change writes a new version ``<tag>$<TS>`` to ``DDFS_TAG_REPLICAS`` writable nodes (those
already holding the tag first); it fails, changing nothing, when fewer than
``DDFS_TAG_MIN_REPLICAS`` nodes take writes or fewer replicas could be written. Operations on one
tag are serialised by a per-tag lock. ``locations`` remembers the newest version on each node
(scanned at start and when a remote node joins, kept up to date by writes and by GC); a read
takes the newest version whose file is still there, skipping nodes that are away.

Deleting a tag records ``tag://<name>`` in the special tag ``+deleted``; a deleted tag reads as
missing and is listed nowhere, and creating it again removes it from ``+deleted`` (the new tag
starts empty). Delayed updates (``POST ...?delayed=1``) are buffered for ``delay`` seconds and
committed together in one version; each request is answered once that version is written.
"""
import asyncio
import contextlib
import json
import time

from disco.master.ddfs.errors import DDFSError, Forbidden, tag_not_found
from disco.master.ddfs.names import DELETED, object_age, split_object
from disco.master.ddfs.remote import AWAY, UP
from disco.master.ddfs.tagdata import (add_urls, check_read, check_write, del_attr, get_attr,
                                       new_tag, public, set_attr)
from disco.master.names import timestamp

DELAY = 0.5


class TagStore:
    """The tags stored on ``nodes`` (:class:`disco.master.ddfs.nodes.Nodes`); ``clock()`` gives
    version timestamps; ``replicas`` / ``min_replicas`` are the tag replica settings."""

    def __init__(self, nodes, clock, replicas, min_replicas, delay=DELAY):
        self.nodes = nodes
        self.clock = clock
        self.replicas = max(replicas, 1)
        self.min_replicas = max(min_replicas, 1)
        self.delay = delay
        self.locations = {}     # tag -> {node: newest version (object name) on that node}
        self.deleted = {}       # tag -> when it was deleted (epoch seconds)
        self._locks = {}        # tag -> (lock, number of holders and waiters)
        self._batches = {}
        self._flushes = set()

    # -- state --------------------------------------------------------------------------------

    def load(self):
        """Scan every node's tag versions; read ``+deleted``."""
        self.locations = {}
        self.merge(self.scan())
        tag = self.read(DELETED)
        now = time.time()
        self.deleted = {url[len("tag://"):]: now for reps in (tag or {}).get("urls", ()) for url in reps[:1]}

    def scan(self):
        """``{tag: {node: newest version}}`` of the files on the nodes."""
        found = {}
        for node in self.nodes.all():
            for obj, _path, _size, _mtime in self.nodes.store(node).scan("tag"):
                if not obj.startswith("!"):
                    _remember(found, split_object(obj)[0], node, obj)
        return found

    def merge(self, found):
        """Forget versions whose files are gone, then add ``found`` (``{tag: {node: version}}``)."""
        for name, locs in list(self.locations.items()):
            for node, obj in list(locs.items()):
                if self.nodes.store(node).locate("tag", obj) is None:
                    del locs[node]
            if not locs:
                del self.locations[name]
        for name, locs in found.items():
            for node, obj in locs.items():
                _remember(self.locations, name, node, obj)

    def learn(self, found):
        """Add the versions ``found`` (``{tag: {node: version}}``) that a node that joined holds;
        names it lists in ``+deleted`` become deleted."""
        for name, locs in found.items():
            for node, obj in locs.items():
                _remember(self.locations, name, node, obj)
        if DELETED in found:
            now = time.time()
            for reps in (self.read(DELETED) or {}).get("urls", ()):
                for url in reps[:1]:
                    self.deleted.setdefault(url[len("tag://"):], now)

    def live(self):
        """Names of the tags that exist (not deleted), ``+deleted`` included."""
        return [n for n in self.locations if n not in self.deleted]

    def list(self, prefix=""):
        return sorted(n for n in self.live() if n.startswith(prefix) and n != DELETED)

    def hosted(self, node):
        """Tags with a replica on ``node``."""
        return sorted(n for n in self.live() if node in self.locations[n])

    def read(self, name):
        """The newest readable version of a live tag, or None. A version on a node that is away
        is skipped (still counted: see ``Nodes``); one that cannot be read is forgotten."""
        if name in self.deleted:
            return None
        locs = self.locations.get(name, {})
        for node, obj in sorted(locs.items(), key=lambda item: object_age(item[1]), reverse=True):
            presence = self.nodes.presence(node)
            if presence == AWAY:
                continue
            data = self.nodes.store(node).read_tag(obj) if presence == UP else None
            if data is not None:
                try:
                    return json.loads(data)
                except ValueError:
                    pass
            del locs[node]
        return None

    def urls(self, name):
        """The URLs of the current version's replicas."""
        urls = []
        for node, obj in self.locations.get(name, {}).items():
            store = self.nodes.store(node)
            vol = store.locate("tag", obj)
            if vol:
                urls.append(store.url("tag", vol, obj))
        return urls

    @contextlib.asynccontextmanager
    async def _lock(self, name):
        """Hold the lock of tag ``name``; it is dropped when nobody holds or waits for it."""
        lock, users = self._locks.get(name, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            users = self._locks[name][1] - 1
            if users:
                self._locks[name] = (lock, users)
            else:
                del self._locks[name]

    # -- reads --------------------------------------------------------------------------------

    def get(self, name, token=None):
        """The tag object without tokens; NotFound / Unauthorized."""
        return public(self._readable(name, token))

    def get_attr(self, name, attr, token=None):
        return get_attr(self._readable(name, token), attr, token)

    def _readable(self, name, token):
        tag = self.read(name)
        if tag is None:
            raise tag_not_found()
        check_read(tag, token)
        return tag

    # -- changes ------------------------------------------------------------------------------

    async def post(self, name, urls, token=None, update=False, delayed=False):
        """Put the replica sets ``urls`` in front (see ``tagdata.add_urls``); the tag's URLs."""
        def change(tag):
            return add_urls(tag, urls, update)
        if not delayed:
            return await self._change(name, token, change)
        loop = asyncio.get_running_loop()
        if name not in self._batches:
            self._batches[name] = []
            loop.call_later(self.delay, self._flush, name)
        future = loop.create_future()
        self._batches[name].append((token, change, future))
        return _unwrap(await future)

    async def put_urls(self, name, urls, token=None):
        return await self.set_attr(name, "ddfs:urls", urls, token)

    async def set_attr(self, name, attr, value, token=None):
        return await self._change(name, token, lambda tag: set_attr(tag, attr, value))

    async def del_attr(self, name, attr, token=None):
        return await self._change(name, token, lambda tag: del_attr(tag, attr), create=False)

    async def delete(self, name, token=None):
        """Delete the tag (fine if it does not exist)."""
        async with self._lock(name):
            tag = self.read(name)
            if tag is not None:
                check_write(tag, token)
            if name not in self.deleted:
                self._check_nodes()
                await self._modify(DELETED, [(None, lambda t: add_urls(t, [["tag://" + name]], True))])
                self.deleted[name] = time.time()

    async def rewrite(self, name, fix):
        """Write a new version of the live tag ``name`` changed by ``fix(tag)`` (no token
        check: for GC). False if the tag is gone."""
        async with self._lock(name):
            tag = self.read(name)
            if tag is None:
                return False
            fix(tag)
            self._check_nodes()
            await self._write(name, tag)
            return True

    async def purge_deleted(self, before):
        """Drop entries deleted before ``before`` (epoch seconds) from ``+deleted``."""
        old = {"tag://" + n for n, when in self.deleted.items() if when < before}
        if old:
            await self._modify(DELETED, [(None, lambda t: _drop(t, old))], create=False)
            for url in old:
                self.deleted.pop(url[len("tag://"):], None)

    async def _change(self, name, token, change, create=True):
        return _unwrap((await self._modify(name, [(token, change)], create))[0])

    async def _modify(self, name, requests, create=True):
        """Apply ``requests`` ``[(token, change)]`` in order in one new version (``change(tag)``
        returns True when it changed the tag); a missing tag is created with the first request's
        token unless ``create`` is false (NotFound). Per request: the tag's URLs or its error."""
        async with self._lock(name):
            self._check_nodes()
            tag = self.read(name)
            created = tag is None
            if created:
                if not create:
                    raise tag_not_found()
                tag = new_tag(requests[0][0])
            outcomes, changed = [], created
            for token, change in requests:
                try:
                    check_write(tag, token)
                    changed = change(tag) or changed
                    outcomes.append(None)
                except DDFSError as e:
                    outcomes.append(e)
            if None not in outcomes:
                return outcomes
            if changed:
                if created and name in self.deleted:
                    await self._modify(DELETED, [(None, lambda t: _drop(t, {"tag://" + name}))], False)
                    del self.deleted[name]
                urls = await self._write(name, tag)
            else:
                urls = self.urls(name)
            return [urls if o is None else o for o in outcomes]

    def _flush(self, name):
        batch = self._batches.pop(name)
        task = asyncio.ensure_future(self._modify(name, [(token, change) for token, change, _ in batch]))
        self._flushes.add(task)

        def answer(task):
            self._flushes.discard(task)
            try:
                outcomes = task.result()
            except BaseException as e:      # the commit failed (or was cancelled): for everyone
                outcomes = [e] * len(batch)
            for (_token, _change, future), outcome in zip(batch, outcomes):
                if not future.done():
                    future.set_result(outcome)
        task.add_done_callback(answer)

    def _check_nodes(self):
        writable = len(self.nodes.writable())
        if writable < self.min_replicas:
            raise Forbidden("Not enough nodes for tag replicas: DDFS_TAG_MIN_REPLICAS is %d but %d "
                            "node(s) take writes." % (self.min_replicas, writable))

    async def _write(self, name, tag):
        """Write ``tag`` as a new version of ``name``; its replica URLs."""
        writable = self.nodes.writable()
        k = max(min(self.replicas, len(writable)), self.min_replicas)
        holders = [n for n in self.locations.get(name, {}) if n in writable]
        targets = (holders + self.nodes.choose(k, [n for n in writable if n not in holders]))[:k]
        ts = self.clock()
        obj = "%s$%s" % (name, ts)
        tag.update({"id": obj, "last-modified": timestamp()})
        data = json.dumps(tag).encode("utf-8")
        results = await asyncio.gather(*(asyncio.to_thread(self.nodes.store(n).write, "tag", obj, data, ts)
                                         for n in targets), return_exceptions=True)
        written = {n: url for n, url in zip(targets, results) if isinstance(url, str)}
        if len(written) < self.min_replicas:
            await asyncio.to_thread(self._unwrite, written, obj)
            errors = "; ".join(str(e) for e in results if isinstance(e, BaseException))
            raise DDFSError("Tag %s: %d of %d replicas written, DDFS_TAG_MIN_REPLICAS is %d (%s)"
                            % (name, len(written), len(targets), self.min_replicas, errors))
        self.locations[name] = dict.fromkeys(written, obj)
        return list(written.values())

    def _unwrite(self, nodes, obj):
        for node in nodes:
            self.nodes.store(node).delete("tag", obj)


def _remember(locations, name, node, obj):
    """Record ``obj`` as ``name``'s version on ``node`` if it is newer than the one known."""
    locs = locations.setdefault(name, {})
    if node not in locs or object_age(obj) > object_age(locs[node]):
        locs[node] = obj


def _drop(tag, urls):
    """Remove the replica sets whose first URL is in ``urls``; True if any was removed."""
    kept = [reps for reps in tag["urls"] if reps[0] not in urls]
    changed, tag["urls"] = len(kept) != len(tag["urls"]), kept
    return changed


def _unwrap(outcome):
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome

"""What DDFS garbage collection finds and deletes (docs/ddfs.md), as plain functions over the
nodes' files (deleted through their stores: local or remote).

A :class:`Snapshot` lists every tag version, blob replica and partial file on the nodes.
:func:`collect` deletes from it what nobody needs: partial files older than a day, tag versions
older than their tag's newest one (every version of a deleted tag), and blobs no live tag
references that are older than five days; it counts what it kept and deleted.
"""
import collections
import os
from dataclasses import dataclass, field

from disco.master.ddfs.names import object_age, split_object, valid_object
from disco.master.ddfs.volumes import PARTIAL
from disco.master.outputs import url_host

PARTIAL_AGE = 24 * 3600
ORPHAN_AGE = 5 * 24 * 3600
STAT_KEYS = ("Tags kept", "Tags deleted", "Blobs kept", "Blobs deleted")


@dataclass
class File:
    """A file of ``store`` (the node's NodeStore or RemoteStore) at ``path`` (as its ``scan``
    gives it)."""
    node: str
    path: str
    size: int
    mtime: float
    store: object = None

    def remove(self, paranoid=False):
        self.store.remove_file(self.path, paranoid)


@dataclass
class Snapshot:
    """``tags``: ``{tag: [File of each version]}``, ``blobs``: ``{object: {node: File}}``,
    ``partials``: ``[File]``."""

    tags: dict = field(default_factory=lambda: collections.defaultdict(list))
    blobs: dict = field(default_factory=lambda: collections.defaultdict(dict))
    partials: list = field(default_factory=list)

    @classmethod
    def build(cls, nodes):
        """The snapshot of every configured node of ``nodes``."""
        snapshot = cls()
        for node in nodes.all():
            store = nodes.store(node)
            for kind in ("tag", "blob"):
                for obj, path, size, mtime in store.scan(kind):
                    entry = File(node, path, size, mtime, store)
                    if obj.startswith(PARTIAL):
                        snapshot.partials.append(entry)
                    elif obj.startswith("!"):
                        continue
                    elif kind == "tag":
                        snapshot.tags[split_object(obj)[0]].append(entry)
                    else:
                        snapshot.blobs[obj][node] = entry
        return snapshot


def blob_object(url):
    """The object name of a DDFS blob URL (``.../blob/HH/<name>$<TS>``), else None."""
    parts = url.split("/")
    if len(parts) >= 3 and parts[-3] == "blob" and valid_object(parts[-1]):
        return parts[-1]
    return None


def referenced(tags):
    """The blob objects that the tag objects ``tags`` reference."""
    return {obj for tag in tags for reps in tag["urls"] for obj in map(blob_object, reps) if obj}


def claimed(tags, nodes):
    """``{object: {node: url}}`` of the blob replicas on ``nodes`` that the tag objects ``tags``
    name (what the master knows of nodes it cannot list: those that are away)."""
    found = collections.defaultdict(dict)
    for tag in tags:
        for reps in tag["urls"]:
            for url in reps:
                obj, host = blob_object(url), url_host(url)
                if obj and host in nodes:
                    found[obj][host] = url
    return found


def collect(snapshot, live_blobs, deleted_tags, now, paranoid=False):
    """Delete the unneeded files of ``snapshot`` (see the module doc); ``live_blobs`` are the
    referenced blob objects, ``deleted_tags`` the names in ``+deleted``. Returns ``(stats,
    found)``: ``{key: [files, bytes]}`` and ``{tag: {node: version}}`` of the kept versions."""
    stats = {key: [0, 0] for key in STAT_KEYS}

    def count(key, entry):
        stats[key][0] += 1
        stats[key][1] += entry.size

    for entry in snapshot.partials:
        if now - entry.mtime > PARTIAL_AGE:
            entry.remove(paranoid)
    found = {}
    for name, versions in snapshot.tags.items():
        newest = max(object_age(os.path.basename(v.path)) for v in versions)
        for entry in versions:
            obj = os.path.basename(entry.path)
            if name in deleted_tags or object_age(obj) != newest:
                entry.remove(paranoid)
                count("Tags deleted", entry)
            else:
                found.setdefault(name, {})[entry.node] = obj
                count("Tags kept", entry)
    for obj, replicas in snapshot.blobs.items():
        for entry in replicas.values():
            if obj in live_blobs or now - entry.mtime <= ORPHAN_AGE:
                count("Blobs kept", entry)
            else:
                entry.remove(paranoid)
                count("Blobs deleted", entry)
    return stats, found

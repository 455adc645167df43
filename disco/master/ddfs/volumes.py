"""The DDFS storage of one node (docs/formats/urls.md#layout): volumes ``DDFS_DATA/<node>/vol*``.

Blobs live at ``<vol>/blob/HH/<name>$<TS>``, tag versions at ``<vol>/tag/HH/<tag>$<TS>``; ``vol0``
is created when the node has no ``vol*`` directory. Their URLs are
``disco://<node>/ddfs/<node>/<vol>/<blob|tag>/HH/<object>``: by the locality rule
(docs/ARCHITECTURE.md) that is the file ``DDFS_DATA/<node>/<vol>/...``, and the master serves it at
``/ddfs/<node>/<vol>/...``.

Every file is written under a ``!partial`` name (blobs ``!partial-<TS>.<object>``, tags
``!partial.<object>``), fsynced, made read-only (0400) and then linked to its final name, so a
reader sees a complete file or none, and an existing object is never overwritten.

A node's store is this module's :class:`NodeStore` when its files are on this machine (the
``local`` backend; also a ``disco node`` serving its own volumes) and a
:class:`disco.master.ddfs.remote.RemoteStore` when they are on another machine. Both answer the
master's questions the same way: ``locate``, ``url``, ``read_tag``, ``put_url``, ``free_space``
from memory or the local disk (never blocking on the network), and ``write``, ``copy_in``,
``scan``, ``remove_file``, ``delete`` (run in threads).
"""
import asyncio
import os
import shutil

from disco.master.names import hexhash
from disco.master.ddfs.names import is_object

KINDS = ("blob", "tag")
WRITE_BUFFER = 1 << 20
PARTIAL = "!partial"
TRASH = "!trash."


class NodeStore:
    """The volumes of ``node`` under ``root`` (``DDFS_DATA``)."""

    remote = False

    def __init__(self, root, node):
        self.node = node
        self.root = os.path.join(root, node)

    def volumes(self):
        """The node's volume names (``vol*``), creating ``vol0`` when there is none."""
        try:
            vols = sorted(v for v in os.listdir(self.root) if v.startswith("vol"))
        except FileNotFoundError:
            vols = []
        if not vols:
            os.makedirs(os.path.join(self.root, "vol0"), exist_ok=True)
            vols = ["vol0"]
        return vols

    def emptiest_volume(self):
        """The volume with the most free space (new objects go there)."""
        return max(self.volumes(), key=lambda v: shutil.disk_usage(os.path.join(self.root, v)).free)

    def free_space(self):
        """``(free, total)`` bytes of the disk holding the node's data."""
        usage = shutil.disk_usage(os.path.join(self.root, self.volumes()[0]))
        return usage.free, usage.total

    def path(self, kind, vol, obj):
        return os.path.join(self.root, vol, kind, hexhash(obj), obj)

    def url(self, kind, vol, obj):
        return object_url(self.node, kind, vol, obj)

    def put_url(self, base, obj):
        """Where a client PUTs blob ``obj`` for this node: the master at ``base`` (it writes here)."""
        return "%s/ddfs/put/%s/%s" % (base, self.node, obj)

    def find(self, kind, obj):
        """``(vol, path)`` of the object in some volume, or None."""
        for vol in self.volumes():
            path = self.path(kind, vol, obj)
            if os.path.isfile(path):
                return vol, path
        return None

    def locate(self, kind, obj):
        """The volume holding the object, or None."""
        found = self.find(kind, obj)
        return found[0] if found else None

    def read_tag(self, obj):
        """The bytes of tag version ``obj``, or None when it cannot be read."""
        found = self.find("tag", obj)
        if found:
            try:
                with open(found[1], "rb") as f:
                    return f.read()
            except OSError:
                pass
        return None

    def delete(self, kind, obj):
        """Delete the object (fine if it does not exist)."""
        found = self.find(kind, obj)
        if found:
            remove(found[1])

    def remove_file(self, path, paranoid=False):
        """Delete the file ``path`` of :meth:`scan` (see :func:`remove`)."""
        remove(path, paranoid)

    def source(self, path):
        """How another store of this machine reads the file ``path`` of :meth:`scan`."""
        return path

    def partial(self, kind, obj, ts):
        """``(vol, partial path, final path)`` for writing ``obj`` in the emptiest volume."""
        vol = self.emptiest_volume()
        final = self.path(kind, vol, obj)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        name = "%s-%s.%s" % (PARTIAL, ts, obj) if kind == "blob" else "%s.%s" % (PARTIAL, obj)
        return vol, os.path.join(os.path.dirname(final), name), final

    def write(self, kind, obj, data, ts):
        """Write ``data`` (bytes) as ``obj``; its URL. FileExistsError if the object exists."""
        vol, partial, final = self.partial(kind, obj, ts)
        try:
            with open(partial, "wb") as f:
                f.write(data)
                commit(f, partial, final)
        finally:
            remove(partial)
        return self.url(kind, vol, obj)

    def copy_in(self, kind, obj, source, ts):
        """Copy the local file ``source`` in as ``obj``; its URL (FileExistsError if it exists)."""
        vol, partial, final = self.partial(kind, obj, ts)
        try:
            with open(source, "rb") as src, open(partial, "wb") as f:
                shutil.copyfileobj(src, f, 1 << 20)
                commit(f, partial, final)
        finally:
            remove(partial)
        return self.url(kind, vol, obj)

    def scan(self, kind):
        """``(obj, path, size, mtime)`` of every file of ``kind`` on the node: objects, and
        partial or trash files (whose ``obj`` starts with ``!``)."""
        for vol in self.volumes():
            top = os.path.join(self.root, vol, kind)
            for hh in _listdir(top):
                for name in _listdir(os.path.join(top, hh)):
                    path = os.path.join(top, hh, name)
                    try:
                        st = os.stat(path)
                    except FileNotFoundError:
                        continue
                    if name.startswith("!") or is_object(name):
                        yield name, path, st.st_size, st.st_mtime


def object_url(node, kind, vol, obj):
    """The ``disco://`` URL of object ``obj`` in volume ``vol`` of ``node``."""
    return "disco://%s/ddfs/%s/%s/%s/%s/%s" % (node, node, vol, kind, hexhash(obj), obj)


async def receive(store, kind, obj, chunks, ts):
    """Store the upload of ``obj`` (``chunks``: async iterator of bytes) in the NodeStore
    ``store``; its URL. FileExistsError if the object exists; an upload that breaks off leaves
    nothing."""
    if await asyncio.to_thread(store.find, kind, obj):
        raise FileExistsError(obj)
    vol, partial, final = await asyncio.to_thread(store.partial, kind, obj, ts)
    f = open(partial, "wb")
    try:
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
            if len(buffer) >= WRITE_BUFFER:
                data, buffer = buffer, bytearray()
                await asyncio.to_thread(f.write, data)
        await asyncio.to_thread(_finish, f, buffer, partial, final)
    finally:
        f.close()
        remove(partial)
    return store.url(kind, vol, obj)


def _finish(f, data, partial, final):
    f.write(data)
    commit(f, partial, final)


def commit(f, partial, final):
    """Make the written file ``f`` durable and read-only, then give it its final name."""
    f.flush()
    os.fsync(f.fileno())
    os.chmod(partial, 0o400)
    os.link(partial, final)


def remove(path, paranoid=False):
    """Delete ``path`` (``paranoid``: rename it to ``!trash.<name>``); missing files are fine."""
    try:
        if paranoid:
            os.rename(path, os.path.join(os.path.dirname(path), TRASH + os.path.basename(path)))
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _listdir(path):
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []

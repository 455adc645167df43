"""Blob placement and upload (``new_blob`` and PUT in docs/http-api.md#ddfs; docs/ddfs.md).

``new_blob(prefix)`` names a new blob ``<prefix>$<TS>`` and picks ``K`` writable nodes for it
(``include`` nodes first, never ``exclude`` nodes). One process serves every local node, so the
PUT URLs it returns point at the master itself: ``<master>/ddfs/put/<node>/<prefix>$<TS>``.
``receive`` stores such an upload atomically (``volumes`` module doc) and returns the blob's
``disco://`` URL; an upload that breaks off leaves no blob.
"""
import asyncio

from disco.master.ddfs.errors import Conflict, DDFSError, Forbidden, NotFound
from disco.master.ddfs.names import blob_prefix, valid_name, valid_object
from disco.master.ddfs.volumes import commit, remove

WRITE_BUFFER = 1 << 20


class BlobStore:
    """Blobs on ``nodes``; ``clock()`` gives timestamps, ``replicas`` is ``DDFS_BLOB_REPLICAS``,
    ``base`` the master's URL (for PUT URLs)."""

    def __init__(self, nodes, clock, replicas, base):
        self.nodes = nodes
        self.clock = clock
        self.replicas = max(replicas, 1)
        self.base = base

    def new_blob(self, prefix, replicas=None, exclude=(), include=()):
        """PUT URLs for a new blob ``prefix`` on ``replicas`` (default ``DDFS_BLOB_REPLICAS``) nodes."""
        if not valid_name(prefix):
            raise Forbidden("Invalid prefix.")
        k = replicas or self.replicas
        candidates = [n for n in self.nodes.writable() if n not in exclude]
        include = list(dict.fromkeys(include))
        if any(n not in candidates for n in include):
            raise Forbidden("Requested Replica not found.")
        chosen = include + self.nodes.choose(k - len(include), [n for n in candidates if n not in include])
        if len(chosen) < k:
            raise Forbidden("Not enough nodes for replicas.")
        obj = "%s$%s" % (blob_prefix(prefix), self.clock())
        return ["%s/ddfs/put/%s/%s" % (self.base, node, obj) for node in chosen]

    async def receive(self, node, obj, chunks):
        """Store the upload of blob ``obj`` on ``node`` (``chunks``: async iterator of bytes);
        the blob's URL."""
        if node not in self.nodes.all():
            raise NotFound("Unknown host.")
        if not valid_object(obj):
            raise Forbidden("Invalid blob name.")
        store = self.nodes.store(node)
        if await asyncio.to_thread(store.find, "blob", obj):
            raise Conflict("File exists")
        vol, partial, final = await asyncio.to_thread(store.partial, "blob", obj, self.clock())
        f = open(partial, "wb")
        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= WRITE_BUFFER:
                    data, buffer = buffer, bytearray()
                    await asyncio.to_thread(f.write, data)
            await asyncio.to_thread(_finish, f, buffer, partial, final)
        except FileExistsError:
            raise Conflict("File exists") from None
        finally:
            f.close()
            remove(partial)
        return store.url("blob", vol, obj)

    async def store_file(self, path, prefix, prefer=()):
        """Copy the local file ``path`` in as a new blob ``prefix`` on up to
        ``DDFS_BLOB_REPLICAS`` writable nodes (``prefer`` nodes first); its replica URLs."""
        writable = self.nodes.writable()
        first = [n for n in prefer if n in writable][:self.replicas]
        others = [n for n in writable if n not in first]
        chosen = first + self.nodes.choose(self.replicas - len(first), others)
        if not chosen:
            raise DDFSError("No DDFS node takes writes")
        ts = self.clock()
        obj = "%s$%s" % (blob_prefix(prefix), ts)
        copies = (asyncio.to_thread(self.nodes.store(n).copy_in, "blob", obj, path, ts) for n in chosen)
        return list(await asyncio.gather(*copies))


def _finish(f, data, partial, final):
    f.write(data)
    commit(f, partial, final)

"""Blob placement and upload (``new_blob`` and PUT in docs/http-api.md#ddfs; docs/ddfs.md).

``new_blob(prefix)`` names a new blob ``<prefix>$<TS>`` and picks ``K`` writable nodes for it
(``include`` nodes first, never ``exclude`` nodes). The PUT URLs it returns are
``<server>/ddfs/put/<node>/<prefix>$<TS>``: the server is the master itself for local nodes
(one process serves them all; ``receive`` stores the upload) and the node's own data server for
remote ones (the dask backend: uploads go straight to the nodes). Either stores the upload
atomically (``volumes`` module doc) and returns the blob's ``disco://`` URL; an upload that
breaks off leaves no blob.
"""
import asyncio

from disco.master.ddfs.errors import Conflict, DDFSError, Forbidden, NotFound
from disco.master.ddfs.names import blob_prefix, valid_name, valid_object
from disco.master.ddfs.volumes import receive


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
        return [self.nodes.store(node).put_url(self.base, obj) for node in chosen]

    async def receive(self, node, obj, chunks):
        """Store the upload of blob ``obj`` on ``node`` (``chunks``: async iterator of bytes);
        the blob's URL."""
        if node not in self.nodes.all():
            raise NotFound("Unknown host.")
        if not valid_object(obj):
            raise Forbidden("Invalid blob name.")
        store = self.nodes.store(node)
        if store.remote:
            raise Forbidden("Node %s stores its own blobs: PUT them to its data server." % node)
        try:
            return await receive(store, "blob", obj, chunks, self.clock())
        except FileExistsError:
            raise Conflict("File exists") from None

    async def store_file(self, source, prefix, prefer=()):
        """Copy ``source`` in as a new blob ``prefix`` on up to ``DDFS_BLOB_REPLICAS`` writable
        nodes (``prefer`` nodes first); its replica URLs. ``source`` is what the nodes' stores
        copy from: a local file for local nodes, an ``http://`` URL for remote ones."""
        writable = self.nodes.writable()
        first = [n for n in prefer if n in writable][:self.replicas]
        others = [n for n in writable if n not in first]
        chosen = first + self.nodes.choose(self.replicas - len(first), others)
        if not chosen:
            raise DDFSError("No DDFS node takes writes")
        ts = self.clock()
        obj = "%s$%s" % (blob_prefix(prefix), ts)
        copies = (asyncio.to_thread(self.nodes.store(n).copy_in, "blob", obj, source, ts) for n in chosen)
        return list(await asyncio.gather(*copies))

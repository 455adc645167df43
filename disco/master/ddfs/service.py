"""The master's DDFS: nodes, tags, blobs and GC wired from the settings (docs/http-api.md#ddfs, docs/ddfs.md).

Settings: ``DDFS_DATA`` (node ``N`` keeps its data in ``DDFS_DATA/N/``, on the node's own disk when
the backend serves it remotely), ``DISCO_NODE_GRACE``, ``DDFS_BLOB_REPLICAS``,
``DDFS_TAG_REPLICAS``, ``DDFS_TAG_MIN_REPLICAS``, ``DDFS_SPACE_AWARE``, ``DDFS_ABSOLUTE_SPACE``,
``DDFS_PARANOID_DELETE``, ``DDFS_GC_INITIAL_WAIT`` (minutes, may be fractional; default 5).
Create it inside the running event loop (the GC timer starts at once).
"""
import asyncio
import logging

from disco.master.auth import client_headers
from disco.master.ddfs import results
from disco.master.ddfs.blobs import BlobStore
from disco.master.ddfs.errors import DDFSError
from disco.master.ddfs.gc import GC
from disco.master.ddfs.names import Clock
from disco.master.ddfs.nodes import Nodes
from disco.master.ddfs.tagstore import TagStore

DEFAULT_GC_INITIAL_WAIT = 5     # minutes
OOB_TAG = "disco:job:oob:%s"
log = logging.getLogger("disco.master")


class DDFSMaster:
    """DDFS of a master at ``url`` whose cluster config is ``config()``, per ``settings``; its
    nodes are served by ``backend`` (None: all on this machine)."""

    def __init__(self, settings, url, config, backend=None):
        self.clock = Clock()
        self.nodes = Nodes(settings["DDFS_DATA"], config, settings.getbool("DDFS_SPACE_AWARE"),
                           settings.getbool("DDFS_ABSOLUTE_SPACE"), backend,
                           float(settings["DISCO_NODE_GRACE"]), client_headers(settings))
        self._refreshes = set()
        blob_replicas = int(settings["DDFS_BLOB_REPLICAS"])
        self.tags = TagStore(self.nodes, self.clock, int(settings["DDFS_TAG_REPLICAS"]),
                             int(settings["DDFS_TAG_MIN_REPLICAS"]))
        self.blobs = BlobStore(self.nodes, self.clock, blob_replicas, url)
        wait = str(settings["DDFS_GC_INITIAL_WAIT"] or "").strip()
        self.gc = GC(self.nodes, self.tags, self.clock, blob_replicas,
                     60 * float(wait or DEFAULT_GC_INITIAL_WAIT), settings.getbool("DDFS_PARANOID_DELETE"))
        self.tags.load()
        self.gc.schedule()

    def nodes_changed(self):
        """The backend's nodes changed: learn what the remote nodes that joined hold."""
        for node in self.nodes.changed():
            task = asyncio.ensure_future(self._refresh(node))
            self._refreshes.add(task)
            task.add_done_callback(self._refreshes.discard)

    async def _refresh(self, node):
        try:
            found = await asyncio.to_thread(self.nodes.store(node).refresh)
        except OSError as e:
            log.warning("DDFS: cannot list the data of node %s: %s", node, e)
            return
        self.tags.learn({name: {node: obj} for name, obj in found.items()})

    async def save_results(self, jobname, outputs, data_roots, port):
        """See :func:`disco.master.ddfs.results.save_results`."""
        return await results.save_results(self, jobname, outputs, data_roots, port)

    async def delete_oob(self, jobname):
        """Delete the job's OOB tag ``disco:job:oob:<job>`` if it exists; False if that failed."""
        try:
            if self.tags.read(OOB_TAG % jobname) is not None:
                await self.tags.delete(OOB_TAG % jobname)
        except DDFSError:
            return False
        return True

    async def stop(self):
        for task in list(self._refreshes):
            task.cancel()
        await self.gc.stop()

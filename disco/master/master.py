"""The composition root: one :class:`Master` wires settings to the registry, event logs, cluster,
scheduler, worker host, DDFS and jobs. Create it inside the running event loop, once the HTTP port is
bound (workers are told the master's URL and port)."""
import os

from disco.master.backends import LocalBackend
from disco.master.cluster import Cluster
from disco.master.config import ConfigFile
from disco.master.coordinator import Services
from disco.master.ddfs.service import DDFSMaster
from disco.master.events import EventLog
from disco.master.jobs import Jobs
from disco.master.registry import Registry
from disco.master.scheduler import Scheduler
from disco.master.warmworkers import WarmWorkers
from disco.master.workerhost import ClusterInfo, WorkerHost


class Master:
    """The master of ``settings`` (a :class:`disco.settings.DiscoSettings`) serving on ``host:port``.

    ``DISCO_RETRY_BASE`` (seconds, default 1) scales the retry back-off of failed tasks."""

    def __init__(self, settings, host, port):
        settings.ensuredirs()
        self.settings = settings
        self.url = "http://%s:%d" % (host, port)
        self.data_root = settings["DISCO_DATA"]
        self.registry = Registry(os.path.join(settings["DISCO_ROOT"], settings["DISCO_NAME"] + ".sqlite3"))
        self.events = EventLog(settings["DISCO_MASTER_ROOT"], int(settings["DISCO_MAX_EVENTS_SIZE"]))
        self.scheduler = Scheduler(settings["DISCO_SCHEDULER"])
        self.backend = make_backend(settings, self.url, port)
        # local: this machine is the one node; dask: nodes join the table as they connect
        default_table = [[settings["DISCO_LOCAL_NODE"], str(settings["DISCO_WORKERS"])]] \
            if self.backend.name == "local" else []
        self.cluster = Cluster(ConfigFile(settings["DISCO_MASTER_CONFIG"], default_table), self.registry,
                               self.scheduler, self.backend, int(settings["DISCO_MAX_FAILURE_RATE"]))
        self.ddfs = DDFSMaster(settings, self.url, lambda: self.cluster.config, self.backend)
        self.host = WorkerHost(self.backend, self.events, ClusterInfo(
            self.url, port, int(settings["DDFS_PUT_PORT"]), str(settings.get("DISCO_AUTH_TOKEN") or "")))
        services = Services(self.registry, self.events, self.scheduler, self.host, self.cluster,
                            {"disco": self.data_root, "ddfs": settings["DDFS_DATA"]}, port,
                            float(settings.get("DISCO_RETRY_BASE", 1)), self.ddfs)
        self.jobs = Jobs(settings["DISCO_MASTER_ROOT"], services, self.backend,
                         lambda: list(self.cluster.config.nodes))

    async def start(self):
        """Start the backend (a dask backend connects to or runs its Dask scheduler)."""
        await self.backend.start(self._nodes_changed)

    def _nodes_changed(self, lost=()):
        """The backend's nodes changed; the nodes in ``lost`` left with their data."""
        self.cluster.nodes_changed()
        self.ddfs.nodes_changed()
        for node in lost:
            self.jobs.node_lost(node)

    async def shutdown(self):
        """Kill the active jobs and their workers; stop DDFS GC and the backend."""
        await self.jobs.shutdown()
        await self.ddfs.stop()
        await self.backend.stop()

    def close(self):
        """Close the registry (after :meth:`shutdown` and after the HTTP server has stopped)."""
        self.registry.close()


BACKENDS = ("local", "dask")


def make_backend(settings, url, port):
    """The node backend named by ``DISCO_BACKEND`` (``local`` or ``dask``)."""
    name = settings["DISCO_BACKEND"]
    if name == "local":
        warm = WarmWorkers() if settings.getbool("DISCO_WORKER_FORKSERVER") else None
        return LocalBackend(settings["DISCO_DATA"], settings["DDFS_DATA"],
                            os.path.join(settings["DISCO_MASTER_ROOT"], "attempts"), warm)
    if name == "dask":
        try:
            from disco.master.dask_backend import DaskBackend
        except ImportError as e:
            raise ValueError("DISCO_BACKEND=dask needs Dask distributed (pip install 'disco[dask]'): %s"
                             % e) from None
        return DaskBackend(settings, url, port)
    raise ValueError("unknown DISCO_BACKEND %r (expected one of %s)" % (name, ", ".join(BACKENDS)))

"""What makes a Dask worker a Disco node: its :class:`NodeState` (name, data roots, data server,
running attempts), set up by :class:`DiscoNodePlugin` (registered by the master, so a plain
``dask worker --name NAME`` works too) or by ``disco node``; and the functions the master runs on
nodes with ``Client.run``: :func:`node_facts` and :func:`remove_job_data`.
"""
import asyncio
import importlib.metadata
import os
import shutil
import sys

from distributed import WorkerPlugin

from disco.master import auth
from disco.master.names import job_dir
from disco.master.warmworkers import WarmWorkers
from disco.node.dataserver import DataServer
from disco.settings import DiscoSettings

_NODES = {}       # node name -> NodeState (one node per process; kept across scheduler restarts)


class NodeState:
    """One node: ``name`` (the Dask worker's name), ``host`` (its address, where the data server
    listens on ``port``), data roots from the node's own settings, running attempts."""

    def __init__(self, name, host, port, settings):
        self.name, self.host, self.port = name, host, port
        self.guard = auth.from_settings(settings, lambda: (self.name, self.host))
        self.master_key = None    # the current master's key for the node's DDFS API (node_facts)
        self.disco_data = os.path.abspath(settings["DISCO_DATA"])
        self.ddfs_data = os.path.abspath(settings["DDFS_DATA"])
        self.locks = {}           # job name -> lock serialising the job home's unpacking (until unpacked)
        # forks Python workers from a warm process (disco.master.warmworkers), unless disabled
        self.warm = WarmWorkers() if settings.getbool("DISCO_WORKER_FORKSERVER") else None
        self.attempts = set()     # running attempts (disco.node.attempt.Attempt)
        self.server = None
        self.error = None

    def node_dir(self):
        return os.path.join(self.disco_data, self.name)

    def job_home(self, jobname):
        return job_dir(self.node_dir(), jobname)

    def start(self):
        for path in (self.node_dir(), os.path.join(self.ddfs_data, self.name)):
            os.makedirs(path, exist_ok=True)
        try:
            self.server = DataServer(self.host, self.port, self.disco_data, self.ddfs_data, self.guard,
                                     self.name, lambda: self.master_key)
            self.server.start()
        except OSError as e:
            self.server = None
            self.error = "cannot serve data on %s:%d: %s" % (self.host, self.port, e)

    def close(self):
        for attempt in list(self.attempts):
            attempt.kill()
        if self.server is not None:
            self.server.stop()
        if self.warm is not None:
            self.warm.close()


def prepare_node(name, host, port, settings):
    """The :class:`NodeState` of node ``name`` listening on ``host:port``, created and started
    (its data server bound) if there is none yet. ``disco node`` calls it before its Dask worker
    binds a port of its own, which could otherwise be the same number as DISCO_PORT."""
    state = _NODES.get(name)
    if state is None:
        state = _NODES[name] = NodeState(name, host, port, settings)
        state.start()
    return state


def node_state(worker, port=None, token=None):
    """The :class:`NodeState` of the Dask worker ``worker`` (created and started on first use);
    ``token``: the cluster's DISCO_AUTH_TOKEN, given by the master."""
    state = _NODES.get(str(worker.name))
    if state is None:
        settings = DiscoSettings()
        host = worker.address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
        state = prepare_node(str(worker.name), host, int(port or settings["DISCO_PORT"]), settings)
    if token:
        state.guard.token = token.encode("utf-8")
    return state


class DiscoNodePlugin(WorkerPlugin):
    """Installed on every worker of the cluster by the master: serve data on ``port``, with the
    cluster's access ``token`` (None: the node's own DISCO_AUTH_TOKEN, if any)."""

    name = "disco-node"

    def __init__(self, port, token=None):
        self.port, self.token = port, token

    def setup(self, worker):
        node_state(worker, self.port, self.token)

    def teardown(self, worker):
        """The worker is closing (a plugin registered again under this name is set up anew
        without a teardown's gap in service: the node's state is kept while the worker runs)."""
        if worker.status.name not in ("running", "paused"):
            state = _NODES.pop(str(worker.name), None)
            if state is not None:
                state.close()


def versions():
    """``(disco version, "major.minor" of Python)`` of this process."""
    return importlib.metadata.version("disco"), "%d.%d" % sys.version_info[:2]


def node_facts(dask_worker, port, master_key=None):
    """What the master needs to know of a node (run with ``Client.run`` on it); ``master_key``:
    the secret the master's DDFS requests to this node carry (``disco.node.ddfsnode``)."""
    state = node_state(dask_worker, port)
    if master_key:
        state.master_key = master_key
    usage = shutil.disk_usage(state.node_dir())
    disco, python = versions()
    return {"name": state.name, "disco": disco, "python": python, "host": state.host,
            "port": state.port, "disco_data": state.disco_data, "ddfs_data": state.ddfs_data,
            "error": state.error, "disk": [usage.free // 1024, usage.used // 1024]}


async def remove_job_data(dask_worker, jobname):
    """Delete the job's data on this node (run with ``Client.run``)."""
    state = _NODES.get(str(dask_worker.name))
    if state is not None:
        state.locks.pop(jobname, None)
        await asyncio.to_thread(shutil.rmtree, state.job_home(jobname), True)

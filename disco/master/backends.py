"""Node backends: which nodes exist and how a node runs a task attempt (one small interface).

The master never assumes that a node's disk is its own: everything that touches a node's files
goes through the backend -- starting an attempt (which unpacks the job home on the node), writing
the attempt's index file into its job home, removing a job's data, the node's disk usage -- and a
:class:`WorkerProcess` tells where the worker runs (its job home, the node's ``DISCO_DATA`` and
``DDFS_DATA``, for the TASK reply).

Two backends:

* ``local`` (:class:`LocalBackend`, the default): every node of the config table runs on this
  machine, node ``N`` keeping its data in ``DISCO_DATA/N/``; several names simulate a cluster.
* ``dask`` (:class:`disco.master.dask_backend.DaskBackend`): nodes are Dask workers on other
  machines (see ``docs/cluster.md``).
"""
import asyncio
import os
import shutil
import signal

from disco.master import jobhome
from disco.master.names import job_dir
from disco.master.pgroups import GroupJournal
from disco.master.workerenv import worker_env


class NodeLost(Exception):
    """The node went away (or could not be reached) while starting or running an attempt: a
    recoverable failure of the attempt, retried elsewhere."""


class WorkerProcess:
    """A running worker, as the protocol host sees it: ``stdin`` (``write``/``drain``), ``output``
    (a StreamReader of its stderr with stdout merged in), ``pid``, ``lost``, ``home`` (its job home on the
    node), ``disco_data``/``ddfs_data`` (the node's data roots); ``wait()`` returns its exit code,
    ``kill()`` kills its process group, ``write_file(relpath, text)`` writes a file of its job home
    atomically (never visible half written)."""

    pid = None
    home = disco_data = ddfs_data = ""
    lost = None      # why the connection to the worker was lost (its node went away), else None

    async def wait(self):
        raise NotImplementedError

    def kill(self):
        raise NotImplementedError

    async def write_file(self, relpath, text):
        raise NotImplementedError


class NodeBackend:
    """The interface every backend implements."""

    name = ""
    remote_data = False     # True: each node keeps its DDFS data on its own disk (data_server)

    async def start(self, on_change):
        """Start serving nodes; call ``on_change(lost)`` whenever the set of connected nodes
        changes (``lost``: the nodes that left)."""

    async def stop(self):
        """End every attempt and disconnect (the master is stopping)."""

    def connected(self, node):
        """True when the backend can run tasks on ``node`` now."""
        raise NotImplementedError

    def nodes(self):
        """``{node: slots}`` of the nodes that joined by themselves (added to the config table)."""
        return {}

    def refused(self):
        """``{node: slots}`` of the nodes that tried to join and were refused."""
        return {}

    def status(self, node):
        """Extra nodeinfo fields of ``node`` (e.g. why it was refused)."""
        return {}

    async def start_attempt(self, node, job, settings):
        """Unpack ``job`` (a :class:`disco.master.model.JobRun`) on ``node`` once and start its
        worker there (environment: :func:`~disco.master.workerenv.worker_env` of the job's
        ``jobenvs`` and the master's ``settings`` plus the node's data roots, computed on the
        node) in its own process group; return a
        :class:`WorkerProcess`. Raises :class:`disco.master.jobhome.JobHomeError` (bad job home)
        or OSError (the worker cannot be started)."""
        raise NotImplementedError

    async def remove_job_data(self, node, jobname):
        """Delete the job's data (job home, outputs) on ``node``."""
        raise NotImplementedError

    def routes(self):
        """aiohttp routes the backend serves on the master's HTTP port (remote nodes' relays)."""
        return []

    def disk_usage(self, node):
        """``(free KiB, used KiB)`` of the node's data disk (last known value for remote nodes)."""
        raise NotImplementedError

    def data_server(self, node):
        """``http://host:port`` of the data server of a connected node that keeps its own DDFS
        data (``remote_data``), else None."""
        return None

    def data_headers(self):
        """Headers that the master's DDFS requests to the nodes' data servers carry."""
        return {}


class LocalProcess(WorkerProcess):
    """An executed worker (an asyncio subprocess); ``forget``, when set, is called once its
    process group has been killed (the backend stops remembering it)."""

    forget = None

    def __init__(self, proc, home, disco_data, ddfs_data):
        self.proc = proc
        self.pid = proc.pid
        self.stdin = proc.stdin
        self.output = proc.stdout
        self.home, self.disco_data, self.ddfs_data = home, disco_data, ddfs_data

    async def wait(self):
        return await self.proc.wait()

    def kill(self):
        """SIGKILL the worker's process group and close our ends of its pipes (idempotent). A
        child that left the group (``setsid``) may keep the pipes open: closing our ends lets
        :meth:`wait` return once the worker itself has exited."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc._transport.close()
        if self.forget is not None:
            self.forget(self.pid)

    async def write_file(self, relpath, text):
        write_atomically(os.path.join(self.home, relpath), text)


async def start_worker(home, worker, env, disco_data, ddfs_data, warm=None):
    """Start the job's ``worker`` (a path in the job ``home``) with ``env`` in its own process
    group: forked from ``warm`` (a :class:`disco.master.warmworkers.WarmWorkers`) when it can
    serve it, else executed; its :class:`WorkerProcess`. Local and remote nodes alike."""
    if warm is not None:
        proc = await warm.start_attempt(home, worker, env, disco_data, ddfs_data)
        if proc is not None:
            return proc
    proc = await asyncio.create_subprocess_exec(
        os.path.join(home, worker), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, cwd=home, env=env, start_new_session=True)
    return LocalProcess(proc, home, disco_data, ddfs_data)


def write_atomically(path, text):
    """Write ``text`` to ``path`` under a temporary name, then rename it into place (directories
    made as needed)."""
    partial = path + ".partial"
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
    os.replace(partial, path)


class LocalBackend(NodeBackend):
    """Nodes on this machine; node ``N`` keeps its data in ``<data_root>/N/``.

    Each running worker's process group is recorded in the journal ``<run_dir>/groups``
    (:mod:`disco.master.pgroups`): a master that starts after a crash kills the groups its
    predecessor left (:meth:`start`)."""

    name = "local"

    def __init__(self, data_root, ddfs_root, run_dir, warm=None):
        self.data_root = data_root
        self.ddfs_root = ddfs_root
        self.groups = GroupJournal(os.path.join(run_dir, "groups"))
        self._locks = {}   # node -> lock serialising job home unpacking
        # a disco.master.warmworkers.WarmWorkers forking Python workers (one for all local
        # nodes: one machine), or None: every worker is executed
        self.warm = warm

    async def start(self, on_change):
        self.groups.open()

    def node_dir(self, node):
        return os.path.join(self.data_root, node)

    def connected(self, node):
        return True

    async def start_attempt(self, node, job, settings):
        home = job_dir(self.node_dir(node), job.name)
        if not jobhome.unpacked(home):
            async with self._locks.setdefault(node, asyncio.Lock()):
                await asyncio.to_thread(jobhome.unpack, home, job.jobfile, job.worker)
        env = worker_env(job.jobenvs, settings, self.data_root, self.ddfs_root)
        proc = await start_worker(home, job.worker, env, self.data_root, self.ddfs_root, self.warm)
        self.groups.add(proc.pid)
        proc.forget = self.groups.remove
        return proc

    async def stop(self):
        if self.warm is not None:
            self.warm.close()
        self.groups.close()

    async def remove_job_data(self, node, jobname):
        await asyncio.to_thread(shutil.rmtree, job_dir(self.node_dir(node), jobname), True)

    def disk_usage(self, node):
        path = self.node_dir(node)
        usage = shutil.disk_usage(path if os.path.isdir(path) else self.data_root)
        return usage.free // 1024, usage.used // 1024

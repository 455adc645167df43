"""Node backends: where and how a node runs workers (one small interface, swappable classes).

A backend prepares job homes on a node and starts worker processes there. The ``local`` backend
runs every node on this machine with node ``N``'s data directory ``DISCO_DATA/N/``, so several
node names make a simulated cluster.
"""
import asyncio
import os
import shutil
import signal

from disco.master import jobhome
from disco.master.names import job_dir


class WorkerProcess:
    """A running worker: ``stdin`` (StreamWriter), ``output`` (StreamReader of its stderr with its
    stdout merged in), ``pid``; ``wait()`` returns the exit code; ``kill()`` kills its process group."""

    def __init__(self, proc):
        self.proc = proc
        self.pid = proc.pid
        self.stdin = proc.stdin
        self.output = proc.stdout

    async def wait(self):
        return await self.proc.wait()

    def kill(self):
        """SIGKILL the worker and every process of its group (idempotent)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class NodeBackend:
    """The interface every backend implements."""

    async def prepare_jobhome(self, node, jobname, jobfile, worker):
        """Unpack the job (pack file ``jobfile``, worker path ``worker``) on ``node`` once; return
        the job home directory. Raises :class:`disco.master.jobhome.JobHomeError`."""
        raise NotImplementedError

    async def start_worker(self, node, argv, env, cwd):
        """Start ``argv`` on ``node`` in its own process group; return a :class:`WorkerProcess`."""
        raise NotImplementedError

    def remove_job_data(self, node, jobname):
        """Delete the job's data (job home, outputs) on ``node``."""
        raise NotImplementedError

    def disk_usage(self, node):
        """``(free KiB, used KiB)`` of the node's data disk."""
        raise NotImplementedError

    def data_dirs(self, node):
        """``(DISCO_DATA, DDFS_DATA)`` as workers on ``node`` see them; None: the master's (nodes
        sharing the master's file system, whose data paths start with the node name)."""
        return None


class LocalBackend(NodeBackend):
    """Nodes on this machine; node ``N`` keeps its data in ``<data_root>/N/``."""

    def __init__(self, data_root):
        self.data_root = data_root
        self._locks = {}   # node -> lock serialising job home unpacking

    def node_dir(self, node):
        return os.path.join(self.data_root, node)

    async def prepare_jobhome(self, node, jobname, jobfile, worker):
        home = job_dir(self.node_dir(node), jobname)
        async with self._locks.setdefault(node, asyncio.Lock()):
            await asyncio.to_thread(jobhome.unpack, home, jobfile, worker)
        return home

    async def start_worker(self, node, argv, env, cwd):
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True)
        return WorkerProcess(proc)

    def remove_job_data(self, node, jobname):
        shutil.rmtree(job_dir(self.node_dir(node), jobname), ignore_errors=True)

    def disk_usage(self, node):
        path = self.node_dir(node)
        usage = shutil.disk_usage(path if os.path.isdir(path) else self.data_root)
        return usage.free // 1024, usage.used // 1024

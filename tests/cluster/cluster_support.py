"""A Disco cluster on Dask distributed on this machine: a master with the dask backend and nodes
as separate ``disco node`` processes, node ``i`` on loopback address ``127.0.0.<i>`` with its own
DISCO_ROOT, so another node's files are not local and every cross-node read goes over HTTP."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from disco.master.embedded import start_master


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Cluster:
    """``node_command``: the Python arguments that run the ``disco`` command line on a node
    (the benchmarks run one that also counts what the node's data server sends)."""

    def __init__(self, root, node_command=("-m", "disco.cli"), **settings):
        self.root = str(root)
        self.node_command = list(node_command)
        self.settings = {"DISCO_RETRY_BASE": "0.01", **settings}
        self.dask_port = free_port()
        self.master = None
        self.port = 0
        self.nodes = {}     # i -> Popen

    @property
    def scheduler(self):
        return "tcp://127.0.0.1:%d" % self.dask_port

    def start_master(self):
        self.master = start_master(os.path.join(self.root, "master"), port=self.port,
                                   DISCO_BACKEND="dask", DISCO_DASK_PORT=str(self.dask_port),
                                   **self.settings)
        self.port = self.master.port
        return self.master

    def stop_master(self):
        self.master.stop()

    def node_name(self, i):
        return "127.0.0.%d" % i

    def start_node(self, i, slots=2, wait=True, argv=None, token=True):
        """Start node ``i`` (``disco node`` unless ``argv`` says otherwise) with the master's
        DISCO_AUTH_TOKEN (``token``: True) or another one (a str; None: none); wait until the
        master lists it as connected."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCO_", "DDFS_"))}
        env.update(DISCO_ROOT=os.path.join(self.root, "node%d" % i), DISCO_PORT=str(self.port),
                   DISCO_SETTINGS_FILE=os.devnull)
        token = self.settings.get("DISCO_AUTH_TOKEN") if token is True else token
        if token:
            env["DISCO_AUTH_TOKEN"] = token
        argv = argv or [sys.executable, *self.node_command, "node", self.scheduler,
                        "--name", self.node_name(i), "--host", self.node_name(i), "--slots", str(slots)]
        log = open(os.path.join(self.root, "node%d.log" % i), "ab")
        self.nodes[i] = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        if wait:
            self.wait_for(lambda info: info.get(self.node_name(i), {}).get("connected"),
                          "node %d connected" % i)
        return self.nodes[i]

    def kill_node(self, i, signum=signal.SIGKILL):
        proc = self.nodes.pop(i)
        os.killpg(proc.pid, signum)
        proc.wait(30)

    def headers(self):
        token = self.settings.get("DISCO_AUTH_TOKEN")
        return {"Authorization": "Bearer " + token} if token else {}

    def nodeinfo(self):
        request = urllib.request.Request(self.master.url + "/disco/ctrl/nodeinfo", headers=self.headers())
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.load(r)

    def wait_for(self, predicate, what, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            info = self.nodeinfo()
            if predicate(info):
                return info
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s: %s" % (what, info))
            time.sleep(0.1)

    def data_dir(self, i):
        return os.path.join(self.root, "node%d" % i, "data")

    def stop(self):
        for i in list(self.nodes):
            proc = self.nodes.pop(i)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                proc.wait()
        if self.master is not None:
            self.master.stop()


def start_cluster(root, patch, nodes=(2, 3, 4), **settings):
    """A started :class:`Cluster` (``settings``: its keyword arguments) with ``nodes`` connected;
    this process's clients point at its master (through ``patch``, a pytest MonkeyPatch)."""
    from masters import point_clients_at
    cluster = Cluster(root, **settings)
    cluster.start_master()
    try:
        for i in nodes:
            cluster.start_node(i, wait=False)
        cluster.wait_for(lambda info: all(info.get(cluster.node_name(i), {}).get("connected")
                                          for i in nodes), "nodes %s connected" % (nodes,))
    except BaseException:
        cluster.stop()
        raise
    point_clients_at(patch, cluster.master)
    return cluster

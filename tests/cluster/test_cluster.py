"""Disco across processes on Dask distributed: a master with the dask backend and ``disco node``
processes on their own loopback addresses and data directories."""
import collections
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

import cjobs
from cluster_support import start_cluster
from masters import wait_gone
from disco.core import Job, result_iterator
from disco.error import JobError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "master"))
from master_support import jobpack, messages, submit, wait as master_wait  # noqa: E402

LINES = ["the quick brown fox %d jumps over the lazy dog %d" % (i, i % 7) for i in range(60)]
EXPECTED = sorted(collections.Counter(w for line in LINES for w in line.split()).items())


def word_count(lines=LINES, partitions=4, **params):
    job = Job().run(input=["raw://" + line for line in lines], map=cjobs.slow_word_map,
                    reduce=cjobs.word_reduce, partitions=partitions, params=params)
    return job, sorted(result_iterator(wait(job)))


def wait(job):
    """The job's results; a failure shows the job's events."""
    try:
        return job.wait()
    except JobError:
        raise AssertionError("\n".join(messages(SimpleNamespace(url=os.environ["DISCO_MASTER"]), job.name))) from None


def hosts_of(urls):
    return {url.split("://", 1)[1].split("/", 1)[0] for url in urls}


def assigned(master, name):
    """``{node: number of attempts}`` of the job, from its events."""
    counts = collections.Counter()
    for message in messages(master, name):
        if " assigned to " in message:
            counts[message.rsplit(" assigned to ", 1)[1]] += 1
    return counts


def post(master, path, body):
    request = urllib.request.Request(master.url + path, data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def test_word_count_spans_nodes_and_reads_across_them(cluster):
    job, results = word_count()
    assert results == EXPECTED
    result_hosts = hosts_of(url for replicas in job.results()[1] for url in replicas)
    assert len(result_hosts) >= 2 and result_hosts <= {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    assert len(assigned(cluster.master, job.name)) >= 2
    for i in (2, 3, 4):     # a node keeps only its own data, under its own root
        assert os.listdir(cluster.data_dir(i)) == [cluster.node_name(i)]
    assert not os.path.exists(os.path.join(cluster.master.settings["DISCO_DATA"], "127.0.0.2"))
    info = cluster.nodeinfo()
    assert all(info[cluster.node_name(i)]["connected"] for i in (2, 3, 4))
    assert sum(info[cluster.node_name(i)]["job_ok"] for i in (2, 3, 4)) >= 64


def test_blacklisted_node_gets_no_tasks(cluster):
    post(cluster.master, "/disco/ctrl/blacklist", "127.0.0.4")
    job, results = word_count(LINES[:20])
    assert results == sorted(collections.Counter(w for l in LINES[:20] for w in l.split()).items())
    assert "127.0.0.4" not in assigned(cluster.master, job.name)
    assert cluster.nodeinfo()["127.0.0.4"]["blacklisted"] is True


def test_external_program_worker_on_remote_nodes(cluster):
    """The shell-script worker of the master's tests (it reads only local files: its reduce
    groups by node, so each reduce runs where its inputs are)."""
    pipeline = {"pipeline": [["map", "split", False], ["reduce", "group_node_label", False]]}
    words = [[0, 0, ["raw://0-apple"]], [0, 0, ["raw://1-banana"]], [0, 0, ["raw://0-cherry"]]]
    name = submit(cluster.master, jobpack(inputs=words, **pipeline))
    try:
        status, results = master_wait(cluster.master, name)
    except AssertionError:
        raise AssertionError("\n".join(messages(cluster.master, name)))
    assert status == "ready", messages(cluster.master, name)
    lines = []
    for replicas in results:       # read back over HTTP from the node that holds them
        index = urllib.request.urlopen(replicas[0].replace("dir://", "http://", 1).replace(
            "/disco/", ":%d/disco/" % cluster.port, 1)).read().decode()
        for entry in index.split("\n"):
            if entry:
                url = entry.split()[1].replace("disco://", "http://", 1).replace("/disco/", ":%d/disco/" % cluster.port, 1)
                lines += urllib.request.urlopen(url).read().decode().split()
    assert sorted(lines) == ["apple", "banana", "cherry"]
    assert set(assigned(cluster.master, name)) <= {"127.0.0.2", "127.0.0.3", "127.0.0.4"}


def test_config_table_node_that_nothing_serves_is_not_connected(cluster):
    table = json.load(urllib.request.urlopen(cluster.master.url + "/disco/ctrl/load_config_table"))
    assert sorted(row[0] for row in table) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    post(cluster.master, "/disco/ctrl/save_config_table", table + [["ghost", "8"]])
    info = cluster.nodeinfo()
    assert info["ghost"]["connected"] is False and info["127.0.0.2"]["connected"] is True
    job, results = word_count(LINES[:10])
    assert results == sorted(collections.Counter(w for l in LINES[:10] for w in l.split()).items())
    assert "ghost" not in assigned(cluster.master, job.name)


def test_node_that_joins_mid_job_gets_tasks(tmp_path, monkeypatch):
    cluster = start_cluster(tmp_path, monkeypatch, nodes=(2,))
    try:
        job = Job().run(input=["raw://" + line for line in LINES[:16]], map=cjobs.slow_word_map,
                        params={"sleep": 0.4}, partitions=2)
        while not assigned(cluster.master, job.name):
            time.sleep(0.05)
        cluster.start_node(3)
        results = sorted(result_iterator(job.wait()))
        assert len(results) == sum(len(l.split()) for l in LINES[:16])
        assert assigned(cluster.master, job.name)["127.0.0.3"] >= 1
    finally:
        cluster.stop()


def test_killed_node_mid_job_the_job_completes_exactly(cluster):
    """SIGKILL a node once it holds finished map outputs: its running attempts are retried
    elsewhere and its lost outputs are re-created by running their producers again."""
    job = Job().run(input=["raw://" + line for line in LINES], map=cjobs.slow_word_map,
                    reduce=cjobs.word_reduce, partitions=4, params={"sleep": 0.05})
    deadline = time.monotonic() + 60
    while not any(m.startswith("DONE") for m in _node_events(cluster.master, job.name, "127.0.0.2")):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    killed = time.monotonic()
    cluster.kill_node(2)
    cluster.wait_for(lambda info: not info["127.0.0.2"]["connected"], "node 2 disconnected", 30)
    noticed = time.monotonic() - killed
    assert sorted(result_iterator(wait(job))) == EXPECTED
    assert noticed < 10
    events = messages(cluster.master, job.name)
    assert any(m.startswith("Output of map:") and m.endswith("lost: running it again") for m in events)
    result_hosts = hosts_of(url for replicas in job.results()[1] for url in replicas)
    assert "127.0.0.2" not in result_hosts


def test_frozen_node_counts_as_gone_after_the_node_timeout(tmp_path, monkeypatch):
    """A node that stops answering (SIGSTOP: its connections stay open, as when a machine
    vanishes) is dropped after DISCO_NODE_TIMEOUT; the job completes exactly without it."""
    import signal
    cluster = start_cluster(tmp_path, monkeypatch, nodes=(2, 3), DISCO_NODE_TIMEOUT="3")
    try:
        job = Job().run(input=["raw://" + line for line in LINES[:30]], map=cjobs.slow_word_map,
                        reduce=cjobs.word_reduce, partitions=4, params={"sleep": 0.05})
        deadline = time.monotonic() + 60
        while not any(m.startswith("DONE") for m in _node_events(cluster.master, job.name, "127.0.0.2")):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        frozen = cluster.nodes[2]
        os.killpg(frozen.pid, signal.SIGSTOP)
        try:
            cluster.wait_for(lambda info: not info["127.0.0.2"]["connected"], "node 2 dropped", 30)
            expected = sorted(collections.Counter(w for l in LINES[:30] for w in l.split()).items())
            assert sorted(result_iterator(wait(job))) == expected
        finally:
            os.killpg(frozen.pid, signal.SIGCONT)
    finally:
        cluster.stop()


def _node_events(master, name, node):
    with urllib.request.urlopen(master.url + "/disco/ctrl/jobevents?num=1000&name=" + name) as r:
        return [e[2] for e in json.load(r) if e[1] == node]


def test_master_death_ends_its_attempts_on_the_nodes(cluster, tmp_path):
    """SIGKILL of the master while a worker on a node is busy in user code: the node ends the
    attempt (its relay closed), no orphan is left."""
    import signal
    pidfile = tmp_path / "busy.pid"
    Job().run(input=["raw://x"], map=cjobs.busy_map, params={"pidfile": str(pidfile), "sleep": 120})
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    os.killpg(cluster.master.proc.pid, signal.SIGKILL)
    cluster.master.proc.wait()
    wait_gone(pid, 15, "the worker outlived its master")
    assert all(proc.poll() is None for proc in cluster.nodes.values())     # the nodes stay up




def test_master_restart_nodes_rejoin(cluster):
    cluster.stop_master()
    cluster.start_master()
    cluster.wait_for(lambda info: all(info.get(cluster.node_name(i), {}).get("connected")
                                      for i in (2, 3, 4)), "nodes rejoined")
    _job, results = word_count(LINES[:10])
    assert results == sorted(collections.Counter(w for l in LINES[:10] for w in l.split()).items())


def test_node_of_another_version_is_refused(cluster):
    code = ("import disco.node.plugin as p; p.versions = lambda: ('0.0.1', '2.7'); "
            "from disco.node.main import run; from disco.settings import DiscoSettings; "
            "run(%r, DiscoSettings(), '127.0.0.5', '127.0.0.5', 1)" % cluster.scheduler)
    cluster.start_node(5, wait=False, argv=[sys.executable, "-c", code])
    info = cluster.wait_for(lambda info: "refused" in info.get("127.0.0.5", {}), "node 5 refused")
    assert info["127.0.0.5"]["connected"] is False
    assert "Disco 0.0.1 on Python 2.7" in info["127.0.0.5"]["refused"]


def test_existing_dask_scheduler_and_plain_dask_workers(tmp_path, monkeypatch):
    """DISCO_DASK_SCHEDULER names a scheduler started elsewhere; plain ``dask worker`` processes
    become nodes through the plugins the master registers."""
    import subprocess
    from cluster_support import Cluster, free_port
    from masters import point_clients_at
    port = free_port()
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                  "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
    cluster = Cluster(tmp_path, DISCO_DASK_SCHEDULER="tcp://127.0.0.1:%d" % port)
    cluster.dask_port = port
    try:
        cluster.start_master()
        for i in (2, 3):
            # a plain dask worker binds its port before the plugin's data server binds DISCO_PORT:
            # give it one that is not the master's port number
            worker_port = free_port(cluster.node_name(i))
            while worker_port == cluster.port:
                worker_port = free_port(cluster.node_name(i))
            cluster.start_node(i, wait=False, argv=[
                sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler, "--name",
                cluster.node_name(i), "--host", cluster.node_name(i), "--worker-port", str(worker_port),
                "--nthreads", "2", "--no-nanny", "--no-dashboard"])
        cluster.wait_for(lambda info: all(info.get(cluster.node_name(i), {}).get("connected")
                                          for i in (2, 3)), "dask workers joined")
        point_clients_at(monkeypatch, cluster.master)
        job, results = word_count(LINES[:20])
        assert results == sorted(collections.Counter(w for l in LINES[:20] for w in l.split()).items())
        assert set(assigned(cluster.master, job.name)) == {"127.0.0.2", "127.0.0.3"}
    finally:
        cluster.stop()
        scheduler.terminate()
        scheduler.wait(30)


def test_access_token_guards_master_and_node_data(tmp_path, monkeypatch):
    """With DISCO_AUTH_TOKEN (given to the nodes too): the nodes' data servers refuse requests
    without it, workers and clients that have it read across nodes."""
    cluster = start_cluster(tmp_path, monkeypatch, nodes=(2, 3), DISCO_AUTH_TOKEN="s3cret")
    try:
        monkeypatch.setenv("DISCO_AUTH_TOKEN", "s3cret")
        job, results = word_count(LINES[:20])
        assert results == sorted(collections.Counter(w for l in LINES[:20] for w in l.split()).items())
        index = job.results()[1][0][0]
        url = "http://%s:%d/disco/%s" % (hosts_of([index]).pop(), cluster.port, index.split("/disco/", 1)[1])
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": "Bearer s3cret"})
        data = urllib.request.urlopen(request, timeout=10).read()
        assert data
        # the master relays a node's files to clients that reach only it (Disco 0.5's DISCO_PROXY)
        path = index.split("/disco/", 1)[1]
        for relayed in ("/disco/" + path, "/proxy/%s/GET/disco/%s" % (hosts_of([index]).pop(), path)):
            assert get(cluster, relayed) == (200, data)
            assert get(cluster, relayed, Range="bytes=3-") == (206, data[3:])
        assert get(cluster, "/disco/127.0.0.9/" + path.split("/", 1)[1])[0] == 404     # no such node
        assert get(cluster, "/disco/" + path, token=None)[0] == 401
        from disco.ddfs import DDFS
        blob = DDFS().push("relay:blob", [(io.BytesIO(b"blob data"), "b")])[1][0][0]
        assert get(cluster, "/ddfs/" + blob.split("/ddfs/", 1)[1]) == (200, b"blob data")
    finally:
        cluster.stop()


def get(cluster, path, token="s3cret", **headers):
    """``(status, body)`` of a GET of ``path`` on the master."""
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        with urllib.request.urlopen(urllib.request.Request(cluster.master.url + path, headers=headers),
                                    timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_dask_connections_need_the_token(tmp_path, monkeypatch):
    """With DISCO_AUTH_TOKEN the master's scheduler speaks TLS only with the credentials it
    hands to token holders: a Dask client without them (plain tcp, or TLS with other
    credentials) cannot connect, so nobody can run code on the nodes through Dask; nodes with
    a wrong token or none do not join, and say why; nodes with it run jobs."""
    from distributed import Client, Security
    from disco.node import tls
    cluster = start_cluster(tmp_path, monkeypatch, nodes=(2,), DISCO_AUTH_TOKEN="s3cret")
    try:
        monkeypatch.setenv("DISCO_AUTH_TOKEN", "s3cret")
        url = cluster.master.url + tls.PATH
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        security, scheme = tls.fetch(cluster.master.url, "s3cret")
        assert scheme == "tls"
        with pytest.raises(tls.NotAuthorized, match="DISCO_AUTH_TOKEN"):
            tls.fetch(cluster.master.url, "wrong")
        address = "127.0.0.1:%d" % cluster.dask_port
        for attempt in ({"address": "tcp://" + address},
                        {"address": "tls://" + address, "security": Security.temporary()}):
            with pytest.raises((OSError, TimeoutError)):
                Client(timeout="3s", **attempt).close()
        with Client("tls://" + address, security=security, timeout="10s") as client:
            assert sorted(w["name"] for w in client.scheduler_info()["workers"].values()) == ["127.0.0.2"]
        cluster.start_node(3, wait=False, token="wrong")
        cluster.start_node(4, wait=False, token=None)
        job, results = word_count(LINES[:20])
        assert results == sorted(collections.Counter(w for l in LINES[:20] for w in l.split()).items())
        logs = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(logs) < 2:
            for i in (3, 4):
                with open(os.path.join(str(tmp_path), "node%d.log" % i)) as f:
                    if "DISCO_AUTH_TOKEN" in f.read():
                        logs[i] = True
            time.sleep(0.2)
        assert sorted(logs) == [3, 4]
        info = cluster.nodeinfo()
        assert not info.get("127.0.0.3", {}).get("connected") and not info.get("127.0.0.4", {}).get("connected")
    finally:
        cluster.stop()

"""DDFS on a dask cluster: blobs and tag versions live on the nodes (each under its own
DDFS_DATA), uploads and re-replication go to and between nodes, a node that is away keeps its
replicas counted for DISCO_NODE_GRACE seconds, then GC copies its data elsewhere."""
import collections
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

import cjobs
from cluster_support import start_cluster
from disco.core import Job, result_iterator
from disco.ddfs import DDFS

NODES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
GRACE = 6
LINES = ["%s blob %d line %d" % (word, b, i) for b, word in enumerate(("red", "green", "blue", "cyan"))
         for i in range(20)]
EXPECTED = sorted(collections.Counter(w for line in LINES for w in line.split()).items())


SETTINGS = {"DDFS_BLOB_REPLICAS": "2", "DDFS_TAG_REPLICAS": "2", "DISCO_NODE_GRACE": str(GRACE),
            "DDFS_GC_INITIAL_WAIT": "0.0001"}
TOKEN = "node-secret"


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    cluster = start_cluster(tmp_path, monkeypatch, **SETTINGS)
    yield cluster
    cluster.stop()


@pytest.fixture
def guarded_cluster(tmp_path, monkeypatch):
    """The master and this process's clients have a DISCO_AUTH_TOKEN (the nodes get it from
    the master)."""
    monkeypatch.setenv("DISCO_AUTH_TOKEN", TOKEN)
    cluster = start_cluster(tmp_path, monkeypatch, DISCO_AUTH_TOKEN=TOKEN, **SETTINGS)
    yield cluster
    cluster.stop()


def push(tmp_path, tag):
    """Push 4 files of LINES as blobs of ``tag``; ``(the tag's replica URLs, the blobs' replica
    lists)``."""
    paths = []
    for b in range(4):
        path = tmp_path / ("part%d.txt" % b)
        path.write_text("".join(line + "\n" for line in LINES[b * 20:(b + 1) * 20]))
        paths.append(str(path))
    return DDFS().push(tag, paths)


def node_file(cluster, url):
    """The file of the DDFS ``url`` in the DDFS_DATA of the node it names."""
    host, path = url.split("://", 1)[1].split("/ddfs/", 1)
    return os.path.join(cluster.root, "node%d" % (NODES.index(host) + 2), "ddfs", path)


def files_under(root):
    return [os.path.join(d, f) for d, _dirs, names in os.walk(root) for f in names]


def ddfs_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "disco.ddfs_cli"] + list(args), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def get(cluster, path):
    request = urllib.request.Request(cluster.master.url + path, headers=cluster.headers())
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def run_gc(cluster):
    """Run a GC and wait for it to end; its stats."""
    before = get(cluster, "/ddfs/ctrl/gc_stats")
    assert get(cluster, "/ddfs/ctrl/gc_start") == "GC has started"
    deadline = time.monotonic() + 60
    while get(cluster, "/ddfs/ctrl/gc_status") or get(cluster, "/ddfs/ctrl/gc_stats") == before:
        assert time.monotonic() < deadline, "GC did not finish"
        time.sleep(0.1)
    return get(cluster, "/ddfs/ctrl/gc_stats")


def check_node_endpoints_refuse_bad_requests(cluster, tag_url):
    node = "http://%s:%d" % (NODES[0], cluster.port)

    def status(method, path, body=None):
        request = urllib.request.Request(path if "://" in path else node + path, data=body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status
        except urllib.error.HTTPError as e:
            return e.code
    assert status("PUT", "/ddfs/put/%s/x$1-2-3" % NODES[1], b"data") == 404     # another node's
    assert status("PUT", "/ddfs/put/%s/bad%%20name" % NODES[0], b"data") == 403
    assert status("PUT", "/ddfs/put/%s/ok$1-2-3" % NODES[0], b"data") == 201
    assert status("PUT", "/ddfs/put/%s/ok$1-2-3" % NODES[0], b"again") == 409
    assert status("POST", "/ddfs/put/%s/ok$1-2-3" % NODES[0], b"data") == 404
    # tag versions hold their tokens: not served as files
    assert status("GET", tag_url.replace("disco://", "http://").replace("/ddfs/", ":%d/ddfs/" % cluster.port, 1)) == 403
    for method, path in (("PUT", "/ddfs-node/tag/t$1-2-3"), ("GET", "/ddfs-node/scan?kind=tag"),
                         ("GET", "/ddfs-node/read?path=" + tag_url.split("/ddfs/", 1)[1].split("/", 1)[1]),
                         ("POST", "/ddfs-node/delete"), ("POST", "/ddfs-node/pull")):
        assert status(method, path, b"{}" if method != "GET" else None) == 403     # only the master


def test_node_api_accepts_only_volume_files():
    from disco.node.ddfsnode import _volume_file
    assert _volume_file("vol0/blob/a3/x$1-2-3") and _volume_file("vol1/tag/00/t$1-2-3")
    for path in ("../../etc/passwd", "vol0/blob/../../x", "vol0", "vol0/blob/a3/..", "vol0/etc/a3/x",
                 "data/blob/a3/x", "vol0/blob//x", 7, None, "vol0/blob/a3/x\0"):
        assert not _volume_file(path)


def test_ddfs_data_lives_on_the_nodes(cluster, tmp_path):
    tag_urls, blobs = push(tmp_path, "data:words")
    for replicas in blobs:      # 2 replicas on distinct nodes, in those nodes' own DDFS_DATA
        hosts = [url.split("://", 1)[1].split("/", 1)[0] for url in replicas]
        assert len(set(hosts)) == 2 and set(hosts) <= set(NODES)
        assert all(os.path.isfile(node_file(cluster, url)) for url in replicas)
    assert DDFS().get("data:words")["urls"] == blobs
    assert len(tag_urls) == 2 and all(os.path.isfile(node_file(cluster, url)) for url in tag_urls)
    assert files_under(cluster.master.settings["DDFS_DATA"]) == []     # nothing on the master

    job = Job().run(input=["tag://data:words"], map=cjobs.word_map, reduce=cjobs.word_reduce, partitions=3)
    assert sorted(result_iterator(job.wait())) == EXPECTED
    assert sorted(ddfs_cli("cat", "tag://data:words").splitlines()) == sorted(LINES)

    saved = Job().run(input=["tag://data:words"], map=cjobs.word_map, reduce=cjobs.word_reduce,
                      partitions=2, save_results=True)
    assert saved.wait() == ["tag://disco:results:" + saved.name]
    assert sorted(result_iterator(saved.wait())) == EXPECTED
    xcat = ddfs_cli("xcat", "tag://disco:results:" + saved.name).splitlines()
    assert sorted(xcat) == sorted("%s\t%d" % item for item in EXPECTED)
    for replicas in DDFS().blobs("disco:results:" + saved.name):
        assert len({url.split("/")[2] for url in replicas}) == 2
        assert all(os.path.isfile(node_file(cluster, url)) for url in replicas)
    assert files_under(cluster.master.settings["DDFS_DATA"]) == []

    cluster.stop_master()   # a new master learns the tags from the nodes as they join again
    cluster.start_master()
    cluster.wait_for(lambda info: all(info.get(n, {}).get("connected") for n in NODES), "nodes rejoined")
    deadline = time.monotonic() + 30
    while "data:words" not in DDFS().list():
        assert time.monotonic() < deadline, "the tags of the nodes did not come back"
        time.sleep(0.1)
    assert DDFS().get("data:words")["urls"] == blobs
    assert sorted(ddfs_cli("cat", "tag://data:words").splitlines()) == sorted(LINES)
    check_node_endpoints_refuse_bad_requests(cluster, tag_urls[0])


def test_away_node_replicas_count_until_the_grace_ends_then_gc_copies_them(guarded_cluster, tmp_path):
    """With DISCO_AUTH_TOKEN: the master's and the clients' requests to the nodes carry it."""
    cluster = guarded_cluster
    _tag_urls, blobs = push(tmp_path, "data:kept")
    some_blob = blobs[0][0].replace("disco://", "http://").replace("/ddfs/", ":%d/ddfs/" % cluster.port, 1)
    for method, url in (("GET", some_blob), ("PUT", blobs[0][0].split("/ddfs/")[0].replace(
            "disco://", "http://") + ":%d/ddfs-node/tag/t$1-2-3" % cluster.port)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, data=b"x" if method == "PUT" else None,
                                                          method=method), timeout=30)
        assert refused.value.code == 401
    holds = collections.Counter(url.split("/")[2] for replicas in blobs for url in replicas)
    victim = holds.most_common(1)[0][0]
    cluster.kill_node(NODES.index(victim) + 2)
    cluster.wait_for(lambda info: not info[victim]["connected"], "the node disconnected", 30)
    left = time.monotonic()

    assert sorted(ddfs_cli("cat", "tag://data:kept").splitlines()) == sorted(LINES)   # other replicas
    run_gc(cluster)         # within the grace period: the away node's replicas still count
    assert time.monotonic() - left < GRACE, "GC took longer than the grace period: raise GRACE"
    assert DDFS().get("data:kept")["urls"] == blobs

    time.sleep(max(0.0, GRACE - (time.monotonic() - left)) + 0.5)
    run_gc(cluster)         # the node is lost: its blobs get new replicas, copied from peers
    urls = DDFS().get("data:kept")["urls"]
    assert len(urls) == len(blobs)
    for replicas in urls:
        hosts = {url.split("/")[2] for url in replicas}
        assert len(hosts) == 2 and victim not in hosts
        assert all(os.path.isfile(node_file(cluster, url)) for url in replicas)
    assert sorted(ddfs_cli("cat", "tag://data:kept").splitlines()) == sorted(LINES)
    assert files_under(cluster.master.settings["DDFS_DATA"]) == []

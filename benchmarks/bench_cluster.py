"""The word counts of bench_jobs (2 partitions, ~DISCO_BENCH_MB of text in 8 files; with
``combiner=sum_combiner`` and without a combiner) on a Disco cluster on Dask distributed vs the
local backend, same total slots:

- ours: a master with the dask backend and 3 ``disco node`` processes on 127.0.0.2, .3 and .4
  (2 slots each, their own DISCO_ROOT: a file of another node is read over HTTP), from
  tests/cluster/cluster_support.py;
- baseline: the embedded master on the local backend with DISCO_WORKERS=6.

The ratio report.py prints is local / cluster; the target of issue 11 is a cluster run within
1.2x of the local one (ratio >= 0.83). The cluster benchmark's ``extra_info`` holds the bytes the
nodes' data servers sent in the last round (:mod:`httpcount`): ``shuffle_http_bytes`` (the map
outputs and their index files read by reduce tasks on other nodes), ``results_http_bytes`` (the
reduce outputs read by ``result_iterator``), and ``shuffle_total_bytes``, the map outputs written
(on the local backend every byte of them is read from disk). The two sides run one after the
other: on a shared machine a change of load between them shows in the ratio.
"""
import os
import sys

import pytest

from bench_jobs import JOBS, TOTAL_MB, disco_count, purge_jobs, text_files  # noqa: F401 (fixture)
import httpcount
from disco.master.embedded import start_master
from disco.worker.classic.func import sum_combiner

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
sys.path[:0] = [TESTS, os.path.join(TESTS, "cluster")]
from cluster_support import start_cluster  # noqa: E402
from masters import point_clients_at  # noqa: E402

GROUP = "dask nodes, word count %d MB%s"
SHUFFLED = "map_shuffle"    # the stage whose outputs the reduce tasks read


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    cluster = start_cluster(tmp_path, monkeypatch, node_command=("-c", httpcount.NODE_COMMAND))
    yield cluster
    cluster.stop()


@pytest.fixture
def local(tmp_path, monkeypatch):
    with start_master(str(tmp_path), DISCO_WORKERS="6") as master:
        point_clients_at(monkeypatch, master)
        yield master


def on_nodes(cluster, fn):
    """``fn()`` run on every node of ``cluster``: ``{worker address: result}``."""
    from distributed import Client
    with Client(cluster.scheduler, timeout=30) as client:
        return client.run(fn)


def shuffle_total(cluster):
    """Bytes of the map outputs of the jobs on ``cluster`` (their files under the nodes' roots)."""
    total = 0
    for i in cluster.nodes:
        for dirpath, _dirs, files in os.walk(cluster.data_dir(i)):
            total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files
                         if httpcount.stage_of(f) == SHUFFLED and not f.endswith(".results"))
    return total


@pytest.mark.parametrize("impl", ["ours", "baseline"])
@pytest.mark.parametrize("combiner", [sum_combiner, None], ids=["combiner", "no_combiner"])
def test_wordcount_cluster_vs_local(benchmark, request, text_files, impl, combiner):
    benchmark.group = GROUP % (TOTAL_MB, "" if combiner else ", no combiner")
    del JOBS[:]         # jobs of another module's master
    if impl == "ours":
        cluster = request.getfixturevalue("cluster")

        def setup():
            purge_jobs()
            on_nodes(cluster, httpcount.reset)
    else:
        request.getfixturevalue("local")
        setup = purge_jobs
    counts = benchmark.pedantic(disco_count, args=(text_files,), kwargs={"combiner": combiner},
                                setup=setup, rounds=2 if combiner else 1, iterations=1,
                                warmup_rounds=1 if combiner else 0)
    assert sum(counts.values()) > TOTAL_MB * 100000
    if impl == "ours":
        sent = {}
        for per_node in on_nodes(cluster, httpcount.served).values():
            for stage, (size, _responses) in per_node.items():
                sent[stage] = sent.get(stage, 0) + size
        benchmark.extra_info.update(shuffle_http_bytes=sent.get(SHUFFLED, 0),
                                    results_http_bytes=sent.get("reduce", 0),
                                    shuffle_total_bytes=shuffle_total(cluster))
        # some map outputs were read from other nodes, and at most all of them (plus their small
        # index files): a count that includes other traffic, or none, fails here
        assert 0 < sent.get(SHUFFLED, 0) < benchmark.extra_info["shuffle_total_bytes"] * 1.1
    purge_jobs()

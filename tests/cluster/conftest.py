import sys
import os

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
pytest.importorskip("distributed", reason="the dask backend needs Dask distributed ('disco[dask]')")

from cluster_support import Cluster  # noqa: E402
from masters import point_clients_at  # noqa: E402


def _cluster(root, monkeypatch, nodes=(2, 3, 4), **settings):
    cluster = Cluster(root, **settings)
    cluster.start_master()
    for i in nodes:
        cluster.start_node(i, wait=False)
    cluster.wait_for(lambda info: all(info.get(cluster.node_name(i), {}).get("connected")
                                      for i in nodes), "nodes %s connected" % (nodes,))
    point_clients_at(monkeypatch, cluster.master)
    return cluster


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """A master on the dask backend with nodes 127.0.0.2, .3 and .4 (2 slots each)."""
    cluster = _cluster(tmp_path, monkeypatch)
    yield cluster
    cluster.stop()

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_support import start_cluster  # noqa: E402


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """A master on the dask backend with nodes 127.0.0.2, .3 and .4 (2 slots each)."""
    cluster = start_cluster(tmp_path, monkeypatch)
    yield cluster
    cluster.stop()

"""Fixtures of the DDFS tests: real masters with three nodes (``n1``, ``n2``, ``n3``), two blob and
two tag replicas, and the client environment pointing at them."""
import pytest

from disco.master.embedded import start_master
from masters import point_clients_at

NODES = [["n1:3", "2"]]
SETTINGS = {"DISCO_RETRY_BASE": "0.01", "DDFS_BLOB_REPLICAS": "2", "DDFS_TAG_REPLICAS": "2",
            "DDFS_GC_INITIAL_WAIT": "0.002"}


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """One master per test module; the client environment points at it."""
    patch = pytest.MonkeyPatch()
    with start_master(str(tmp_path_factory.mktemp("ddfs") / "root"), config=NODES, **SETTINGS) as m:
        point_clients_at(patch, m)
        yield m
        patch.undo()


@pytest.fixture
def start(tmp_path, monkeypatch):
    """Start a master of one's own (``start(config=..., root=..., **settings)``, ``root`` to reuse
    one); stopped afterwards."""
    masters = []

    def starter(config=NODES, root=None, **settings):
        root = str(root or tmp_path / ("root%d" % len(masters)))
        m = start_master(root, config=config, **{**SETTINGS, **settings})
        masters.append(m)
        point_clients_at(monkeypatch, m)
        return m
    yield starter
    for m in masters:
        m.stop()


@pytest.fixture
def name(request):
    """A tag name unique to the test."""
    return "test:" + request.node.name.replace("[", "-").replace("]", "").replace(".", "_")

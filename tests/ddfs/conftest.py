"""Fixtures of the DDFS tests: real masters with three nodes (``n1``, ``n2``, ``n3``), two blob and
two tag replicas, and the client environment pointing at them."""
import os

import pytest

from disco.master.embedded import start_master

NODES = [["n1:3", "2"]]
SETTINGS = {"DISCO_RETRY_BASE": "0.01", "DDFS_BLOB_REPLICAS": "2", "DDFS_TAG_REPLICAS": "2",
            "DDFS_GC_INITIAL_WAIT": "0.002"}
CLIENT_ENV = ("DISCO_MASTER", "DISCO_PORT", "DISCO_ROOT", "DISCO_DATA", "DDFS_ROOT", "DDFS_DATA")


def _client_env(patch, master):
    for key in CLIENT_ENV:
        patch.setenv(key, str(master.settings[key]))
    for key in ("DDFS_READ_TOKEN", "DDFS_WRITE_TOKEN", "DISCO_PROXY"):
        patch.delenv(key, raising=False)
    patch.setenv("DISCO_SETTINGS_FILE", os.devnull)


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """One master per test module; the client environment points at it."""
    patch = pytest.MonkeyPatch()
    with start_master(str(tmp_path_factory.mktemp("ddfs") / "root"), config=NODES, **SETTINGS) as m:
        _client_env(patch, m)
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
        _client_env(monkeypatch, m)
        return m
    yield starter
    for m in masters:
        m.stop()


@pytest.fixture
def name(request):
    """A tag name unique to the test."""
    return "test:" + request.node.name.replace("[", "-").replace("]", "").replace(".", "_")

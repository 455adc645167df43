"""Fixtures of the worker tests: one real master for the whole directory, on a simulated
two-node cluster (``n1``, ``n2``; both run on this machine), with this process's Disco settings
pointing at it, and a module of text inputs."""
import pytest

from disco.master.embedded import start_master
from masters import point_clients_at
from wsupport import TEXT

NODES = [["n1:2", "2"]]


@pytest.fixture(scope="session")
def master(tmp_path_factory):
    root = tmp_path_factory.mktemp("worker-master")
    patch = pytest.MonkeyPatch()
    with start_master(str(root / "root"), config=NODES, DISCO_RETRY_BASE="0.01") as m:
        point_clients_at(patch, m)
        yield m
    patch.undo()


@pytest.fixture(scope="session")
def text_inputs(tmp_path_factory):
    """Four text files (absolute paths) of the lines of ``TEXT``."""
    d = tmp_path_factory.mktemp("text")
    paths = []
    for i in range(4):
        p = d / ("part%d.txt" % i)
        p.write_text("".join(line + "\n" for line in TEXT[i::4]))
        paths.append(str(p))
    return paths

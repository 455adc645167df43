"""Fixtures of the worker tests: one real master for the whole directory, on a simulated
two-node cluster (``n1``, ``n2``; both run on this machine), with this process's Disco settings
pointing at it, and a module of text inputs."""
import os

import pytest

from disco.master.embedded import start_master
from wsupport import TEXT

NODES = [["n1:2", "2"]]
SETTINGS = ("DISCO_MASTER", "DISCO_PORT", "DISCO_ROOT", "DISCO_DATA", "DDFS_DATA")


@pytest.fixture(scope="session")
def master(tmp_path_factory):
    root = tmp_path_factory.mktemp("worker-master")
    patch = pytest.MonkeyPatch()
    patch.setenv("DISCO_SETTINGS_FILE", os.devnull)
    patch.delenv("DISCO_PROXY", raising=False)
    patch.delenv("DISCO_STREAM_VERSION", raising=False)
    with start_master(str(root / "root"), config=NODES, DISCO_RETRY_BASE="0.01") as m:
        for key in SETTINGS:
            patch.setenv(key, str(m.settings[key]))
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

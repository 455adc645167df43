import os
import sys

import pytest

from client.fakemaster import FakeMaster

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(autouse=True)
def disco_env(tmp_path, monkeypatch):
    """Settings of this test: data under tmp_path, no settings file, no proxy."""
    monkeypatch.setenv("DISCO_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("DISCO_DATA", str(tmp_path / "root" / "data"))
    monkeypatch.setenv("DDFS_DATA", str(tmp_path / "root" / "ddfs"))
    monkeypatch.setenv("DISCO_SETTINGS_FILE", str(tmp_path / "no-settings"))
    monkeypatch.delenv("DISCO_PROXY", raising=False)
    monkeypatch.delenv("DISCO_MASTER", raising=False)
    monkeypatch.delenv("DISCO_PORT", raising=False)
    monkeypatch.delenv("DISCO_STREAM_VERSION", raising=False)
    return tmp_path / "root"


@pytest.fixture
def master(disco_env):
    """A FakeMaster whose data directory is this test's DISCO_DATA."""
    return FakeMaster(str(disco_env))


@pytest.fixture
def python():
    return sys.executable


@pytest.fixture
def server(tmp_path):
    """A TestServer serving tmp_path/www."""
    from client.httpserver import TestServer
    root = tmp_path / "www"
    root.mkdir()
    with TestServer(str(root)) as s:
        yield s


@pytest.fixture
def fast_retries(monkeypatch):
    """comm retries without sleeping."""
    from disco import comm
    monkeypatch.setattr(comm, "_backoff", lambda tries, refused: 0)

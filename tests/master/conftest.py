import pytest

from disco.master.embedded import start_master

FAST = {"DISCO_RETRY_BASE": "0.01", "DISCO_WORKERS": "4"}


@pytest.fixture
def start(tmp_path):
    """Start masters (``start(**settings)``, ``root=`` to reuse a root); all stopped afterwards."""
    masters = []

    def starter(root=None, **settings):
        master = start_master(str(root or tmp_path / "root"), **{**FAST, **settings})
        masters.append(master)
        return master
    yield starter
    for master in masters:
        master.stop()


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """One master per test module: node ``localhost`` with 4 slots, fast retries."""
    with start_master(str(tmp_path_factory.mktemp("root")), **FAST) as master:
        yield master

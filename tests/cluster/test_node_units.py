"""Node-side bookkeeping of the dask backend, in-process (no Dask): the per-job unpack locks."""
import asyncio
import os

from disco.node.attempt import Attempt
from disco.node.plugin import NodeState
from disco.settings import DiscoSettings


def test_a_jobs_unpack_lock_goes_once_its_home_is_unpacked(tmp_path):
    settings = DiscoSettings({"DISCO_DATA": str(tmp_path / "data"), "DDFS_DATA": str(tmp_path / "ddfs"),
                              "DISCO_WORKER_FORKSERVER": "off", "DISCO_SETTINGS_FILE": os.devnull})
    state = NodeState("n1", "127.0.0.1", 0, settings)
    home = state.job_home("job@1")
    os.makedirs(home)
    open(os.path.join(home, ".jobhome"), "w").close()       # unpacked by an earlier attempt
    state.locks["job@1"] = asyncio.Lock()
    attempt = Attempt({"job": "job@1"}, state, None, None)
    assert asyncio.run(attempt.job_home()) == home
    assert state.locks == {}

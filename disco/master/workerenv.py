"""The environment of a worker process, computed on the node that runs it."""
import os
import sys

from disco.settings import DiscoSettings


def worker_env(jobenvs, settings, disco_data, ddfs_data):
    """This process's environment without its Disco settings, plus the master's ``settings`` a
    worker inherits (see :meth:`disco.master.workerhost.ClusterInfo.node_settings`), this node's
    ``DISCO_DATA``/``DDFS_DATA``, ``DISCO_PYTHON`` (this interpreter) and, winning over all of
    them, ``jobenvs``."""
    env = {k: v for k, v in os.environ.items() if k not in DiscoSettings.defaults}
    env.update(settings)
    env.update(DISCO_DATA=disco_data, DDFS_DATA=ddfs_data, DISCO_PYTHON=sys.executable)
    env.update(jobenvs)
    return env

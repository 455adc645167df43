"""``disco://host/disco/<path>`` (task data) and ``disco://host/ddfs/<path>`` (DDFS data).

Locality rule (docs/ARCHITECTURE.md): the URL is read from the local file ``DISCO_DATA/<path>``
(``DDFS_DATA/<path>``) when that file exists, otherwise over HTTP from
``http://host:DISCO_PORT/disco/<path>``. In a worker the data directories and port are the
task's (from the TASK message); on a client they come from ``DiscoSettings`` (and the HTTP
fallback goes through ``DISCO_PROXY`` when set). ``dir://`` URLs resolve the same way.
"""
import os

from disco.comm import open_local, open_url
from disco.schemes import active_task
from disco.util import netloc, proxy_url, schemesplit


def locate(url, task=None):
    """``(local path or None, http URL)`` of a ``disco://`` or ``dir://`` URL."""
    task = task or active_task()
    if task is not None:
        disco_data, ddfs_data, port, proxy = task.disco_data, task.ddfs_data, task.disco_port, ""
    else:
        from disco.settings import DiscoSettings
        settings = DiscoSettings()
        disco_data, ddfs_data = settings["DISCO_DATA"], settings["DDFS_DATA"]
        port, proxy = settings["DISCO_PORT"], settings["DISCO_PROXY"]
    location, _, path = schemesplit(url)[1].partition("/")
    host = netloc.parse(location)
    http = "http://%s:%s/%s" % (host.host, host.port or port, path)
    if proxy:
        http = proxy_url(http, proxy=proxy, to_master=False)
    top, _, rest = path.partition("/")
    root = {"disco": disco_data, "ddfs": ddfs_data}.get(top)
    if not root or ".." in rest.split("/"):
        return None, http
    return os.path.join(root, rest), http


def open(url, task=None):
    local, http = locate(url, task)
    if local and os.path.isfile(local):
        return open_local(local)
    return open_url(http)


def input_stream(fd, size, url, params):
    file = open(url)
    return file, file.size, url

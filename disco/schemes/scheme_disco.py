"""``disco://host/disco/<path>`` (task data) and ``disco://host/ddfs/<path>`` (DDFS data).

The locality rule (``disco.layout.locate``): the URL is read from the local file
``DISCO_DATA/<path>`` (``DDFS_DATA/<path>``) when that file exists, otherwise over HTTP from
``http://host:DISCO_PORT/disco/<path>``. In a worker the data directories and port are the
task's (from the TASK message); on a client they come from the client settings of the work being
done (``disco.context.current_settings``; the HTTP fallback goes through ``DISCO_PROXY`` when
set). ``dir://`` URLs resolve the same way.
"""
import os

from disco.comm import open_local, open_url
from disco.context import current_settings, current_task
from disco.layout import locate as locate_in
from disco.util import proxy_url


def locate(url, task=None):
    """``(local path or None, http URL)`` of a ``disco://`` or ``dir://`` URL."""
    task = task or current_task()
    if task is not None:
        roots = {"disco": task.disco_data, "ddfs": task.ddfs_data}
        return locate_in(url, roots, task.disco_port)
    settings = current_settings()
    roots = {"disco": settings["DISCO_DATA"], "ddfs": settings["DDFS_DATA"]}
    local, http = locate_in(url, roots, settings["DISCO_PORT"])
    if settings["DISCO_PROXY"]:
        http = proxy_url(http, proxy=settings["DISCO_PROXY"], to_master=False)
    return local, http


def open(url, task=None):
    local, http = locate(url, task)
    if local and os.path.isfile(local):
        return open_local(local)
    return open_url(http)


def input_stream(fd, size, url, params):
    file = open(url)
    return file, file.size, url

"""URL schemes of job inputs (``disco.schemes`` of Disco 0.5).

Each scheme is a module ``disco.schemes.scheme_<scheme>`` (no scheme means ``file``) with
``open(url, task=None)`` -> a readable object (a binary file with ``read(n)`` whose iteration
yields text lines, or for ``dir://`` an iterator of records) and ``input_stream(stream, size, url,
params)`` -> ``(fd, size, url)``, the input stream ``task_input_stream`` dispatches to.
Schemes: ``file``, ``http``, ``https``, ``raw``, ``url``, ``hdfs`` (WebHDFS), ``disco``, ``dir``,
``tag``.
"""
import importlib

from disco.error import DiscoError
from disco.util import schemesplit


def import_scheme(url):
    """The module handling ``url``'s scheme; DiscoError for an unknown scheme."""
    scheme = schemesplit(url)[0] or "file"
    try:
        return importlib.import_module("disco.schemes.scheme_%s" % scheme)
    except ImportError:
        raise DiscoError("Unknown URL scheme %r in %s" % (scheme, url))


def open(url, task=None):
    """A reader of ``url`` (see the module doc)."""
    return import_scheme(url).open(url, task=task)


def input_stream(stream, size, url, params, globals=None):
    return import_scheme(url).input_stream(stream, size, url, params)


def open_chain(url, task=None):
    """The records of the record stream at ``url``."""
    from disco.worker.task_io import chain_reader
    fd = open(url, task=task)
    return chain_reader(fd, getattr(fd, "size", None), url)


def active_task():
    """The Task this worker process runs, or None on a client."""
    from disco import worker
    return worker.active_task

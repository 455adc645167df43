"""URL schemes of job inputs (``disco.schemes`` of Disco 0.5).

Each scheme is a module ``disco.schemes.scheme_<scheme>`` (no scheme means ``file``) with
``open(url, task=None)`` -> a readable object (a binary file with ``read(n)`` whose iteration
yields text lines, or for ``dir://`` an iterator of records) and ``input_stream(stream, size, url,
params)`` -> ``(fd, size, url)``, the input stream ``task_input_stream`` dispatches to.
Schemes: ``file``, ``http``, ``https``, ``raw``, ``url``, ``hdfs`` (WebHDFS), ``disco``, ``dir``,
``tag``.

The schemes sit above ``disco.comm`` and below everything that reads inputs. ``dir`` and ``tag``
are the exception: they read records (``disco.readers``) and are only ever imported by name,
through ``import_scheme``.
"""
import importlib

from disco.context import current_task
from disco.error import DiscoError
from disco.util import moved, schemesplit


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


def active_task():
    """The Task this worker process runs, or None on a client (``disco.context``)."""
    return current_task()


_MOVED = {"open_chain": "disco.recordio"}  # defined above the schemes (it reads record streams)
__getattr__ = moved(__name__, _MOVED)

"""Small helpers of Disco 0.5 (``disco.util``): iteration, key/value records, functions, URLs.

The ground floor of the client and worker side: this module imports only the compiled merge (and kvgroup),
``disco.error`` and ``disco.layout``, so that every other module may use it. URL strings are
taken apart here; what a URL means (docs/formats/urls.md) is ``disco.layout``'s.

Names of Disco 0.5's ``disco.util`` that need more than that live higher up and are looked up
there when first used (``_MOVED``, a module ``__getattr__``): input lists and index files
(``disco.inputs``, ``disco.readers``), out-of-band results (``disco.oob``), sorting
(``disco.worker.sort``) and external programs (``disco.worker.classic.external``).
"""
import functools
import importlib
import inspect
import itertools
import os
import random
import re
from collections import namedtuple

from disco._merge import merge  # noqa: F401  (compiled heapq.merge, used by MergedInput)
# kvgroup(kviter): consecutive records with equal keys as (k, values); compiled groupby
from disco._merge import kvgroup  # noqa: F401
from disco.error import DiscoError
from disco.layout import hexhash  # noqa: F401  (Disco 0.5 name)

# -- iteration ------------------------------------------------------------------------------------


def identity(x):
    return x


def isiterable(obj):
    """True for objects with ``__iter__`` that are not strings or bytes."""
    return hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes))


def iskv(obj):
    """True for a 2-tuple (a key/value record)."""
    return isinstance(obj, tuple) and len(obj) == 2


def iterify(obj):
    """``obj`` itself if iterable (and not a string), else ``[obj]``."""
    return obj if isiterable(obj) else [obj]


def listify(obj):
    return list(iterify(obj))


def kvify(entry):
    """``entry`` if it is a key/value pair, else ``(entry, None)``."""
    return entry if iskv(entry) else (entry, None)


def key(entry):
    return kvify(entry)[0]


def chainify(iterable):
    """Flatten one level into a list."""
    return list(itertools.chain.from_iterable(iterable))


def flatten(iterable):
    """Recursively flatten nested iterables (strings and bytes are atoms)."""
    for item in iterable:
        if isiterable(item):
            yield from flatten(item)
        else:
            yield item


def ilen(iterable):
    return sum(1 for _ in iterable)


def partition(iterable, fn):
    """``(items for which fn is true, the others)`` as two lists."""
    true, false = [], []
    for item in iterable:
        (true if fn(item) else false).append(item)
    return true, false


def shuffled(iterable):
    items = list(iterable)
    random.shuffle(items)
    return items


# -- functions ------------------------------------------------------------------------------------


def argcount(fn):
    """Number of positional parameters of ``fn``, minus those bound by a ``functools.partial``."""
    bound = 0
    while isinstance(fn, functools.partial):
        bound += len(fn.args)
        fn = fn.func
    if inspect.ismethod(fn):
        bound += 1
        fn = fn.__func__
    code = getattr(fn, "__code__", None)
    if code is None:
        params = inspect.signature(fn).parameters.values()
        n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
        return n - bound
    return code.co_argcount - bound


def globalize(fn, globals):
    """Add the names of ``globals`` that ``fn``'s own globals lack (``setdefault``)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn_globals = getattr(fn, "__globals__", None)
    if fn_globals is not None:
        for name in globals.keys() - fn_globals.keys():
            fn_globals[name] = globals[name]


def reify(dotted_name, globals=globals()):
    """The object named by ``dotted_name`` (``module.attr``), imported; else ``eval`` of it."""
    if "." in dotted_name:
        module, _, attr = dotted_name.rpartition(".")
        try:
            return getattr(__import__(module, fromlist=[attr]), attr)
        except (ImportError, AttributeError):
            pass
    return eval(dotted_name, globals)


def format_size(num):
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(num) < 1024 or unit == "TB":
            return "%d %s" % (num, unit) if unit == "bytes" else "%.1f %s" % (num, unit)
        num /= 1024.0


# -- URLs -----------------------------------------------------------------------------------------


class netloc(namedtuple("netloc", "host port")):
    """``host[:port]`` of a URL (``user@`` dropped); ``str`` gives it back."""

    @classmethod
    def parse(cls, netlocstr):
        netlocstr = netlocstr.rpartition("@")[2]
        host, _, port = netlocstr.partition(":")
        return cls(host, port)

    def __str__(self):
        return "%s:%s" % (self.host, self.port) if self.port else self.host


def schemesplit(url):
    """``(scheme, rest)`` split at the first ``://``; scheme ``''`` when there is none."""
    scheme, sep, rest = url.partition("://")
    return (scheme, rest) if sep else ("", url)


def urljoin(parts):
    scheme, netloc_, path = parts
    return "%s%s%s" % ("%s://" % scheme if scheme else "", "%s/" % netloc_ if netloc_ else "", path)


def localize(path, ddfs_data=None, disco_data=None):
    """The local file of a ``disco`` URL path: ``ddfs/<x>`` -> ``DDFS_DATA/<x>``, ``disco/<x>``
    (or any other first component) -> ``DISCO_DATA/<x>``."""
    first, _, rest = path.lstrip("/").partition("/")
    return os.path.join(ddfs_data if first == "ddfs" else disco_data, rest)


def urlsplit(url, localhost=None, disco_port=None, **kwargs):
    """``(scheme, netloc, path)`` of ``url`` (Disco 0.5 semantics).

    A ``disco://`` URL whose ``host[:port]`` equals ``localhost`` (or any, when ``localhost is
    True``) becomes ``('file', '', <local path>)`` using ``disco_data``/``ddfs_data`` keywords;
    other ``disco://`` URLs become ``http`` on ``disco_port``. ``tag://`` keeps its path.
    """
    scheme, rest = schemesplit(url)
    netloc_, _, path = rest.partition("/")
    if scheme == "tag":
        return scheme, "", rest
    if scheme == "disco" or (disco_port and netloc.parse(netloc_).port == str(disco_port)):
        if localhost is True or netloc_ == localhost or netloc.parse(netloc_).host == localhost:
            return "file", "", localize(path, kwargs.get("ddfs_data"), kwargs.get("disco_data"))
        if scheme == "disco":
            return "http", "%s:%s" % (netloc.parse(netloc_).host, disco_port or 8989), path
    return scheme, netloc_, path


def assert_url(url):
    scheme, netloc_, _path = urlsplit(url)
    if not (scheme and netloc_):
        raise DiscoError("Invalid URL (needs a scheme and a host): %r" % url)


def urlresolve(url, master=None, disco_port=None):
    """An http URL for ``url``: ``dir://h/p`` -> ``<master or h>/p``, ``tag://t`` ->
    ``<master>/ddfs/tag/t``, ``disco://h/p`` -> ``http://h:DISCO_PORT/p``."""
    scheme, rest = schemesplit(url)
    netloc_, _, path = rest.partition("/")
    if scheme == "dir":
        url = "%s/%s" % (master, path) if master else "disco://%s" % rest
    elif scheme == "tag":
        if not path:
            netloc_, path = "", netloc_
        url = "%s/ddfs/tag/%s" % (master or "disco://%s" % netloc_, path)
    return urljoin(urlsplit(url, disco_port=disco_port))


def urltoken(url):
    """The token of ``user:token@`` or ``token@`` in the URL's netloc, else None."""
    netloc_ = schemesplit(url)[1].partition("/")[0]
    if "@" not in netloc_:
        return None
    userinfo = netloc_.rpartition("@")[0]
    return userinfo.partition(":")[2] or userinfo


def jobname(url):
    """The job name in a result URL: the job directory of ``disco://``/``dir://`` URLs
    (``.../<HH>/<job>/...``), else the second-to-last path component of ``http`` URLs."""
    scheme, rest = schemesplit(url)
    parts = rest.split("/")
    if scheme in ("disco", "dir", "http", "https") and len(parts) > 4 and parts[1] == "disco":
        return parts[4]
    if scheme in ("disco", "dir", "http", "https") and len(parts) > 2:
        return parts[-2]
    raise DiscoError("Cannot parse a job name from %r" % url)


def proxy_url(url, proxy=None, meth="GET", to_master=True):
    """``url`` routed through the Disco proxy (``DISCO_PROXY``) when one is set: only http
    URLs; to the master ``<proxy>/<path>``, else ``<proxy>/proxy/<host>/<meth>/<path>``."""
    if proxy is None:
        proxy = os.environ.get("DISCO_PROXY", "")
    if not proxy:
        return url
    scheme, netloc_, path = urlsplit(url)
    if scheme not in ("http", "disco", "dir"):
        return url
    if to_master:
        return "%s/%s" % (proxy.rstrip("/"), path)
    return "%s/proxy/%s/%s/%s" % (proxy.rstrip("/"), netloc.parse(netloc_).host, meth, path)


# -- inputs -----------------------------------------------------------------------


def ispartitioned(input):
    """True for a non-empty list of ``dir://`` URLs (or a single one)."""
    inputs = iterify(input)
    return bool(inputs) and all(isinstance(i, str) and i.startswith("dir://") for i in inputs)


_UNSAFE = re.compile(r"[^A-Za-z0-9_\-@:]")


def safe_name(name):
    """``name`` with every character outside ``[A-Za-z0-9_-@:]`` replaced by ``_``."""
    return _UNSAFE.sub("_", name)


# -- names defined higher up ----------------------------------------------------------------------

def moved(module_name, table):
    """A module ``__getattr__`` for the names of ``table`` (``name -> "module"`` or
    ``"module:attribute"``): each is imported from there when first looked up, so a lower module
    keeps answering for a name that now lives above it without importing that module itself."""
    def __getattr__(name):
        target = table.get(name)
        if target is None:
            raise AttributeError("module %r has no attribute %r" % (module_name, name))
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute or name)
    return __getattr__


_MOVED = {"inputexpand": "disco.inputs", "inputlist": "disco.inputs", "deref": "disco.inputs",
          "read_index": "disco.readers", "parse_dir": "disco.readers",
          "save_oob": "disco.oob", "load_oob": "disco.oob",
          "dsorted": "disco.worker.sort", "disk_sort": "disco.worker.sort",
          "external": "disco.worker.classic.external:package"}
__getattr__ = moved(__name__, _MOVED)

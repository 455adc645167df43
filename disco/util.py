"""Small helpers of Disco 0.5 (``disco.util``): iteration, key/value records, URLs, index files.

URL contract (SPEC §2.6): ``disco://H/disco/<rest>`` is node H's file ``DISCO_DATA/<rest>``
(``/ddfs/<rest>`` likewise under ``DDFS_DATA``), served over HTTP at
``http://H:DISCO_PORT/disco/<rest>``; ``dir://H/<path>`` is an index file at the same places;
``tag://`` names a DDFS tag, which input lists expand to its blobs' replica lists.
An index file has one line per output, ``<label> <url> <size>`` (SPEC §2.4).
"""
import functools
import gzip
import hashlib
import inspect
import io
import itertools
import operator
import os
import random
import re
from collections import namedtuple

from disco._merge import merge  # noqa: F401  (compiled heapq.merge, used by MergedInput)
from disco.error import DataError, DiscoError

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


def kvgroup(kviter):
    """Group *consecutive* records with equal keys: yields ``(k, iterator of values)``.

    No sorting is done: use ``kvgroup(sorted(iter))`` to group all values of a key.
    """
    for k, kvs in itertools.groupby(kviter, key=operator.itemgetter(0)):
        yield k, map(operator.itemgetter(1), kvs)


def dsorted(iterable, buffer_size=1e6, tempdir=".", key=None):
    """Sorted records of ``iterable``, spilling sorted runs of ``buffer_size`` records (or a size
    string such as ``'64M'``) to temporary files in ``tempdir``: an external merge sort
    (``disco.worker.sort``); ``key`` as for ``sorted``."""
    from disco.worker.sort import sorted_records
    return sorted_records(iterable, buffer_size, tempdir, key=key)


def disk_sort(worker, input, filename, sort_buffer_size="10%"):
    """``(key, value)`` records of ``input`` sorted by key, in memory bounded by
    ``sort_buffer_size`` (see ``disco.worker.sort``; no external ``sort`` program, keys of any
    comparable type). Runs spill next to ``filename``; ``worker.send('MSG', ...)`` gets
    progress messages when ``worker`` is given."""
    from disco.worker.sort import sorted_records
    progress = (lambda text: worker.send("MSG", text)) if worker is not None else None
    return sorted_records(input, sort_buffer_size, os.path.dirname(filename) or ".",
                          key=operator.itemgetter(0), progress=progress)


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
        for name, value in globals.items():
            fn_globals.setdefault(name, value)


def reify(dotted_name, globals=globals()):
    """The object named by ``dotted_name`` (``module.attr``), imported; else ``eval`` of it."""
    if "." in dotted_name:
        module, _, attr = dotted_name.rpartition(".")
        try:
            return getattr(__import__(module, fromlist=[attr]), attr)
        except (ImportError, AttributeError):
            pass
    return eval(dotted_name, globals)


def hexhash(data):
    """The first two hex digits of the MD5 of ``data`` (bytes or str): Disco's ``HH``."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()[:2]


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


# -- inputs and index files -----------------------------------------------------------------------


def ispartitioned(input):
    """True for a non-empty list of ``dir://`` URLs (or a single one)."""
    inputs = iterify(input)
    return bool(inputs) and all(isinstance(i, str) and i.startswith("dir://") for i in inputs)


def read_index(dir, task=None):
    """``(label, url, size)`` for each line of the index file ``dir`` (a ``dir://`` URL), read
    locally when the file is on this host (locality rule), else over HTTP; ``.gz`` is gunzipped.
    A line listing several replicas yields the first."""
    from disco.schemes import scheme_disco

    with scheme_disco.open(dir, task=task) as f:
        data = f.read()
    if dir.endswith(".gz"):
        data = gzip.decompress(data)
    for lineno, line in enumerate(io.StringIO(data.decode("utf-8")), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            yield int(fields[0]), fields[1], int(fields[-1])
        except (ValueError, IndexError):
            raise DataError("Corrupted index file: line %d is %r" % (lineno, line[:200]), dir)


def parse_dir(dir, label=None, task=None):
    """Member URLs of the index file ``dir`` in index order, only those of ``label`` unless
    ``label`` is None (or ``'all'``)."""
    return [url for lab, url, _size in sorted(read_index(dir, task=task))
            if label in (None, "all", lab)]


def inputexpand(input, label=None, settings=None):
    """Replica lists for one job input: ``dir://`` index files expand to their members (unless
    ``label is False``), nested lists to their expansions, a ``tag://`` URL (token forms
    included) to the replica lists of every blob it reaches (a missing tag raises CommError)."""
    if isinstance(input, str) and input.startswith("tag://"):
        from disco.ddfs import DDFS
        ddfs = DDFS(settings=settings)
        return chainify(blobs for _tag, _tags, blobs in ddfs.findtags(input, ignore_missing=False))
    if ispartitioned(input) and label is not False:
        return [list(reps) for reps in zip(*(parse_dir(d, label=label) for d in iterify(input)))]
    if isiterable(input):
        return [inputlist(input, label=label, settings=settings)]
    return [input]


def inputlist(inputs, label=None, settings=None):
    """Flat list of inputs (URL strings or replica lists), see ``inputexpand``; empty ones
    dropped."""
    return [item for input in inputs
            for item in inputexpand(input, label=label, settings=settings) if item]


def deref(inputs, resolve=False, master=None):
    """Replica lists of ``inputs`` (index files expanded); http URLs when ``resolve``."""
    for input in inputlist(inputs):
        reps = listify(input)
        yield [urlresolve(u, master=master) for u in reps] if resolve else reps


def external(files):
    """An external map/reduce program for a classic job: ``{'op': bytes of files[0], base name:
    bytes, ...}`` (``disco.worker.classic.external.package``)."""
    from disco.worker.classic.external import package
    return package(files)


# -- out-of-band results (SPEC §2.10) -------------------------------------------------------------


def save_oob(host, name, key, value, ddfs=None):
    """Store ``value`` (bytes; str is UTF-8 encoded) as blob ``key`` in job ``name``'s OOB tag
    ``disco:job:oob:<name>`` on the master ``host`` (a delayed tag update)."""
    from disco.ddfs import DDFS
    ddfs = ddfs or DDFS(host)
    if isinstance(value, str):
        value = value.encode("utf-8")
    ddfs.push(DDFS.job_oob(name), [(value, key)], delayed=True)


def load_oob(host, name, key):
    """The newest value stored for ``key`` in job ``name``'s OOB tag (bytes), or None."""
    from disco.ddfs import DDFS
    ddfs = DDFS(host)
    for fd in ddfs.pull(DDFS.job_oob(name), blobfilter=lambda blob: blob == key):
        with fd:
            return fd.read()
    return None


_UNSAFE = re.compile(r"[^A-Za-z0-9_\-@:]")


def safe_name(name):
    """``name`` with every character outside ``[A-Za-z0-9_-@:]`` replaced by ``_``."""
    return _UNSAFE.sub("_", name)

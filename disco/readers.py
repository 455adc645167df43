"""Reading inputs: index files, records with replica fail-over, result iteration.

Shared by clients (``disco.core.result_iterator``, ``DDFS.chunk``) and workers (the ``Input``
classes are ``disco.worker``'s). Above the URL schemes and the record streams
(``disco.recordio``), below the DDFS client: ``tag://`` inputs are expanded by a function the
caller passes (``expand(..., tags=...)``), so this module never talks to DDFS itself.

An input is a URL or a list of replica URLs of the same data; ``dir://`` URLs are index files
(docs/formats/index-files.md) that expand to their members. Worker inputs numbered by the master
(``disco.worker.IDedInput``) bring their own replica order (``replica_urls()``).
"""
import gzip
import itertools
import time
import traceback
from itertools import islice

from disco._streams import Counted, Records
from disco.context import run_with
from disco.error import DataError, DiscoError, InputMissing
from disco.fileutils import Wait
from disco.layout import index_entries
from disco import schemes
from disco.recordio import StreamCombiner, chain_reader, task_input_stream
from disco.schemes import scheme_disco
from disco.util import isiterable, iterify, ispartitioned, merge


# -- index files ----------------------------------------------------------------------------------

def read_index(dir, task=None):
    """``(label, url, size)`` for each line of the index file ``dir`` (a ``dir://`` URL), read by
    the locality rule (``disco.schemes.scheme_disco``); ``.gz`` is gunzipped. A line listing
    several replicas yields the first. DataError naming the file and the line for a bad line."""
    with scheme_disco.open(dir, task=task) as f:
        data = f.read()
    if dir.endswith(".gz"):
        data = gzip.decompress(data)
    try:
        yield from (entry for _lineno, entry in index_entries(data.decode("utf-8")))
    except ValueError as e:  # UnicodeDecodeError too
        raise DataError("Corrupted index file: %s" % e, dir) from None


def parse_dir(dir, label=None, task=None):
    """Member URLs of the index file ``dir`` in index order, only those of ``label`` unless
    ``label`` is None (or ``'all'``)."""
    return [url for lab, url, _size in sorted(read_index(dir, task=task))
            if label in (None, "all", lab)]


def expand(input, label=None, tags=None):
    """Replica lists for one input: ``dir://`` index files expand to their members (unless
    ``label is False``), nested lists to their expansions, a ``tag://`` URL to ``tags(url)``
    (DiscoError when no ``tags`` function is given), anything else stays."""
    if isinstance(input, str) and input.startswith("tag://"):
        if tags is None:
            raise DiscoError("Cannot expand %s here: no DDFS client to ask" % input)
        return tags(input)
    if ispartitioned(input) and label is not False:
        return [list(reps) for reps in zip(*(parse_dir(d, label=label) for d in iterify(input)))]
    if isiterable(input):
        return [expand_all(input, label=label, tags=tags)]
    return [input]


def expand_all(inputs, label=None, tags=None):
    """Flat list of inputs (URL strings or replica lists), see ``expand``; empty ones dropped."""
    return [item for input in inputs for item in expand(input, label=label, tags=tags) if item]


# -- records of inputs ----------------------------------------------------------------------------

ABSENT = (2, 404, 410)     # ENOENT, HTTP Not Found, HTTP Gone


def _absent(url, error):
    """True if ``error`` (a DataError opening ``url``) says that a job input does not exist.
    ``disco://``/``dir://`` URLs are outputs of tasks, which the master re-creates: never."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return scheme not in ("disco", "dir") and (isinstance(error, InputMissing) or error.code in ABSENT)


class InputIter(object):
    """Records of one input (a list of replica URLs, a URL, or an object whose
    ``replica_urls()`` iterates the URLs to try, as ``disco.worker.IDedInput``), opened with
    ``open(url)``. When a replica fails (DataError) the next one is opened and the records
    already yielded are skipped; DataError when every replica failed."""

    def __init__(self, input, task=None, open=None, start=0):
        self.input = input
        if hasattr(input, "replica_urls"):
            self.urls = input.replica_urls()
        elif isiterable(input):
            self.urls = iter(input)
        else:
            self.urls = iter([input])
        self._start = start
        self.iter = None
        self.open = open or Input.default_opener(task=task)
        self.fd = None
        self.swap()

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            try:
                return next(self.iter)
            except DataError:
                self.swap(traceback.format_exc())
            except StopIteration:
                self.close()
                raise

    def records(self):
        """An iterator of the records with the same fail-over, without a Python call per record
        (``disco._streams.Records``, calling ``failover`` on DataError)."""
        return Records(self)

    def failover(self):
        """After a DataError (being handled): open the next replica, waiting while busy."""
        error = traceback.format_exc()
        while True:
            try:
                return self.swap(error)
            except Wait as w:
                time.sleep(w.retry_after)

    @property
    def last(self):
        """Index of the last record delivered (-1 before the first)."""
        return self.iter.last if self.iter is not None else self._start - 1

    def swap(self, error=None):
        """Open the next replica, positioned after the records already yielded. When no replica
        can be opened: InputMissing if each was absent (a job input, not a task output of the
        job, which the master can re-create), else DataError."""
        self.close()
        missing = error is None
        for url in self.urls:
            try:
                start = self.last + 1
                self.fd = self.open(url)
                self.iter = Counted(islice(iter(self.fd), start, None), start)
                return
            except DataError as e:
                error, last = traceback.format_exc(), e
                missing = missing and _absent(url, e)
        message = "Exhausted all available replicas"
        if error:
            message += ", last error was:\n\n%s" % error
        if missing and error:
            raise InputMissing("input not found: %s" % last.msg, last.url, last.code)
        raise DataError(message, str(self.input))

    def close(self):
        fd, self.fd = self.fd, None
        if fd is not None and hasattr(fd, "close"):
            fd.close()


class Input(object):
    """An iterable over the records of an input, with replica fail-over (InputIter); waits and
    retries while the master says the input is busy. ``open(url)`` (keyword) opens a replica:
    default ``disco.schemes.open(url, task)``."""

    def __init__(self, input, task=None, **kwds):
        self.input, self.task, self.kwds = input, task, kwds

    def __iter__(self):
        while True:
            try:
                return self.input_iter(self.input).records()
            except Wait as w:
                time.sleep(w.retry_after)

    def input_iter(self, input):
        return InputIter(input, task=self.task, **self.kwds)

    @classmethod
    def default_opener(cls, task):
        def open(url):
            return schemes.open(url, task=task)
        return open


class SerialInput(Input):
    """Records of a sequence of inputs, one input after another."""

    def __iter__(self):
        return itertools.chain.from_iterable(Input(input, task=self.task, **self.kwds)
                                             for input in self.input)


class ParallelInput(Input):
    """Records of a set of inputs, interleaved: an input that would block (Wait) is put back
    and another one read."""

    BUSY_TIMEOUT = 1

    def __iter__(self):
        iters = [InputIter(input, task=self.task, **self.kwds) for input in self.input]
        while iters:
            iterator = iters.pop()
            try:
                yield from iterator
            except Wait as w:
                if not iters:
                    time.sleep(min(w.retry_after, self.BUSY_TIMEOUT))
                iters.insert(0, iterator)


class MergedInput(Input):
    """The sorted merge of inputs that are each sorted (``disco.util.merge``, i.e.
    ``heapq.merge``)."""

    def __iter__(self):
        return iter(merge(*(Input(input, task=self.task, **self.kwds) for input in self.input)))


def notifier(urls):
    """Called with the replica URLs of each input a result iterator opens (default: nothing)."""


def read_results(inputs, reader=chain_reader, input_stream=(task_input_stream,),
                 notifier=notifier, params=None, settings=None):
    """Records of ``inputs`` (URLs or replica lists, already expanded): read through
    ``input_stream`` + ``[reader]`` (``reader=None``: the last input stream's output, e.g. text
    lines), with replica fail-over; ``notifier(replicas)`` is called as each input is opened.
    Replicas are opened with ``settings`` as the client settings (``disco.context``)."""
    streams = list(input_stream) + ([reader] if reader else [])

    def open(url):
        return run_with(settings, StreamCombiner, url, streams, params)

    for input in inputs:
        notifier(input)
        yield from Input(input, open=open)

"""Task outputs, the inputs made from them, and the index ("dir") file format
(docs/formats/index-files.md, docs/jobs.md#groupings).

A task run produces at most one :class:`DirOutput` (all its local files, listed in an index file
with per-label summed sizes) plus one :class:`DataOutput` per remote output URL. The job's own
inputs are the outputs of the virtual ``input`` stage and use the same two types.
"""
from dataclasses import dataclass

from disco.layout import data_url, index_entries, index_line


def url_host(url):
    """The host of ``url``: after ``scheme://`` up to ``/`` or ``:`` (``""`` when there is none)."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    return rest.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]


@dataclass(frozen=True)
class DataOutput:
    """One labelled data object with replica ``urls``."""

    label: int
    size: int
    urls: tuple

    @property
    def result(self):
        """The output as a result entry: its replica list."""
        return list(self.urls)


@dataclass(frozen=True)
class DirOutput:
    """An index file at ``url`` on ``host``; ``labels`` holds ``(label, total size)`` pairs."""

    url: str
    labels: tuple

    @property
    def host(self):
        return url_host(self.url)

    @property
    def result(self):
        return [self.url]


@dataclass(frozen=True)
class TaskInput:
    """An input as a task sees it: the ``label`` it should read (an int or ``"all"``) and replicas."""

    label: object
    urls: tuple


def index_labels(text):
    """``(label, total size)`` pairs, sorted by label, of the index file contents ``text``
    (``disco.layout.index_entries``: ValueError naming a bad line)."""
    sizes = {}
    for _lineno, (label, _url, size) in index_entries(text):
        sizes[label] = sizes.get(label, 0) + size
    return tuple(sorted(sizes.items()))


class TaskOutputs:
    """The outputs a task reports (``OUTPUT [label, location, size]``) on ``node`` for job
    ``jobname``: a URL is a :class:`DataOutput`; a path relative to the job home becomes a line
    of the task's index file (:meth:`index`). The worker host and inline runs share it."""

    def __init__(self, node, jobname):
        self.node, self.jobname = node, jobname
        self.lines = []     # index file lines of local outputs
        self.data = []      # DataOutputs

    def add(self, label, location, size):
        if "://" in location:
            self.data.append(DataOutput(label, size, (location,)))
        else:
            self.lines.append(index_line(label, data_url("disco", self.node, self.jobname, location), size))

    def index(self, name):
        """``(text, DirOutput)`` of the index file ``name`` (relative to the job home), or None
        when no output is local."""
        if not self.lines:
            return None
        text = "".join(self.lines)
        return text, DirOutput(data_url("dir", self.node, self.jobname, name), index_labels(text))

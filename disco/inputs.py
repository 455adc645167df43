"""Job inputs as lists of replica lists (``disco.util.inputexpand``/``inputlist``/``deref`` of
Disco 0.5, which ``disco.util`` still answers for).

Above the DDFS client: ``tag://`` inputs (token forms included) expand to the replica lists of
every blob the tag reaches, ``dir://`` index files to their members (``disco.readers.expand``),
both read with ``settings`` (a client's ``DiscoSettings``) when given, else the environment's.
"""
import os

from disco.context import run_with
from disco.ddfs import DDFS
from disco.readers import expand, expand_all
from disco.util import listify, urlresolve


def _tags(settings):
    """The ``tags`` function of ``disco.readers.expand``: asks DDFS lazily, once needed."""
    return lambda url: DDFS(settings=settings).tag_inputs(url)


def inputexpand(input, label=None, settings=None):
    """Replica lists for one job input: ``dir://`` index files expand to their members (unless
    ``label is False``), nested lists to their expansions, a ``tag://`` URL (token forms
    included) to the replica lists of every blob it reaches (a missing tag raises CommError)."""
    return run_with(settings, expand, input, label=label, tags=_tags(settings))


def inputlist(inputs, label=None, settings=None):
    """Flat list of inputs (URL strings or replica lists), see ``inputexpand``; empty ones
    dropped."""
    return run_with(settings, expand_all, inputs, label=label, tags=_tags(settings))


def absolute(inputs):
    """``inputs`` (URLs, or lists of replica URLs, nested) with relative local paths made
    absolute: a job's relative input path means the file relative to the submitting process's
    working directory, not to the job home where its task runs."""
    if isinstance(inputs, str):
        return inputs if "://" in inputs or inputs.startswith("/") else os.path.abspath(inputs)
    return [absolute(i) for i in inputs] if isinstance(inputs, (list, tuple)) else inputs


def deref(inputs, resolve=False, master=None, settings=None):
    """Replica lists of ``inputs`` (index files expanded); http URLs when ``resolve``."""
    for input in inputlist(inputs, settings=settings):
        reps = listify(input)
        yield [urlresolve(u, master=master) for u in reps] if resolve else reps

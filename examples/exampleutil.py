"""Shared by the examples: the master to run on, and the sample data.

``with master() as url:`` gives the master at ``DISCO_MASTER`` when one answers there; otherwise
it starts the embedded master on this machine (data under ``DISCO_ROOT``) for the run and stops it
afterwards.
"""
import contextlib
import os

from disco.core import Disco
from disco.error import CommError
from disco.settings import DiscoSettings

HERE = os.path.dirname(os.path.abspath(__file__))


def sample(*names):
    """Absolute paths of files of ``examples/sample``."""
    return [os.path.join(HERE, "sample", name) for name in names]


def text_files(argv):
    """The files named in ``argv``, else the texts of ``examples/data``; absolute paths."""
    data = os.path.join(HERE, "data")
    paths = argv or [os.path.join(data, name) for name in sorted(os.listdir(data))]
    return [os.path.abspath(p) for p in paths]


def _answers(settings):
    try:
        Disco(settings=settings).master_version()
        return True
    except CommError:
        return False


@contextlib.contextmanager
def master():
    """The URL of the master to use (see the module doc)."""
    settings = DiscoSettings()
    if _answers(settings):
        yield settings["DISCO_MASTER"]
        return
    from disco.master.embedded import start_master
    embedded = start_master(settings["DISCO_ROOT"])
    print("started the embedded master at %s (data in %s)" % (embedded.url, settings["DISCO_ROOT"]))
    try:
        yield embedded.url
    finally:
        embedded.stop()

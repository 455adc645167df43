"""A task as a worker sees it (``disco.task`` of Disco 0.5), and the job data codec.

``Task(**payload)`` is built from the master's ``TASK`` reply (docs/worker-protocol.md). Paths are relative:
``jobpath`` to ``DISCO_DATA`` (``<host>/<HH(job)>/<job>``, the job home), ``taskpath`` to the job
home, which is the worker's working directory (``<HH(uid)>/<uid>``). Outputs live in the task
directory; their relative paths go to the master in ``OUTPUT`` messages and become
``disco://<host>/disco/<jobpath>/<taskpath>/<file>`` URLs.
"""
import collections
import io
import os
import re
import time
import types

import cloudpickle

from disco.error import DiscoError
from disco.jobpack import JobPack
from disco.layout import data_url, hexhash, job_path
from disco.oob import load_oob, save_oob
from disco.util import safe_name

_OOB_KEY = re.compile(r"^[A-Za-z0-9_\-@:]+$")


def jobdata(*objs):
    """The job data of a Python worker: ``objs`` (the client passes ``(job, jobargs)``) pickled
    with cloudpickle, so functions and classes of ``__main__``, lambdas, closures and partials
    travel by value. Functions of importable modules travel by reference: the user's own modules
    are shipped in the job home (``disco.worker.modutil``), others must be installed on nodes."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(objs)
    return buffer.getvalue()


def _code_reduce(code):
    """cloudpickle's reduction of a code object, keeping its file name (cloudpickle writes
    ``<dynamic-code>``): tracebacks of the user's functions shipped by value name their file."""
    constructor, args = cloudpickle.cloudpickle._code_reduce(code)
    return constructor, tuple(code.co_filename if a == "<dynamic-code>" else a for a in args)


class _Pickler(cloudpickle.Pickler):
    dispatch_table = collections.ChainMap({types.CodeType: _code_reduce},
                                          cloudpickle.Pickler.dispatch_table)


def loads(data):
    """The objects of ``jobdata``."""
    return cloudpickle.loads(data)


class Task(object):
    """The task of this worker process, from the ``TASK`` message: ``host``, ``jobfile``,
    ``jobname``, ``master``, ``disco_port``, ``put_port``, ``ddfs_data``, ``disco_data``,
    ``stage``, ``group`` (``[label, host]``; ``self.group`` is ``"<label>-<host>"``, also
    ``group_label``/``group_host``), ``grouping``, ``taskid``."""

    def __init__(self, host="", jobfile="", jobname="", master=None, disco_port=None,
                 put_port=None, ddfs_data="", disco_data="", stage=None, group=None,
                 grouping=None, taskid=-1, **unknown):
        self.host = host
        self.jobfile = jobfile
        self.jobname = jobname
        self.master = master
        self.disco_port = disco_port
        self.put_port = put_port
        self.ddfs_data = ddfs_data
        self.disco_data = disco_data
        self.stage = stage
        self.group_label, self.group_host = group if group else (0, "")
        self.group = "%s-%s" % (self.group_label, self.group_host or "")
        self.grouping = grouping
        self.taskid = taskid
        self.uid = "%s:%s-%s-%s-%d" % (stage, _file_part(self.group), taskid,
                                       hexhash(repr(time.time())), os.getpid())
        self._jobpack = self._jobobjs = None

    def __repr__(self):
        return "<Task %s of %s>" % (self.uid, self.jobname)

    @property
    def jobpack(self):
        """The job pack (``disco.jobpack.JobPack``) read from ``jobfile``."""
        if self._jobpack is None:
            with open(self.jobfile, "rb") as f:
                self._jobpack = JobPack.load(f)
        return self._jobpack

    @property
    def jobobjs(self):
        """``(job, jobargs)`` unpickled from the job pack's job data."""
        if self._jobobjs is None:
            self._jobobjs = loads(self.jobpack.jobdata)
        return self._jobobjs

    @property
    def jobpath(self):
        return job_path(self.host, self.jobname)

    @property
    def taskpath(self):
        return os.path.join(hexhash(self.uid), self.uid)

    def makedirs(self):
        os.makedirs(self.taskpath, exist_ok=True)

    def path(self, name):
        """The path of file ``name`` in the task directory (relative to the job home)."""
        return os.path.join(self.taskpath, name)

    def output_filename(self, label):
        """``<stage>-<group>-<label>``; characters of the group outside ``[A-Za-z0-9_-@:]``
        become ``_`` (the group host of a ``raw://`` input is its data)."""
        if not isinstance(label, int) or isinstance(label, bool):
            raise ValueError("Output label (%r : %s) must be an integer or None"
                             % (label, type(label).__name__))
        return "%s-%s-%d" % (self.stage, _file_part(self.group), label)

    def output_path(self, label):
        return self.path(self.output_filename(label))

    def output(self, label=None, typ="disco"):
        """``(path, type, label)`` of the output for ``label``: label None is the task's single
        unlabelled output (label 0)."""
        if label is None:
            return self.path(self.uid), typ, 0
        return self.output_path(label), "part", label

    def url(self, name, scheme="disco"):
        return data_url(scheme, self.host, self.jobname, "%s/%s" % (self.taskpath, name))

    def get(self, key):
        """The out-of-band value (bytes) stored for ``key`` in this job, or None
        (docs/ddfs.md#out-of-band-results)."""
        return load_oob(self.master, self.jobname, key)

    def put(self, key, value):
        """Store the out-of-band ``value`` (bytes) for ``key`` (``[A-Za-z0-9_-@:]+``) in the
        job's OOB tag ``disco:job:oob:<job>``; the newest value of a key wins."""
        if not _OOB_KEY.match(key):
            raise DiscoError("OOB key contains invalid characters (%s)" % key)
        save_oob(self.master, self.jobname, key, value)


GROUP_NAME_MAX = 64


def _file_part(group):
    """``group`` made safe for a file name, and short: a group host can be a ``raw://`` input's
    data, which would make task directory names longer than the file system allows. A longer
    one keeps its first characters and a hash of the whole."""
    name = safe_name(group)
    if len(name) <= GROUP_NAME_MAX:
        return name
    import hashlib
    return "%s~%s" % (name[:GROUP_NAME_MAX - 17], hashlib.sha1(name.encode("utf-8")).hexdigest()[:16])

"""Python worker library (``disco.worker`` of Disco 0.5): ``Worker``, the base of every Python
worker, builds the job pack fields on the client (``jobdict``, ``jobenvs``, ``jobhome``) and runs
tasks on the nodes. Its parts, each in a module of its own, are re-exported here:

* ``disco.worker.channel``: the Worker Protocol channel and the process entry point ``main()``;
* ``disco.worker.jobhome``: the job home zip (``DiscoZipFile``, the launcher ``disco_worker``);
* ``disco.worker.inputs``: inputs as the master numbers them (``IDedInput``, ``ReplicaIter``);
  the readers themselves (``Input``, ``SerialInput``, ...) are ``disco.readers``';
* ``disco.worker.outputs``: ``Output`` (records go to its ``writer``) and shuffle concatenation.
"""
import collections
import os
import sys

from disco import schemes
from disco.context import current_task, set_task
from disco.error import DataError, DiscoError
from disco.fileutils import AtomicFile, Wait
from disco.jobpack import result_stage
from disco.readers import (Input, InputIter, MergedInput, ParallelInput,  # noqa: F401
                           SerialInput, read_index)
from disco.task import Task
from disco.util import iskv, iterify, ispartitioned
from disco.worker.channel import (DISCO_WORKER_MAX_TIME, MAX_MSG, MSG_RATE, Channel,  # noqa: F401
                                  MessageWriter, channel, main, send, set_mem_limit)
from disco.worker.inputs import IDedInput, ReplicaIter  # noqa: F401
from disco.worker.jobhome import LAUNCHER, LAUNCHER_SCRIPT, DiscoZipFile, launcher  # noqa: F401
from disco.worker.modutil import find_modules, locate_modules, module_files, parse_function
from disco.worker.outputs import BaseOutput, Output, concat_streams, link_output  # noqa: F401


def __getattr__(name):
    if name == "active_task":  # Disco 0.5's global: the task this process runs, or None
        return current_task()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


# -- the protocol channel -------------------------------------------------------------------------

class Params(object):
    """An attribute bag: ``Params(k=v).k``; the ``params`` passed to job functions (each task
    gets its own copy)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def __repr__(self):
        return "Params(%s)" % ", ".join("%s=%r" % kv for kv in sorted(self.__dict__.items()))



class Worker(dict):
    """A dict of job parameters that builds the job pack fields on the client and runs tasks on
    the nodes. ``Worker(**kwargs)`` = ``defaults()`` updated with ``kwargs``."""

    jobpack_version = 1

    def __init__(self, **kwargs):
        super().__init__(self.defaults())
        self.update(kwargs)
        self.outputs = {}

    @property
    def bin(self):
        """The worker executable, relative to the job home (``jobdict['worker']``)."""
        return LAUNCHER

    def defaults(self):
        return {"save_results": False, "profile": False, "required_files": {},
                "required_modules": None}

    def getitem(self, key, job, jobargs, default=None):
        """``key`` from ``jobargs``, else the job's attribute, else this dict, else ``default``."""
        if key in jobargs:
            return jobargs[key]
        if hasattr(job, key):
            return getattr(job, key)
        return self.get(key, default)

    def callables(self, job, jobargs):
        """Every callable parameter value (items of list/tuple values too)."""
        return [obj for key in self for obj in iterify(self.getitem(key, job, jobargs))
                if callable(obj)]

    def get_modules(self, job, **jobargs):
        """The modspec of every callable parameter and of the job's class."""
        return find_modules(self.callables(job, jobargs) + [type(job)], exclude=["Task"])

    # -- client side: the job pack ----------------------------------------------------------------

    def jobdict(self, job, **jobargs):
        """The job dict fields every worker sets (``prefix``, ``save_results``, ``save_info``,
        ``scheduler``, ``owner``), from ``name``, ``save``/``save_results``, ``save_info``,
        ``scheduler`` and ``owner``."""
        def get(key, default=None):
            return self.getitem(key, job, jobargs, default)
        return {"prefix": get("name"),
                "save_results": bool(get("save", False) or get("save_results", False)),
                "save_info": get("save_info", "ddfs"),
                "scheduler": get("scheduler", {}),
                "owner": get("owner", job.settings["DISCO_JOB_OWNER"])}

    def jobenvs(self, job, **jobargs):
        """Environment of the worker: ``PYTHONPATH`` = ``lib`` and ``sys.path`` (made absolute)
        with the leading ``/`` dropped (paths inside the job home), ``LD_LIBRARY_PATH`` = ``lib``,
        and this client's ``DISCO_STREAM_VERSION`` (the record format tasks write)."""
        paths = ["lib"] + [os.path.abspath(p).lstrip("/") for p in sys.path]
        return {"PYTHONPATH": ":".join(paths), "LD_LIBRARY_PATH": "lib",
                "DISCO_STREAM_VERSION": str(job.settings["DISCO_STREAM_VERSION"])}

    def jobhome(self, job, **jobargs):
        """The job home zip (bytes)."""
        return self.jobzip(job, **jobargs).dumps()

    def jobzip(self, job, **jobargs):
        """The job home: the launcher, ``required_files`` (dict: ``{arcname: bytes}``; list: paths
        copied to ``lib/``), the shipped modules of ``required_modules`` (auto-detected when
        None, and stored in this worker so tasks import the same) and the user's modules that
        define the job's functions (``defining_modules``)."""

        def get(key):
            return self.getitem(key, job, jobargs)
        home = DiscoZipFile()
        launcher(home)
        required_files = get("required_files") or {}
        if isinstance(required_files, dict):
            for arcname, data in required_files.items():
                home.writestr(arcname, data)
        else:
            for path in required_files:
                home.write(path, os.path.join("lib", os.path.basename(path)))
        if get("required_modules") is None:
            self["required_modules"] = self.get_modules(job, **jobargs)
        for item in list(get("required_modules")) + self.defining_modules(job, jobargs):
            if iskv(item) or (isinstance(item, list) and len(item) == 2):
                for path, arcname in module_files(*item):
                    home.writepath(path, arcname)
        return home

    def defining_modules(self, job, jobargs):
        """The modspec of the user's modules that define the job's class and functions: always
        shipped (functions travel by reference to them), whatever ``required_modules`` says."""
        names = {getattr(parse_function(fn), "__module__", None)
                 for fn in self.callables(job, jobargs) + [type(job)]}
        return locate_modules(sorted(n for n in names if n and n != "__main__"))

    # -- node side --------------------------------------------------------------------------------

    def input(self, task, merged=False, **kwds):
        """The task's inputs: a MergedInput when ``merged``, else a SerialInput."""
        if merged:
            return MergedInput(self.get_inputs(), task=task, **kwds)
        return SerialInput(self.get_inputs(), task=task, **kwds)

    def output(self, task, label=None, **kwds):
        """The Output for ``label`` (None: the task's unlabelled output), opened once."""
        output = self.outputs.get(label)
        if output is None:
            output = self.outputs[label] = Output(task.output(label=label), **kwds)
        return output

    def start(self, task, job, **jobargs):
        """Run the task: memory limit, task directory, ``run`` (under cProfile when
        ``profile``), then ``end``.

        Outputs of the job's last stage (its results) are fsynced before they are reported;
        those of earlier stages are not (as in Hadoop's and Spark's shuffles): the next stage
        reads them from the page cache while the job runs, and only a crash of the machine's
        kernel, which ends the job's attempts there anyway, could lose them. Disco 0.5 synced
        no task output. A sync per output would cost a map task one disk flush per partition."""
        set_task(task)
        set_mem_limit(os.environ.get("DISCO_WORKER_MAX_MEM")
                      or job.settings.get("DISCO_WORKER_MAX_MEM"))
        task.makedirs()
        pack = task.jobpack
        synced, AtomicFile.sync = AtomicFile.sync, task.stage == result_stage(pack.version, pack.jobdict)
        try:
            if self.getitem("profile", job, jobargs):
                self._profile(task, job, jobargs)
            else:
                self.run(task, job, **jobargs)
            self.end(task, job, **jobargs)
        finally:
            AtomicFile.sync = synced

    def _profile(self, task, job, jobargs):
        import cProfile
        name = "profile-%s" % task.uid
        path = task.path(name)
        cProfile.runctx("self.run(task, job, **jobargs)", globals(), locals(), path)
        try:
            with open(path, "rb") as f:
                task.put(name, f.read())
        except DiscoError as e:
            self.send("MSG", "Profile saved in %s, not stored as OOB data: %s" % (path, e))

    def run(self, task, job, **jobargs):
        """Call the job's function for the task's stage: ``fn(task, job, **jobargs)``."""
        self.getitem(task.stage, job, jobargs)(task, job, **jobargs)

    def end(self, task, job, **jobargs):
        self.send_outputs()
        self.send("MSG", "Results sent to master")

    def send_outputs(self):
        """Close every output and report it: ``OUTPUT [label, path, size]``."""
        for output in self.outputs.values():
            output.close()
            self.send("OUTPUT", [output.label, output.path, output.size()])

    # -- protocol requests ------------------------------------------------------------------------

    @classmethod
    def send(cls, type, payload=""):
        """Send a protocol message; the reply's payload (None for DONE, ERROR, FATAL)."""
        return send(type, payload)

    @classmethod
    def get_task(cls):
        return Task(**cls.send("TASK"))

    @classmethod
    def get_input(cls, id):
        """``[(replica id, url), ...]`` of input ``id``; Wait if it is busy."""
        _done, inputs = cls.send("INPUT", ["include", [id]])
        _id, status, _label, replicas = inputs[0]
        if status == "busy":
            raise Wait
        if status == "failed":
            raise DataError("Can't handle broken input", id)
        return [(rid, str(url)) for rid, url in replicas]

    @classmethod
    def get_inputs(cls, done=False, exclude=None):
        """IDedInputs of the task, asking the master until it says the set is ``done``."""
        exclude = [] if exclude is None else exclude
        while done != "done":
            done, inputs = cls.send("INPUT", ["exclude", exclude])
            for id, status, label, replicas in inputs:
                if id not in exclude:
                    input = IDedInput((cls, id, label if label == "all" else int(label)))
                    if status == "ok":
                        input.offered = [(rid, str(url)) for rid, url in replicas]
                    yield input
                    exclude.append(id)

    @classmethod
    def labelled_input_map(cls, task, inputs):
        """``{label: [replica list, ...]}``: index inputs contribute their entries of the input's
        label (every entry for ``'all'``), data inputs themselves under their label."""
        label_map = collections.defaultdict(list)
        for input in inputs:
            replicas = [url for _rid, url in input.replicas]
            if ispartitioned(replicas):
                for label, url, _size in read_index(replicas[0], task=task):
                    if input.label in ("all", label):
                        label_map[label].append([url])
            else:
                label_map[input.label].append(replicas)
        return label_map

    @classmethod
    def concat_input(cls, task, output_label, replicas):
        """Concatenate the first replica of each input into ``task.output_path(output_label)``;
        ``(path, size)``. Record streams stay one valid stream (see ``concat_streams``)."""
        path = task.output_path(output_label)
        if len(replicas) == 1 and link_output(replicas[0][0], path, task):
            return path, os.path.getsize(path)
        with AtomicFile(path) as output:
            concat_streams(output, (schemes.open(reps[0], task=task) for reps in replicas))
        return path, os.path.getsize(path)

    def shuffle_outputs(self, task):
        """The shuffle stage (group_node): inputs concatenated per label, one output each."""
        label_map = self.labelled_input_map(task, self.get_inputs())
        for label, replicas in sorted(label_map.items()):
            path, size = self.concat_input(task, label, replicas)
            self.send("OUTPUT", [label, path, size])
        self.send("MSG", "Shuffled %d inputs into %d label(s)"
                  % (sum(map(len, label_map.values())), len(label_map)))

    @classmethod
    def main(cls):
        """The entry point of a worker process (see the module doc)."""
        main()



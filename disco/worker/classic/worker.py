"""The classic map/reduce worker (``disco.worker.classic.worker`` of Disco 0.5, job pack v1).

Parameters (each resolved by ``Worker.getitem``: jobarg > Job attribute > worker dict > default):
``map``, ``map_init``, ``map_reader``, ``map_input_stream``, ``map_output_stream``, ``combiner``,
``partition``, ``partitions``, ``reduce``, ``reduce_init``, ``reduce_reader``,
``reduce_input_stream``, ``reduce_output_stream``, ``reduce_shuffle``, ``params``, ``sort``,
``sort_buffer_size``, ``status_interval``, ``ext_params``, ``version``, plus the base worker's
(docs/jobs.md#classic-jobs).

Stages (docs/jobs.md#groupings): ``map`` (one input; one output per partition label, or a single label-0
output when ``partitions`` is falsy), ``map_shuffle``/``reduce_shuffle`` (group_node: inputs
concatenated per label), ``reduce`` (the entries of its label, or of every label for ``'all'``
inputs; one label-0 output). Output paths are relative: the master writes the index files.

Job functions get these names when they lack them: the ``classic.func`` and ``task_io``
functions, ``Task`` (the running task), ``get``/``put`` (OOB), ``this_name``, ``this_master``,
``this_host``, ``this_partition``, ``this_inputs``, ``Params`` and the ``required_modules``.

``sort=True`` sorts the reduce input by key in memory bounded by ``sort_buffer_size``
(``disco.worker.sort``: runs spilled to the task directory and merged; no ``sort`` program, keys
of any comparable type). A dict-valued ``map``/``reduce`` is an external program
(``disco.worker.classic.external``; its files go to ``ext.map/``/``ext.reduce/`` of the job home).
"""
import random
import sys

from disco import JOBPACK_VERSION1
from disco._partition import Progress, map_output
from disco.context import current_task
from disco.error import DiscoError
from disco.inputs import absolute, inputlist
from disco.readers import read_index
from disco.recordio import StreamCombiner
from disco.util import argcount, globalize, isiterable, iterify, ispartitioned
from disco.worker import Params, SerialInput, Worker as BaseWorker
from disco.worker.classic import external, func
from disco.worker.classic.func import (chain_reader, default_partition, disco_output_stream,
                                       init, map_input_stream, map_output_stream,
                                       reduce_input_stream, reduce_output_stream)
from disco.worker.modutil import import_modules
from disco.worker.sort import disk_sort



def __getattr__(name):
    if name == "Task":  # Disco 0.5's global: the running task (disco.context)
        return current_task()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def get(key):
    """The out-of-band value of ``key`` stored by a task of this job."""
    return current_task().get(key)


def put(key, value):
    """Store an out-of-band ``value`` for ``key``."""
    return current_task().put(key, value)


def this_name():
    return current_task().jobname


def this_master():
    return current_task().master


def this_host():
    return current_task().host


def this_partition():
    return current_task().group_label


def this_inputs():
    """The replica URL lists of this task's inputs."""
    return [input.locations for input in Worker.get_inputs()]


def _python_version():
    return "%d.%d" % sys.version_info[:2]


class Worker(BaseWorker):
    """The classic map/reduce worker (see the module doc)."""

    jobpack_version = JOBPACK_VERSION1

    def defaults(self):
        defaults = super().defaults()
        defaults.update({
            "map": None, "map_init": init, "map_reader": None,
            "map_input_stream": (map_input_stream,),
            "map_output_stream": (map_output_stream, disco_output_stream),
            "map_shuffle": None, "combiner": None,
            "partition": default_partition, "partitions": 1,
            "reduce": None, "reduce_init": init, "reduce_reader": chain_reader,
            "reduce_input_stream": (reduce_input_stream,),
            "reduce_output_stream": (reduce_output_stream, disco_output_stream),
            "reduce_shuffle": None, "ext_params": {}, "params": Params(), "shuffle": None,
            "sort": False, "sort_buffer_size": "10%", "status_interval": 100000,
            "version": _python_version()})
        return defaults

    # -- client side ------------------------------------------------------------------------------

    def jobdict(self, job, **jobargs):
        """The v1 job dict: base fields plus ``input``, ``worker``, ``map?``, ``reduce?``,
        ``reduce_shuffle?``, ``nr_reduces`` (docs/jobs.md#classic-jobs)."""
        def get(key, default=None):
            return self.getitem(key, job, jobargs, default)
        has_map, has_reduce = bool(get("map")), bool(get("reduce"))
        job_input = get("input", [])
        if not isiterable(job_input):
            raise DiscoError("Job 'input' is not a list of input locations, or a list of such "
                             "lists: %r" % (job_input,))
        input = inputlist(absolute(job_input), label=None if has_map else False, settings=job.settings)
        if has_map:
            nr_reduces = get("partitions") or 1
        elif ispartitioned(input):
            nr_reduces = 1 + max((label for dir in input for label, _url, _size in read_index(dir)),
                                 default=0)
        else:
            nr_reduces = 1
        jobdict = super().jobdict(job, **jobargs)
        jobdict.update({"input": input, "worker": self.bin, "map?": has_map,
                        "reduce?": has_reduce, "reduce_shuffle?": bool(get("reduce_shuffle")),
                        "nr_reduces": nr_reduces})
        return jobdict

    def jobzip(self, job, **jobargs):
        """The base job home plus the files of external programs under ``ext.<stage>/``."""
        home = super().jobzip(job, **jobargs)
        for stage in ("map", "reduce"):
            program = self.getitem(stage, job, jobargs)
            if isinstance(program, dict):
                for name, data in sorted(program.items()):
                    home.writestr("ext.%s/%s" % (stage, name), data)
        return home

    # -- node side --------------------------------------------------------------------------------

    def run(self, task, job, **jobargs):
        """Resolve every parameter, give job functions their helper names, run the stage."""
        for key in self:
            self[key] = self.getitem(key, job, jobargs)
        if self["version"] != _python_version():
            raise DiscoError("Python version mismatch: the job was submitted with Python %s, "
                             "this node runs %s" % (self["version"], _python_version()))
        namespace = {name: getattr(func, name) for name in func.__all__}
        namespace.update({"Task": task, "get": get, "put": put, "this_name": this_name,
                          "this_master": this_master, "this_host": this_host,
                          "this_partition": this_partition, "this_inputs": this_inputs,
                          "Params": Params})
        namespace.update(import_modules(self["required_modules"]))
        for key in self:
            for fn in iterify(self[key]):
                if callable(fn):
                    globalize(fn, namespace)
        stage = getattr(self, task.stage, None)
        if stage is None:
            raise DiscoError("The classic worker has no stage %r" % task.stage)
        if isinstance(self.get(task.stage), dict):
            external.prepare(self["ext_params"], task.stage, message=lambda text: self.send("MSG", text))
            self[task.stage] = getattr(external, task.stage)
        try:
            stage(task, self["params"])
        finally:
            external.close()

    def map(self, task, params):
        """Map every input record; outputs per partition label (see the module doc)."""
        if self["save_results"] and self["partitions"] and not self["reduce"]:
            raise DiscoError("Storing partitioned map outputs in DDFS is not supported: "
                             "set partitions=None or add a reduce")
        entries = self.input(task, open=self.opener("map", "in", params))
        self["map_init"](entries, params)
        partition, combiner = self["partition"], self["combiner"]

        def add_for(label):
            return self.output(task, label, open=self.opener("map", "out", params)).writer.add

        def progress(n):
            self.send("MSG", "%d entries mapped" % n)

        n = map_output(entries, self["map"], params, self["partitions"], partition, combiner, add_for,
                       partition is default_partition, combiner is func.sum_combiner,
                       progress, self["status_interval"] or 0, sort_output=bool(self["reduce"]))
        self.send("MSG", "Done: %d entries mapped" % n)

    def shuffle(self, task, params):
        """The shuffle stages: ``shuffle_<grouping>`` (only ``group_node`` exists)."""
        method = getattr(self, "shuffle_%s" % task.grouping, None)
        if method is None:
            raise DiscoError("No shuffle for grouping %r" % task.grouping)
        method(task, params)

    map_shuffle = reduce_shuffle = shuffle

    def shuffle_group_node(self, task, params):
        self.shuffle_outputs(task)

    def reduce_input(self, task, params):
        """The reduce input: the entries of each index input that carry the input's label (all
        of them for ``'all'``), data inputs as they are; in random order, sorted by key when
        ``sort``."""
        label_map = self.labelled_input_map(task, self.get_inputs())
        inputs = [replicas for group in label_map.values() for replicas in group]
        random.shuffle(inputs)
        red_in = SerialInput(inputs, task=task, open=self.opener("reduce", "in", params))
        return self.sort(red_in, task) if self["sort"] else red_in

    def reduce(self, task, params):
        """Reduce the input into the task's single output (label 0)."""
        red_in = self.status_iter(self.reduce_input(task, params), "%d entries reduced")
        red_out = self.output(task, open=self.opener("reduce", "out", params)).writer
        self["reduce_init"](red_in, params)
        fn = self["reduce"]
        if argcount(fn) < 3:
            add = red_out.add
            for k, v in fn(red_in, params):
                add(k, v)
        else:
            fn(red_in, red_out, params)

    def sort(self, input, task):
        """``input`` sorted by key in memory bounded by ``sort_buffer_size`` (records, or a size
        such as ``'64M'``/``'10%'``; see ``disco.worker.sort``), runs spilled to the task dir."""
        self.send("MSG", "Sorting the input")
        return disk_sort(self, input, task.path("sort.dl"), self["sort_buffer_size"])

    def status_iter(self, iterator, message):
        """``iterator``'s items; a MSG ``message % n`` every ``status_interval`` items and
        ``"Done: " + message % n`` at the end (``disco._partition.Progress``: compiled)."""
        return Progress(iterator, lambda n: self.send("MSG", message % n),
                        lambda n: self.send("MSG", "Done: " + message % n),
                        self["status_interval"] or 0)

    def opener(self, mode, direction, params):
        """``open(url)`` building the ``<mode>_input_stream`` + ``<mode>_reader`` chain (``in``)
        or the ``<mode>_output_stream`` chain (``out``) as a StreamCombiner."""
        if direction == "in":
            streams = [s for s in iterify(self["%s_input_stream" % mode]) if s]
            reader = self["%s_reader" % mode]
            if reader:
                streams.append(reader)
        else:
            streams = [s for s in iterify(self["%s_output_stream" % mode]) if s]

        def open(url):
            return StreamCombiner(url, streams, params)
        return open


if __name__ == "__main__":
    Worker.main()

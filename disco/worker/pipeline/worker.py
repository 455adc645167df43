"""The pipeline worker (``disco.worker.pipeline.worker`` of Disco 0.5, job pack v2).

A job is a list of stages, each with a grouping (docs/jobs.md#groupings): ``Worker(pipeline=[(grouping,
Stage), ...])``, or ``(grouping, Stage, concurrent)`` to let the stage start while the previous
one still runs. Groupings: ``split``, ``group_label``, ``group_node``, ``group_node_label``,
``group_all``. A bad tuple, an unknown grouping, a stage without a name or a repeated name raise
DiscoError on the client.

The jobdict gets ``worker``, ``pipeline`` (``[[name, grouping, concurrent], ...]``) and ``inputs``
(``[[0, 0, [url, ...]], ...]``): each job input is a replica list; a bare URL string is wrapped
into a one-replica list (the original sent it as is and the master refused the job), ``dir://``
index inputs are kept for the master, ``tag://`` inputs expand to their blobs.

A task of stage S runs (``run_stage``): ``state = S.init(interface, params)``; it asks the master
for inputs until the set is ``done`` (a task of a concurrent stage waits for its last producer this
way); the labels of its inputs (index inputs expanded to the entries of the input's label, every
entry for ``'all'``) in the order ``S.input_hook(state, sorted labels)`` returns; for each label
``S.process(interface, state, label, inp)`` once per input (records of one input, with replica
fail-over), or once with all inputs of the label chained when ``S.combine`` (sorted by key in
bounded memory when ``S.sort``, see ``disco.worker.sort``); finally ``S.done(interface, state)``.
Inputs are read through ``S.input_chain`` (default: ``[task_input_stream]`` for the first stage,
which reads job inputs as lines or raw bytes, ``[task_input_stream, chain_reader]`` for later
stages, which read records); ``interface.output(label)`` is the output for an int label, written
through ``S.output_chain`` (default ``[task_output_stream, disco_output_stream]``): use its
``add(k, v)``. ``S.taskinfo`` is the running task's ``TaskInfo(jobname, host, stage, group,
label)``.
"""
import collections
import sys

from disco import JOBPACK_VERSION2
from disco.error import DiscoError
from disco.inputs import absolute, inputlist
from disco.recordio import (StreamCombiner, chain_reader, disco_output_stream, task_input_stream,
                            task_output_stream)
from disco.util import isiterable
from disco.worker import Input, Params, SerialInput, Worker as BaseWorker
from disco.worker.sort import disk_sort

GROUPINGS = ("split", "group_label", "group_node", "group_node_label", "group_all")

TaskInfo = collections.namedtuple("TaskInfo", "jobname host stage group label")
DiscoTask = collections.namedtuple("DiscoTask", "output")
DiscoTask.__doc__ = """The ``interface`` given to stage functions: ``output(label)`` is the output
stream (``add(k, v)``) of the task for that int label, opened once."""


def input_hook(state, input_labels):
    """The default ``Stage.input_hook``: the labels in the order given."""
    return input_labels


def pipeline_input_chain():
    """Input streams of a first stage: job inputs read by their scheme (lines of text files)."""
    return [task_input_stream]


def interior_input_chain():
    """Input streams of a later stage: the records of the previous stage's outputs."""
    return [task_input_stream, chain_reader]


def default_input_chain(pipe_index):
    return pipeline_input_chain() if pipe_index == 0 else interior_input_chain()


def default_output_chain():
    return [task_output_stream, disco_output_stream]


class Stage(object):
    """One stage of a pipeline (see the module doc for how its functions are called)."""

    def __init__(self, name="", init=None, process=None, done=None, input_hook=input_hook,
                 input_chain=(), output_chain=(), combine=False, sort=False):
        self.name = name
        self.init = init
        self.process = process
        self.done = done
        self.input_hook = input_hook
        self.input_chain = list(input_chain or ())
        self.output_chain = list(output_chain or ())
        self.combine = combine
        self.sort = sort
        self.taskinfo = None

    def __repr__(self):
        return "<Stage %s>" % self.name

    def _callables(self):
        """Every function of the stage (for module detection)."""
        functions = [self.init, self.process, self.done, self.input_hook]
        return [f for f in functions + self.input_chain + self.output_chain if callable(f)]


def _python_version():
    return "%d.%d" % sys.version_info[:2]


class Worker(BaseWorker):
    """The pipeline worker (see the module doc)."""

    jobpack_version = JOBPACK_VERSION2
    group_ops = frozenset(GROUPINGS)

    def defaults(self):
        defaults = super().defaults()
        defaults.update({"pipeline": [], "version": _python_version()})
        return defaults

    def stages(self, job, jobargs):
        """The pipeline as ``[(grouping, Stage, concurrent), ...]``, validated."""
        pipeline = self.getitem("pipeline", job, jobargs) or []
        if not isiterable(pipeline):
            raise DiscoError("pipeline must be a list of (grouping, Stage) tuples: %r" % (pipeline,))
        stages, names = [], set()
        for item in pipeline:
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise DiscoError("Pipeline items are (grouping, Stage) or (grouping, Stage, "
                                 "concurrent), not %r" % (item,))
            grouping, stage, concurrent = (tuple(item) + (False,))[:3]
            if grouping not in self.group_ops:
                raise DiscoError("Unknown grouping %r (one of %s)" % (grouping, ", ".join(GROUPINGS)))
            if not isinstance(stage, Stage) or not stage.name or stage.name == "input":
                raise DiscoError("Pipeline stages are named Stage objects, not %r" % (stage,))
            if stage.name in names:
                raise DiscoError("Repeated stage name %r in the pipeline" % stage.name)
            names.add(stage.name)
            stages.append((grouping, stage, bool(concurrent)))
        return stages

    def callables(self, job, jobargs):
        return super().callables(job, jobargs) + [
            fn for _grouping, stage, _concurrent in self.stages(job, jobargs) for fn in stage._callables()]

    # -- client side ------------------------------------------------------------------------------

    def jobdict(self, job, **jobargs):
        """The v2 job dict: base fields plus ``worker``, ``pipeline`` and ``inputs``."""
        pipeline = self.stages(job, jobargs)
        job_input = self.getitem("input", job, jobargs, [])
        if not isiterable(job_input):
            raise DiscoError("Job 'input' is not a list of input locations, or a list of such "
                             "lists: %r" % (job_input,))
        inputs = [[0, 0, [input] if isinstance(input, str) else list(input)]
                  for input in inputlist(absolute(job_input), label=False, settings=job.settings)]
        jobdict = super().jobdict(job, **jobargs)
        jobdict.update({"worker": self.bin, "inputs": inputs,
                        "pipeline": [[stage.name, grouping, concurrent]
                                     for grouping, stage, concurrent in pipeline]})
        return jobdict

    # -- node side --------------------------------------------------------------------------------

    def run(self, task, job, **jobargs):
        """Run the stage ``task.stage`` of the pipeline (see ``run_stage``)."""
        if self.getitem("version", job, jobargs) != _python_version():
            raise DiscoError("Python version mismatch: the job was submitted with Python %s, this "
                             "node runs %s" % (self.getitem("version", job, jobargs), _python_version()))
        stages = self.stages(job, jobargs)
        for index, (_grouping, stage, _concurrent) in enumerate(stages):
            if stage.name == task.stage:
                break
        else:
            raise DiscoError("The pipeline has no stage %r" % task.stage)
        params = self.getitem("params", job, jobargs, Params())
        input_chain = stage.input_chain or default_input_chain(index)
        output_chain = stage.output_chain or default_output_chain()
        sort_buffer_size = self.getitem("sort_buffer_size", job, jobargs, "10%")
        self.run_stage(task, stage, params, input_chain, output_chain, sort_buffer_size)

    def make_interface(self, task, stage, params, output_chain=None):
        """The ``DiscoTask`` whose ``output(label)`` opens the task's output for ``label``."""
        chain = output_chain or default_output_chain()

        def open(path):
            return StreamCombiner(path, chain, params)

        def output(label):
            return self.output(task, label, open=open).writer
        return DiscoTask(output=output)

    def prepare_input_map(self, task, stage, params):
        """``{label: [replica list, ...]}`` of the task's inputs (index inputs expanded)."""
        return self.labelled_input_map(task, self.get_inputs())

    def run_stage(self, task, stage, params, input_chain, output_chain, sort_buffer_size="10%"):
        """init -> input_hook -> process (per input, or per label when combining) -> done."""
        stage.taskinfo = TaskInfo(task.jobname, task.host, task.stage, task.group, task.group_label)
        interface = self.make_interface(task, stage, params, output_chain)
        state = stage.init(interface, params) if stage.init else None
        input_map = self.prepare_input_map(task, stage, params)

        def open(url):
            return StreamCombiner(url, input_chain, params)
        for label in stage.input_hook(state, sorted(input_map)):
            replica_lists = input_map.get(label, [])
            if stage.combine:
                inp = SerialInput(replica_lists, task=task, open=open)
                if stage.sort:
                    inp = disk_sort(self, inp, task.path("sort.dl"), sort_buffer_size)
                stage.process(interface, state, label, inp)
            else:
                for replicas in replica_lists:
                    stage.process(interface, state, label, Input(replicas, task=task, open=open))
        if stage.done:
            stage.done(interface, state)


if __name__ == "__main__":
    Worker.main()

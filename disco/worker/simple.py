"""A worker that calls one function per stage (``disco.worker.simple`` of Disco 0.5).

``map``/``reduce`` parameters are functions ``fn(worker, task, **jobargs)`` that read
``worker.input(task)`` and write ``worker.output(task, label).add(k, v)``. The shuffle
stages concatenate their inputs per label unless a ``map_shuffle``/``reduce_shuffle`` function is
given. Job pack v1: one reduce task (``nr_reduces`` 1) over every map output.
"""
from disco import JOBPACK_VERSION1
from disco.error import DiscoError
from disco.inputs import inputlist
from disco.util import isiterable
from disco.worker import Worker as BaseWorker


class Worker(BaseWorker):
    jobpack_version = JOBPACK_VERSION1

    def jobdict(self, job, **jobargs):
        def get(key, default=None):
            return self.getitem(key, job, jobargs, default)
        has_map = bool(get("map"))
        job_input = get("input", [])
        if not isiterable(job_input):
            raise DiscoError("Job 'input' is not a list of input locations: %r" % (job_input,))
        jobdict = super().jobdict(job, **jobargs)
        jobdict.update({"input": inputlist(job_input, label=None if has_map else False),
                        "worker": self.bin, "map?": has_map, "reduce?": bool(get("reduce")),
                        "reduce_shuffle?": False, "nr_reduces": 1})
        return jobdict

    def run(self, task, job, **jobargs):
        fn = self.getitem(task.stage, job, jobargs)
        if fn is None and task.stage.endswith("_shuffle"):
            return self.shuffle_outputs(task)
        if fn is None:
            raise DiscoError("The job has no %s function" % task.stage)
        fn(self, task, **jobargs)

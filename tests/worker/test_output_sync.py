"""Which task outputs are fsynced (``disco.worker.Worker.start``): those of a job's last stage,
its results, and not those a later stage of the same job reads. Against a real master, each
stage's own function reports what its worker process does; and the rule for every pipeline."""
import pytest

from disco.core import result_iterator
from disco.job import Job
from disco.jobpack import JOBPACK_VERSION1, JOBPACK_VERSION2, result_stage
from disco.test import TestPipe
from disco.worker.pipeline.worker import Stage


def map_sync(line, params):
    from disco.fileutils import AtomicFile
    yield "map", AtomicFile.sync


def reduce_sync(iter, params):
    from disco.fileutils import AtomicFile
    for k, v in sorted(set(iter)):
        yield k, v
    yield "reduce", AtomicFile.sync


def stage_sync(interface, state, label, inp):
    from disco.context import current_task
    from disco.fileutils import AtomicFile
    for record in inp:      # the raw input's str, then the earlier stages' (stage, sync) pairs
        if isinstance(record, tuple):
            interface.output(0).add(*record)
    interface.output(0).add(current_task().stage, AtomicFile.sync)


@pytest.mark.parametrize("partitions", [None, 2])
def test_map_outputs_are_not_synced_results_are(master, partitions):
    job = Job().run(input=["raw://a b", "raw://c"], map=map_sync, reduce=reduce_sync, partitions=partitions)
    assert sorted(set(result_iterator(job.wait()))) == [("map", False), ("reduce", True)]
    job.purge()
    job = Job().run(input=["raw://a b"], map=map_sync, partitions=partitions)   # map_shuffle is last
    assert list(result_iterator(job.wait())) == [("map", False)]
    job.purge()


def test_only_the_last_pipeline_stage_syncs(master):
    pipeline = [("split", Stage("first", process=stage_sync)),
                ("group_all", Stage("second", process=stage_sync)),
                ("group_all", Stage("third", process=stage_sync))]
    job = TestPipe().run(input=["raw://line"], pipeline=pipeline)
    assert sorted(result_iterator(job.wait())) == [("first", False), ("second", False), ("third", True)]
    job.purge()


@pytest.mark.parametrize("jobdict, stage", [
    ({"map?": True, "reduce?": False, "nr_reduces": 1}, "map_shuffle"),
    ({"map?": True, "reduce?": True, "nr_reduces": 1}, "reduce"),
    ({"map?": False, "reduce?": True, "nr_reduces": 3, "reduce_shuffle?": True}, "reduce_shuffle"),
    ({"map?": True, "reduce?": True, "nr_reduces": 3, "reduce_shuffle?": False}, "reduce"),
    ({"map?": False, "reduce?": False, "nr_reduces": 1}, None),
])
def test_result_stage_of_classic_jobs(jobdict, stage):
    assert result_stage(JOBPACK_VERSION1, jobdict) == stage


def test_result_stage_of_pipeline_jobs():
    pipeline = [["a", "split", False], ["b", "group_label", False]]
    assert result_stage(JOBPACK_VERSION2, {"pipeline": pipeline}) == "b"
    assert result_stage(JOBPACK_VERSION2, {"pipeline": []}) is None

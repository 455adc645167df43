"""The client side of workers: parameters, job dict, job environment, job home; Job.run."""
import io
import os
import stat
import sys
import zipfile

import pytest

from client import jobs
from disco.error import DiscoError, JobError
from disco.job import Job, JobPack, SimpleJob
from disco.worker import Params, Worker, jobhome
from disco.worker.classic.func import default_partition
from disco.worker.classic.worker import Worker as ClassicWorker


def test_worker_defaults_and_getitem_order():
    class MyJob(Job):
        partitions = 5
        profile = True
    worker = ClassicWorker(partitions=2, sort=True)
    job = MyJob(worker=worker)
    assert worker["partition"] is default_partition and worker["required_modules"] is None
    assert worker.getitem("partitions", job, {"partitions": 9}) == 9
    assert worker.getitem("partitions", job, {}) == 5
    assert worker.getitem("sort", job, {}) is True
    assert worker.getitem("missing", job, {}, "dflt") == "dflt"
    assert worker.bin == "disco_worker"


def test_classic_jobdict(disco_env):
    job = Job(name="wc")
    jobdict = job.worker.jobdict(job, input=["raw://a", ["http://x/1", "http://y/1"]],
                                 map=jobs.word_map, reduce=jobs.word_reduce, partitions=4)
    assert jobdict == {"prefix": "wc", "save_results": False, "save_info": "ddfs",
                       "scheduler": {}, "owner": job.settings["DISCO_JOB_OWNER"],
                       "input": ["raw://a", ["http://x/1", "http://y/1"]],
                       "worker": "disco_worker", "map?": True, "reduce?": True,
                       "reduce_shuffle?": False, "nr_reduces": 4}
    jobdict = job.worker.jobdict(job, input=["raw://a"], map=jobs.word_map, partitions=None,
                                 save=True, owner="me", scheduler={"max_cores": 2}, name="n")
    assert (jobdict["nr_reduces"], jobdict["reduce?"], jobdict["save_results"]) == (1, False, True)
    assert (jobdict["owner"], jobdict["scheduler"], jobdict["prefix"]) == ("me", {"max_cores": 2}, "n")
    with pytest.raises(DiscoError, match="not a list"):
        job.worker.jobdict(job, input="raw://a", map=jobs.word_map)
    assert job.worker.jobdict(job, input=[], map={"op": b""})["map?"] is True  # an external program


def test_reduce_only_jobdict_keeps_dirs_and_counts_labels(disco_env):
    index = disco_env / "data" / "n" / "i.results"
    index.parent.mkdir(parents=True)
    index.write_text("0 disco://n/disco/n/a 1\n4 disco://n/disco/n/b 1\n")
    job = Job()
    jobdict = job.worker.jobdict(job, input=["dir://n/disco/n/i.results"], reduce=jobs.word_reduce)
    assert jobdict["input"] == ["dir://n/disco/n/i.results"] and jobdict["nr_reduces"] == 5
    jobdict = job.worker.jobdict(job, input=["dir://n/disco/n/i.results"], map=jobs.word_map)
    assert jobdict["input"] == [["disco://n/disco/n/a"], ["disco://n/disco/n/b"]]


def test_jobenvs():
    job = Job()
    envs = job.worker.jobenvs(job)
    paths = envs["PYTHONPATH"].split(":")
    assert paths[0] == "lib" and all(not p.startswith("/") for p in paths)
    assert os.path.abspath(sys.path[1]).lstrip("/") in paths
    assert envs["LD_LIBRARY_PATH"] == "lib" and envs["DISCO_STREAM_VERSION"] == "2"


def test_jobhome_has_launcher_user_modules_and_required_files(tmp_path):
    extra = tmp_path / "extra.dat"
    extra.write_bytes(b"xyz")
    job = jobs.WordCount()
    home = zipfile.ZipFile(io.BytesIO(job.worker.jobhome(job, required_files=[str(extra)])))
    names = home.namelist()
    info = home.getinfo("disco_worker")
    assert stat.S_IMODE(info.external_attr >> 16) == 0o755
    assert home.read("disco_worker") == jobhome.launcher_script(sys.executable)
    assert home.read("lib/extra.dat") == b"xyz"
    jobs_file = os.path.abspath(jobs.__file__)
    assert jobs_file.lstrip("/") in names
    assert os.path.join(os.path.dirname(jobs_file), "__init__.py").lstrip("/") in names
    assert not any("/disco/" in n or n.startswith("disco/") or n.endswith((".so", ".pyc"))
                   for n in names)
    assert ("client.jobs", jobs_file) in job.worker["required_modules"]


def test_jobhome_required_files_dict_and_explicit_modules():
    job = Job()
    home = job.worker.jobhome(job, required_files={"data/x": b"1"}, required_modules=["math"])
    assert sorted(zipfile.ZipFile(io.BytesIO(home)).namelist()) == ["data/x", "disco_worker"]


class FakeDisco(object):
    """Stands in for disco.core.Disco: records submitted packs."""

    def __init__(self, reply="ok"):
        self.reply, self.packs = reply, []
        self.master = "http://fake:1"

    def submit(self, data):
        if self.reply != "ok":
            raise DiscoError(self.reply)
        self.packs.append(JobPack.loads(data))
        return "%s@1:2:3" % self.packs[-1].jobdict["prefix"]

    def wait(self, name, **kw):
        return ("wait", name, kw)


def test_job_run_builds_and_submits_the_pack():
    from disco.core import Disco
    job = Job(name="wc")
    job.disco = FakeDisco()
    assert job.run(input=["raw://a b"], map=jobs.word_map, params=Params(x=1)) is job
    assert job.name == "wc@1:2:3"
    pack = job.disco.packs[0]
    assert pack.version == 1 and pack.jobdict["map?"] is True
    from disco.task import loads
    sent_job, jobargs = loads(pack.jobdata)
    assert sent_job.name == "wc" and jobargs["map"] is jobs.word_map and jobargs["params"].x == 1
    assert isinstance(sent_job.disco, FakeDisco)
    assert job.wait(poll_interval=1) == ("wait", "wc@1:2:3", {"poll_interval": 1})
    with pytest.raises(AttributeError):
        job.frobnicate
    assert isinstance(Job(master="http://m:1").disco, Disco)


def test_job_run_failure_is_a_joberror():
    job = Job(name="wc")
    job.disco = FakeDisco(reply="no new jobs")
    with pytest.raises(JobError, match="no new jobs"):
        job.run(input=["raw://a"], map=jobs.word_map)


def test_simple_job_uses_the_simple_worker():
    from disco.worker.simple import Worker as SimpleWorker
    job = SimpleJob()
    assert isinstance(job.worker, SimpleWorker) and job.name == "SimpleJob"
    jobdict = job.worker.jobdict(job, input=["raw://x"], map=lambda w, t: None)
    assert jobdict["map?"] and jobdict["nr_reduces"] == 1 and jobdict["worker"] == "disco_worker"


def test_base_worker_pack_fields():
    worker = Worker()
    job = Job(worker=worker)
    assert set(worker.jobdict(job)) == {"prefix", "save_results", "save_info", "scheduler", "owner"}

"""disco.task: Task paths from the TASK message, and the job data codec."""
import functools
import os
import re

import pytest

from disco import task as disco_task
from disco.error import DiscoError
from disco.task import Task, jobdata
from disco.util import hexhash


def make_task(**kw):
    payload = {"taskid": 7, "master": "http://m:8989", "disco_port": 8989, "put_port": 8990,
               "ddfs_data": "/dd", "disco_data": "/d", "stage": "map", "grouping": "split",
               "group": [3, "node1"], "jobfile": "/d/node1/ab/J/jobfile", "jobname": "J@1:2:3",
               "host": "node1"}
    payload.update(kw)
    return Task(**payload)


def test_task_fields_and_paths():
    task = make_task()
    assert task.group == "3-node1" and (task.group_label, task.group_host) == (3, "node1")
    assert re.match(r"^map:3-node1-7-[0-9a-f]{2}-%d$" % os.getpid(), task.uid)
    assert task.jobpath == "node1/%s/J@1:2:3" % hexhash("J@1:2:3")
    assert task.taskpath == "%s/%s" % (hexhash(task.uid), task.uid)
    assert task.output_filename(2) == "map-3-node1-2"
    assert task.output() == (task.path(task.uid), "disco", 0)
    assert task.output(2) == (os.path.join(task.taskpath, "map-3-node1-2"), "part", 2)
    assert task.url("f") == "disco://node1/disco/%s/%s/f" % (task.jobpath, task.taskpath)
    with pytest.raises(ValueError):
        task.output_filename("2")


def test_task_group_without_host_is_sanitised_in_uid():
    task = make_task(group=[0, ""], stage="reduce")
    assert task.group == "0-" and task.uid.startswith("reduce:0--7-")


def test_makedirs_is_relative_to_the_job_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task = make_task()
    task.makedirs()
    assert (tmp_path / task.taskpath).is_dir()


def test_oob_put_checks_the_key():
    task = make_task()
    with pytest.raises(DiscoError, match="invalid characters"):
        task.put("bad key", b"v")


def _adder(n):
    def add(x):
        return x + n
    return add


def test_jobdata_roundtrips_closures_lambdas_and_partials():
    objs = (_adder(2), lambda x: x * 3, functools.partial(pow, 2), {"k": [1, 2]})
    add, triple, power, data = disco_task.loads(jobdata(*objs))
    assert (add(1), triple(2), power(5), data) == (3, 6, 32, {"k": [1, 2]})


def test_jobdata_pickles_main_functions_by_value(tmp_path, python):
    import subprocess
    script = tmp_path / "script.py"
    out = tmp_path / "data.bin"
    script.write_text(
        "import sys\n"
        "from disco.task import jobdata\n"
        "OFFSET = 10\n"
        "def fn(x):\n"
        "    return x + OFFSET\n"
        "class Thing(object):\n"
        "    def value(self):\n"
        "        return fn(1)\n"
        "open(sys.argv[1], 'wb').write(jobdata(fn, Thing()))\n")
    subprocess.check_call([python, str(script), str(out)], cwd=str(tmp_path))
    fn, thing = disco_task.loads(out.read_bytes())
    assert fn(1) == 11 and thing.value() == 11


def test_jobpack_and_jobobjs_are_loaded_from_the_jobfile(tmp_path):
    from disco.job import JobPack
    pack = JobPack(1, {"prefix": "p", "worker": "w", "owner": "o", "scheduler": {}, "input": [],
                       "nr_reduces": 1}, {}, b"", jobdata("job", {"a": 1}))
    path = tmp_path / "jobfile"
    path.write_bytes(pack.dumps())
    task = make_task(jobfile=str(path))
    assert task.jobpack.jobdict["prefix"] == "p"
    assert task.jobobjs == ("job", {"a": 1})

"""Per-task and per-job overhead (issue 12) on the embedded master with its 2 slots.

Ours is the master as it runs by default (Python workers forked from the node's warm process);
the baseline is the same master with ``DISCO_WORKER_FORKSERVER=off``: every worker is a fresh
interpreter started by the job home's launcher (how every task started before).

- many tasks: a map-only job of ``DISCO_BENCH_TASKS`` (default 2000) one-record ``raw://`` inputs,
  submit to results read (target >= 200 tasks/s); the tasks/s and the master's CPU per task
  (target <= 2 ms, flat from 100 to many tasks) go to ``extra_info`` and are printed at the end;
- job latency: a 1-input map job, submit to results read (target <= 30 ms).

The map function comes from an installed module (``disco.wordcount``): one defined here would be
shipped in the job home with this module, and every task would import pytest.
"""
import os

import pytest

from disco.core import result_iterator
from disco.job import Job
from disco.master.embedded import start_master
from disco.wordcount import map_words

TASKS = int(os.environ.get("DISCO_BENCH_TASKS", "2000"))
CLIENT_ENV = ("DISCO_MASTER", "DISCO_PORT", "DISCO_ROOT", "DISCO_DATA", "DDFS_ROOT", "DDFS_DATA")
SUMMARY = []


@pytest.fixture(scope="module")
def masters(tmp_path_factory, request):
    """``{"ours": master, "baseline": master}``; clients point at the one a test uses."""
    started = {impl: start_master(str(tmp_path_factory.mktemp("overhead-" + impl)), DISCO_WORKERS="2",
                                  DISCO_WORKER_FORKSERVER=mode)
               for impl, mode in (("ours", "on"), ("baseline", "off"))}
    with pytest.MonkeyPatch.context() as env:   # clients' settings, put back afterwards (use()
        for key in CLIENT_ENV:                  # changes them for each test)
            env.setenv(key, str(started["ours"].settings[key]))
        yield started
    for master in started.values():
        master.stop()
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        for line in SUMMARY:
            print(line)


def use(master):
    for key in CLIENT_ENV:
        os.environ[key] = str(master.settings[key])


def cpu_seconds(pid):
    """User + system CPU time of process ``pid`` so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def map_only_job(n, jobs):
    job = Job().run(input=["raw://%d" % i for i in range(n)], map=map_words, partitions=None)
    jobs.append(job)
    return list(result_iterator(job.wait()))


@pytest.mark.parametrize("tasks", sorted({100, TASKS}))
@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_many_tasks(benchmark, masters, impl, tasks):
    benchmark.group = "map-only job of %d one-record raw:// inputs" % tasks
    master = masters[impl]
    use(master)
    cpu, jobs = [], []

    def run():
        before = cpu_seconds(master.proc.pid)
        results = map_only_job(tasks, jobs)
        cpu.append(cpu_seconds(master.proc.pid) - before)
        return results

    results = benchmark.pedantic(run, rounds=1, warmup_rounds=0, iterations=1)
    for job in jobs:
        job.purge()
    assert len(results) == tasks
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(tasks_per_s=tasks / seconds, master_cpu_ms_per_task=cpu[-1] * 1e3 / tasks)
    SUMMARY.append("%-8s %5d tasks: %6.1f tasks/s, master CPU %.2f ms/task"
                   % (impl, tasks, tasks / seconds, cpu[-1] * 1e3 / tasks))


def one_input_job():
    job = Job().run(input=["raw://hello"], map=map_words, partitions=None)
    return list(result_iterator(job.wait()))


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_job_latency(benchmark, masters, impl):
    benchmark.group = "1-input map job, submit -> results read"
    use(masters[impl])
    assert benchmark.pedantic(one_input_job, rounds=15, warmup_rounds=2) == [("hello", 1)]

"""Whole jobs on the embedded master (2 worker slots on this 2-core machine).

- job latency: submit -> results of a 1-input map job (no baseline: the figure itself counts;
  target <= 0.5 s).
- word count over ~200 MB of generated text in 8 files (2 partitions, for the 2 cores), against a
  single-process ``collections.Counter`` over the same files: with ``combiner=sum_combiner`` (must be faster than
  the baseline) and without a combiner (reported). Set DISCO_BENCH_MB to change the size.
- the same combiner word count over ~200 MB (DISCO_BENCH_MB) and 20 MB against the multiprocessing
  floor: two processes, each ``Counter.update(line.split())`` over every line of half of the files,
  then the two Counters merged (targets: <= 1.15x and <= 1.3x its time, issue 12).
- the README's job (``map_words``/``reduce_counts``: no combiner, one partition, the reduce
  ``kvgroup(sorted(iter))``) over 2.4 M words in 4 files, against a single-process ``Counter``
  (target: <= 3x its time).
"""
import collections
import multiprocessing
import os

import numpy as np
import pytest

from disco.core import result_iterator
from disco.job import Job
from disco.worker.classic.func import sum_combiner
from disco.wordcount import map_words, reduce_counts

TOTAL_MB = int(os.environ.get("DISCO_BENCH_MB", "200"))
SMALL_MB = 20
FILES = 8
README_WORDS, README_FILES = 2400000, 4


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    from disco.master.embedded import start_master
    root = tmp_path_factory.mktemp("bench-master")
    m = start_master(str(root), DISCO_WORKERS="2")
    with pytest.MonkeyPatch.context() as env:   # the clients' settings, put back afterwards
        for key, value in (("DISCO_MASTER", m.url), ("DISCO_PORT", str(m.port)), ("DISCO_ROOT", str(root))):
            env.setenv(key, value)
        yield m
    m.stop()


def write_corpus(d, files, size, unit="bytes"):
    """``files`` files of Zipf-distributed words from a 50,000-word vocabulary (12 words a line),
    ``size`` bytes or words in all (``unit``); their paths."""
    rng = np.random.default_rng(7)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary = np.array(["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(50000)])
    paths = []
    per_file = size // files
    for i in range(files):
        path = d / ("text-%d.txt" % i)
        with open(path, "w") as f:
            written = 0
            while written < per_file:
                n = min(120000, -(-(per_file - written) // 12) * 12) if unit == "words" else 120000
                words = vocabulary[(rng.zipf(1.2, n) - 1) % len(vocabulary)].reshape(-1, 12)
                block = "\n".join(" ".join(line) for line in words) + "\n"
                f.write(block)
                written += n if unit == "words" else len(block)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="session")
def text_files(tmp_path_factory):
    """8 files, ~TOTAL_MB in all."""
    return write_corpus(tmp_path_factory.mktemp("bench-text"), FILES, TOTAL_MB * 1024 * 1024)


@pytest.fixture(scope="session", params=[TOTAL_MB, SMALL_MB])
def sized_text(request, text_files, tmp_path_factory):
    """``(MB, paths)``: the TOTAL_MB files, then 8 files of SMALL_MB in all."""
    if request.param == TOTAL_MB:
        return TOTAL_MB, text_files
    d = tmp_path_factory.mktemp("bench-text-%d" % request.param)
    return request.param, write_corpus(d, FILES, request.param * 1024 * 1024)


@pytest.fixture(scope="session")
def readme_files(tmp_path_factory):
    """README_FILES files, README_WORDS words in all."""
    return write_corpus(tmp_path_factory.mktemp("bench-readme"), README_FILES, README_WORDS, "words")


def baseline_count(paths):
    counts = collections.Counter()
    for path in paths:
        with open(path) as f:
            for line in f:
                counts.update(line.split())
    return counts


def _count_files(paths):
    return baseline_count(paths)


def multiprocessing_count(paths):
    """The multiprocessing floor: two processes, each counting half of the files with
    ``Counter.update(line.split())``, then their two Counters merged."""
    with multiprocessing.get_context("fork").Pool(2) as pool:
        first, second = pool.map(_count_files, [paths[0::2], paths[1::2]], chunksize=1)
    first.update(second)
    return first


JOBS = []


def purge_jobs():
    """Between rounds, untimed: drop the data of the jobs run so far."""
    while JOBS:
        JOBS.pop().purge()


def disco_count(paths, partitions=2, **jobargs):
    job = Job().run(input=paths, map=map_words, reduce=reduce_counts, partitions=partitions, **jobargs)
    JOBS.append(job)
    return dict(result_iterator(job.wait()))


def readme_count(paths):
    """The README's job: map_words, reduce_counts (kvgroup(sorted(iter))), one partition (the
    default)."""
    return disco_count(paths, partitions=1)


def timed(benchmark, impl, ours, baseline, paths, rounds, **jobargs):
    """``ours(paths, **jobargs)`` (jobs of earlier rounds purged first, untimed) or
    ``baseline(paths)``, timed over ``rounds``; the counts."""
    if impl == "ours":
        return benchmark.pedantic(ours, args=(paths,), kwargs=jobargs, setup=purge_jobs,
                                  rounds=rounds, iterations=1)
    return benchmark.pedantic(baseline, args=(paths,), rounds=rounds, iterations=1)


def one_input_map_job():
    job = Job().run(input=["raw://hello"], map=map_words, partitions=None)
    return list(result_iterator(job.wait()))


def test_job_latency(benchmark, master):
    benchmark.group = "job latency: submit -> results, 1-input map"
    assert benchmark.pedantic(one_input_map_job, rounds=10, warmup_rounds=1) == [("hello", 1)]


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_wordcount_combiner(benchmark, master, text_files, impl):
    benchmark.group = "word count %d MB, combiner=sum_combiner" % TOTAL_MB
    counts = timed(benchmark, impl, disco_count, baseline_count, text_files, 2, combiner=sum_combiner)
    assert sum(counts.values()) > TOTAL_MB * 100000


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_wordcount_no_combiner(benchmark, master, text_files, impl):
    benchmark.group = "word count %d MB, no combiner" % TOTAL_MB
    counts = timed(benchmark, impl, disco_count, baseline_count, text_files, 1)
    assert sum(counts.values()) > TOTAL_MB * 100000


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_wordcount_combiner_vs_multiprocessing(benchmark, master, sized_text, impl):
    mb, paths = sized_text
    benchmark.group = "word count %d MB, combiner=sum_combiner vs multiprocessing floor" % mb
    counts = timed(benchmark, impl, disco_count, multiprocessing_count, paths, 3, combiner=sum_combiner)
    assert sum(counts.values()) > mb * 100000


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_wordcount_readme(benchmark, master, readme_files, impl):
    benchmark.group = "README word count (%.1f M words, %d files), no combiner" % (
        README_WORDS / 1e6, README_FILES)
    counts = timed(benchmark, impl, readme_count, baseline_count, readme_files, 3)
    assert sum(counts.values()) == README_WORDS

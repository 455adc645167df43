"""k-way merge: disco._merge.merge ("ours") against heapq.merge ("baseline").

Run with ``python benchmarks/report.py -k merge``; every group has one [ours] and one [baseline].
"""
import collections
import heapq
import operator
import random

import pytest

from disco._merge import merge

RUNS = 16
TOTAL = 1_000_000


def _word_counts(seed):
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(20_000)]
    # Zipf-ish frequencies: a few very common words, a long tail -> many duplicate keys
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    words = rng.choices(vocab, weights, k=TOTAL)
    records = [(w, rng.randint(1, 5)) for w in words]
    return [sorted(records[i::RUNS]) for i in range(RUNS)]


WORD_RUNS = _word_counts(20240521)
_rng = random.Random(7)
INT_RUNS = [sorted(_rng.randrange(10**9) for _ in range(TOTAL // RUNS)) for _ in range(RUNS)]
KEY_RUNS = [sorted(run, key=operator.itemgetter(0)) for run in WORD_RUNS]
IMPLS = {"ours": merge, "baseline": heapq.merge}


def _consume(impl, runs, **kw):
    collections.deque(impl(*runs, **kw), maxlen=0)


def _run(benchmark, group, impl, runs, **kw):
    benchmark.group = group
    benchmark.pedantic(_consume, args=(IMPLS[impl], runs), kwargs=kw, rounds=5, iterations=1,
                       warmup_rounds=1)


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_merge_word_counts(benchmark, impl):
    _run(benchmark, "merge 16 runs (str,int) 1M", impl, WORD_RUNS)


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_merge_ints(benchmark, impl):
    _run(benchmark, "merge 16 runs int 1M", impl, INT_RUNS)


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_merge_word_counts_key(benchmark, impl):
    _run(benchmark, "merge 16 runs (str,int) key=itemgetter(0)", impl, KEY_RUNS,
         key=operator.itemgetter(0))

"""Map outputs of jobs with a reduce are written sorted by key (``map_output``'s ``sort_output``),
so a reduce's input is a few sorted runs; against a real master: the reduce input order, keys
that do not compare, values the map changes after yielding them, and results equal to a plain
count on a randomized corpus, with and without ``sum_combiner``."""
import collections
import random

import pytest

from disco.core import result_iterator
from disco.job import Job
from disco.worker.classic.func import sum_combiner
from disco.wordcount import map_words, reduce_counts

from wsupport import reduce_sum, word_counts


def runs_in_input(iter, params):
    """("runs", number of ascending runs of the keys, as they came) and the word counts."""
    keys, counts = [], collections.Counter()
    for k, v in iter:
        keys.append(k)
        counts[k] += v
    yield "runs", 1 + sum(1 for a, b in zip(keys, keys[1:]) if b < a) if keys else 0
    yield from counts.items()


def map_mixed(line, params):
    """Keys of types that do not compare (str, int, None, tuples), each with a frozen value."""
    for word in line.split():
        yield word, 1
        yield len(word), 1
        yield None, 1
        yield (word[0], len(word)), 1


def reduce_count_any(iter, params):
    counts = collections.Counter()
    for k, v in iter:
        counts[repr(k)] += v
    return counts.items()


def test_reduce_input_arrives_in_sorted_runs(master, text_inputs):
    job = Job().run(input=text_inputs[:1], map=map_words, reduce=runs_in_input)
    results = dict(result_iterator(job.wait()))
    assert results.pop("runs") == 1
    job = Job().run(input=text_inputs, map=map_words, reduce=runs_in_input, partitions=3)
    results = list(result_iterator(job.wait()))
    runs = [n for k, n in results if k == "runs"]
    assert len(runs) == 3 and all(1 <= n <= len(text_inputs) for n in runs)  # one run per map
    assert collections.Counter({k: n for k, n in results if k != "runs"}) == word_counts()


def test_keys_that_do_not_compare_still_reach_the_reduce(master, text_inputs):
    job = Job().run(input=text_inputs, map=map_mixed, reduce=reduce_count_any, partitions=2)
    got = collections.Counter(dict(result_iterator(job.wait())))
    expected = collections.Counter()
    for path in text_inputs:
        for line in open(path):
            for k, v in map_mixed(line, None):
                expected[repr(k)] += v
    assert got == expected


def map_shared_list(line, params):
    """Yields one list, appended to after each yield: each record must keep what it held."""
    seen = []
    for word in line.split():
        seen.append(word)
        yield word, seen


def reduce_lengths(iter, params):
    for k, v in iter:
        yield "%s:%d" % (k, len(v)), 1


def test_values_changed_after_the_yield_are_written_as_they_were(master, text_inputs):
    job = Job().run(input=text_inputs[:1], map=map_shared_list, reduce=reduce_lengths)
    got = collections.Counter(k for k, _v in result_iterator(job.wait()))
    expected = collections.Counter()
    for line in open(text_inputs[0]):
        for i, word in enumerate(line.split(), 1):
            expected["%s:%d" % (word, i)] += 1
    assert got == expected


@pytest.fixture(scope="module")
def random_corpus(tmp_path_factory):
    rng = random.Random(12)
    words = ["".join(rng.choice("abcdefg") for _ in range(rng.randint(1, 6))) for _ in range(300)]
    d = tmp_path_factory.mktemp("random-corpus")
    paths = []
    for i in range(3):
        path = d / ("text%d.txt" % i)
        path.write_text("".join(" ".join(rng.choice(words) for _ in range(rng.randint(0, 15))) + "\n"
                                for _ in range(rng.randint(200, 600))))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("combiner", [None, sum_combiner])
@pytest.mark.parametrize("partitions", [None, 1, 3])
def test_results_equal_a_plain_count(master, random_corpus, combiner, partitions):
    expected = collections.Counter(w for path in random_corpus for line in open(path) for w in line.split())
    for reduce in (reduce_counts, reduce_sum):
        job = Job().run(input=random_corpus, map=map_words, reduce=reduce, combiner=combiner,
                        partitions=partitions)
        results = list(result_iterator(job.wait()))
        assert len(results) == len(expected) and dict(results) == expected

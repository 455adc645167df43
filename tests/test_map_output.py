"""The compiled map output router (disco._partition.map_output) against a plain-Python model."""
import collections

import pytest

from disco._partition import map_output
from disco.worker.classic.func import default_partition, sum_combiner

LINES = ["a b c a", "b b d", "", "e a"]


def words(line, params):
    for w in line.split():
        yield w, 1


def model(entries, fn, params, partitions, partition, combiner):
    """Disco 0.5's classic map loop."""
    out, buffers = collections.defaultdict(list), {}
    for entry in entries:
        for k, v in fn(entry, params):
            label = partition(k, partitions, params) if partitions else None
            if combiner is None:
                out[label].append((k, v))
                continue
            buf = buffers.setdefault(label, {})
            for record in combiner(k, v, buf, False, params) or ():
                out[label].append(tuple(record))
    for label, buf in buffers.items():
        for record in combiner(None, None, buf, True, params) or ():
            out[label].append(tuple(record))
    return dict(out)


def run(partitions, partition, combiner, fn=words, entries=LINES, **kw):
    out = collections.defaultdict(list)
    n = map_output(entries, fn, None, partitions, partition, combiner, lambda label: (lambda k, v: out[label].append((k, v))),
                   partition is default_partition, combiner is sum_combiner, **kw)
    assert n == len(entries)
    return dict(out)


def first_letter(key, n, params):
    return ord(key[0]) % n


def keep_last(k, v, buf, done, params):
    if done:
        return sorted(buf.items())
    buf[k] = v


def echo_twice(k, v, buf, done, params):
    return [] if done else [(k, v), [k, v * 10]]


@pytest.mark.parametrize("partitions", [None, 0, 1, 3])
@pytest.mark.parametrize("partition", [default_partition, first_letter])
@pytest.mark.parametrize("combiner", [None, sum_combiner, keep_last, echo_twice])
def test_same_as_the_python_loop(partitions, partition, combiner):
    expected = model(LINES, words, None, partitions, partition, combiner)
    got = run(partitions, partition, combiner)
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}


def test_sum_combiner_buffer_is_bounded_and_sums_stay_right():
    lines = [" ".join("w%d" % (i % 50) for i in range(j, j + 20)) for j in range(100)]
    got = run(2, default_partition, sum_combiner, entries=lines, max_keys=10)
    totals = collections.Counter()
    for records in got.values():
        for k, v in records:
            totals[k] += v
    assert totals == collections.Counter(w for line in lines for w in line.split())
    assert sum(len(r) for r in got.values()) > 50  # partial sums were written as buffers filled


def test_pairs_that_are_not_tuples_and_progress():
    seen = []
    got = run(None, None, None, fn=lambda e, p: [[e, len(e)]], entries=["xy", "z"] * 5,
              progress=seen.append, interval=3)
    assert got == {None: [("xy", 2), ("z", 1)] * 5}
    assert seen == [3, 6, 9]


def test_errors_propagate():
    with pytest.raises(ValueError):
        run(None, None, None, fn=lambda e, p: [(1, 2, 3)])
    with pytest.raises(TypeError):
        run(2, default_partition, sum_combiner, fn=lambda e, p: [("k", "not a number")])

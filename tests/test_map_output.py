"""The compiled map output router (disco._partition.map_output) against a plain-Python model."""
import collections
import decimal
import fractions
import itertools
import random

import pytest

from disco._partition import Progress, map_output
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
    n = map_output(entries, fn, None, partitions, partition, combiner,
                   lambda label: (lambda k, v: out[label].append((k, v))),
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


# -- sort_output: each label's records written sorted by key (the job has a reduce) --------------

def runs_of(keys):
    """The number of ascending runs of ``keys``."""
    return 1 + sum(1 for a, b in zip(keys, keys[1:]) if b < a) if keys else 0


def random_lines(seed, n=400, vocabulary=60):
    rng = random.Random(seed)
    words = ["w%d" % rng.randrange(1000) for _ in range(vocabulary)]
    return [" ".join(rng.choice(words) for _ in range(rng.randrange(8))) for _ in range(n)]


def numbered(line, params):
    """(word, position) records: equal keys must keep their order."""
    for i, w in enumerate(line.split()):
        yield w, (len(line), i)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("partitions", [None, 1, 3])
def test_sorted_output_is_the_same_records_sorted_by_key_stably(seed, partitions):
    lines = random_lines(seed)
    expected = run(partitions, default_partition, None, fn=numbered, entries=lines)
    got = run(partitions, default_partition, None, fn=numbered, entries=lines, sort_output=True)
    assert set(got) == set(expected)
    for label, records in expected.items():
        assert got[label] == sorted(records, key=lambda kv: kv[0])  # stable: same order per key
        assert runs_of([k for k, _v in got[label]]) == 1


def test_sorted_output_in_runs_when_the_buffer_fills():
    lines = random_lines(7, n=2000)
    expected = run(1, default_partition, None, fn=numbered, entries=lines)[0]
    got = run(1, default_partition, None, fn=numbered, entries=lines, sort_output=True,
              max_bytes=20000)[0]
    assert sorted(got) == sorted(expected)
    assert 2 < runs_of([k for k, _v in got]) < len(got) // 50


def test_keys_that_do_not_compare_are_written_grouped():
    keys = ["b", 2, None, ("t", 1), "a", 1.5, b"x", True, 1, ("t", "u"), "b", 2, None, -0.0, 0]

    def mixed(entry, params):
        for i, k in enumerate(keys):
            yield k, i
    got = run(None, None, None, fn=mixed, entries=[0], sort_output=True)[None]
    assert sorted(map(repr, got)) == sorted(repr((k, i)) for i, k in enumerate(keys))
    # each record keeps its own key object (1 == 1.0 == True share a group, not a key)
    assert [type(k) for k, _v in sorted(got, key=lambda kv: kv[1])] == list(map(type, keys))
    positions = {}
    for n, (k, _v) in enumerate(got):
        positions.setdefault(repr(k) if not isinstance(k, (int, float)) else k, []).append(n)
    assert all(p == list(range(p[0], p[0] + len(p))) for p in positions.values())  # grouped


def test_values_the_map_may_change_later_are_written_at_once():
    snapshots = []

    def reuse(entry, params):
        value = []
        for w in ["b", "a", "c", "a"]:
            value.append(w)
            yield w, 1          # frozen: held
        for w in ["z", "y"]:
            value.append(w)
            yield w, value      # a list: from here on written as it comes

    def add_for(label):
        return lambda k, v: snapshots.append((k, list(v) if isinstance(v, list) else v))
    map_output([0], reuse, None, 1, default_partition, None, add_for, True, False, sort_output=True)
    assert snapshots == [("a", 1), ("a", 1), ("b", 1), ("c", 1),
                         ("z", ["b", "a", "c", "a", "z"]), ("y", ["b", "a", "c", "a", "z", "y"])]


@pytest.mark.parametrize("partitions", [None, 2])
def test_sum_combiner_sums_are_sorted_by_key(partitions):
    lines = random_lines(3)
    got = run(partitions, default_partition, sum_combiner, entries=lines, sort_output=True)
    totals = collections.Counter(w for line in lines for w in line.split())
    assert {k: v for records in got.values() for k, v in records} == totals
    for records in got.values():
        assert [k for k, _v in records] == sorted(k for k, _v in records)
    unsorted = run(partitions, default_partition, sum_combiner, entries=lines)
    assert {label: sorted(r) for label, r in unsorted.items()} == {label: sorted(r) for label, r in got.items()}


def test_sum_combiner_sums_exactly_as_python():
    big = 2 ** 62
    values = {"ints": [1, 2, 3], "bools": [True, True, False], "one bool": [True],
              "overflow": [big, big, big, -1], "negative overflow": [-big, -big, -big],
              "huge": [2 ** 100, 1], "floats": [1, 2.5, True], "fraction": [1, fractions.Fraction(1, 3), 2],
              "decimal": [decimal.Decimal("0.1"), decimal.Decimal("0.2")], "int subclass": [1, Radd(5)]}

    def pairs(entry, params):
        for k, vs in values.items():
            for v in vs:
                yield k, v
    for partitions in (None, 3):
        got = run(partitions, default_partition, sum_combiner, fn=pairs, entries=[0])
        sums = {k: v for records in got.values() for k, v in records}
        for k, vs in values.items():
            expected = 0
            for v in vs:
                expected = expected + v
            assert sums[k] == expected and type(sums[k]) is type(expected), k


class Radd(int):
    """An int whose ``0 + x`` is not int addition."""

    def __radd__(self, other):
        return "radd"

    def __add__(self, other):
        return "add"


def test_progress_counts_like_the_status_generator():
    def model(items, interval, log):
        n = 0
        for n, item in enumerate(items, 1):
            yield item
            if interval and n % interval == 0:
                log.append(("report", n))
        log.append(("done", n))

    for count, interval in [(0, 3), (7, 3), (6, 3), (5, 0), (1, 1)]:
        for take in range(count + 2):
            expected, got = [], []
            m = model(iter(range(count)), interval, expected)
            p = Progress(iter(range(count)), lambda n: got.append(("report", n)),
                         lambda n: got.append(("done", n)), interval)
            assert list(itertools.islice(p, take)) == list(itertools.islice(m, take))
            assert got == expected
    p = Progress([1], None, lambda n: got.append(("done", n)))
    got = []
    assert list(p) == [1] and list(p) == [] and got == [("done", 1)]

    def failing():
        yield 1
        raise KeyError("boom")
    with pytest.raises(KeyError):
        list(Progress(failing(), None, lambda n: None))


def test_sum_combiner_table_with_many_long_and_wide_keys():
    rng = random.Random(11)
    alphabets = ["ab", "abcdefghij", "é€", "𝄞x", "ж"]
    keys = set()
    while len(keys) < 5000:
        a = rng.choice(alphabets)
        keys.add("".join(rng.choice(a) for _ in range(rng.choice([1, 3, 15, 16, 17, 40]))))
    keys = sorted(keys) + ["same prefix 0123456789 a", "same prefix 0123456789 b", ""]
    records = [(rng.choice(keys), rng.choice([1, 2, -3])) for _ in range(40000)]
    records += [(7, 1), (7.0, 2), ("7", 3), (("t", 1), 4), (None, 5)]
    expected = collections.Counter()
    for k, v in records:
        expected[k] += v

    def pairs(entry, params):
        return records
    for partitions in (None, 1, 4):
        for max_keys in (1000000, 700):
            got = run(partitions, default_partition, sum_combiner, fn=pairs, entries=[0], max_keys=max_keys)
            totals = collections.Counter()
            for label, out in got.items():
                for k, v in out:
                    totals[k] += v
                    assert partitions is None or label == default_partition(k, partitions, None)
            assert totals == expected
            if max_keys > len(expected):  # each key written once
                assert sum(map(len, got.values())) == len(expected)


# The held and summed str keys are sorted in C on their bytes (radix passes over the first 8,
# ties by comparison): the order must be Python's for every kind of one-byte-a-character str,
# and keys wider than that must fall back to Python's sort.
NASTY_KEYS = ["", "\x00", "a", "a\x00", "a\x00b", "ab", "abcdefgh", "abcdefgh\x00", "abcdefghi",
              "abcdefghij", "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr",
              "abcdefghijklmnop\x00", "abcdefghijklmnopqrstuvwxyz" * 3, "\xe9t\xe9", "\xff",
              "\x7f", "\x80", "zz", "Z", "0"]


def one_byte_keys(draw_from, rng, n):
    keys = set(NASTY_KEYS)
    while len(keys) < n:
        stem = rng.choice(NASTY_KEYS)[:rng.randrange(20)]
        keys.add(stem + "".join(rng.choice(draw_from) for _ in range(rng.choice([0, 1, 2, 7, 9]))))
    return sorted(keys)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("partitions", [None, 1, 3, 70000])
@pytest.mark.parametrize("wide", [False, True])
def test_keys_sorted_in_c_come_out_in_pythons_order(seed, partitions, wide):
    rng = random.Random(seed)
    keys = one_byte_keys("ab\x00\xe9\xff~", rng, 3000)
    if wide:
        keys.append("\u20ac wide")   # one key of 2 bytes a character: the Python sort instead
    records = [(rng.choice(keys), rng.choice([1, 2])) for _ in range(20000)]

    def pairs(entry, params):
        return records
    for combiner in (None, sum_combiner):
        got = run(partitions, default_partition, combiner, fn=pairs, entries=[0], sort_output=True)
        expected = collections.defaultdict(list)
        for k, v in records:
            expected[default_partition(k, partitions, None) if partitions else None].append((k, v))
        for label, out in expected.items():
            if combiner is None:
                assert got[label] == sorted(out, key=lambda kv: kv[0])
            else:
                sums = collections.Counter()
                for k, v in out:
                    sums[k] += v
                assert got[label] == sorted(sums.items())
        assert set(got) == set(expected)

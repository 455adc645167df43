"""The compiled stable key hash behind default_partition."""
import collections
import os
import pickle
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from disco._partition import hash_key, partition

KEYS = ["word", "日本", "\udcff", b"bytes", 0, 1, -1, 2 ** 63, -(2 ** 70), 0.5, float("inf"), None,
        ("a", 1), ["a", 1], (), frozenset()]


def test_stable_across_processes_and_hash_seeds():
    code = ("import pickle; from disco._partition import hash_key; "
            "print([hash_key(k) for k in pickle.loads(bytes.fromhex(%r))])" % pickle.dumps(KEYS[:-1]).hex())
    outs = set()
    for seed in ("1", "2", "random"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.add(subprocess.check_output([sys.executable, "-c", code], env=env))
    assert len(outs) == 1
    assert outs.pop().decode().strip() == str([hash_key(k) for k in KEYS[:-1]])


@given(st.integers(-2 ** 80, 2 ** 80))
def test_equal_numbers_hash_equally(n):
    assert hash_key(n) == hash_key(n == 1 if n in (0, 1) else n)
    if abs(n) < 2 ** 53:
        assert hash_key(n) == hash_key(float(n))


def test_distinct_keys_spread_evenly():
    for n in (2, 7, 64):
        counts = collections.Counter(partition("w%d" % i, n) for i in range(64000))
        assert len(counts) == n
        expected = 64000 / n
        assert max(abs(c - expected) for c in counts.values()) < 6 * expected ** 0.5


@given(st.recursive(st.text() | st.binary() | st.integers() | st.floats(allow_nan=False) | st.none(),
                    lambda inner: st.lists(inner, max_size=4).map(tuple), max_leaves=10),
       st.integers(1, 1000))
def test_partition_in_range_and_deterministic(key, n):
    p = partition(key, n)
    assert 0 <= p < n and p == partition(key, n) == hash_key(key) % n


def test_types_are_told_apart_and_bad_n():
    assert hash_key("1") != hash_key(1) != hash_key(b"1")
    assert hash_key(("a", "b")) != hash_key(("b", "a"))
    with pytest.raises(ValueError, match="positive"):
        partition("k", 0)

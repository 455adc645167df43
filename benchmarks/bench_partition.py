"""default_partition: the compiled stable hash against Disco 0.5's md5 of the key (Python 3 port)."""
import hashlib
import random

import pytest

from disco._partition import partition

rnd = random.Random(3)
WORDS = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10)))
         for _ in range(1000000)]


def baseline_partition(key, nr_partitions, params=None):
    """Disco 0.5 on Python 3: persistent_hash(key) % n with persistent_hash = int(md5(key), 16)."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    return int(hashlib.md5(key).hexdigest(), 16) % nr_partitions


def run(fn):
    return sum(fn(w, 16) for w in WORDS)


@pytest.mark.parametrize("impl", ["ours", "baseline"])
def test_partition(benchmark, impl):
    benchmark.group = "partition 1M words"
    fn = partition if impl == "ours" else baseline_partition
    benchmark.pedantic(run, args=(fn,), rounds=3, iterations=1)

"""Helpers of the worker tests (functions here are shipped to workers as this module)."""
import collections

from disco.wordcount import map_words  # noqa: F401  (the tests' map function)

TEXT = ["the quick brown fox", "jumps over the lazy dog", "the dog sleeps", "a fox is quick"] * 5


def word_counts():
    return collections.Counter(w for line in TEXT for w in line.split())


def reduce_sum(iter, params):
    counts = collections.Counter()
    for word, n in iter:
        counts[word] += n
    return sorted(counts.items())

"""Word count, Disco's README example, as classic job functions: defined once for the examples,
the tests and the benchmarks.

Light on purpose (it imports only ``disco.util``): a worker imports the module that defines a
job's functions, and this one costs a task nothing. It is part of the package, so it is never
shipped in job homes (nodes have it installed).
"""
from disco.util import kvgroup


def map_words(line, params):
    """``(word, 1)`` for each white-space separated word of ``line``."""
    for word in line.split():
        yield word, 1


def reduce_counts(iter, params):
    """``(word, total)`` for each word of the ``(word, count)`` records (the two-argument form)."""
    for word, counts in kvgroup(sorted(iter)):
        yield word, sum(counts)


def reduce_counts_out(iter, out, params):
    """``reduce_counts`` in the three-argument form: ``out.add(word, total)``."""
    for word, counts in kvgroup(sorted(iter)):
        out.add(word, sum(counts))

"""The job functions of bench_jobs, in a module of their own: workers import the module that
defines a job's functions, and this one imports nothing heavy (bench_jobs imports pytest and
numpy, which would be timed in every task)."""
from disco.util import kvgroup


def map_words(line, params):
    for word in line.split():
        yield word, 1


def reduce_counts(iter, params):
    for word, counts in kvgroup(sorted(iter)):
        yield word, sum(counts)

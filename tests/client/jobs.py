"""Job functions and Job classes the worker tests submit (a local module: shipped in job homes)."""
from disco.job import Job
from disco.util import kvgroup
from disco.worker.classic.func import chain_reader


def word_map(line, params):
    for word in line.split():
        yield word, 1


def word_reduce(iter, params):
    for word, counts in kvgroup(sorted(iter)):
        yield word, sum(counts)


def word_reduce3(iter, out, params):
    for word, counts in kvgroup(sorted(iter)):
        out.add(word, sum(counts))


class WordCount(Job):
    partitions = 3
    map = staticmethod(word_map)
    reduce = staticmethod(word_reduce)


class Chained(Job):
    map_reader = staticmethod(chain_reader)

    @staticmethod
    def map(record, params):
        word, count = record
        yield count, word

"""Job functions and Job classes the worker tests submit (a local module: shipped in job homes)."""
from disco.job import Job
from disco.wordcount import map_words as word_map, reduce_counts as word_reduce
from disco.wordcount import reduce_counts_out as word_reduce3  # noqa: F401
from disco.worker.classic.func import chain_reader


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

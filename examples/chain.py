"""A job chain (``disco.job.JobChain``): word count, then words grouped by their count.

    python examples/chain.py [FILE ...]

The second job reads the first one's results (``map_reader=chain_reader``); ``JobChain.wait``
starts it as soon as the first job is ready. Prints, for the five highest counts, the words seen
that often. Without files it reads the texts of examples/data.
"""
import sys

from disco.core import Job, result_iterator
from disco.job import JobChain
from disco.util import kvgroup
from disco.worker.classic.func import chain_reader

from exampleutil import master, text_files


class Count(Job):
    @staticmethod
    def map(line, params):
        for word in line.split():
            yield word.lower(), 1

    @staticmethod
    def reduce(iter, params):
        for word, counts in kvgroup(sorted(iter)):
            yield word, sum(counts)


class ByCount(Job):
    map_reader = staticmethod(chain_reader)

    @staticmethod
    def map(record, params):
        word, count = record
        yield count, word

    @staticmethod
    def reduce(iter, params):
        for count, words in kvgroup(sorted(iter)):
            yield count, sorted(words)


def main(argv):
    with master() as url:
        count, by_count = Count(master=url), ByCount(master=url)
        chain = JobChain({count: text_files(argv), by_count: count})
        chain.wait(poll_interval=0.2)
        groups = sorted(result_iterator(by_count.wait(show=False)), reverse=True)
    for n, words in groups[:5]:
        print("%6d  %s" % (n, " ".join(words)))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Word count as a pipeline job (``disco.worker.pipeline``): three stages, three groupings.

    python examples/pipeline.py [FILE ...]

``map`` (split: one task per input file) writes each word to label ``hash(word) % 4``; ``count``
(group_label: one task per label) gets every record of its label chained and sorted
(``combine=True, sort=True``) and sums runs of equal words; ``top`` (group_all: one task) keeps the
ten most frequent words. Without files it counts the texts of examples/data.
"""
import heapq
import sys

from disco.core import Job, result_iterator
from disco.worker.classic.func import default_partition
from disco.worker.pipeline.worker import Stage, Worker

from exampleutil import master, text_files

LABELS = 4
TOP = 10


def map_words(interface, state, label, inp):
    for line in inp:
        for word in line.split():
            interface.output(default_partition(word, LABELS, None)).add(word, 1)


def count_sorted(interface, state, label, inp):
    out, word, total = interface.output(0), None, 0
    for key, n in inp:
        if key != word and word is not None:
            out.add(word, total)
            total = 0
        word, total = key, total + n
    if word is not None:
        out.add(word, total)


def top_init(interface, params):
    return []


def top_process(interface, state, label, inp):
    for word, count in inp:
        heapq.heappush(state, (count, word))
        if len(state) > TOP:
            heapq.heappop(state)


def top_done(interface, state):
    for count, word in sorted(state, reverse=True):
        interface.output(0).add(word, count)


class WordCount(Job):
    Worker = Worker
    pipeline = [("split", Stage("map", process=map_words)),
                ("group_label", Stage("count", process=count_sorted, combine=True, sort=True)),
                ("group_all", Stage("top", init=top_init, process=top_process, done=top_done))]


def main(argv):
    with master() as url:
        job = WordCount(master=url).run(input=text_files(argv))
        top = list(result_iterator(job.wait(show=False)))
    print("the top %d words:" % TOP)
    for word, count in top:
        print("%8d  %s" % (count, word))


if __name__ == "__main__":
    main(sys.argv[1:])

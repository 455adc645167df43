"""Word count, Disco's README example, over the text bundled in examples/data.

    python examples/wordcount.py [FILE ...]

Uses the master at DISCO_MASTER when one answers there; otherwise starts the embedded master on
this machine for the run (data under DISCO_ROOT) and stops it afterwards. Prints the top words.
"""
import os
import sys

from disco.core import Disco, Job, result_iterator
from disco.error import CommError
from disco.settings import DiscoSettings
# the job functions, map_words(line, params) and reduce_counts(iter, params): disco/wordcount.py
from disco.wordcount import map_words, reduce_counts

HERE = os.path.dirname(os.path.abspath(__file__))


def inputs(argv):
    paths = argv or [os.path.join(HERE, "data", name) for name in sorted(os.listdir(os.path.join(HERE, "data")))]
    return [os.path.abspath(p) for p in paths]


def count_words(paths, master):
    job = Job(master=master).run(input=paths, map=map_words, reduce=reduce_counts)
    return sorted(result_iterator(job.wait(show=False)), key=lambda kv: (-kv[1], kv[0]))


def main(argv):
    settings = DiscoSettings()
    try:
        Disco(settings=settings).master_version()
        master, embedded = settings["DISCO_MASTER"], None
    except CommError:
        from disco.master.embedded import start_master
        embedded = start_master(settings["DISCO_ROOT"])
        master = embedded.url
        print("started the embedded master at %s (data in %s)" % (master, settings["DISCO_ROOT"]))
    try:
        counts = count_words(inputs(argv), master)
    finally:
        if embedded:
            embedded.stop()
    print("%d distinct words; the top 10:" % len(counts))
    for word, count in counts[:10]:
        print("%8d  %s" % (count, word))


if __name__ == "__main__":
    main(sys.argv[1:])

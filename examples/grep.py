"""Distributed grep: the lines of the input files that match a regular expression (a map-only
job: one map task per file, no reduce).

    python examples/grep.py PATTERN [FILE ...]

Without files it searches the texts of examples/data. Prints ``file:line`` for every match.
"""
import re
import sys

from disco.core import Job, result_iterator
from disco.worker import Params
from disco.worker.task_io import task_input_stream

from exampleutil import master, text_files


def tag_with_file(fd, size, url):
    """An input stream: ``(url, line)`` for each line of the input."""
    return ((url, line) for line in fd), size, url


def grep_map(entry, params):
    url, line = entry
    if params.pattern.search(line):
        yield url.rsplit("/", 1)[-1], line.rstrip("\n")


def grep(pattern, paths, url):
    job = Job(master=url).run(input=paths, map=grep_map, partitions=None,
                              map_input_stream=(task_input_stream, tag_with_file),
                              params=Params(pattern=re.compile(pattern)))
    return sorted(result_iterator(job.wait(show=False)))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    with master() as url:
        matches = grep(argv[0], text_files(argv[1:]), url)
    for name, line in matches:
        print("%s:%s" % (name, line))


if __name__ == "__main__":
    main(sys.argv[1:])

"""External merge sort of records, in bounded memory (``sort=True`` of the classic worker,
``Stage(sort=True)`` of the pipeline worker, ``disk_sort``/``dsorted``, which ``disco.util``
answers for too).

Contract of ``sorted_records(records, buffer_size, tempdir, key)``: yields every record of
``records`` ordered by ``key`` (default ``itemgetter(0)``: the key of a ``(k, v)`` record), stably
(records with equal keys keep their input order). Keys may be of any mutually comparable types;
no external ``sort`` program is used. Records are gathered in memory until the estimate of the
memory they take reaches the buffer, sorted and, unless they were all there was, spilled as a
*run*: a v2 record stream (``DiscoOutputStream_v2``, small hunks) in an anonymous temporary file in
``tempdir``. Runs are merged with ``disco._merge.merge``; every ``max_fanin`` runs of one level are
merged into one run of the next level as soon as they exist (and more than ``max_fanin`` runs
left at the end are merged in groups first), so open files and reader buffers stay bounded too.
Temporary files vanish when the iteration ends or the process dies.

``buffer_size`` (``sort_buffer_size``) sets the limit: an int is a number of records; a string
follows ``sort -S``: ``'<n>b'`` bytes, ``'<n>K'``/``'M'``/``'G'``/``'T'`` (``k`` too) binary
multiples, a bare number KiB, and ``'<n>%'`` that share of physical memory, kept between
``MIN_BUFFER`` and ``MAX_BUFFER`` (Disco's default ``'10%'`` so gives a sane size on any machine).
``None``/``0`` mean ``DEFAULT_BUFFER`` bytes. The memory of records is estimated from samples
(``sys.getsizeof`` of a record and its items), plus list and sort overhead per record.
"""
import itertools
import operator
import os
import re
import sys
import tempfile

from disco._merge import merge
from disco.error import DiscoError
from disco.fileutils import DiscoOutputStream_v2
from disco.recordio import disco_input_stream

MIN_BUFFER = 16 * 1024 ** 2
MAX_BUFFER = 256 * 1024 ** 2
DEFAULT_BUFFER = 64 * 1024 ** 2
RUN_HUNK_SIZE = 64 * 1024
MAX_FANIN = 128
BATCH = 1024
SAMPLES = 8
RECORD_OVERHEAD = 32  # list slot, sort key slot, sort merge buffer (bytes per record)

_UNITS = {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "": 1024}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([bkmgt%]?)\s*$", re.IGNORECASE)


def buffer_limits(buffer_size):
    """``(max_records, max_bytes)`` of ``buffer_size`` (see the module doc); one is None."""
    if buffer_size is None or buffer_size == 0 or buffer_size == "":
        return None, DEFAULT_BUFFER
    if isinstance(buffer_size, (int, float)) and not isinstance(buffer_size, bool):
        if buffer_size < 1:
            raise DiscoError("sort_buffer_size must be positive, not %r" % (buffer_size,))
        return int(buffer_size), None
    match = _SIZE.match(str(buffer_size))
    if not match:
        raise DiscoError("sort_buffer_size %r is not a record count or a size such as '64M' or '10%%'"
                         % (buffer_size,))
    number, unit = float(match.group(1)), match.group(2).lower()
    if unit == "%":
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return None, int(min(max(physical * number / 100, MIN_BUFFER), MAX_BUFFER))
    return None, max(int(number * _UNITS[unit]), 1)


def record_size(record):
    """Estimated bytes of memory held by ``record``: its size plus its items' (two levels)."""
    getsizeof = sys.getsizeof
    size = getsizeof(record)
    if type(record) in (tuple, list):
        for item in record:
            size += getsizeof(item)
            if type(item) in (tuple, list, dict, set):
                size += sum(map(getsizeof, itertools.islice(item, 64)))
    return size


class Run(object):
    """A sorted run spilled to an anonymous temporary file: iterate it once, then ``close``."""

    def __init__(self, records, tempdir, level=0):
        self.level = level
        self.file = tempfile.TemporaryFile(dir=tempdir or None, prefix="sort-")
        out = DiscoOutputStream_v2(self.file, min_hunk_size=RUN_HUNK_SIZE)
        out.extend(records)
        out.close()
        self.file.seek(0)

    def __iter__(self):
        return iter(disco_input_stream(self.file, None, self.file.name))

    def close(self):
        self.file.close()


def _batches(records, max_records, max_bytes):
    """``(batch, last)``: lists of records within the limits; ``last`` is true for the final
    batch (the one that ran out of records)."""
    it = iter(records)
    islice = itertools.islice
    last = False
    while not last:
        batch, used = [], 0
        while True:
            want = BATCH if max_records is None else min(BATCH, max_records - len(batch))
            start = len(batch)
            batch.extend(islice(it, want))
            got = len(batch) - start
            if got < want:
                last = True
                break
            if max_records is not None and len(batch) >= max_records:
                break
            if max_bytes is not None:
                sampled = batch[start::max(got // SAMPLES, 1)]
                used += sum(map(record_size, sampled)) * got // len(sampled) + RECORD_OVERHEAD * got
                if used >= max_bytes:
                    break
        if batch:
            yield batch, last


def sorted_records(records, buffer_size="10%", tempdir=None, key=operator.itemgetter(0),
                   progress=None, max_fanin=MAX_FANIN):
    """The records sorted by ``key`` in bounded memory (see the module doc). ``progress(text)``,
    when given, is told about spilled runs (at 1, 2, 4, 8, ... runs) and the final merge."""
    max_records, max_bytes = buffer_limits(buffer_size)
    max_fanin = max(int(max_fanin), 2)
    runs = []
    count = spilled = 0
    try:
        for batch, last in _batches(records, max_records, max_bytes):
            batch.sort(key=key)
            count += len(batch)
            if last and not runs:
                yield from batch
                return
            runs.append(Run(batch, tempdir))
            spilled += 1
            del batch[:]
            while len(runs) >= max_fanin and len({run.level for run in runs[-max_fanin:]}) == 1:
                runs[-max_fanin:] = [_merged_run(runs[-max_fanin:], key, tempdir)]
            if progress and spilled & (spilled - 1) == 0:  # at 1, 2, 4, 8, ... runs
                progress("Sorting: %d records in %d runs" % (count, spilled))
        while len(runs) > max_fanin:
            groups = [runs[i:i + max_fanin] for i in range(0, len(runs), max_fanin)]
            runs = []
            for group in groups:
                runs.append(_merged_run(group, key, tempdir))
        if progress and len(runs) > 1:
            progress("Sorting: merging %d runs of %d records" % (len(runs), count))
        yield from merge(*runs, key=key)
    finally:
        for run in runs:
            run.close()


def _merged_run(group, key, tempdir):
    """One run holding the merge of the runs of ``group`` (closed once merged)."""
    if len(group) == 1:
        return group[0]
    try:
        return Run(merge(*group, key=key), tempdir, level=group[0].level + 1)
    finally:
        for run in group:
            run.close()


def dsorted(iterable, buffer_size=1e6, tempdir=".", key=None):
    """Sorted records of ``iterable``, spilling sorted runs of ``buffer_size`` records (or a size
    string such as ``'64M'``) to temporary files in ``tempdir``; ``key`` as for ``sorted``."""
    return sorted_records(iterable, buffer_size, tempdir, key=key)


def disk_sort(worker, input, filename, sort_buffer_size="10%"):
    """``(key, value)`` records of ``input`` sorted by key, in memory bounded by
    ``sort_buffer_size``. Runs spill next to ``filename``; ``worker.send('MSG', ...)`` gets
    progress messages when ``worker`` is given."""
    progress = (lambda text: worker.send("MSG", text)) if worker is not None else None
    return sorted_records(input, sort_buffer_size, os.path.dirname(filename) or ".",
                          key=operator.itemgetter(0), progress=progress)

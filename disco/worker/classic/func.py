"""Functions for classic map/reduce jobs (``disco.worker.classic.func``, also ``disco.func``).

Also re-exports every name of ``disco.recordio`` (``disco.worker.task_io``). The interface functions below (``map``,
``partition``, ``combiner``, ``reduce``, ``reduce2``) only document signatures; they are not
exported by ``import *`` (``map`` would shadow the builtin).
"""
from disco._partition import hash_key  # noqa: F401  (part of this module's API)
from disco._partition import partition as _partition

from disco import recordio as _recordio
from disco.readers import notifier  # noqa: F401  (part of this module's API)
from disco.recordio import *  # noqa: F401,F403
from disco.recordio import task_input_stream, task_output_stream
from disco.util import kvgroup  # noqa: F401

map_input_stream = reduce_input_stream = task_input_stream
map_output_stream = reduce_output_stream = task_output_stream


def map(entry, params):
    """A map function: yields ``(key, value)`` pairs for one input ``entry``."""


def partition(key, nr_partitions, params):
    """A partition function: the int label (``0 <= label < nr_partitions``) for ``key``."""


def combiner(key, value, buffer, done, params):
    """A combiner: called for each map output with a per-partition dict ``buffer``, finally
    with ``(None, None, buffer, True, params)``; returned pairs are written."""


def reduce(input_stream, output_stream, params):
    """A reduce function: reads ``(key, value)`` pairs and calls ``output_stream.add(k, v)``."""


def reduce2(input_stream, params):
    """The two-argument reduce form: returns (yields) ``(key, value)`` pairs."""


def init(input_iter, params):
    """A deprecated ``map_init``/``reduce_init`` hook: called once before the records."""


def noop(*args, **kwargs):
    pass


def default_partition(key, nr_partitions, params):
    """``hash_key(key) % nr_partitions``: the compiled stable hash of ``disco._partition`` (the
    same in every process; equal numbers hash equally)."""
    return _partition(key, nr_partitions)


def make_range_partition(min_val, max_val):
    """A partition function mapping ``int(key)`` in ``[min_val, max_val]`` onto labels
    ``0 .. nr_partitions - 1`` in equal ranges (keys outside go to the first or last label)."""
    span = max_val - min_val + 1

    def range_partition(key, nr_partitions, params):
        label = (int(key) - min_val) * nr_partitions // span
        return min(max(label, 0), nr_partitions - 1)
    return range_partition


def nop_map(entry, params):
    """Map each entry (a ``(key, value)`` pair) to itself."""
    yield entry


def nop_reduce(iter, out, params):
    """Write every ``(key, value)`` pair unchanged."""
    for k, v in iter:
        out.add(k, v)


def sum_combiner(key, value, buffer, done, params):
    """Sum the values of each key (map side)."""
    if done:
        return buffer.items()
    buffer[key] = buffer.get(key, 0) + value


def sum_reduce(iter, params):
    """Sum the values of each key."""
    buffer = {}
    for key, value in iter:
        buffer[key] = buffer.get(key, 0) + value
    return buffer.items()


__all__ = [n for n, v in vars(_recordio).items() if not n.startswith("_") and (
    isinstance(v, tuple) or getattr(v, "__module__", None) == _recordio.__name__)] + [
    "kvgroup", "map_input_stream", "reduce_input_stream", "map_output_stream",
    "reduce_output_stream", "notifier", "init", "noop", "hash_key", "default_partition",
    "make_range_partition", "nop_map", "nop_reduce", "sum_combiner", "sum_reduce"]

"""The five groupings of docs/jobs.md#groupings: task outputs -> the next stage's groups.

A group is ``((label, host), [TaskInput, ...])``; one task is created per group. ``host`` is ``""``
when the grouping has no host. A data output is located on one of its replica hosts chosen with
``choose`` (random by default). A dir (index) output is read by a task with the group's label for
``split``/``group_label``/``group_node_label`` and with ``"all"`` for ``group_node``/``group_all``.

:func:`placements` places one output (what a concurrent stage does as each producer finishes);
:func:`group` groups all outputs of a finished stage at once.
"""
import random

from disco.master.outputs import DataOutput, TaskInput, url_host


def group(grouping, outputs, choose=random.choice):
    """The groups of ``outputs`` under ``grouping`` (``split`` keeps output order, others sort by key)."""
    placed = [p for o in outputs for p in placements(grouping, o, choose)]
    if grouping == "split":
        return [(key, [inp]) for key, inp in placed]
    groups = {}
    for key, inp in placed:
        groups.setdefault(key, []).append(inp)
    return sorted(groups.items())


def placements(grouping, output, choose=random.choice):
    """``[(group key, TaskInput), ...]``: where ``output`` goes under ``grouping`` (under ``split``
    each entry is a group of its own; otherwise entries with equal keys share a group)."""
    if grouping in ("split", "group_node_label"):
        return list(_placed(output, choose, by_node=True))
    if grouping == "group_label":
        return list(_placed(output, choose, by_node=False))
    if grouping == "group_all":
        return [((0, ""), _whole(output))]
    if grouping == "group_node":
        host = url_host(choose(output.urls)) if isinstance(output, DataOutput) else output.host
        return [((0, host), _whole(output))]
    raise ValueError("unknown grouping %r" % grouping)


def _placed(output, choose, by_node):
    """``((label, host), TaskInput)`` of a data output, or per label of a dir output."""
    if isinstance(output, DataOutput):
        host = url_host(choose(output.urls)) if by_node else ""
        yield (output.label, host), TaskInput(output.label, output.urls)
    else:
        for label, _size in output.labels:
            yield (label, output.host if by_node else ""), TaskInput(label, (output.url,))


def _whole(output):
    """The input reading all of ``output``: a data output's own label, or ``"all"`` of an index."""
    if isinstance(output, DataOutput):
        return TaskInput(output.label, output.urls)
    return TaskInput("all", (output.url,))

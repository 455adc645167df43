"""The five groupings of SPEC §2.14: the outputs of a finished stage -> the next stage's groups.

A group is ``((label, host), [TaskInput, ...])``; one task is created per group. ``host`` is ``""``
when the grouping has no host. A data output is located on one of its replica hosts chosen with
``choose`` (random by default). A dir (index) output is read by a task with the group's label for
``split``/``group_label``/``group_node_label`` and with ``"all"`` for ``group_node``/``group_all``.
"""
import random

from disco.master.outputs import DataOutput, TaskInput, url_host


def group(grouping, outputs, choose=random.choice):
    """The groups of ``outputs`` under ``grouping`` (``split`` keeps output order, others sort by key)."""
    if grouping == "split":
        return [(key, [inp]) for key, inp in _placed(outputs, choose, by_node=True)]
    if grouping == "group_all":
        return [((0, ""), [_whole(o) for o in outputs])] if outputs else []
    if grouping == "group_node":
        groups = {}
        for o in outputs:
            host = url_host(choose(o.urls)) if isinstance(o, DataOutput) else o.host
            groups.setdefault((0, host), []).append(_whole(o))
        return sorted(groups.items())
    if grouping in ("group_label", "group_node_label"):
        groups = {}
        for key, inp in _placed(outputs, choose, by_node=grouping == "group_node_label"):
            groups.setdefault(key, []).append(inp)
        return sorted(groups.items())
    raise ValueError("unknown grouping %r" % grouping)


def _placed(outputs, choose, by_node):
    """``((label, host), TaskInput)`` per data output and per (dir output x label)."""
    for o in outputs:
        if isinstance(o, DataOutput):
            host = url_host(choose(o.urls)) if by_node else ""
            yield (o.label, host), TaskInput(o.label, o.urls)
        else:
            for label, _size in o.labels:
                yield (label, o.host if by_node else ""), TaskInput(label, (o.url,))


def _whole(output):
    """The input reading all of ``output``: a data output's own label, or ``"all"`` of an index."""
    if isinstance(output, DataOutput):
        return TaskInput(output.label, output.urls)
    return TaskInput("all", (output.url,))

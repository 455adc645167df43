"""``dir://host/<path>``: an index file listing task outputs (``<label> <url> <size>`` lines).

Opening one yields the records of its members (read as record streams), in index order: in a
worker those of the task's group label (every label for the groupings ``group_all`` and
``group_node``, whose inputs carry the label ``'all'``), on a client all of them.
"""
from disco.context import current_task
from disco.readers import SerialInput, parse_dir
from disco.recordio import StreamCombiner, chain_stream


def open(url, task=None):
    task = task or current_task()
    label = None
    if task is not None and task.grouping not in ("group_all", "group_node"):
        label = task.group_label
    urls = parse_dir(url, label=label, task=task)
    return SerialInput(urls, task=task, open=lambda u: StreamCombiner(u, chain_stream, None))


def input_stream(fd, size, url, params):
    return open(url), None, url

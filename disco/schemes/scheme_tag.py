"""``tag://[user:token@][host/]name``: a DDFS tag. Job inputs and results name tags; input lists
(``disco.inputs.inputlist``) expand them to the replica lists of their blobs before a job is
submitted or results are read. Opening one directly yields the records of all its blobs, read as
record streams with replica fail-over."""
from disco.inputs import inputlist
from disco.readers import SerialInput
from disco.recordio import StreamCombiner, chain_stream


def open(url, task=None):
    return SerialInput(inputlist([url]), task=task, open=lambda u: StreamCombiner(u, chain_stream, None))


def input_stream(fd, size, url, params):
    return open(url), None, url

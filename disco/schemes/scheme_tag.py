"""``tag://name``: a DDFS tag. Tags expand to blob URLs before a job is submitted; this needs
DDFS, which is not available yet."""
from disco.error import DiscoError


def open(url, task=None):
    raise DiscoError("Cannot read %s: tag:// inputs need DDFS, which is not available yet" % url)


def input_stream(fd, size, url, params):
    return open(url)

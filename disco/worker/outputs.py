"""The outputs of a task: files in the task directory reported to the master with ``OUTPUT``
(docs/worker-protocol.md), written as record streams through an ``Output``'s ``writer``; and the
concatenation of inputs the shuffle stages do.
"""
import os

from disco.fileutils import DiscoOutput
from disco.recordio import StreamCombiner
from disco.schemes.scheme_disco import locate


class BaseOutput(object):
    """An output of the task: ``path`` (relative to the job home), ``type``, ``label`` (None
    means 0)."""

    def __init__(self, path_type_label):
        self.path, self.type, label = path_type_label
        self.label = 0 if label is None else int(label)

    def size(self):
        return os.path.getsize(self.path)

    def close(self):
        pass


class Output(BaseOutput):
    """An output file opened with ``open(path)`` (default ``disco.fileutils.DiscoOutput``, a
    record stream written atomically); ``file`` is the opened object, ``writer`` the one that
    takes the records (``add(key, value)``): the last stream of a ``StreamCombiner`` chain, else
    ``file`` itself."""

    def __init__(self, path_type_label, open=None):
        super().__init__(path_type_label)
        self.open = open or DiscoOutput
        self.file = self.open(self.path)
        self.writer = self.file.fds[-1] if isinstance(self.file, StreamCombiner) else self.file

    def add(self, key, value):
        """Write one record."""
        self.writer.add(key, value)

    def close(self):
        self.file.close()


_TERMINATOR = 14  # an empty raw hunk: marker >= 128, then 13 zero bytes


def concat_streams(output, files, buffer_size=1024 * 1024):
    """Write the files one after the other to ``output``, dropping each file's closing empty
    hunk (a v1/v2 reader stops at one) and writing one at the very end."""
    terminator = b""
    for fd in files:
        with fd:
            held = b""
            for chunk in iter(lambda: fd.read(buffer_size), b""):
                data = held + chunk
                output.write(data[:-_TERMINATOR])
                held = data[-_TERMINATOR:]
            if len(held) == _TERMINATOR and held[0] >= 128 and not any(held[1:]):
                terminator = held
            else:
                output.write(held)
    output.write(terminator)


def link_output(url, path, task):
    """Hard link the local file of ``url`` at ``path``; False if that is not possible."""
    if not url.startswith("disco://"):
        return False
    local, _http = locate(url, task)
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        os.link(local, path)
    except (OSError, TypeError):
        return False
    return True

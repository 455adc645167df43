"""``raw://<data>``: the text after ``raw://`` is the input itself."""
import io

from disco.comm import _Lines
from disco.util import schemesplit


class RawFile(_Lines, io.BytesIO):
    """The data of a ``raw://`` URL: ``read`` gives bytes (UTF-8), iteration text lines."""

    def __init__(self, url):
        io.BytesIO.__init__(self, schemesplit(url)[1].encode("utf-8", "surrogateescape"))
        self.url = url
        self.size = len(self.getbuffer())


def open(url, task=None):
    return RawFile(url)


def input_stream(fd, size, url, params):
    file = RawFile(url)
    return file, file.size, url

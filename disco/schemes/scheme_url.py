"""``url://...``: the whole URL, ``url://`` included, is the input itself (one line of text)."""
from disco.schemes.scheme_raw import RawFile


class UrlFile(RawFile):
    def __init__(self, url):
        super().__init__("raw://" + url)
        self.url = url


def open(url, task=None):
    return UrlFile(url)


def input_stream(fd, size, url, params):
    file = UrlFile(url)
    return file, file.size, url

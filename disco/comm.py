"""HTTP for Disco clients and workers (``disco.comm`` of Disco 0.5), over one ``requests`` Session.

Contract:
* ``request(method, url, ...)`` returns a ``requests.Response`` with a 2xx status (redirects
  followed). Connection failures and ``503`` replies are retried with a random back-off (up to
  ``RETRIES`` tries, each pause at most ``BACKOFF_CAP`` seconds); a refused connection, or a host
  name that does not exist, means nothing listens there, so it gets only ``REFUSED_RETRIES`` quick
  tries. Any other non-2xx status, or the last failure, raises ``CommError(body, url, status)``
  (``status`` None: no HTTP reply).
* ``download(url, ...)`` -> the body as bytes; ``offset`` asks for a byte range.
* ``open_url(url)`` -> a binary file object on an http(s) URL or a local path: ``read(n)``,
  ``seek``/``tell``, ``size`` (``len()``), ``url``; iterating it yields text lines (UTF-8,
  undecodable bytes kept with ``surrogateescape``). HTTP bodies are streamed, not loaded: one GET
  from the current position, resumed with a ``Range`` request when the connection drops.
* ``open_local(path)`` -> the same interface on a local file.
"""
import io
import os
import random
import socket
import time

from disco.error import CommError
from disco.util import schemesplit

BUFFER_SIZE = 1024 * 1024
CHUNK_SIZE = 10 * 1024 * 1024
RETRIES = 10
REFUSED_RETRIES = 3
BACKOFF_CAP = 30
CONNECT_TIMEOUT = 20
READ_TIMEOUT = 300

_session = None
_IDENTITY = {"Accept-Encoding": "identity"}


def _refused(exc):
    """True if the chain of ``exc`` holds a ConnectionRefusedError or an unknown host name."""
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError) or (
                isinstance(e, socket.gaierror) and e.errno == socket.EAI_NONAME):
            return True
        stack.extend(x for x in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args)
                     if isinstance(x, BaseException))
    return False


def _backoff(tries, refused):
    if refused:
        return 0.1 * 2 ** tries
    return random.uniform(1, min(2 ** tries, BACKOFF_CAP))


def request(method, url, data=None, headers=None, sleep=0, stream=False, timeout=None):
    """Send one HTTP request (see the module doc for retries and errors); ``sleep`` = tries
    already spent; ``timeout`` = read timeout in seconds (default ``READ_TIMEOUT``)."""
    import requests  # imported when first needed: workers reading local files never pay for it
    global _session
    if _session is None:
        _session = requests.Session()
    tries = sleep
    headers = with_access_token(url, headers)
    while True:
        try:
            response = _session.request(method, url, data=data, headers=headers, stream=stream,
                                        timeout=(CONNECT_TIMEOUT, timeout or READ_TIMEOUT))
        except (requests.ConnectionError, requests.Timeout) as e:
            status, message, refused = None, _reason(e), _refused(e)
        except requests.RequestException as e:
            raise CommError(_reason(e), url, None)
        else:
            if 200 <= response.status_code < 300:
                return response
            status, message, refused = response.status_code, response.text, False
            response.close()
            if status != 503:
                raise CommError(message, url, status)
        tries += 1
        if tries >= (REFUSED_RETRIES if refused else RETRIES):
            raise CommError(message, url, status)
        time.sleep(_backoff(tries, refused))


def _reason(exc):
    reason = exc
    while reason.args and isinstance(reason.args[0], BaseException):
        reason = reason.args[0]
    return str(getattr(reason, "reason", None) or reason) or type(exc).__name__


def range_header(offset):
    """``{'Range': ...}`` for ``offset`` = start (int) or ``(start, end)`` (inclusive)."""
    if not offset and offset != 0:
        return {}
    if isinstance(offset, int):
        return {"Range": "bytes=%d-" % offset} if offset else {}
    return {"Range": "bytes=%d-%d" % tuple(offset)}


def with_access_token(url, headers):
    """``headers`` plus the client settings' ``DISCO_AUTH_TOKEN`` (if set) for a request to
    ``url`` on the cluster (the ``DISCO_MASTER`` server, or any host on ``DISCO_PORT``, where
    nodes serve data): ``Authorization: Bearer <token>``, or ``X-Disco-Auth: <token>`` when
    ``headers`` already hold an ``Authorization`` (a DDFS token). Other servers never see it."""
    from urllib.parse import urlsplit
    from disco.context import current_settings
    settings = current_settings()
    token = settings.get("DISCO_AUTH_TOKEN")
    if not token:
        return headers
    target, master = urlsplit(url), urlsplit(str(settings["DISCO_MASTER"]))
    try:
        port = target.port or {"https": 443}.get(target.scheme, 80)
    except ValueError:
        return headers
    if target.netloc != master.netloc and str(port) != str(settings["DISCO_PORT"]):
        return headers
    headers = dict(headers or {})
    if "Authorization" in headers:
        headers["X-Disco-Auth"] = token
    else:
        headers["Authorization"] = "Bearer %s" % token
    return headers


def auth_header(token):
    import base64
    if not isinstance(token, str):
        return {}
    return {"Authorization": "Basic " + base64.b64encode(b"token:" + token.encode()).decode()}


def download(url, method="GET", data=None, offset=(), token=None, sleep=0, timeout=None):
    """The body of ``url`` as bytes (POST when ``data`` is given and no method is named)."""
    if data is not None and method == "GET":
        method = "POST"
    headers = dict(range_header(offset), **auth_header(token))
    return request(method, url, data=data, headers=headers, sleep=sleep, timeout=timeout).content


def upload(urls, source, token=None, **kwargs):
    """PUT the bytes (or file path) ``source`` to every URL; the replies' bodies."""
    if isinstance(source, str):
        with open(source, "rb") as f:
            source = f.read()
    return [request("PUT", url, data=source, headers=auth_header(token), **kwargs).content
            for url in urls]


# -- file objects ---------------------------------------------------------------------------------


class _Lines(object):
    """Text-line iteration for binary readers (UTF-8, surrogateescape: lossless), lines split at
    ``\n`` only and returned with it. Iterating hands the reader to a TextIOWrapper (C-speed)."""

    def __iter__(self):
        return iter(io.TextIOWrapper(self, encoding="utf-8", errors="surrogateescape", newline="\n"))

    def __bool__(self):
        return True

    def __len__(self):
        if self.size is None:
            raise TypeError("size of %s is unknown" % self.url)
        return self.size


class File(_Lines, io.BufferedReader):
    """A local file opened for reading: ``size`` (``len``), ``url`` (``file://<path>``)."""

    def __init__(self, path, buffer_size=BUFFER_SIZE):
        io.BufferedReader.__init__(self, io.FileIO(path, "r"), buffer_size)
        self.path = path
        self.size = os.fstat(self.fileno()).st_size
        self.url = "file://" + path

    def __iter__(self):
        # Lines through a TextIOWrapper over a plain BufferedReader(FileIO) sharing the file
        # descriptor: on those CPython checks "closed" in C, not by an attribute lookup per line
        # (1.5x faster than wrapping this subclass). Reading starts at the current position.
        raw = io.FileIO(self.fileno(), "r", closefd=False)
        raw.seek(self.tell())
        return iter(io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8",
                                     errors="surrogateescape", newline="\n"))


class _HTTPRaw(io.RawIOBase):
    """Raw, seekable reader of an HTTP resource: one streamed GET from the current position."""

    def __init__(self, url, headers=None):
        self.url = url
        self.headers = dict(headers or {}, **_IDENTITY)
        self.pos = 0
        self.size = None
        self.response = None
        self.resumes = 0
        self._open()

    def _open(self):
        headers = dict(self.headers)
        if self.pos:
            headers["Range"] = "bytes=%d-" % self.pos
        try:
            response = request("GET", self.url, headers=headers, stream=True)
        except CommError as e:
            if e.code == 416 and self.pos:   # at or past the end
                self.response = None
                return
            raise
        start = 0
        content_range = response.headers.get("Content-Range", "")
        if response.status_code == 206 and content_range.startswith("bytes "):
            span, _, total = content_range[6:].partition("/")
            start = int(span.partition("-")[0])
            if total.isdigit():
                self.size = int(total)
        elif response.headers.get("Content-Length", "").isdigit():
            self.size = int(response.headers["Content-Length"])
        self.response = response
        if start < self.pos:       # the server ignored the range: skip what we had
            self._skip(self.pos - start)

    def _skip(self, n):
        while n > 0:
            chunk = self.response.raw.read(min(n, BUFFER_SIZE))
            if not chunk:
                break
            n -= len(chunk)

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, buffer):
        if self.size is not None and self.pos >= self.size:
            return 0
        if self.response is None:
            self._open()
            if self.response is None:
                return 0
        try:
            n = self.response.raw.readinto(buffer)
        except Exception as e:  # dropped connection: resume from here
            n, error = 0, e
        else:
            error = None
        if n == 0 and (error is not None or (self.size is not None and self.pos < self.size)):
            self.resumes += 1
            if self.resumes > RETRIES:
                raise CommError("connection lost at byte %d: %s" % (self.pos, error), self.url)
            self._close_response()
            time.sleep(_backoff(self.resumes, True))
            return self.readinto(buffer)
        self.pos += n
        return n

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_CUR:
            offset += self.pos
        elif whence == io.SEEK_END:
            if self.size is None:
                raise io.UnsupportedOperation("size of %s is unknown" % self.url)
            offset += self.size
        if offset != self.pos:
            self._close_response()
            self.pos = offset
        return self.pos

    def tell(self):
        return self.pos

    def _close_response(self):
        if self.response is not None:
            self.response.close()
            self.response = None

    def close(self):
        self._close_response()
        super().close()


class Connection(_Lines, io.BufferedReader):
    """A seekable, streaming reader of an http(s) URL: ``size`` (``len``; None if the server
    does not say), ``url``. Raises CommError when the resource cannot be opened."""

    def __init__(self, url, token=None, buffer_size=BUFFER_SIZE):
        raw = _HTTPRaw(url, auth_header(token))
        io.BufferedReader.__init__(self, raw, buffer_size)
        self.url = url

    @property
    def size(self):
        return self.raw.size


def open_local(path):
    """A File on a local path (``file://`` prefix allowed); DataError if it cannot be opened."""
    from disco.error import DataError
    if path.startswith("file://"):
        path = path[len("file://"):]
    try:
        return File(path)
    except OSError as e:
        raise DataError(e.strerror or str(e), path, e.errno)


def open_remote(url, token=None):
    return Connection(url, token=token)


def open_url(url, token=None):
    """A reader of an http(s) URL or a local path (see the module doc)."""
    scheme, _rest = schemesplit(url)
    if scheme in ("http", "https"):
        return open_remote(url, token=token)
    if scheme in ("", "file"):
        return open_local(url)
    raise CommError("open_url cannot open %s:// URLs (use disco.schemes.open)" % scheme, url)

"""Serving data files: ``GET /disco/<path>`` under ``DISCO_DATA`` and ``/ddfs/<path>`` under
``DDFS_DATA`` (docs/http-api.md).

Only regular files inside the data root are served: a path with a ``..`` segment, or one whose
real path (symbolic links resolved) leaves the root, is forbidden; so is anything not a file.

Byte ranges follow RFC 9110 §14 (aiohttp's ``FileResponse`` serves the single ranges it parses;
:func:`range_reply` decides the rest): a Range header that is not one valid ``bytes`` range
(other units, several ranges, bad syntax) is ignored (200 with the whole file); so is a range
of an empty file that starts at 0 or is a suffix (Disco 0.5 clients always send
``bytes=0-1048575``, and its master answered 200 with an empty body; no 206 can carry zero
bytes). ``bytes=-0`` and a first position at or past the end of the file get 416 with
``Content-Range: bytes */<size>`` (unless an If-Range validator says to ignore the range).
"""
import os
import re

from aiohttp import web

WHOLE, RANGE, UNSATISFIABLE = "whole", "range", "unsatisfiable"
_BYTE_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII | re.IGNORECASE)   # aiohttp's own syntax


class Forbidden(Exception):
    """The path may not be served."""


def resolve(root, relpath):
    """The real path of the file ``root/relpath``; raises :class:`Forbidden` or FileNotFoundError."""
    if relpath.startswith("/") or "\0" in relpath or ".." in relpath.split("/"):
        raise Forbidden(relpath)
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(real_root, relpath))
    if not path.startswith(real_root + os.sep):
        raise Forbidden(relpath)
    if not os.path.exists(path):
        raise FileNotFoundError(relpath)
    if not os.path.isfile(path):
        raise Forbidden(relpath)
    return path


def range_reply(header, size):
    """How to answer a GET with ``Range: header`` of a file of ``size`` bytes: :data:`WHOLE`
    (ignore the header), :data:`RANGE` (206, as aiohttp serves it) or :data:`UNSATISFIABLE`."""
    match = _BYTE_RANGE.fullmatch(header)
    if match is None or match.groups() == ("", ""):
        return WHOLE
    first, last = match.groups()
    if first == "":                               # suffix range: the last <last> bytes
        if int(last) == 0:
            return UNSATISFIABLE
        return RANGE if size else WHOLE           # no 206 can carry zero bytes
    if last != "" and int(last) < int(first):
        return WHOLE                              # invalid: ignored
    if int(first) == 0 and size == 0:
        return WHOLE
    return RANGE if int(first) < size else UNSATISFIABLE


def file_response(request, path):
    """The response to ``request`` (a GET or HEAD) for the resolved data file ``path``."""
    header = request.headers.get("Range")
    if header is None:
        return web.FileResponse(path)
    size = os.path.getsize(path)
    reply = range_reply(header, size)
    if reply == WHOLE:
        return _WholeFile(path)
    if reply == UNSATISFIABLE and "If-Range" not in request.headers:
        return web.Response(status=416, headers={"Content-Range": "bytes */%d" % size})
    return web.FileResponse(path)     # evaluates If-Range and serves the range


class _WholeFile(web.FileResponse):
    """A FileResponse that ignores the request's Range header."""

    async def prepare(self, request):
        headers = request.headers.copy()
        headers.popall("Range", None)
        return await super().prepare(request.clone(headers=headers))

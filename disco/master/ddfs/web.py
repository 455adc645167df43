"""The ``/ddfs/...`` HTTP API (docs/http-api.md#ddfs): thin handlers over the master's DDFS.

Tokens come from ``Authorization: Basic base64("token:<TOKEN>")`` (anything else: no token).
Failures reply their status with a plain text message: 401 "Incorrect or missing token.", 403
invalid names, bodies, attributes or values, 404 unknown tags, attributes or hosts, 500 other
errors. Tag request bodies are limited to 512 MiB. ``PUT /ddfs/put/<node>/<blob>`` receives the
uploads that ``new_blob`` directs here (see ``disco.master.ddfs.blobs``); ``GET``/``HEAD
/ddfs/<path>`` serve ``DDFS_DATA/<path>`` with byte ranges, except tag versions (403: they hold the
tag's tokens).
"""
import base64
import binascii
import functools
import json
import os

from aiohttp import web

from disco.master import datafiles, nodedata
from disco.master.ddfs.errors import DDFSError, Forbidden, NotFound
from disco.master.ddfs.names import DELETED, MAX_TAG, valid_name, valid_tag
from disco.master.ddfs.tagdata import check_urls

MAX_TAG_BODY = 512 * 1024 * 1024
MAX_REPLICAS = 1000


def routes(ddfs):
    """The route table of the DDFS API served by ``ddfs`` (a
    :class:`~disco.master.ddfs.service.DDFSMaster`)."""
    h = _Handlers(ddfs)
    return [
        web.get("/ddfs/new_blob/{prefix}", h.new_blob, allow_head=False),
        web.get("/ddfs/tags", h.tags, allow_head=False),
        web.get("/ddfs/tags/{prefix:.*}", h.tags, allow_head=False),
        web.get("/ddfs/tag/{tag}", h.get_tag, allow_head=False),
        web.post("/ddfs/tag/{tag}", h.post_tag),
        web.put("/ddfs/tag/{tag}", h.put_tag),
        web.delete("/ddfs/tag/{tag}", h.delete_tag),
        web.get("/ddfs/tag/{tag}/{attr:.+}", h.get_attr, allow_head=False),
        web.put("/ddfs/tag/{tag}/{attr:.+}", h.put_attr),
        web.delete("/ddfs/tag/{tag}/{attr:.+}", h.delete_attr),
        web.get("/ddfs/ctrl/gc_stats", h.gc_stats, allow_head=False),
        web.get("/ddfs/ctrl/gc_status", h.gc_status, allow_head=False),
        web.get("/ddfs/ctrl/gc_start", h.gc_start, allow_head=False),
        web.get("/ddfs/ctrl/safe_gc_blacklist", h.safe_gc_blacklist, allow_head=False),
        web.post("/ddfs/ctrl/hosted_tags", h.hosted_tags),
        web.put("/ddfs/put/{node}/{obj}", h.put_blob),
        web.get("/ddfs/{path:.*}", h.data_file),
    ]


def _replies(handler):
    """Answer a DDFSError with its status and message."""
    @functools.wraps(handler)
    async def wrapper(self, request):
        try:
            return await handler(self, request)
        except DDFSError as e:
            return web.Response(status=e.status, text=str(e))
    return wrapper


def token(request):
    """The request's DDFS token, or None."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None
    try:
        user, sep, value = base64.b64decode(auth[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return value if sep and user == "token" else None


def _tag(request, readonly=False):
    name = request.match_info["tag"]
    if valid_tag(name) or (readonly and name == DELETED):
        return name
    if valid_name(name):
        raise Forbidden("Invalid tag: longer than %d characters." % MAX_TAG)
    raise Forbidden("Invalid tag.")


def _flag(request, name):
    """A query flag counts only when its value is not empty."""
    return bool(request.query.get(name, ""))


def _hosts(request, name):
    return [h for h in request.query.get(name, "").split(",") if h]


async def _json(request):
    if (request.content_length or 0) > MAX_TAG_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_TAG_BODY, actual_size=request.content_length)
    try:
        return json.loads(await request.read())
    except RecursionError:
        raise Forbidden("Invalid request body: JSON nested too deeply.") from None
    except ValueError:
        raise Forbidden("Invalid request body.") from None


class _Handlers:
    def __init__(self, ddfs):
        self.ddfs = ddfs
        self.tagstore = ddfs.tags

    @_replies
    async def new_blob(self, request):
        try:
            replicas = int(request.query.get("replicas") or 0)
        except ValueError:
            replicas = -1
        if not 0 <= replicas <= MAX_REPLICAS:
            raise Forbidden("Invalid replicas: %.20r (1 to %d; 0 or none: the default)"
                            % (request.query.get("replicas"), MAX_REPLICAS))
        return web.json_response(self.ddfs.blobs.new_blob(
            request.match_info["prefix"], replicas, _hosts(request, "exclude"), _hosts(request, "include")))

    @_replies
    async def put_blob(self, request):
        url = await self.ddfs.blobs.receive(request.match_info["node"], request.match_info["obj"],
                                            request.content.iter_chunked(1 << 16))
        return web.json_response(url, status=201)

    async def tags(self, request):
        return web.json_response(self.tagstore.list(request.match_info.get("prefix", "").strip("/")))

    @_replies
    async def get_tag(self, request):
        return web.json_response(self.tagstore.get(_tag(request, True), token(request)))

    @_replies
    async def post_tag(self, request):
        name = _tag(request)
        urls = check_urls(await _json(request))
        return web.json_response(await self.tagstore.post(
            name, urls, token(request), update=_flag(request, "update"), delayed=_flag(request, "delayed")))

    @_replies
    async def put_tag(self, request):
        name = _tag(request)
        return web.json_response(await self.tagstore.put_urls(name, check_urls(await _json(request)),
                                                              token(request)))

    @_replies
    async def delete_tag(self, request):
        await self.tagstore.delete(_tag(request), token(request))
        return web.json_response("deleted")

    @_replies
    async def get_attr(self, request):
        return web.json_response(self.tagstore.get_attr(_tag(request, True), request.match_info["attr"],
                                                        token(request)))

    @_replies
    async def put_attr(self, request):
        name = _tag(request)
        value = await _json(request)
        await self.tagstore.set_attr(name, request.match_info["attr"], value, token(request))
        return web.json_response("")

    @_replies
    async def delete_attr(self, request):
        await self.tagstore.del_attr(_tag(request), request.match_info["attr"], token(request))
        return web.json_response("deleted")

    async def gc_stats(self, request):
        return web.json_response(self.ddfs.gc.stats)

    async def gc_status(self, request):
        return web.json_response(self.ddfs.gc.status)

    async def gc_start(self, request):
        return web.json_response(self.ddfs.gc.start())

    async def safe_gc_blacklist(self, request):
        return web.json_response(self.ddfs.gc.safe_blacklist)

    @_replies
    async def hosted_tags(self, request):
        host = await _json(request)
        if host not in self.ddfs.nodes.all():
            raise NotFound("Unknown host.")
        return web.json_response(self.tagstore.hosted(host))

    async def data_file(self, request):
        relpath = request.match_info["path"]
        try:
            path = datafiles.resolve(self.ddfs.nodes.root, relpath)
        except datafiles.Forbidden:
            raise web.HTTPForbidden(text="forbidden") from None
        except FileNotFoundError:
            node = nodedata.server_of(self.ddfs.nodes.backend, relpath)
            if node is None:
                raise web.HTTPNotFound(text="not found") from None
            return await nodedata.relay(request, *node, "ddfs", relpath, self.ddfs.nodes.headers)
        if _is_tag_file(self.ddfs.nodes.root, path):
            raise web.HTTPForbidden(text="tag files are read through /ddfs/tag/<tag>")
        return datafiles.file_response(request, path)


def _is_tag_file(root, path):
    """True if the real path ``path`` is a tag version (``<root>/<node>/<vol>/tag/...``): those
    hold the tag's tokens, so they are never served as files."""
    parts = os.path.relpath(path, os.path.realpath(root)).split(os.sep)
    return len(parts) > 2 and parts[2] == "tag"

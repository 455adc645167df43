"""A node's DDFS writes and listings, served by its data server next to ``GET /ddfs/<path>``.

The node keeps its volumes in ``DDFS_DATA/<node>/`` (a :class:`~disco.master.ddfs.volumes.
NodeStore`: every object written under a partial name, fsynced, made read-only and linked to its
final name, never overwritten). The master's :class:`~disco.master.ddfs.remote.RemoteStore`
and the clients use:

* ``PUT /ddfs/put/<node>/<blob>``: a blob upload (the PUT URLs ``new_blob`` gives for this
  node); 201 with the blob's ``disco://`` URL as JSON, as the master answers it;
* ``PUT /ddfs-node/<blob|tag>/<object>``: write an object (the master's tag versions);
* ``POST /ddfs-node/pull`` ``{"kind", "obj", "url"}``: fetch ``url`` (another node's replica,
  a job's output) as the object: re-replication and saved results go peer to peer;
* ``GET /ddfs-node/scan?kind=<blob|tag>``: ``{"files": [[name, path, size, mtime], ...]}``
  (paths relative to ``DDFS_DATA/<node>/``, partial and trash files included, as
  ``NodeStore.scan``; the master knows the node's free space from the backend's node facts);
* ``POST /ddfs-node/delete`` ``{"paths": [...], "paranoid": bool}``: GC's deletions (paranoid:
  renamed to ``!trash.<name>``).

* ``GET /ddfs-node/read?path=<path>``: a tag version (not served by ``GET /ddfs/...``: tags
  hold their tokens).

The ``/ddfs-node/`` replies are JSON ``{"url", "path", "size"}`` for writes; 409 when the object
exists, 403 for an invalid name, kind or path, 502 when a pull cannot read its source. Only the
master may call ``/ddfs-node/``: its requests carry the ``X-Disco-Master-Key`` it gave the node
(``node_facts``), else 403. Access checks (``DISCO_AUTH_TOKEN``) are the data server's
(:mod:`disco.master.auth`); a pull sends the cluster's token to the peer.
"""
import asyncio
import hmac
import json
import os

import aiohttp
from aiohttp import web

from disco.master import datafiles
from disco.master.ddfs.names import Clock, valid_object
from disco.master.ddfs.volumes import KINDS, NodeStore, receive, remove

API = "/ddfs-node/"
MASTER_KEY_HEADER = "X-Disco-Master-Key"
PULL_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
_ts = Clock()           # partial files' timestamps


def routes(name, ddfs_data, disco_data, self_url, headers=dict, key=lambda: None):
    """The routes of node ``name`` whose volumes are under ``ddfs_data`` (``disco_data``:
    its job data, for pulls of its own outputs; ``self_url``: ``http://host:port`` of its data
    server); ``headers()`` go with its pulls from other nodes; ``key()`` is the master's key."""
    h = _Handlers(name, ddfs_data, disco_data, self_url, headers)

    def master_only(handler):
        async def checked(request):
            given, expected = request.headers.get(MASTER_KEY_HEADER, ""), key()
            if not expected or not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
                raise _forbidden("Only this node's master may do that.")
            return await handler(request)
        return checked

    return [web.put("/ddfs/put/{node}/{obj}", h.put_blob),
            web.put(API + "{kind}/{obj}", master_only(h.put_object)),
            web.post(API + "pull", master_only(h.pull)),
            web.get(API + "scan", master_only(h.scan), allow_head=False),
            web.get(API + "read", master_only(h.read), allow_head=False),
            web.post(API + "delete", master_only(h.delete))]


def is_tag_file(root, path):
    """True if the real path ``path`` is a tag version (``<root>/<node>/<vol>/tag/...``)."""
    parts = os.path.relpath(path, os.path.realpath(root)).split(os.sep)
    return len(parts) > 2 and parts[2] == "tag"


def _forbidden(text):
    return web.HTTPForbidden(text=text)


class _Handlers:
    def __init__(self, name, ddfs_data, disco_data, self_url, headers):
        self.name = name
        self.store = NodeStore(ddfs_data, name)
        self.roots = {"ddfs": ddfs_data, "disco": disco_data}
        self.self_url = self_url
        self.headers = headers

    def _object(self, kind, obj):
        if kind not in KINDS:
            raise _forbidden("Invalid kind %r." % kind)
        if not valid_object(obj):
            raise _forbidden("Invalid object name %r." % obj)

    async def _written(self, write):
        try:
            url = await write
        except FileExistsError:
            raise web.HTTPConflict(text="File exists") from None
        path = url.split("/ddfs/%s/" % self.name, 1)[1]
        size = os.path.getsize(os.path.join(self.store.root, path))
        return web.json_response({"url": url, "path": path, "size": size}, status=201)

    async def put_blob(self, request):
        """A client's upload: the reply is the blob's URL, as the master's ``/ddfs/put``."""
        if request.match_info["node"] != self.name:
            raise web.HTTPNotFound(text="Unknown host.")
        obj = request.match_info["obj"]
        self._object("blob", obj)
        try:
            url = await receive(self.store, "blob", obj, request.content.iter_chunked(1 << 16), _ts())
        except FileExistsError:
            raise web.HTTPConflict(text="File exists") from None
        return web.json_response(url, status=201)

    async def put_object(self, request):
        kind, obj = request.match_info["kind"], request.match_info["obj"]
        self._object(kind, obj)
        return await self._written(receive(self.store, kind, obj, request.content.iter_chunked(1 << 16), _ts()))

    async def pull(self, request):
        body = await _json(request)
        kind, obj, url = body.get("kind"), body.get("obj"), body.get("url")
        self._object(kind, obj)
        if not isinstance(url, str) or not url.startswith("http://"):
            raise _forbidden("Invalid source URL %r." % (url,))
        own = self._own_file(url)
        if own is not None:
            return await self._written(asyncio.to_thread(self.store.copy_in, kind, obj, own, _ts()))
        try:
            async with aiohttp.ClientSession(timeout=PULL_TIMEOUT, headers=self.headers()) as session:
                async with session.get(url) as reply:
                    if reply.status != 200:
                        raise web.HTTPBadGateway(text="cannot read %s: HTTP %d" % (url, reply.status))
                    return await self._written(receive(self.store, kind, obj, reply.content.iter_chunked(1 << 16),
                                                       _ts()))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise web.HTTPBadGateway(text="cannot read %s: %s" % (url, e or type(e).__name__)) from None

    def _own_file(self, url):
        """The local file of ``url`` when it is one of this node's data files, else None."""
        if not url.startswith(self.self_url + "/"):
            return None
        top, _, rest = url[len(self.self_url) + 1:].partition("/")
        try:
            return datafiles.resolve(self.roots[top], rest) if top in self.roots else None
        except (datafiles.Forbidden, FileNotFoundError):
            return None

    async def scan(self, request):
        kind = request.query.get("kind", "")
        if kind not in KINDS:
            raise _forbidden("Invalid kind %r." % kind)

        def listing():
            return [[obj, os.path.relpath(path, self.store.root), size, mtime]
                    for obj, path, size, mtime in self.store.scan(kind)]
        return web.json_response({"files": await asyncio.to_thread(listing)})

    async def read(self, request):
        path = request.query.get("path", "")
        if not _volume_file(path):
            raise _forbidden("Invalid path %r." % (path,))
        try:
            return web.FileResponse(datafiles.resolve(self.store.root, path))
        except datafiles.Forbidden:
            raise _forbidden("Invalid path %r." % (path,)) from None
        except FileNotFoundError:
            raise web.HTTPNotFound(text="not found") from None

    async def delete(self, request):
        body = await _json(request)
        paths = body.get("paths")
        if not isinstance(paths, list):
            raise _forbidden("Invalid paths.")
        for path in paths:
            if not _volume_file(path):
                raise _forbidden("Invalid path %r." % (path,))
        paranoid = bool(body.get("paranoid"))
        await asyncio.to_thread(lambda: [remove(os.path.join(self.store.root, p), paranoid) for p in paths])
        return web.json_response("deleted")


def _volume_file(path):
    """True for ``vol*/<blob|tag>/HH/<name>`` without any ``..`` or empty part."""
    parts = path.split("/") if isinstance(path, str) else []
    return (len(parts) == 4 and parts[0].startswith("vol") and parts[1] in KINDS
            and all(p and p not in (".", "..") for p in parts) and "\0" not in path)


async def _json(request):
    try:
        body = json.loads(await request.read())
    except ValueError:
        raise _forbidden("Invalid request body.") from None
    if not isinstance(body, dict):
        raise _forbidden("Invalid request body.")
    return body

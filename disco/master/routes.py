"""The master's HTTP API (docs/http-api.md): one route table, thin handlers.

Handlers parse the request, call the :class:`~disco.master.master.Master`'s services and shape
the reply. Every request passes :mod:`disco.master.auth` first
(Host, Origin and the optional ``DISCO_AUTH_TOKEN``). A :class:`BadRequest` becomes 400 with a JSON error text, any other exception 500
``Internal server error`` (a client that drops the connection mid-request: 400, not logged); paths and methods not listed get 404. Keep-alive is disabled. POST
bodies are limited to 32 MiB, job packs to 1 GiB (413 beyond); job packs are streamed to a file.
"""
import asyncio
import json
import logging
from importlib.metadata import version

from aiohttp import web

from disco.master import auth, datafiles, nodedata, webui
from disco.master.config import ConfigError
from disco.master.ddfs import web as ddfs_web
from disco.master.jobspec import SubmitError
from disco.relay import NODE_PREFIX
from disco.master.jsontypes import is_number, is_text, loads

MAX_BODY = 32 * 1024 * 1024
MAX_JOBPACK = 1024 * 1024 * 1024
WRITE_BLOCK = 1 << 20
MAX_JOB_NAME = 200                  # longer names are never given to jobs (jobspec.MAX_PREFIX)
MAX_RESULTS_TIMEOUT = 24 * 3600 * 1000   # get_results waits at most a day (milliseconds)
log = logging.getLogger("disco.master")


class BadRequest(Exception):
    """A request the master cannot use (400)."""


def _public(path):
    """Served without DISCO_AUTH_TOKEN: the page assets, and the nodes' relay and job pack
    routes (authorized by the one-use token of their attempt)."""
    return webui.is_asset(path) or path.startswith(NODE_PREFIX)


def make_app(master):
    """The aiohttp application serving ``master``."""
    guard = auth.from_settings(master.settings, lambda: master.cluster.config.nodes, _public)
    app = web.Application(middlewares=[auth.middleware(guard), _errors], client_max_size=MAX_JOBPACK)
    h = _Handlers(master)
    routes = [
        web.get("/disco/version", h.version, allow_head=False),
        *master.backend.routes(),       # /disco/node/...: remote nodes' relays (dask backend)
        web.post("/disco/job/{tail:.*}", h.new_job),
        web.post("/disco/ctrl/kill_job", h.kill_job),
        web.post("/disco/ctrl/purge_job", h.purge_job),
        web.post("/disco/ctrl/clean_job", h.clean_job),
        web.post("/disco/ctrl/get_results", h.get_results),
        web.post("/disco/ctrl/blacklist", h.listing("blacklist", True)),
        web.post("/disco/ctrl/whitelist", h.listing("blacklist", False)),
        web.post("/disco/ctrl/gc_blacklist", h.listing("gc_blacklist", True)),
        web.post("/disco/ctrl/gc_whitelist", h.listing("gc_blacklist", False)),
        web.post("/disco/ctrl/save_config_table", h.save_config_table),
        web.post("/disco/ctrl/save_settings", h.save_settings),
        web.get("/disco/ctrl/load_config_table", h.load_config_table, allow_head=False),
        web.get("/disco/ctrl/joblist", h.joblist, allow_head=False),
        web.get("/disco/ctrl/jobinfo", h.jobinfo, allow_head=False),
        web.get("/disco/ctrl/jobattempts", h.jobattempts, allow_head=False),
        web.get("/disco/ctrl/parameters", h.parameters, allow_head=False),
        web.get("/disco/ctrl/rawevents", h.rawevents, allow_head=False),
        web.get("/disco/ctrl/jobevents", h.jobevents, allow_head=False),
        web.get("/disco/ctrl/nodeinfo", h.nodeinfo, allow_head=False),
        web.get("/disco/ctrl/get_blacklist", h.get_blacklist, allow_head=False),
        web.get("/disco/ctrl/get_gc_blacklist", h.get_gc_blacklist, allow_head=False),
        web.get("/disco/ctrl/get_settings", h.get_settings, allow_head=False),
        web.get("/disco/ctrl/get_stageresults", h.get_stageresults, allow_head=False),
        web.get("/disco/ctrl/{op}", _not_found, allow_head=False),
        web.get("/disco/{path:.*}", h.data_file, allow_head=False),
        *ddfs_web.routes(master.ddfs),   # the DDFS API (docs/http-api.md#ddfs): /ddfs/...
        *webui.routes(master),      # the web pages (docs/http-api.md#web-pages): /, /<page>.html, /css, /js
    ]
    app.add_routes(routes + _proxied(routes) + [web.route("*", "/{tail:.*}", _not_found)])
    return app


def _proxied(routes):
    """``routes`` again under Disco 0.5's proxy prefix ``/proxy/<node>/<METHOD>/``, which its
    master took off before dispatching: clients whose ``DISCO_PROXY`` is the master send
    ``<proxy>/proxy/<host>/GET/<path>`` for data on ``host``, and the local backend's master
    serves every node's data."""
    return [web.route(r.method, "/proxy/{via}/{verb}" + r.path, r.handler, **r.kwargs) for r in routes]


@web.middleware
async def _errors(request, handler):
    try:
        response = await handler(request)
    except BadRequest as e:
        response = web.json_response(str(e), status=400)
    except web.HTTPException as e:
        response = e
    except ConnectionResetError:    # the client went away in the middle of its request
        response = web.Response(status=400, text="connection lost before the request was read")
    except Exception:
        log.exception("internal error in %s %s", request.method, request.path)
        response = web.Response(status=500, text="Internal server error")
    response.force_close()
    return response


async def _not_found(request):
    raise web.HTTPNotFound(text="not found")


async def _chunks(request, limit):
    """The request body in chunks (at most ``limit`` bytes, else 413)."""
    if (request.content_length or 0) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        yield chunk


async def _body(request, limit=MAX_BODY):
    """The request body (at most ``limit`` bytes, else 413)."""
    data = bytearray()
    async for chunk in _chunks(request, limit):
        data += chunk
    return bytes(data)


async def _body_to_file(request, path, limit):
    """Write the request body (at most ``limit`` bytes, else 413) to the file ``path``, in
    blocks of ``WRITE_BLOCK`` bytes written off the event loop."""
    with open(path, "wb") as f:
        block = bytearray()
        async for chunk in _chunks(request, limit):
            block += chunk
            if len(block) >= WRITE_BLOCK:
                await asyncio.to_thread(f.write, block)
                block = bytearray()
        await asyncio.to_thread(f.write, block)


async def _json(request, check=lambda value: True, what="request body"):
    """The JSON body, which must satisfy ``check`` (else 400 naming ``what``)."""
    try:
        value = loads(await _body(request))
    except ValueError as e:
        raise BadRequest("invalid JSON: %s" % e) from None
    if not check(value):
        raise BadRequest("invalid %s: %.200r" % (what, value))
    return value


def _is_job_name(value):
    return is_text(value, MAX_JOB_NAME)


async def _job_name(request):
    """The job name a ``/disco/ctrl/*_job`` request body holds (a JSON string)."""
    return await _json(request, _is_job_name, "job name")


def _name(request):
    name = request.query.get("name")
    if not name:
        raise BadRequest("missing parameter 'name'")
    if not _is_job_name(name):
        raise BadRequest("invalid job name: %.200r" % (name,))
    return name


def _flag(request, field):
    """The query parameter ``field``: ``0`` or ``1`` (absent: False)."""
    value = request.query.get(field, "0")
    if value not in ("0", "1"):
        raise BadRequest("invalid %s: %.50r (expected 0 or 1)" % (field, value))
    return value == "1"


def _count(request, field):
    """The query parameter ``field``: a whole number, 0 or more (absent: 0)."""
    value = request.query.get(field, "0")
    if not (value.isascii() and value.isdigit() and len(value) <= 15):
        raise BadRequest("invalid %s: %.50r (expected a whole number, 0 or more)" % (field, value))
    return int(value)


def _text_json(value):
    return web.Response(text=json.dumps(value), content_type="text/plain")


class _Handlers:
    def __init__(self, master):
        self.master = master
        self.jobs = master.jobs
        self.cluster = master.cluster

    async def version(self, request):
        return web.json_response(version("disco"))

    async def new_job(self, request):
        if not self.cluster.accept_new_jobs:
            raise web.HTTPForbidden(text="No new jobs should be submitted to this cluster.")
        upload = self.jobs.new_upload()
        try:
            await _body_to_file(request, upload, MAX_JOBPACK)
        except BaseException:
            self.jobs.discard(upload)
            raise
        try:
            return web.json_response(["ok", await self.jobs.submit(upload)])
        except SubmitError as e:
            return web.json_response(["error", "Job failed to start: %s" % e])

    async def kill_job(self, request):
        await self.jobs.kill(await _job_name(request))
        return web.json_response("")

    async def purge_job(self, request):
        await self.jobs.purge(await _job_name(request))
        return web.json_response("")

    async def clean_job(self, request):
        await self.jobs.clean(await _job_name(request))
        return web.json_response("")

    async def get_results(self, request):
        timeout, names = await _json(request, lambda v: (
            isinstance(v, list) and len(v) == 2 and isinstance(v[1], list)),
            "get_results body (expected [timeout, [job name, ...]])")
        if not (is_number(timeout) and 0 <= timeout <= MAX_RESULTS_TIMEOUT):
            raise BadRequest("invalid timeout: %.50r (milliseconds, 0 to %d)"
                             % (timeout, MAX_RESULTS_TIMEOUT))
        for name in names:
            if not _is_job_name(name):
                raise BadRequest("invalid job name: %.200r" % (name,))
        return web.json_response(await self.jobs.results(timeout, names))

    def listing(self, which, listed):
        """The handler adding a host to (``listed``) or removing it from a blacklist."""
        async def handler(request):
            try:
                self.cluster.set_listed(which, await _json(request, is_text, "host"), listed)
            except ConfigError as e:
                raise BadRequest(str(e)) from None
            return web.json_response("")
        return handler

    async def save_config_table(self, request):
        try:
            self.cluster.save_table(await _json(request))
        except ConfigError as e:
            raise BadRequest(str(e)) from None
        return web.json_response("table saved!")

    async def load_config_table(self, request):
        try:
            return web.json_response(self.cluster.load_table())
        except ConfigError as e:
            raise BadRequest(str(e)) from None

    async def save_settings(self, request):
        try:
            self.cluster.save_settings(await _json(request, lambda v: isinstance(v, dict), "settings"))
        except ValueError as e:
            raise BadRequest(str(e)) from None
        return web.json_response("Settings saved")

    async def get_settings(self, request):
        return web.json_response(self.cluster.settings())

    async def get_blacklist(self, request):
        return web.json_response(self.cluster.config.blacklist)

    async def get_gc_blacklist(self, request):
        return web.json_response(self.cluster.config.gc_blacklist)

    async def nodeinfo(self, request):
        return web.json_response(self.cluster.nodeinfo())

    async def joblist(self, request):
        return web.json_response(self.jobs.joblist(_flag(request, "times")))

    async def jobattempts(self, request):
        name = _name(request)
        reply = await self.jobs.attempts(name, _count(request, "since"))
        if reply is None:
            raise web.HTTPNotFound(text="unknown job")
        return web.json_response(reply)

    async def jobinfo(self, request):
        info = self.jobs.jobinfo(_name(request))
        if info is None:
            raise web.HTTPNotFound(text="unknown job")
        return web.json_response(info)

    def _job_file(self, request, filename, content_type):
        path = self.jobs.path(_name(request), filename)
        if path is None:
            raise web.HTTPNotFound(text="unknown job")
        return web.FileResponse(path, headers={"Content-Type": content_type})

    async def parameters(self, request):
        return self._job_file(request, "jobfile", "application/octet-stream")

    async def rawevents(self, request):
        return self._job_file(request, "events", "text/plain")

    async def jobevents(self, request):
        try:
            num = int(request.query.get("num", 10))
        except ValueError:
            raise BadRequest("invalid num") from None
        return _text_json(self.jobs.events(_name(request), num, request.query.get("filter", "")))

    async def get_stageresults(self, request):
        results = self.jobs.stage_results(_name(request), request.query.get("stage", ""))
        if results is None:
            raise web.HTTPNotFound(text="unknown job or stage not finished")
        return web.json_response(results)

    async def data_file(self, request):
        relpath = request.match_info["path"]
        try:
            path = datafiles.resolve(self.master.data_root, relpath)
        except datafiles.Forbidden:
            raise web.HTTPForbidden(text="forbidden") from None
        except FileNotFoundError:
            node = nodedata.server_of(self.master.backend, relpath)   # a remote node's file?
            if node is None:
                raise web.HTTPNotFound(text="not found") from None
            return await nodedata.relay(request, *node, "disco", relpath,
                                        auth.client_headers(self.master.settings))
        return datafiles.file_response(request, path)

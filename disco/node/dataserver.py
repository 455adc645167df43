"""A node's data server: ``GET /disco/<path>`` from ``DISCO_DATA`` and ``GET /ddfs/<path>`` from
``DDFS_DATA`` (Range supported), and the DDFS writes and listings of :mod:`disco.node.ddfsnode`,
on ``<host>:<port>`` in a thread with its own event loop, so that large transfers never stall the
Dask worker's event loop and heartbeats.

Only regular files inside the data roots are served (:func:`disco.master.datafiles.resolve`);
requests pass the checks of :mod:`disco.master.auth` (``guard``: Host, Origin, and the cluster's
``DISCO_AUTH_TOKEN`` when it has one).
"""
import asyncio
import logging
import threading

from aiohttp import web

from disco.master import auth, datafiles
from disco.node import ddfsnode

log = logging.getLogger("disco.node")


def make_app(disco_data, ddfs_data, guard, name, self_url, key=lambda: None):
    def serving(root):
        async def handler(request):
            try:
                path = datafiles.resolve(root, request.match_info["path"])
            except datafiles.Forbidden:
                raise web.HTTPForbidden(text="forbidden") from None
            except (FileNotFoundError, UnicodeError, ValueError):
                raise web.HTTPNotFound(text="not found") from None
            if root == ddfs_data and ddfsnode.is_tag_file(root, path):
                raise web.HTTPForbidden(text="tag files are read through the master's /ddfs/tag/<tag>")
            return web.FileResponse(path)
        return handler

    async def not_found(request):
        raise web.HTTPNotFound(text="not found")

    app = web.Application(middlewares=[auth.middleware(guard)])
    app.add_routes([*ddfsnode.routes(name, ddfs_data, disco_data, self_url, lambda: _bearer(guard), key),
                    web.get("/disco/{path:.*}", serving(disco_data), allow_head=False),
                    web.get("/ddfs/{path:.*}", serving(ddfs_data), allow_head=False),
                    web.route("*", "/{tail:.*}", not_found)])
    return app


def _bearer(guard):
    """The headers of the node's own requests to its peers: the cluster's token, if any."""
    return {"Authorization": "Bearer " + guard.token.decode("utf-8")} if guard.token else {}


class DataServer:
    """The data server of one node; :meth:`start` blocks until it listens (raises OSError if it
    cannot bind), :meth:`stop` ends it."""

    def __init__(self, host, port, disco_data, ddfs_data, guard, name, key=lambda: None):
        self.host, self.port, self.guard, self.name, self.key = host, port, guard, name, key
        self.disco_data, self.ddfs_data = disco_data, ddfs_data
        self._loop = None
        self._thread = None
        self._stopped = None

    def start(self):
        ready = threading.Event()
        failure = []

        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(make_app(self.disco_data, self.ddfs_data, self.guard, self.name,
                                            "http://%s:%d" % (self.host, self.port), self.key),
                                   access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                loop.run_until_complete(web.TCPSite(runner, self.host, self.port).start())
            except OSError as e:
                failure.append(e)
                ready.set()
                loop.run_until_complete(runner.cleanup())
                loop.close()
                return
            self._loop, self._stopped = loop, asyncio.Event()
            ready.set()
            loop.run_until_complete(self._stopped.wait())
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="disco-data-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        log.info("disco node data server on http://%s:%d", self.host, self.port)

    def stop(self):
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(10)
            self._loop = None

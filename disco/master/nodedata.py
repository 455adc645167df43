"""Node data through the master, for backends whose nodes keep their own data (``dask``).

Clients in the cluster read a node's files from the node (``disco://<node>/...`` means
``http://<node>:DISCO_PORT/...``). A client that reaches only the master -- Disco 0.5's
``DISCO_PROXY`` -- asks the master for ``GET /disco/<node>/<path>`` or ``/ddfs/<node>/<path>``
(or their ``/proxy/...`` forms); when the master has no such file and ``<node>`` is a connected
node, the request is relayed to the node's data server with the cluster's token: the request's
``Range``/``If-Range`` go along, the node's status, length, range and type come back and the body
is streamed. The node's own checks apply (it refuses tag versions, paths out of its roots). A node
that cannot be reached gives 502 naming it.
"""
import asyncio
import logging
import urllib.parse

import aiohttp
from aiohttp import web

FORWARDED = ("Range", "If-Range")
RETURNED = ("Content-Length", "Content-Range", "Content-Type", "Accept-Ranges", "Last-Modified", "ETag")
CONNECT_TIMEOUT = 10    # seconds; reading the body has no deadline (files can be large)
CHUNK = 1 << 16
log = logging.getLogger("disco.master")


def server_of(backend, path):
    """``(node, http://host:port)`` of the connected node of ``backend`` (None: none) that keeps
    ``path`` (``<node>/...``), or None."""
    node = path.split("/", 1)[0]
    server = backend.data_server(node) if node and backend is not None and backend.remote_data else None
    return (node, server) if server else None


async def relay(request, node, server, kind, path, headers):
    """Stream ``<server>/<kind>/<path>`` to the client of ``request`` (see the module doc);
    ``headers``: the cluster's credentials for the node."""
    url = "%s/%s/%s" % (server, kind, urllib.parse.quote(path))
    headers = dict(headers, **{h: request.headers[h] for h in FORWARDED if h in request.headers})
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        try:
            upstream = await session.get(url, headers=headers, allow_redirects=False)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            raise web.HTTPBadGateway(text="node %s cannot be reached: %s" % (node, e)) from None
        async with upstream:
            response = web.StreamResponse(status=upstream.status, headers={
                h: upstream.headers[h] for h in RETURNED if h in upstream.headers})
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await response.write(chunk)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
                # the status went out already: the client sees a body shorter than announced
                log.warning("relaying %s from node %s broke off: %s", path, node, e)
                response.force_close()
                return response
            await response.write_eof()
            return response

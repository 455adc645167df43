"""``disco node SCHEDULER``: run this machine as a Disco node of the master whose Dask scheduler is
``SCHEDULER`` (``tcp://MASTER:8786``).

A thin wrapper around a Dask worker named after the node (``--name``, default the host name: it
must be the name or address other machines reach this node by), listening on ``--host``, with
``--slots`` task slots (default: the number of cores) and the :class:`~disco.node.plugin.
DiscoNodePlugin` (data server on ``<host>:DISCO_PORT``, data under this machine's ``DISCO_ROOT``).
Before each join the node asks the master's HTTP API (``master``, default
``http://MASTER:DISCO_PORT``) how to connect: with the master's ``DISCO_AUTH_TOKEN`` in the
node's settings it gets TLS credentials and joins over ``tls://`` (:mod:`disco.node.tls`).
When the master (and so its scheduler) goes away, the worker ends its attempts; the node then
waits for the scheduler to come back and joins again. SIGTERM or SIGINT stop it.
"""
import asyncio
import logging
import os
import signal
import socket

import dask
from distributed import Worker

from disco.error import DiscoError
from disco.node import tls
from disco.node.plugin import DiscoNodePlugin, prepare_node

RETRY = 1       # seconds between attempts to reach the scheduler
log = logging.getLogger("disco.node")


async def serve_node(scheduler, settings, name=None, host=None, slots=None, master=None):
    name = name or socket.gethostname()
    slots = slots or os.cpu_count() or 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    port = int(settings["DISCO_PORT"])
    master = master or tls.master_url(scheduler, port)
    token = settings.get("DISCO_AUTH_TOKEN") or None
    said = None
    # Dask's sampling profiler costs about 1% of a core per node and profiles nothing of Disco's
    # (task attempts are relays; the work happens in the worker processes)
    dask.config.set({"distributed.worker.profile.enabled": False})
    while not stop.is_set():
        if host:    # serve data before the Dask worker takes an ephemeral port on this address
            prepare_node(name, host, port, settings)
        try:
            security, scheme = await asyncio.to_thread(tls.fetch, master, token)
        except DiscoError as e:
            if str(e) != said:      # said once, not every second
                log.error("cannot join: %s", e)
                said = str(e)
            if token or isinstance(e, tls.NotAuthorized):
                await _pause(stop)
                continue
            security, scheme = None, "tcp"  # no token here: a master without one takes plain tcp
        worker = Worker(tls.with_scheme(scheduler, scheme), name=name, host=host, nthreads=slots,
                        dashboard=False, plugins=(DiscoNodePlugin(port),), death_timeout=None,
                        security=security, local_directory=os.path.join(settings["DISCO_ROOT"], "dask"))
        stopping = asyncio.ensure_future(stop.wait())
        starting = asyncio.ensure_future(_start(worker))
        await asyncio.wait([stopping, starting], return_when=asyncio.FIRST_COMPLETED)
        if starting.done() and starting.result():
            print("disco node %s joined %s with %d slots" % (name, scheduler, slots), flush=True)
            finished = asyncio.ensure_future(worker.finished())
            await asyncio.wait([stopping, finished], return_when=asyncio.FIRST_COMPLETED)
        starting.cancel()
        stopping.cancel()
        await worker.close(reason="disco node stopping" if stop.is_set() else "scheduler lost")
        await _pause(stop)


async def _pause(stop):
    """Wait ``RETRY`` seconds, or until ``stop`` is set."""
    if not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), RETRY)
        except asyncio.TimeoutError:
            pass


async def _start(worker):
    try:
        await worker
        return True
    except (OSError, asyncio.TimeoutError) as e:
        log.warning("cannot join: %s", e)
        return False


def run(scheduler, settings, name=None, host=None, slots=None, master=None):
    asyncio.run(serve_node(scheduler, settings, name, host, slots, master))

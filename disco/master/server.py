"""Running the master: bind, serve the HTTP API, stop cleanly on SIGTERM/SIGINT.

Binds ``DISCO_MASTER_BIND`` on ``DISCO_PORT`` (``0``: an ephemeral port), then prints exactly one
line, ``disco master listening on http://<DISCO_MASTER_HOST>:<port>``, to stdout and flushes. On
SIGTERM or SIGINT the active jobs are killed (with their workers) and the server stops.
"""
import asyncio
import signal
import socket
import sys

from aiohttp import web

from disco.master.config import ConfigError
from disco.master.master import Master
from disco.master.routes import make_app

MAX_CONNECTIONS = 128


async def serve(settings):
    """Serve the master of ``settings`` until SIGTERM or SIGINT."""
    sock = socket.create_server((settings["DISCO_MASTER_BIND"], int(settings["DISCO_PORT"])),
                                backlog=MAX_CONNECTIONS)
    master = Master(settings, settings["DISCO_MASTER_HOST"], sock.getsockname()[1])
    runner = web.AppRunner(make_app(master), access_log=None, shutdown_timeout=2)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    await master.start()
    print("disco master listening on %s" % master.url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await master.shutdown()
        await runner.cleanup()
        master.close()


def run(settings):
    """Run the master in the foreground (blocking)."""
    try:
        asyncio.run(serve(settings))
    except OSError as e:
        sys.exit("disco master: %s" % e)
    except ConfigError as e:
        sys.exit("disco master: %s in %s" % (e, settings["DISCO_MASTER_CONFIG"]))
    except ValueError as e:     # a bad setting (DISCO_SCHEDULER, DISCO_WORKERS, ...)
        sys.exit("disco master: %s" % e)

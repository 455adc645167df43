"""One task attempt on a node (:func:`run_attempt`, submitted by the master through Dask).

The attempt opens its relay to the master first (so that every failure reaches the master the
same way), unpacks the job home once per job on this node (the job pack is fetched from the
master), starts the worker in its own process group and relays its standard streams (see
:mod:`disco.relay`). Whatever ends the relay -- the master ending the attempt, the master going
away -- kills the worker's process group: no orphans.
"""
import asyncio
import os
import uuid

import aiohttp
from distributed import get_worker

from disco.master import jobhome
from disco.master.backends import start_worker, write_atomically
from disco.master.workerenv import worker_env
from disco.node.plugin import node_state
from disco.relay import control, parse

CHUNK = 64 * 1024
HEARTBEAT = 5       # seconds between WebSocket pings; a master silent for twice that is gone


async def run_attempt(spec):
    """Run the attempt ``spec`` (``relay``, ``jobpack``: URLs; ``token``, ``job``, ``worker``,
    ``jobenvs``, ``settings`` (the master's, for the worker's environment), ``port``); return the worker's exit code (None if it did not start)."""
    state = node_state(get_worker(), spec["port"])
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(spec["relay"], params={"token": spec["token"]}, max_msg_size=0,
                                   heartbeat=HEARTBEAT) as ws:
            attempt = Attempt(spec, state, http, ws)
            state.attempts.add(attempt)
            try:
                return await attempt.run()
            finally:
                attempt.kill()
                state.attempts.discard(attempt)


class Attempt:
    def __init__(self, spec, state, http, ws):
        self.spec, self.state, self.http, self.ws = spec, state, http, ws
        self.proc = None
        self.home = None

    async def run(self):
        try:
            self.home = await self.job_home()
        except jobhome.JobHomeError as e:
            return await self.failed("jobhome", str(e))
        except (OSError, aiohttp.ClientError, asyncio.TimeoutError) as e:
            return await self.failed("node", "cannot fetch the job pack: %s" % (e or type(e).__name__))
        try:
            state = self.state
            env = worker_env(self.spec["jobenvs"], self.spec["settings"], state.disco_data,
                             state.ddfs_data)
            self.proc = await start_worker(self.home, self.spec["worker"], env, state.disco_data,
                                           state.ddfs_data, state.warm)
        except OSError as e:
            return await self.failed("start", str(e))
        await self.ws.send_str(control("started", {
            "pid": self.proc.pid, "home": self.home, "disco_data": self.state.disco_data,
            "ddfs_data": self.state.ddfs_data}))
        pump = asyncio.create_task(self.pump_output())
        try:
            await self.serve()
        finally:
            self.kill()
            pump.cancel()
        return await self.proc.wait()

    async def failed(self, why, message):
        await self.ws.send_str(control("failed", why, message=message))
        return None

    async def job_home(self):
        """The job home on this node, unpacked from the job pack fetched from the master once."""
        home = self.state.job_home(self.spec["job"])
        if jobhome.unpacked(home):      # nothing left to serialise: the job's lock can go
            self.state.locks.pop(self.spec["job"], None)
            return home
        async with self.state.locks.setdefault(self.spec["job"], asyncio.Lock()):
            if not jobhome.unpacked(home):
                incoming = os.path.join(self.state.node_dir(), ".jobpack-%s" % uuid.uuid4().hex)
                try:
                    await self.fetch(self.spec["jobpack"], incoming)
                    await asyncio.to_thread(jobhome.unpack, home, incoming, self.spec["worker"])
                finally:
                    if os.path.exists(incoming):
                        os.remove(incoming)
        return home

    async def fetch(self, url, path):
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
        async with self.http.get(url, params={"token": self.spec["token"]}, timeout=timeout) as reply:
            reply.raise_for_status()
            with open(path, "wb") as f:
                async for chunk in reply.content.iter_chunked(1 << 20):
                    await asyncio.to_thread(f.write, chunk)

    async def pump_output(self):
        """Worker output -> master, then its exit code. The relay stays open: the master ends
        the attempt (it may still write the index file after the worker exited)."""
        try:
            while True:
                chunk = await self.proc.output.read(CHUNK)
                if not chunk:
                    break
                await self.ws.send_bytes(chunk)
            code = await self.proc.wait()
            await self.ws.send_str(control("exit", code))
        except (ConnectionError, aiohttp.ClientError):
            await self.ws.close()

    async def serve(self):
        """Master -> worker stdin, and the master's control messages, until the relay closes."""
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                try:
                    self.proc.stdin.write(message.data)
                    await self.proc.stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    pass     # the worker is gone: its output ends and the pump reports its exit
            elif message.type == aiohttp.WSMsgType.TEXT:
                kind, body = parse(message.data)
                if kind == "kill":
                    return
                if kind == "write":
                    await self.write(body)
            else:
                return

    async def write(self, body):
        relpath = body.get("path", "")
        try:
            if not relpath or relpath.startswith("/") or ".." in relpath.split("/"):
                raise OSError("not a path inside the job home: %r" % relpath)
            await asyncio.to_thread(write_atomically, os.path.join(self.home, relpath), body["text"])
        except OSError as e:
            await self.ws.send_str(control("write_failed", body["write"], message=str(e)))
        else:
            await self.ws.send_str(control("written", body["write"]))

    def kill(self):
        """Kill the worker's process group and close our ends of its pipes (idempotent)."""
        if self.proc is not None:
            self.proc.kill()

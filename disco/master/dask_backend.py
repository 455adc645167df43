"""The ``dask`` backend: Disco nodes are Dask workers on other machines.

Dask distributed does for this master what the Erlang runtime did for the original: membership,
liveness, running a given thing on a given machine. Disco keeps every decision: an attempt is
submitted to Dask only once Disco's scheduler has granted its slot, pinned to that node
(``workers=[node], allow_other_workers=False``), so Dask has nothing to decide.

* The master runs a Dask scheduler in its own event loop on ``DISCO_MASTER_BIND:DISCO_DASK_PORT``,
  or connects to ``DISCO_DASK_SCHEDULER`` (a cluster started by dask-jobqueue, dask-kubernetes...).
* Liveness: a node whose process dies is noticed at once (its connections close); one that stops
  answering (a machine gone) once Dask has heard nothing from it for ``DISCO_NODE_TIMEOUT``
  seconds (the in-process scheduler's ``worker_ttl``; the relays' WebSocket pings likewise).
* Membership: a scheduler plugin publishes every worker arrival and departure on a Dask event
  topic; the master then re-reads the worker list (also every ``RESYNC`` seconds). A new worker
  becomes node ``<its Dask name>`` with its thread count as slots once :func:`node_facts` shows a
  usable node (same Disco version and Python minor version, its data server up); otherwise it is
  refused, with the reason in nodeinfo and the log. A node that leaves is *not connected*: its
  running attempts fail at once (recoverable, retried elsewhere), it gets no tasks.
* An attempt: :func:`disco.node.attempt.run_attempt` on the node connects back to
  ``/disco/node/relay/<attempt>`` here (a WebSocket, authorized by a one-use token), and the
  Worker Protocol host talks to the worker through it (:class:`RemoteProcess`) exactly as to a
  local one.
"""
import asyncio
import logging
import re
import secrets

from aiohttp import web
from distributed import Client, Scheduler
from distributed.diagnostics.plugin import SchedulerPlugin

from disco.master.backends import NodeBackend, NodeLost, WorkerProcess
from disco.master.jobhome import JobHomeError
from disco.node import tls
from disco.node.attempt import run_attempt
from disco.node.ddfsnode import MASTER_KEY_HEADER
from disco.node.plugin import DiscoNodePlugin, node_facts, remove_job_data, versions
from disco.relay import JOBPACK_PATH, RELAY_PATH, control, parse

log = logging.getLogger("disco.master")
TOPIC = "disco-membership"
RESYNC = 5              # seconds between full re-reads of the worker list
START_TIMEOUT = 60      # seconds for a node to connect its relay and start the worker
FACTS_TIMEOUT = 10      # seconds for a node to answer node_facts
_NODE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,253}$")


class _Membership(SchedulerPlugin):
    """Runs on the Dask scheduler: publishes worker arrivals and departures."""

    name = "disco-membership"

    def add_worker(self, scheduler, worker):
        scheduler.log_event(TOPIC, {"action": "add", "worker": worker})

    def remove_worker(self, scheduler, worker, **kwargs):
        scheduler.log_event(TOPIC, {"action": "remove", "worker": worker})


def _workers(dask_scheduler):
    return {address: {"name": str(ws.name), "nthreads": ws.nthreads}
            for address, ws in dask_scheduler.workers.items()}


class Member:
    """A Dask worker seen by the master: ``address``, ``slots``, ``facts`` (of :func:`node_facts`),
    ``refused`` (why it is not used, else None)."""

    def __init__(self, address, slots):
        self.address, self.slots = address, slots
        self.facts = {}
        self.refused = None


class DaskBackend(NodeBackend):
    name = "dask"
    remote_data = True

    def __init__(self, settings, master_url, port):
        self.master_url = master_url
        self.port = port
        self.bind = settings["DISCO_MASTER_BIND"]
        self.dask_port = int(settings["DISCO_DASK_PORT"])
        self.external = settings["DISCO_DASK_SCHEDULER"] or None
        self.timeout = float(settings["DISCO_NODE_TIMEOUT"])
        self.token = settings.get("DISCO_AUTH_TOKEN") or None
        self.scheduler = None
        self.client = None
        self.members = {}         # node name -> Member
        self.attempts = {}        # attempt id -> RemoteProcess
        self._on_change = None
        self._tasks = set()
        self._resyncing = asyncio.Lock()
        self.master_key = secrets.token_urlsafe(24)   # nodes' DDFS API: the master's requests only
        self.security = None      # Dask's TLS credentials (disco.node.tls): own scheduler + token

    # membership
    async def start(self, on_change):
        self._on_change = on_change
        address = self.external
        if address is None:
            if self.token:
                self.security = tls.master_security()
            self.scheduler = Scheduler(host=self.bind, port=self.dask_port, dashboard=False,
                                       worker_ttl="%gs" % self.timeout, security=self.security,
                                       protocol="tls" if self.security else None)
            await self.scheduler
            address = self.scheduler.address
        self.client = await Client(address, asynchronous=True, name="disco-master",
                                   security=self.security)
        await self.client.register_plugin(_Membership())
        await self.client.register_plugin(DiscoNodePlugin(self.port, self.token))
        self.client.subscribe_topic(TOPIC, lambda _event: self._spawn(self.resync()))
        log.info("dask backend: scheduler %s", address)
        await self.resync()
        self._spawn(self._resync_forever())

    def _spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resync_forever(self):
        while True:
            await asyncio.sleep(RESYNC)
            await self.resync(refresh=True)

    async def resync(self, refresh=False):
        """Re-read the Dask workers: gone ones leave at once, then new ones (every one when
        ``refresh``) are checked concurrently, each within ``FACTS_TIMEOUT`` seconds (a worker
        that just died must not hold up the others)."""
        async with self._resyncing:
            try:
                workers = await self.client.run_on_scheduler(_workers)
            except Exception as e:      # the scheduler is unreachable: keep what we know
                log.warning("dask backend: cannot list workers: %s", e)
                return
            lost = []
            for name, member in list(self.members.items()):
                if member.address not in workers:
                    del self.members[name]
                    self._lose(name, "node %s left the cluster" % name)
                    lost.append(name)
                    log.warning("dask backend: node %s (%s) left", name, member.address)
            if lost:
                self._on_change(lost)
            known = {m.address for m in self.members.values()}
            checks = [self._check(address, info["name"], info["nthreads"])
                      for address, info in workers.items() if refresh or address not in known]
            if any(await asyncio.gather(*checks)):
                self._on_change([])

    async def _check(self, address, name, slots):
        """Learn about the worker at ``address``; True if the set of usable nodes changed."""
        member = self.members.get(name)
        if member is not None and member.address == address and member.refused is None:
            try:        # a usable node's refresh: new facts, or keep the old ones
                member.facts = await self._facts(address)
            except Exception as e:
                log.warning("dask backend: node %s did not answer: %s", name, e or type(e).__name__)
            return False
        if member is not None and member.address != address:
            self._lose(name, "node %s was replaced by a new worker" % name)
        was_usable = member is not None and member.refused is None
        member = self.members[name] = Member(address, slots)
        if not _NODE_NAME.match(name) or name.strip(".") == "":
            member.refused = ("the Dask worker's name %r is not a host name: start it with "
                              "--name <the name other machines reach it by>" % name)
        else:
            try:
                member.facts = await self._facts(address)
                member.refused = self._refusal(member.facts)
            except Exception as e:
                member.refused = "cannot set the node up: %s" % (e or type(e).__name__)
        if member.refused:
            log.error("dask backend: node %s (%s) refused: %s", name, address, member.refused)
        elif not was_usable:
            log.info("dask backend: node %s (%s) joined with %d slots", name, address, slots)
        return was_usable != (member.refused is None)

    async def _facts(self, address):
        """:func:`node_facts` of the worker at ``address`` (within ``FACTS_TIMEOUT`` seconds)."""
        facts = await asyncio.wait_for(
            self.client.run(node_facts, port=self.port, master_key=self.master_key,
                            workers=[address]), FACTS_TIMEOUT)
        return facts[address]

    @staticmethod
    def _refusal(facts):
        disco, python = versions()
        if facts["disco"] != disco or facts["python"] != python:
            return ("node runs Disco %s on Python %s, the master Disco %s on Python %s"
                    % (facts["disco"], facts["python"], disco, python))
        return facts["error"]

    def _lose(self, node, why):
        for proc in list(self.attempts.values()):
            if proc.node == node:
                proc.lose(why)

    def _usable(self, node):
        """The :class:`Member` serving ``node`` when it is usable (joined, not refused), else None."""
        member = self.members.get(node)
        return member if member is not None and member.refused is None else None

    def connected(self, node):
        return self._usable(node) is not None

    def nodes(self):
        return {name: m.slots for name, m in self.members.items() if m.refused is None}

    def refused(self):
        return {name: m.slots for name, m in self.members.items() if m.refused}

    def status(self, node):
        member = self.members.get(node)
        if member is None:
            return {}
        info = {"address": member.address}
        if member.refused:
            info["refused"] = member.refused
        return info

    def disk_usage(self, node):
        member = self.members.get(node)
        return tuple(member.facts.get("disk", (0, 0))) if member else (0, 0)

    def data_server(self, node):
        member = self._usable(node)
        if member is None or not member.facts:
            return None
        return "http://%s:%d" % (member.facts["host"], member.facts["port"])

    def data_headers(self):
        return {MASTER_KEY_HEADER: self.master_key}

    async def stop(self):
        for proc in list(self.attempts.values()):
            proc.lose("the master is stopping")
        for task in list(self._tasks):
            task.cancel()
        if self.client is not None:
            await self.client.close()
        if self.scheduler is not None:
            await self.scheduler.close()

    # attempts
    async def start_attempt(self, node, job, settings):
        member = self._usable(node)
        if member is None:
            raise NodeLost("node %s is not connected" % node)
        attempt, token = secrets.token_hex(8), secrets.token_urlsafe(24)
        proc = RemoteProcess(self, node, attempt, token, job)
        self.attempts[attempt] = proc
        base = self.master_url.replace("http", "ws", 1)
        spec = {"relay": base + RELAY_PATH + attempt, "jobpack": self.master_url + JOBPACK_PATH + attempt,
                "token": token, "job": job.name, "worker": job.worker, "jobenvs": job.jobenvs,
                "settings": settings, "port": self.port}
        proc.future = self.client.submit(run_attempt, spec, key="disco-attempt-%s-%s" % (job.name, attempt),
                                         workers=[member.address], allow_other_workers=False, pure=False)
        try:
            await proc.started(START_TIMEOUT)
        except BaseException:
            proc.kill()
            raise
        return proc

    async def remove_job_data(self, node, jobname):
        member = self._usable(node)
        if member is not None:
            try:
                await self.client.run(remove_job_data, jobname=jobname, workers=[member.address])
            except Exception as e:
                log.warning("dask backend: removing job %s on %s failed: %s", jobname, node, e)

    def routes(self):
        return [web.get(RELAY_PATH + "{attempt}", self._relay, allow_head=False),
                web.get(JOBPACK_PATH + "{attempt}", self._jobpack, allow_head=False),
                web.get(tls.PATH, self._dask_security, allow_head=False)]

    async def _dask_security(self, request):
        return web.json_response(tls.reply(self.security))

    def _attempt(self, request):
        proc = self.attempts.get(request.match_info["attempt"])
        token = request.query.get("token", "")
        if proc is None or not secrets.compare_digest(proc.token.encode(), token.encode()):
            raise web.HTTPForbidden(text="unknown attempt or wrong token")
        return proc

    async def _jobpack(self, request):
        return web.FileResponse(self._attempt(request).job.jobfile)

    async def _relay(self, request):
        proc = self._attempt(request)
        if proc.ws is not None:
            raise web.HTTPForbidden(text="the attempt's relay is already connected")
        ws = web.WebSocketResponse(max_msg_size=0, heartbeat=max(self.timeout / 3, 1))
        await ws.prepare(request)
        await proc.serve(ws)
        return ws


class _Stdin:
    """The worker's stdin through the relay: ``write`` buffers, ``drain`` sends."""

    def __init__(self, proc):
        self.proc, self.pending = proc, []

    def write(self, data):
        self.pending.append(data)

    async def drain(self):
        data, self.pending = b"".join(self.pending), []
        ws = self.proc.ws
        if ws is None or ws.closed:
            raise ConnectionResetError("the relay to node %s is closed" % self.proc.node)
        await ws.send_bytes(data)


class RemoteProcess(WorkerProcess):
    """A worker on a remote node, reached through its relay WebSocket."""

    def __init__(self, backend, node, attempt, token, job):
        self.backend, self.node, self.attempt, self.token, self.job = backend, node, attempt, token, job
        self.ws = None
        self.future = None
        self.output = asyncio.StreamReader(limit=2 ** 24)
        self.stdin = _Stdin(self)
        self._connected = asyncio.get_running_loop().create_future()
        self._started = asyncio.get_running_loop().create_future()
        self._exit = asyncio.get_running_loop().create_future()
        self._writes = {}
        self._next_write = 0
        self._closed = False

    async def started(self, timeout):
        """Wait for the node to connect the relay (within ``timeout`` seconds) and to report the
        worker started (unpacking a large job home may take long: a node that dies meanwhile
        closes the relay). Raises NodeLost, JobHomeError or OSError."""
        waiters = [self._connected, asyncio.ensure_future(self._node_result())]
        try:
            done, _pending = await asyncio.wait(waiters, timeout=timeout,
                                                return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiters[1].cancel()
        if not self._connected.done():
            why = "no connection within %d seconds" % timeout if not done else waiters[1].result()
            self.lose("node %s did not start the worker: %s" % (self.node, why))
        await self._started

    async def _node_result(self):
        """Why the Dask task ended before the relay started (it normally never ends first)."""
        try:
            await self.future
            return "the attempt ended before it connected"
        except Exception as e:
            return "%s: %s" % (type(e).__name__, e)

    async def serve(self, ws):
        """Serve the node's relay until it closes."""
        self.ws = ws
        _resolve(self._connected, None)
        try:
            async for message in ws:
                if message.type == web.WSMsgType.BINARY:
                    self.output.feed_data(message.data)
                elif message.type == web.WSMsgType.TEXT:
                    self._control(*parse(message.data))
        except ValueError as e:
            log.error("relay of %s on %s: %s", self.attempt, self.node, e)
        finally:
            self.lose("node %s lost the connection to the worker" % self.node)

    def _control(self, kind, body):
        if kind == "started":
            info = body["started"]
            self.pid, self.home = info["pid"], info["home"]
            self.disco_data, self.ddfs_data = info["disco_data"], info["ddfs_data"]
            _resolve(self._started, None)
        elif kind == "failed":
            error = {"jobhome": JobHomeError, "start": OSError}.get(body["failed"], NodeLost)
            _fail(self._started, error(body.get("message", "")))
        elif kind == "exit":            # all its output came before this
            _resolve(self._exit, body["exit"])
            self.output.feed_eof()
        elif kind in ("written", "write_failed"):
            waiter = self._writes.pop(body[kind], None)
            if waiter is not None:
                _resolve(waiter, body.get("message"))

    def lose(self, why):
        """The relay is gone: the worker's output ends and the attempt fails with ``why`` (unless
        the worker already exited)."""
        if not self._exit.done():
            self.lost = why
            _resolve(self._exit, -1)
        _fail(self._connected, NodeLost(why))
        _fail(self._started, NodeLost(why))
        for waiter in self._writes.values():
            _resolve(waiter, why)
        self.output.feed_eof()
        self.kill()

    async def wait(self):
        return await self._exit

    async def write_file(self, relpath, text):
        self._next_write += 1
        waiter = self._writes[self._next_write] = asyncio.get_running_loop().create_future()
        try:
            await self.ws.send_str(control("write", self._next_write, path=relpath, text=text))
        except (ConnectionError, RuntimeError) as e:
            raise OSError("cannot write %s on node %s: %s" % (relpath, self.node, e)) from None
        error = await waiter
        if error is not None:
            raise OSError("cannot write %s on node %s: %s" % (relpath, self.node, error))

    def kill(self):
        """End the attempt: the node kills the worker's process group when its relay closes."""
        if self._closed:
            return
        self._closed = True
        self.backend.attempts.pop(self.attempt, None)
        if self.ws is not None and not self.ws.closed:
            self.backend._spawn(self._close())
        self.future = None      # released: Dask forgets the task

    async def _close(self):
        try:
            await self.ws.send_str(control("kill", True))
        except (ConnectionError, RuntimeError):
            pass
        await self.ws.close()


def _resolve(future, value):
    if not future.done():
        future.set_result(value)


def _fail(future, error):
    if not future.done():
        future.set_exception(error)
        future.exception()      # retrieved: no "exception never retrieved" warning

"""The Worker Protocol 1.1 host (docs/worker-protocol.md): runs one attempt of a task on a node.

:meth:`WorkerHost.run` unpacks the job home on the node, starts ``jobdict.worker`` there (cwd = job
home, env = :func:`disco.master.workerenv.worker_env` computed on the node: the node's environment
without Disco settings + the cluster's settings as the node sees them + jobenvs; its own process
group, stdout merged into stderr), answers its requests and returns an :class:`Outcome`:

* ``done``  -- ``DONE`` received; ``outputs`` holds the task's outputs (the index of its local
  outputs, written to ``<job home>/.disco/<stage>-<taskid>-<µs>.results``, then its URL outputs);
* ``error`` -- a recoverable failure (``ERROR``, crash, garbage frames, invalid output, timeout);
* ``fatal`` -- the job must be killed (``FATAL``, protocol violations, rate limit, bad job home,
  a worker that cannot be executed).

An ``INPUT`` request that must be deferred (docs/worker-protocol.md) waits for the task's inputs to change,
or for the worker to exit. The worker's process group is killed when the attempt ends, whatever
the outcome; after ``DONE`` its exit is collected in the background, otherwise awaited (a killed
job's workers are gone when the kill is done).
"""
import asyncio
import collections
import os
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from disco.master.backends import NodeLost
from disco.master.jobhome import JobHomeError
from disco.master.jsontypes import is_int
from disco.master.names import duration
from disco.master.outputs import TaskOutputs
from disco.protocol import VERSION, MessageReader, PayloadError, ProtocolError, encode

FIRST_REQUEST_TIMEOUT = 30
LAST_WORDS_MAX = 100 * 1024
LAST_WORDS_WAIT = 10
MSG_SLOW_RATE = 5       # more MSGs than this in one second: each reply waits MSG_DELAY
MSG_KILL_RATE = 10      # this many MSGs in one second: the job is killed
MSG_DELAY = 0.2
MAX_MESSAGE = 64 * 1024
# a group host a worker may put in a file name: Disco 0.5 workers name their outputs
# "<stage>-<label>-<host>-<label>"; the "host" of a raw:// input is its data (spaces, slashes...)
_HOST_LIKE = re.compile(r"[A-Za-z0-9._\-]*")  # characters of a MSG, ERROR or FATAL text kept (the rest: a marker)


@dataclass
class Outcome:
    kind: str            # "done" | "error" | "fatal"
    message: str = ""
    outputs: list = field(default_factory=list)


@dataclass
class ClusterInfo:
    """What a worker is told about the cluster in its TASK reply (the node's data roots come
    from its :class:`~disco.master.backends.WorkerProcess`)."""

    master: str
    disco_port: int
    put_port: int
    auth_token: str = ""

    def node_settings(self):
        """The master's settings a worker inherits, as Disco 0.5's nodes did from their master:
        its address and ports, and its ``DISCO_AUTH_TOKEN`` if it has one (workers read inputs
        and DDFS on the cluster's servers); the node adds its own ``DISCO_DATA`` and ``DDFS_DATA``."""
        settings = {"DISCO_MASTER": self.master, "DISCO_MASTER_HOST": urllib.parse.urlsplit(self.master).hostname,
                    "DISCO_PORT": str(self.disco_port), "DDFS_PUT_PORT": str(self.put_port)}
        if self.auth_token:
            settings["DISCO_AUTH_TOKEN"] = self.auth_token
        return settings


class WorkerHost:
    """Runs task attempts on nodes through ``backend``, logging task events to ``events``."""

    def __init__(self, backend, events, cluster):
        self.backend = backend
        self.events = events
        self.cluster = cluster
        self.reaping = set()    # waits for the exit of killed workers (see _reap)

    async def run(self, task, node):
        """Run one attempt of ``task`` (a :class:`disco.master.model.Task`) on ``node``."""
        job = task.job
        try:
            proc = await self.backend.start_attempt(node, job, self.cluster.node_settings())
        except NodeLost as e:
            return Outcome("error", str(e))
        except JobHomeError as e:
            return Outcome("fatal", "Cannot set up the job home: %s" % e)
        except OSError as e:
            return Outcome("fatal", "Cannot start the worker: %s" % e)
        outcome = None
        try:
            outcome = await _Session(self, task, node, proc).converse()
            return outcome
        finally:
            proc.kill()
            if outcome is not None and outcome.kind == "done":
                self._reap(proc)
            else:       # a failed or killed attempt ends once its worker is gone
                await asyncio.shield(proc.wait())

    def _reap(self, proc):
        """Collect the exit of a worker killed after DONE in the background: its slot is free
        at once (the kill is synchronous; telling its exit takes the node another round trip)."""
        reaping = asyncio.ensure_future(proc.wait())
        self.reaping.add(reaping)
        reaping.add_done_callback(self.reaping.discard)


class _Session:
    """The conversation with one worker process."""

    def __init__(self, host, task, node, proc):
        self.host, self.task, self.node, self.proc = host, task, node, proc
        self.started = time.time()
        self.outputs = TaskOutputs(node, task.job.name)
        self.msg_times = collections.deque()
        self.greeted = False
        self.messages = MessageReader(proc.output)

    async def converse(self):
        while True:
            timeout = None if self.greeted else FIRST_REQUEST_TIMEOUT
            try:
                message = await asyncio.wait_for(self.messages.read(), timeout)
            except asyncio.TimeoutError:
                return Outcome("error", "Worker did not send a request within %d seconds" % timeout)
            except PayloadError as e:
                return Outcome("fatal", "Invalid message from the worker: %s" % e)
            except ProtocolError as e:
                words = await self._last_words(e.data)
                return Outcome("error", "Worker died. Last words: %s" % words)
            if message is None:
                code = await self.proc.wait()
                if self.proc.lost:
                    return Outcome("error", self.proc.lost)
                return Outcome("error", "Worker crashed! (exit code: %d)" % code)
            msg_type, payload = message
            if not self.greeted and msg_type != "WORKER":
                return Outcome("fatal", "Worker sent %s before WORKER" % msg_type)
            handler = getattr(self, "on_" + msg_type, None)
            if handler is None:
                return Outcome("fatal", "Worker sent an unknown message type %s" % msg_type)
            try:
                outcome = await handler(payload)
            except ValueError as e:
                return Outcome("fatal", "Invalid %s message: %s" % (msg_type, e))
            if outcome is not None:
                return outcome

    async def reply(self, msg_type, payload):
        try:
            self.proc.stdin.write(encode(msg_type, payload))
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass    # the worker is gone: the next read reports how it ended

    async def _last_words(self, data):
        async def more():
            nonlocal data
            while len(data) < LAST_WORDS_MAX:
                chunk = await self.proc.output.read(LAST_WORDS_MAX - len(data))
                if not chunk:
                    return
                data += chunk
        try:
            await asyncio.wait_for(more(), LAST_WORDS_WAIT)
        except asyncio.TimeoutError:
            pass
        return data.decode("utf-8", "replace")

    def event(self, kind, text):
        self.host.events.add(self.task.job.name, "%s: [%s] %s" % (kind, self.task.name, text), self.node)

    async def on_WORKER(self, payload):
        _check(isinstance(payload, dict) and isinstance(payload.get("pid"), int), "expected {version, pid}")
        if payload.get("version") != VERSION:
            return Outcome("fatal", "Invalid worker version: %r" % (payload.get("version"),))
        self.greeted = True
        await self.reply("OK", "ok")

    async def on_TASK(self, payload):
        task, cluster = self.task, self.host.cluster
        await self.reply("TASK", {
            "taskid": task.taskid, "master": cluster.master, "disco_port": cluster.disco_port,
            "put_port": cluster.put_port, "ddfs_data": self.proc.ddfs_data,
            "disco_data": self.proc.disco_data, "stage": task.stage, "grouping": task.grouping,
            "group": [task.group[0], task.group[1] if _HOST_LIKE.fullmatch(task.group[1] or "") else ""],
            "jobfile": os.path.join(self.proc.home, "jobfile"),
            "jobname": task.job.name, "host": self.node})

    async def on_INPUT(self, payload):
        reply = self.task.inputs.reply(payload)
        if reply is None:    # deferred: until inputs arrive or the set is closed
            reply = await self._unless_exited(self.task.inputs.wait_reply(payload))
            if reply is None:
                return None  # the worker is gone: the next read reports how it ended
        await self.reply("INPUT", reply)

    async def _unless_exited(self, coroutine):
        """The result of ``coroutine``, or None if the worker exits first."""
        waiting = asyncio.ensure_future(coroutine)
        exited = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait((waiting, exited), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            exited.cancel()
        return waiting.result() if waiting.done() and not waiting.cancelled() else None

    async def on_INPUT_ERR(self, payload):
        remaining = self.task.inputs.fail(payload)
        if remaining:
            await self.reply("RETRY", remaining)
        else:
            if self.task.inputs.lost(payload[0]):
                self.event("WARNING", "input %d cannot be read: its producer runs again" % payload[0])
            await self.reply("FAIL", "")

    async def on_MSG(self, payload):
        _check(isinstance(payload, str), "expected a string")
        now = time.monotonic()
        self.msg_times.append(now)
        while now - self.msg_times[0] >= 1:
            self.msg_times.popleft()
        if len(self.msg_times) >= MSG_KILL_RATE:
            return Outcome("fatal", "Worker is behaving badly: %d messages in a second"
                           % len(self.msg_times))
        self.event("MSG", capped(payload))
        if len(self.msg_times) > MSG_SLOW_RATE:
            await asyncio.sleep(MSG_DELAY)
        await self.reply("OK", "ok")

    async def on_OUTPUT(self, payload):
        _check(isinstance(payload, list) and len(payload) == 3 and is_int(payload[0])
               and isinstance(payload[1], str) and is_int(payload[2]), "expected [label, location, size]")
        label, location, size = payload
        if not location or "\0" in location or any(c.isspace() for c in location):
            return Outcome("fatal", "invalid_output: %.200r is empty or holds whitespace or NUL"
                           % location)
        if "://" not in location and (location.startswith("/") or ".." in location.split("/")):
            return Outcome("error", "invalid_output: %r is not a path relative to the job home" % location)
        self.outputs.add(label, location, size)
        await self.reply("OK", "ok")

    async def on_PING(self, payload):
        await self.reply("OK", "pong")

    async def on_DONE(self, payload):
        name = ".disco/%s-%d-%d.results" % (self.task.stage, self.task.taskid, int(self.started * 1e6))
        index = self.outputs.index(name)
        try:
            if index is not None:
                await self.proc.write_file(name, index[0])
        except OSError as e:
            return Outcome("error", "Cannot write the task's index file: %s" % e)
        self.event("DONE", "Task finished in %s" % duration(time.time() - self.started))
        return Outcome("done", outputs=([index[1]] if index else []) + self.outputs.data)

    async def on_ERROR(self, payload):
        _check(isinstance(payload, str), "expected a string")
        return Outcome("error", capped(payload))

    async def on_FATAL(self, payload):
        _check(isinstance(payload, str), "expected a string")
        return Outcome("fatal", capped(payload))

def capped(text):
    """``text`` cut to ``MAX_MESSAGE`` characters, with a marker saying how much was cut."""
    if len(text) <= MAX_MESSAGE:
        return text
    return "%s [... truncated: %d more characters]" % (text[:MAX_MESSAGE], len(text) - MAX_MESSAGE)


def _check(ok, what):
    if not ok:
        raise ValueError(what)


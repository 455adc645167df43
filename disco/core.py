"""The client of the Disco master (``disco.core`` of Disco 0.5): ``Disco`` and ``result_iterator``.

``Disco(master)`` talks to the master's HTTP API (docs/http-api.md#disco): job submission and control, status,
events and results. ``master`` may be ``http://host:port`` or ``disco://host`` (which means port
``DISCO_PORT``). Requests that get no HTTP reply raise ``CommError`` with
"(is disco master running at ...?)" appended.

``result_iterator(urls)`` yields the records of job results: ``dir://`` index files expand to
their members; files present under ``DISCO_DATA`` are read from disk, others over HTTP (streamed),
trying the replicas of each result in turn. It also reads results of an original Disco cluster
(``dir://``/``disco://`` URLs served on ``DISCO_PORT``, record stream v1).
"""
import functools
import json
import sys
import time
from io import BytesIO
from urllib.parse import urlencode

from disco import comm, util
from disco.ddfs import DDFS
from disco.error import CommError, DiscoError, JobError
from disco.eventmonitor import EventMonitor
from disco.inputs import inputlist
from disco.jobpack import JobPack
from disco.oob import load_oob
from disco.readers import notifier, read_results
from disco.recordio import chain_reader, task_input_stream
from disco.settings import DiscoSettings

_MOVED = {"Job": "disco.job"}  # Disco 0.5 names; disco.job builds on this module
__getattr__ = util.moved(__name__, _MOVED)


class Continue(Exception):
    """The job is still running (``Disco.check_results``)."""


def client_version():
    """The version of the installed disco distribution; ``'source'`` when not installed."""
    from importlib import metadata
    try:
        return metadata.version("disco")
    except metadata.PackageNotFoundError:
        return "source"
    except Exception:
        return "unknown"


class Disco(object):
    """A Disco master: ``Disco(master=None, settings=None, proxy=None)``; ``master`` default
    ``DISCO_MASTER``, ``proxy`` default ``DISCO_PROXY``."""

    def __init__(self, master=None, settings=None, proxy=None):
        self.settings = settings or DiscoSettings()
        self.proxy = proxy or self.settings["DISCO_PROXY"]
        self.master = master or self.settings["DISCO_MASTER"]
        port = util.netloc.parse(util.schemesplit(self.master)[1].partition("/")[0]).port \
            if "://" in self.master else None
        if master and port and port != str(self.settings["DISCO_PORT"]):
            # Disco's port is cluster-wide: this master's data URLs resolve through its port
            self.settings = DiscoSettings(self.settings, DISCO_MASTER=self.master, DISCO_PORT=port)

    def __repr__(self):
        return "Disco master at %s" % self.master

    @property
    def url(self):
        """The master's http URL (``disco://host`` -> ``http://host:DISCO_PORT``)."""
        master = (self.proxy or self.master).rstrip("/")
        if "://" not in master:
            master = "disco://" + master
        scheme, netloc, path = util.urlsplit(master, disco_port=self.settings["DISCO_PORT"])
        return util.urljoin((scheme, netloc, path)).rstrip("/")

    # -- HTTP -------------------------------------------------------------------------------------

    def request(self, url, data=None, offset=0, as_bytes=False, timeout=None):
        """GET (POST when ``data`` is given) ``url`` on the master; the body as text (UTF-8) or
        bytes. ``offset`` asks for the bytes from there on."""
        try:
            body = comm.download(self.url + url, data=data, offset=offset or (), timeout=timeout)
        except CommError as e:
            if e.code is None:
                e.msg += " (is disco master running at %s?)" % (self.proxy or self.master)
            raise
        return body if as_bytes else body.decode("utf-8")

    def _get(self, path, **query):
        url = path + ("?" + urlencode(query) if query else "")
        return json.loads(self.request(url))

    def _post(self, path, payload):
        return self.request(path, json.dumps(payload).encode("utf-8"))

    # -- cluster ----------------------------------------------------------------------------------

    def submit(self, jobpack):
        """Submit job pack bytes; the job's unique name. DiscoError if the master refuses it."""
        status, response = json.loads(self.request("/disco/job/new", jobpack))
        if status != "ok":
            raise DiscoError("Failed to start a job. Server replied: %s" % response)
        return response

    def get_config(self):
        return self._get("/disco/ctrl/load_config_table")

    def set_config(self, config):
        response = json.loads(self._post("/disco/ctrl/save_config_table", config))
        if response != "table saved!":
            raise DiscoError(response)

    config = property(get_config, set_config)

    def master_version(self):
        return self._get("/disco/version")

    @property
    def ddfs(self):
        """A :class:`disco.ddfs.DDFS` client of this master."""
        return DDFS(self.master, proxy=self.proxy, settings=self.settings)

    def nodeinfo(self):
        return self._get("/disco/ctrl/nodeinfo")

    def joblist(self):
        """``[[start, status, name], ...]``, newest first."""
        return self._get("/disco/ctrl/joblist")

    def blacklist(self, node):
        self._post("/disco/ctrl/blacklist", node)

    def whitelist(self, node):
        self._post("/disco/ctrl/whitelist", node)

    # -- jobs -------------------------------------------------------------------------------------

    def new_job(self, name, **jobargs):
        """Run a ``disco.job.Job`` named ``name`` on this master with ``jobargs``."""
        return __getattr__("Job")(name=name, master=self).run(**jobargs)

    def kill(self, jobname):
        self._post("/disco/ctrl/kill_job", jobname)

    def clean(self, jobname):
        """Forget the job's metadata (deprecated: use ``purge``; no data is deleted)."""
        self._post("/disco/ctrl/clean_job", jobname)

    def purge(self, jobname):
        """Delete the job's metadata and data."""
        self._post("/disco/ctrl/purge_job", jobname)

    def jobpack(self, jobname):
        return JobPack.load(BytesIO(self.request("/disco/ctrl/parameters?" + urlencode(
            {"name": jobname}), as_bytes=True)))

    def jobinfo(self, jobname):
        return self._get("/disco/ctrl/jobinfo", name=jobname)

    def attempts(self, jobname):
        """The job's task attempts (docs/http-api.md#reply-shapes, jobattempts): the ended ones
        in the order they ended, then the running ones; each ``[stage, taskid, attempt, node,
        start, end, outcome]``, times in seconds since the job started."""
        ended, since = [], 0
        while True:
            reply = self._get("/disco/ctrl/jobattempts", name=jobname, since=since)
            ended += reply["attempts"]
            since = reply["next"]
            if since >= reply["count"] or not reply["attempts"]:
                return ended + reply["running"]

    def stageresults(self, jobname, stagename):
        return self._get("/disco/ctrl/get_stageresults", name=jobname, stage=stagename)

    def rawevents(self, jobname, offset=0):
        """The job's event log (bytes) from byte ``offset`` on."""
        return self.request("/disco/ctrl/rawevents?" + urlencode({"name": jobname}),
                            offset=offset, as_bytes=True)

    def events(self, jobname, offset=0):
        """``(offset, (timestamp, host, message))`` for each complete event after byte
        ``offset``; each ``offset`` is where the next event starts (pass the last one back to
        continue). Stops at a line that is not an event (or not yet complete)."""
        try:
            data = self.rawevents(jobname, offset=offset)
        except CommError as e:
            if e.code != 416:
                raise
            data = b""
        return _event_iter(data, offset)

    def failure(self, jobname):
        """Why a dead job died, from its last events: the failing task, its node, and the end of
        the worker's error (the last frame of its traceback and the exception); "" if unknown."""
        try:
            reply = self.request("/disco/ctrl/jobevents?%s" % urlencode(
                {"name": _jobname(jobname), "num": 50}))
            events = json.loads(reply)
        except (CommError, ValueError):
            return ""
        return failure_cause([(host, message) for _ts, host, message in events])

    def oob_get(self, jobname, key):
        """The out-of-band value (bytes) a task of the job stored for ``key``; None if none."""
        return load_oob(self.master, _jobname(jobname), key, settings=self.settings)

    def oob_list(self, jobname):
        """The out-of-band keys of the job (blob names in its OOB tag, newest first)."""
        ddfs = self.ddfs
        return list(dict.fromkeys(ddfs.blob_name(replicas[0])
                                  for replicas in ddfs.blobs(DDFS.job_oob(_jobname(jobname)))))

    def profile_stats(self, jobname, mode="", stream=sys.stdout):
        """The ``pstats.Stats`` of the job's tasks run with ``profile=True`` (OOB keys
        ``profile-<task uid>``); ``mode`` ('map', 'reduce', ...) keeps the stages starting with
        it. JobError when there is none."""
        import marshal
        import pstats
        prefix = "profile-%s" % mode
        keys = [key for key in self.oob_list(jobname) if key.startswith(prefix)]
        if not keys:
            raise JobError(_jobname(jobname), "No profile data")
        stats = pstats.Stats(stream=stream)
        for key in keys:
            stats.add(_ProfileData(marshal.loads(self.oob_get(jobname, key))))
        return stats

    def results(self, jobspec, timeout=2000):
        """Status and results of one job (a Job or name): ``(status, results)``; of a list of
        jobs: ``(inactive, active)``, lists of ``(name, (status, results))``. Waits up to
        ``timeout`` ms for one of the jobs to finish. Status: 'unknown job', 'dead',
        'active' or 'ready'."""
        single = isinstance(jobspec, str) or not util.isiterable(jobspec)
        names = [_jobname(j) for j in ([jobspec] if single else jobspec)]
        reply = json.loads(self.request("/disco/ctrl/get_results",
                                        json.dumps([timeout, names]).encode("utf-8"),
                                        timeout=timeout / 1000.0 + comm.READ_TIMEOUT))
        if single:
            for _name, (status, results) in reply:
                return status, results
            return "unknown job", []
        inactive, active = [], []
        for name, (status, results) in reply:
            (active if status == "active" else inactive).append((name, (status, results)))
        return inactive, active

    def check_results(self, jobname, start_time, timeout, poll_interval):
        """One poll (``poll_interval`` ms): the results if ready; JobError if the job is not
        active or ``timeout`` s have passed since ``start_time``; else Continue."""
        try:
            status, results = self.results(jobname, timeout=poll_interval)
        except CommError:
            status = "active"
        if status == "ready":
            return results
        if status != "active":
            cause = self.failure(jobname) if status == "dead" else ""
            raise JobError(jobname, "Status %s%s" % (status, "\n" + cause if cause else ""))
        if timeout and time.time() - start_time > timeout:
            raise JobError(jobname, "Timeout")
        raise Continue()

    def wait(self, jobname, poll_interval=2, timeout=None, clean=False, show=None):
        """Block until the job is ready; its results. ``show`` (default ``DISCO_EVENTS``)
        prints events; ``clean`` (deprecated) forgets the job afterwards."""
        if show is None:
            show = self.settings["DISCO_EVENTS"]
        monitor = EventMonitor(_JobEvents(self, _jobname(jobname)), format=show,
                               poll_interval=poll_interval)
        start_time = time.time()
        try:
            while True:
                monitor.refresh()
                try:
                    results = self.check_results(jobname, start_time, timeout,
                                                 poll_interval * 1000)
                except Continue:
                    continue
                if clean:
                    self.clean(jobname)
                return Results(results, self.settings)
        finally:
            monitor.done()

    def result_iterator(self, *args, **kwargs):
        """``result_iterator`` reading with this master and its settings."""
        kwargs["ddfs"] = self.master
        kwargs.setdefault("settings", self.settings)
        return result_iterator(*args, **kwargs)


def failure_cause(events):
    """The cause of a job's death in ``events`` (``(host, message)``, newest first): the
    master's ``Job killed`` reason and the failing task's last error on its node, shortened to
    its last traceback frame and exception line."""
    killed = next((m for h, m in events if m.startswith(("ERROR: Job killed", "WARN: Job killed"))), None)
    if killed is None:
        return ""
    reason = killed.split(": ", 1)[1].split("\n", 1)[0]
    if reason.startswith("Job killed: "):
        reason = reason[len("Job killed: "):]
    task = reason.split(" ")[1] if reason.startswith("Task ") else None
    for host, message in events:
        if task and message.startswith(("FATAL: [%s] " % task, "WARNING: [%s] " % task)):
            text = message.split("] ", 1)[1]
            return "Task %s failed on %s:\n%s" % (task, host, _traceback_tail(text))
    return reason


def _traceback_tail(text):
    """The last frame (``File ...`` and its source line) and the last line of a traceback; other
    texts as they are."""
    lines = [line for line in text.rstrip().split("\n") if line.strip()]
    frames = [i for i, line in enumerate(lines) if line.lstrip().startswith('File "')]
    if not frames or lines[-1].startswith("disco.error.InputMissing"):
        return lines[-1] if frames else text.strip()
    last = frames[-1]
    tail = lines[last:last + 2] if last + 2 < len(lines) else lines[last:last + 1]
    return "\n".join(tail + [lines[-1]])


class Results(list):
    """A job's results (a list of URLs or replica lists) that remembers the settings of the
    master they came from, so that :func:`result_iterator` resolves them through that master."""

    def __init__(self, results, settings):
        super().__init__(results)
        self.settings = settings


class _JobEvents(object):
    """What an EventMonitor reads of one job of ``disco``: ``events`` and ``jobinfo``."""

    def __init__(self, disco, name):
        self.name = name
        self.events = functools.partial(disco.events, name)
        self.jobinfo = functools.partial(disco.jobinfo, name)


class _ProfileData(object):
    """Profile statistics as ``pstats.Stats.add`` takes them (a cProfile file, loaded)."""

    def __init__(self, stats):
        self.stats = stats

    def create_stats(self):
        pass


def _jobname(job):
    if isinstance(job, str):
        return job
    if isinstance(job, (tuple, list)):
        return job[0]
    return job.name


def _event_iter(data, offset):
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            return
        try:
            event = tuple(json.loads(line))
        except ValueError:
            return
        offset += len(line)
        yield offset, event


def result_iterator(urls, reader=chain_reader, input_stream=(task_input_stream,),
                    notifier=notifier, params=None, ddfs=None, settings=None):
    """Records of the results ``urls`` (URLs or replica lists, as ``Disco.wait`` returns them;
    ``dir://`` and ``tag://`` URLs expanded, tags on the master ``ddfs`` when given): read
    through ``input_stream`` + ``[reader]`` (``reader=None``: the last input stream's output,
    e.g. text lines); ``notifier(replicas)`` is called as each result is opened. ``settings``
    (a ``DiscoSettings``; default the environment's) say where the master and local data are."""
    settings = settings or getattr(urls, "settings", None)
    if ddfs:
        settings = DiscoSettings(settings or {}, DISCO_MASTER=ddfs)
    yield from read_results(inputlist(urls, settings=settings), reader, input_stream, notifier,
                            params, settings=settings)

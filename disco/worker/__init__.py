"""Python worker library (``disco.worker`` of Disco 0.5): the client side of a worker (job pack
fields) and the node side (the Disco Worker Protocol 1.1, inputs with replica fail-over, outputs).

Client side: ``Worker.jobdict/jobenvs/jobhome/jobzip`` build the job pack fields. The job home is
a zip with the launcher ``disco_worker`` (``exec "${DISCO_PYTHON:-python3}" -m disco.worker``),
``required_files`` and the user's own modules (``disco.worker.modutil``); never the disco package
or compiled files: nodes have this package installed.

Node side: the master starts the launcher with cwd = job home; ``main()`` speaks the protocol on
stderr (requests) and stdin (replies): ``WORKER``, ``TASK``, unpickles ``(job, jobargs)`` from the
job pack and calls ``job.worker.start(task, job, **jobargs)``, then ``DONE``. ``DataError``,
``EnvironmentError`` and ``MemoryError`` end the task with ``ERROR`` (the master retries it), any
other exception with ``FATAL`` (the job is killed). ``print`` output becomes ``MSG`` events, sent
at most ``MSG_RATE`` in any second (more are joined) so that the master's rate limit is never hit.
"""
import collections
import io
import os
import random
import sys
import time
import traceback
import zipfile

from disco import protocol, schemes
from disco.context import current_task, set_task
from disco.error import DataError, DiscoError
from disco.fileutils import AtomicFile, DiscoOutput, Wait
from disco.readers import (Input, InputIter, MergedInput, ParallelInput,  # noqa: F401
                           SerialInput, read_index)
from disco.schemes.scheme_disco import locate
from disco.task import Task
from disco.util import iskv, iterify, ispartitioned, schemesplit
from disco.worker.modutil import find_modules, locate_modules, module_files, parse_function

DISCO_WORKER_MAX_TIME = 24 * 60 * 60
MSG_RATE = 4
MAX_MSG = 64 * 1024
LAUNCHER = "disco_worker"
LAUNCHER_SCRIPT = b'#!/bin/sh\nexec "${DISCO_PYTHON:-python3}" -m disco.worker "$@"\n'



def __getattr__(name):
    if name == "active_task":  # Disco 0.5's global: the task this process runs, or None
        return current_task()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


# -- the protocol channel -------------------------------------------------------------------------

class Channel(object):
    """The worker's end of the protocol: requests written to ``out``, replies read from ``inp``
    (binary streams). At most ``MSG_RATE`` ``MSG`` requests go out in any second; one beyond
    that is held and joined to the next, or sent right before DONE/ERROR/FATAL (one more than
    ``MSG_RATE`` stays well under the master's limit, so the final message never waits)."""

    def __init__(self, out, inp):
        self.out, self.inp = out, inp
        self.pending = []
        self.sent = collections.deque(maxlen=MSG_RATE)

    def request(self, msg_type, payload=""):
        """Send a request; its reply ``(type, payload)``."""
        if msg_type == "MSG":
            self.pending.append(str(payload))
            return self.flush_messages()
        self.flush_messages()
        return self._exchange(msg_type, payload)

    def post(self, msg_type, payload=""):
        """Send a final message (DONE, ERROR, FATAL): the master does not reply."""
        self.flush_messages(force=True)
        self._write(msg_type, payload)

    def flush_messages(self, force=False):
        if not self.pending:
            return "OK", "ok"
        if len(self.sent) == MSG_RATE and not force and self.sent[0] + 1.0 > time.monotonic():
            return "OK", "ok"
        text, self.pending = "\n".join(self.pending), []
        if len(text) > MAX_MSG:
            text = text[:MAX_MSG // 2] + "\n[... %d characters cut ...]\n" % (len(text) - MAX_MSG) \
                + text[-MAX_MSG // 2:]
        reply = self._exchange("MSG", text)
        self.sent.append(time.monotonic())
        return reply

    def _write(self, msg_type, payload):
        self.out.write(protocol.encode(msg_type, payload))
        self.out.flush()

    def _exchange(self, msg_type, payload):
        self._write(msg_type, payload)
        reply = protocol.read_message(self.inp)
        if reply is None:
            raise protocol.ProtocolError("the master closed the connection (after %s)" % msg_type)
        return reply


_channel = None


def channel():
    """The protocol channel of this process (stderr/stdin of the process when first used)."""
    global _channel
    if _channel is None:
        _channel = Channel(sys.__stderr__.buffer, sys.__stdin__.buffer)
    return _channel


class MessageWriter(io.TextIOBase):
    """A text file replacing ``sys.stdout``/``sys.stderr`` in workers: complete lines are sent
    as ``MSG`` requests (blank ones dropped); ``flush()`` sends a pending partial line."""

    def __init__(self, worker):
        self.worker = worker
        self.line = ""

    def writable(self):
        return True

    def write(self, string):
        self.line += string
        if "\n" in self.line or len(self.line) > MAX_MSG:
            text, _, self.line = self.line.rpartition("\n")
            if not text:
                text, self.line = self.line, ""
            self._send(text)
        return len(string)

    def flush(self):
        text, self.line = self.line, ""
        self._send(text)

    def _send(self, text):
        text = "\n".join(line.rstrip() for line in text.split("\n") if line.strip())
        if text:
            self.worker.send("MSG", text)


# -- the Worker -----------------------------------------------------------------------------------

class Worker(dict):
    """A dict of job parameters that builds the job pack fields on the client and runs tasks on
    the nodes. ``Worker(**kwargs)`` = ``defaults()`` updated with ``kwargs``."""

    jobpack_version = 1

    def __init__(self, **kwargs):
        super().__init__(self.defaults())
        self.update(kwargs)
        self.outputs = {}

    @property
    def bin(self):
        """The worker executable, relative to the job home (``jobdict['worker']``)."""
        return LAUNCHER

    def defaults(self):
        return {"save_results": False, "profile": False, "required_files": {},
                "required_modules": None}

    def getitem(self, key, job, jobargs, default=None):
        """``key`` from ``jobargs``, else the job's attribute, else this dict, else ``default``."""
        if key in jobargs:
            return jobargs[key]
        if hasattr(job, key):
            return getattr(job, key)
        return self.get(key, default)

    def callables(self, job, jobargs):
        """Every callable parameter value (items of list/tuple values too)."""
        return [obj for key in self for obj in iterify(self.getitem(key, job, jobargs))
                if callable(obj)]

    def get_modules(self, job, **jobargs):
        """The modspec of every callable parameter and of the job's class."""
        return find_modules(self.callables(job, jobargs) + [type(job)], exclude=["Task"])

    # -- client side: the job pack ----------------------------------------------------------------

    def jobdict(self, job, **jobargs):
        """The job dict fields every worker sets (``prefix``, ``save_results``, ``save_info``,
        ``scheduler``, ``owner``), from ``name``, ``save``/``save_results``, ``save_info``,
        ``scheduler`` and ``owner``."""
        def get(key, default=None):
            return self.getitem(key, job, jobargs, default)
        return {"prefix": get("name"),
                "save_results": bool(get("save", False) or get("save_results", False)),
                "save_info": get("save_info", "ddfs"),
                "scheduler": get("scheduler", {}),
                "owner": get("owner", job.settings["DISCO_JOB_OWNER"])}

    def jobenvs(self, job, **jobargs):
        """Environment of the worker: ``PYTHONPATH`` = ``lib`` and ``sys.path`` (made absolute)
        with the leading ``/`` dropped (paths inside the job home), ``LD_LIBRARY_PATH`` = ``lib``,
        and this client's ``DISCO_STREAM_VERSION`` (the record format tasks write)."""
        paths = ["lib"] + [os.path.abspath(p).lstrip("/") for p in sys.path]
        return {"PYTHONPATH": ":".join(paths), "LD_LIBRARY_PATH": "lib",
                "DISCO_STREAM_VERSION": str(job.settings["DISCO_STREAM_VERSION"])}

    def jobhome(self, job, **jobargs):
        """The job home zip (bytes)."""
        return self.jobzip(job, **jobargs).dumps()

    def jobzip(self, job, **jobargs):
        """The job home: the launcher, ``required_files`` (dict: ``{arcname: bytes}``; list: paths
        copied to ``lib/``), the shipped modules of ``required_modules`` (auto-detected when
        None, and stored in this worker so tasks import the same) and the user's modules that
        define the job's functions (``defining_modules``)."""

        def get(key):
            return self.getitem(key, job, jobargs)
        home = DiscoZipFile()
        home.writestr(_executable(LAUNCHER), LAUNCHER_SCRIPT)
        required_files = get("required_files") or {}
        if isinstance(required_files, dict):
            for arcname, data in required_files.items():
                home.writestr(arcname, data)
        else:
            for path in required_files:
                home.write(path, os.path.join("lib", os.path.basename(path)))
        if get("required_modules") is None:
            self["required_modules"] = self.get_modules(job, **jobargs)
        for item in list(get("required_modules")) + self.defining_modules(job, jobargs):
            if iskv(item) or (isinstance(item, list) and len(item) == 2):
                for path, arcname in module_files(*item):
                    home.writepath(path, arcname)
        return home

    def defining_modules(self, job, jobargs):
        """The modspec of the user's modules that define the job's class and functions: always
        shipped (functions travel by reference to them), whatever ``required_modules`` says."""
        names = {getattr(parse_function(fn), "__module__", None)
                 for fn in self.callables(job, jobargs) + [type(job)]}
        return locate_modules(sorted(n for n in names if n and n != "__main__"))

    # -- node side --------------------------------------------------------------------------------

    def input(self, task, merged=False, **kwds):
        """The task's inputs: a MergedInput when ``merged``, else a SerialInput."""
        if merged:
            return MergedInput(self.get_inputs(), task=task, **kwds)
        return SerialInput(self.get_inputs(), task=task, **kwds)

    def output(self, task, label=None, **kwds):
        """The Output for ``label`` (None: the task's unlabelled output), opened once."""
        output = self.outputs.get(label)
        if output is None:
            output = self.outputs[label] = Output(task.output(label=label), **kwds)
        return output

    def start(self, task, job, **jobargs):
        """Run the task: memory limit, task directory, ``run`` (under cProfile when
        ``profile``), then ``end``."""
        set_task(task)
        set_mem_limit(os.environ.get("DISCO_WORKER_MAX_MEM")
                      or job.settings.get("DISCO_WORKER_MAX_MEM"))
        task.makedirs()
        if self.getitem("profile", job, jobargs):
            self._profile(task, job, jobargs)
        else:
            self.run(task, job, **jobargs)
        self.end(task, job, **jobargs)

    def _profile(self, task, job, jobargs):
        import cProfile
        name = "profile-%s" % task.uid
        path = task.path(name)
        cProfile.runctx("self.run(task, job, **jobargs)", globals(), locals(), path)
        try:
            with open(path, "rb") as f:
                task.put(name, f.read())
        except DiscoError as e:
            self.send("MSG", "Profile saved in %s, not stored as OOB data: %s" % (path, e))

    def run(self, task, job, **jobargs):
        """Call the job's function for the task's stage: ``fn(task, job, **jobargs)``."""
        self.getitem(task.stage, job, jobargs)(task, job, **jobargs)

    def end(self, task, job, **jobargs):
        self.send_outputs()
        self.send("MSG", "Results sent to master")

    def send_outputs(self):
        """Close every output and report it: ``OUTPUT [label, path, size]``."""
        for output in self.outputs.values():
            output.close()
            self.send("OUTPUT", [output.label, output.path, output.size()])

    # -- protocol requests ------------------------------------------------------------------------

    @classmethod
    def send(cls, type, payload=""):
        """Send a protocol message; the reply's payload (None for DONE, ERROR, FATAL)."""
        if type in ("DONE", "ERROR", "FATAL"):
            channel().post(type, payload)
            return None
        return channel().request(type, payload)[1]

    @classmethod
    def get_task(cls):
        return Task(**cls.send("TASK"))

    @classmethod
    def get_input(cls, id):
        """``[(replica id, url), ...]`` of input ``id``; Wait if it is busy."""
        _done, inputs = cls.send("INPUT", ["include", [id]])
        _id, status, _label, replicas = inputs[0]
        if status == "busy":
            raise Wait
        if status == "failed":
            raise DataError("Can't handle broken input", id)
        return [(rid, str(url)) for rid, url in replicas]

    @classmethod
    def get_inputs(cls, done=False, exclude=None):
        """IDedInputs of the task, asking the master until it says the set is ``done``."""
        exclude = [] if exclude is None else exclude
        while done != "done":
            done, inputs = cls.send("INPUT", ["exclude", exclude])
            for id, _status, label, _replicas in inputs:
                if id not in exclude:
                    yield IDedInput((cls, id, label if label == "all" else int(label)))
                    exclude.append(id)

    @classmethod
    def labelled_input_map(cls, task, inputs):
        """``{label: [replica list, ...]}``: index inputs contribute their entries of the input's
        label (every entry for ``'all'``), data inputs themselves under their label."""
        label_map = collections.defaultdict(list)
        for input in inputs:
            replicas = [url for _rid, url in input.replicas]
            if ispartitioned(replicas):
                for label, url, _size in read_index(replicas[0], task=task):
                    if input.label in ("all", label):
                        label_map[label].append([url])
            else:
                label_map[input.label].append(replicas)
        return label_map

    @classmethod
    def concat_input(cls, task, output_label, replicas):
        """Concatenate the first replica of each input into ``task.output_path(output_label)``;
        ``(path, size)``. Record streams stay one valid stream (see ``concat_streams``)."""
        path = task.output_path(output_label)
        if len(replicas) == 1 and _link(replicas[0][0], path, task):
            return path, os.path.getsize(path)
        with AtomicFile(path) as output:
            concat_streams(output, (schemes.open(reps[0], task=task) for reps in replicas))
        return path, os.path.getsize(path)

    def shuffle_outputs(self, task):
        """The shuffle stage (group_node): inputs concatenated per label, one output each."""
        label_map = self.labelled_input_map(task, self.get_inputs())
        for label, replicas in sorted(label_map.items()):
            path, size = self.concat_input(task, label, replicas)
            self.send("OUTPUT", [label, path, size])
        self.send("MSG", "Shuffled %d inputs into %d label(s)"
                  % (sum(map(len, label_map.values())), len(label_map)))

    @classmethod
    def main(cls):
        """The entry point of a worker process (see the module doc)."""
        main()


_TERMINATOR = 14  # an empty raw hunk: marker >= 128, then 13 zero bytes


def concat_streams(output, files, buffer_size=1024 * 1024):
    """Write the files one after the other to ``output``, dropping each file's closing empty
    hunk (a v1/v2 reader stops at one) and writing one at the very end."""
    terminator = b""
    for fd in files:
        with fd:
            held = b""
            for chunk in iter(lambda: fd.read(buffer_size), b""):
                data = held + chunk
                output.write(data[:-_TERMINATOR])
                held = data[-_TERMINATOR:]
            if len(held) == _TERMINATOR and held[0] >= 128 and not any(held[1:]):
                terminator = held
            else:
                output.write(held)
    output.write(terminator)


def _link(url, path, task):
    """Hard link the local file of ``url`` at ``path``; False if that is not possible."""
    if not url.startswith("disco://"):
        return False
    local, _http = locate(url, task)
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        os.link(local, path)
    except (OSError, TypeError):
        return False
    return True


def _executable(name):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def set_mem_limit(limit):
    """Limit the address space of this process: ``'N%'`` of physical memory, or N bytes; ''
    or 0 = no limit. Never raises the hard limit."""
    import resource
    limit = str(limit or "").strip()
    if not limit or limit in ("0", "0%"):
        return
    try:
        if limit.endswith("%"):
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            limit = int(total * float(limit[:-1]) / 100)
        else:
            limit = int(limit)
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


class DiscoZipFile(zipfile.ZipFile):
    """A zip archive built in memory (the job home): ``writepath``, ``writemodule``,
    ``writesource``, ``dump(handle)``, ``dumps()``."""

    def __init__(self):
        self.buffer = io.BytesIO()
        super().__init__(self.buffer, "w", zipfile.ZIP_DEFLATED)

    def writepath(self, path, arcname=None, exclude=()):
        """Add file ``path`` (a directory: its files, recursively) as ``arcname`` (default: the
        path with the leading ``/`` dropped)."""
        arcname = arcname or path.lstrip("/")
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if not any(name.endswith(x) for x in exclude):
                    self.writepath(os.path.join(path, name), os.path.join(arcname, name), exclude)
        elif arcname not in self.namelist():
            self.write(path, arcname)

    def writemodule(self, module, arcname=None):
        """Add the source file of ``module`` (an object or a name)."""
        if isinstance(module, str):
            module = __import__(module, fromlist=["__name__"])
        self.writepath(module.__file__, arcname)

    def writesource(self, object):
        """Add the source file of the module defining ``object``."""
        import inspect
        self.writepath(inspect.getsourcefile(inspect.getmodule(object)))

    def dump(self, handle):
        handle.write(self.dumps())

    def dumps(self):
        if self.fp is not None:
            self.close()
        return self.buffer.getvalue()


# -- inputs ---------------------------------------------------------------------------------------

class Params(object):
    """An attribute bag: ``Params(k=v).k``; the ``params`` passed to job functions (each task
    gets its own copy)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def __repr__(self):
        return "Params(%s)" % ", ".join("%s=%r" % kv for kv in sorted(self.__dict__.items()))


class IDedInput(tuple):
    """An input of the task as the master numbers it: ``(worker class, id, label)``; its
    ``replicas`` are asked from the master when used."""

    @property
    def worker(self):
        return self[0]

    @property
    def id(self):
        return self[1]

    @property
    def label(self):
        return self[2]

    @property
    def replicas(self):
        return self.worker.get_input(self.id)

    @property
    def isindex(self):
        return ispartitioned(self.locations)

    @property
    def locations(self):
        return [url for _rid, url in self.replicas]

    def unavailable(self, tried):
        """Report replicas ``tried`` as failed (``INPUT_ERR``); the remaining replicas
        ``[(id, url)]`` the master still offers (``RETRY``), or ``[]`` (``FAIL``)."""
        rtype, payload = channel().request("INPUT_ERR", [self.id, sorted(tried)])
        return [tuple(r) for r in payload] if rtype == "RETRY" else []

    def replica_urls(self):
        """The URLs to try, in order (``ReplicaIter``): what ``disco.readers.InputIter`` reads."""
        return ReplicaIter(self)

    def __str__(self):
        return "%s" % self.locations


def _is_local(url, task):
    scheme = schemesplit(url)[0]
    if scheme in ("", "file"):
        return True
    if scheme in ("disco", "dir"):
        local, _http = locate(url, task)
        return bool(local) and os.path.isfile(local)
    return False


class ReplicaIter(object):
    """URLs to try for an IDedInput: a replica stored on this node first, then untried replicas
    at random; when all failed, ``INPUT_ERR`` tells the master, and any replicas it still offers
    are tried before giving up."""

    def __init__(self, input):
        self.input, self.used = input, set()
        self.replicas = None
        self.checked_local = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.replicas is None:
            self.replicas = dict(self.input.replicas)
        untried = [rid for rid in self.replicas if rid not in self.used]
        if not untried:
            self.replicas = dict(self.input.unavailable(self.used))
            untried = [rid for rid in self.replicas if rid not in self.used]
            if not untried:
                raise StopIteration
        if not self.checked_local:
            self.checked_local = True
            for rid in untried:
                if _is_local(self.replicas[rid], current_task()):
                    self.used.add(rid)
                    return self.replicas[rid]
        rid = random.choice(untried)
        self.used.add(rid)
        return self.replicas[rid]


# -- outputs --------------------------------------------------------------------------------------

class BaseOutput(object):
    """An output of the task: ``path`` (relative to the job home), ``type``, ``label`` (None
    means 0)."""

    def __init__(self, path_type_label):
        self.path, self.type, label = path_type_label
        self.label = 0 if label is None else int(label)

    def size(self):
        return os.path.getsize(self.path)

    def close(self):
        pass


class Output(BaseOutput):
    """An output file opened with ``open(path)`` (default ``disco.fileutils.DiscoOutput``, a
    record stream written atomically); ``file`` is the opened object."""

    def __init__(self, path_type_label, open=None):
        super().__init__(path_type_label)
        self.open = open or DiscoOutput
        self.file = self.open(self.path)

    def close(self):
        self.file.close()


# -- the process entry point ----------------------------------------------------------------------

def main():
    """Run one task in this process (see the module doc); returns the exit status."""
    chan = channel()
    sys.stdout = sys.stderr = MessageWriter(Worker)
    try:
        Worker.send("WORKER", {"pid": os.getpid(), "version": protocol.VERSION})
        task = Worker.get_task()
        job, jobargs = task.jobobjs
        job.worker.start(task, job, **jobargs)
        sys.stdout.flush()
        Worker.send("DONE")
        return 0
    except protocol.ProtocolError as e:
        sys.__stderr__.write("disco worker: protocol error: %s\n" % e)
        return 2
    except (DataError, EnvironmentError, MemoryError):
        _report(chan, "ERROR")
        return 1
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        _report(chan, "FATAL")
        return 1
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _report(chan, msg_type):
    try:
        sys.stdout.flush()
        chan.post(msg_type, traceback.format_exc()[-MAX_MSG * 16:])
    except (OSError, protocol.ProtocolError):
        pass

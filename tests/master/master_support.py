"""Helpers of the master tests: job packs with a shell-script worker, HTTP calls, waiting."""
import io
import json
import os
import time
import urllib.error
import urllib.request
import warnings
import zipfile

from disco.job import JobPack

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.sh")


def jobhome(files=None):
    """A zip job home holding ``worker.sh`` (executable) and ``files``: {name: bytes}, or
    [(name or ZipInfo, bytes), ...] (duplicate names allowed)."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")     # duplicate names
        info = zipfile.ZipInfo("worker.sh")
        info.external_attr = 0o755 << 16
        with open(WORKER, "rb") as f:
            z.writestr(info, f.read())
        for name, data in (files.items() if isinstance(files, dict) else files or ()):
            z.writestr(name, data)
    return buf.getvalue()


def jobdict(version=2, **fields):
    """A valid jobdict of ``version`` for the shell worker, updated with ``fields``."""
    base = {"prefix": "t", "worker": "worker.sh", "owner": "tester@host", "scheduler": {}}
    if version == 1:
        base.update({"input": [], "nr_reduces": 1})
    else:
        base.update({"pipeline": [], "inputs": []})
    base.update(fields)
    return base


def jobpack(version=2, envs=None, home=None, **fields):
    """Job pack bytes for the shell worker."""
    return JobPack(version, jobdict(version, **fields), envs or {},
                   jobhome() if home is None else home, b"").dumps()


def call(master, path, body=None, method=None, headers=None):
    """``(status, headers, body bytes)`` of a request to ``master``; JSON-encodes non-bytes bodies."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    request = urllib.request.Request(master.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(master, path, body=None):
    status, _headers, data = call(master, path, body)
    assert status == 200, (status, data)
    return json.loads(data)


def written_pid(path, timeout=10):
    """The pid a worker wrote to the file ``path`` (waiting up to ``timeout`` s for it)."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) or not open(path).read().strip():
        assert time.monotonic() < deadline, "%s not written" % path
        time.sleep(0.02)
    return int(open(path).read())


def submit(master, pack):
    """Submit ``pack``; return the job name (fails the test on an error reply)."""
    reply = get_json(master, "/disco/job/new", pack)
    assert reply[0] == "ok", reply
    return reply[1]


def wait(master, name, timeout=30):
    """``[status, results]`` of the job once it is not active (long-polling ``get_results``)."""
    (_name, status), = get_json(master, "/disco/ctrl/get_results", [timeout * 1000, [name]])
    assert status[0] != "active", "job %s still active after %d s" % (name, timeout)
    return status


def run(master, pack, timeout=30):
    name = submit(master, pack)
    return name, wait(master, name, timeout)


def messages(master, name):
    """The job's event messages, oldest first."""
    return [e[2] for e in reversed(get_json(master, "/disco/ctrl/jobevents?num=1000&name=" + name))]


def seen(master, name):
    """What each task of the shell worker reported: ``{(stage, taskid): {group, node, inputs, ...}}``."""
    reports = {}
    for message in messages(master, name):
        if message.startswith("MSG: ") and " seen " in message:
            words = message.split(" seen ", 1)[1].split()
            info = dict(w.split("=", 1) for w in words[2:])
            info["inputs"] = [tuple(i.split("@", 1)) for i in info["inputs"].split(";") if i]
            reports[(words[0], int(words[1]))] = info
    return reports


def local_file(master, url):
    """The local path of a ``disco://`` or ``dir://`` URL of this master's nodes."""
    return os.path.join(master.settings["DISCO_DATA"], url.split("/disco/", 1)[1])


def read_results(master, results):
    """The lines of every data file listed in the index files of ``results``, sorted."""
    lines = []
    for replicas in results:
        with open(local_file(master, replicas[0])) as index:
            for entry in index:
                with open(local_file(master, entry.split()[1])) as f:
                    lines += f.read().split()
    return sorted(lines)

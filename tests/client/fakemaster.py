"""A scripted stand-in for the Disco master's task runtime, for worker tests.

``FakeMaster(root)`` lays out job homes like the master (``DISCO_DATA/<host>/<HH>/<job>/`` with
``jobfile`` and the unzipped job home), starts the worker executable named by the jobdict with
cwd = job home and env = jobenvs + ``DISCO_PYTHON`` (unless told to set nothing), and answers the
Worker Protocol (docs/worker-protocol.md) from a script of inputs. ``write_index`` writes the index
file of a task's outputs (docs/formats/index-files.md).
``run_classic`` drives a v1 job through map -> map_shuffle -> reduce as the master would
(docs/jobs.md#groupings), on one node.
"""
import os
import subprocess
import sys
import time
import zipfile
from io import BytesIO

from disco import protocol
from disco.job import JobPack
from disco.util import hexhash, read_index


class TaskRun(object):
    """What a worker process did: ``status`` (DONE, ERROR, FATAL, or 'crashed'), ``error``
    (payload of ERROR/FATAL, or the last output of a crash), ``messages`` (MSG payloads),
    ``outputs`` (OUTPUT payloads), ``input_errs`` (INPUT_ERR payloads), ``log`` (all requests)."""

    def __init__(self):
        self.status, self.error = None, None
        self.messages, self.outputs, self.input_errs, self.log = [], [], [], []


class FakeMaster(object):
    def __init__(self, root, host="localhost", disco_port=8989):
        self.root = root
        self.host = host
        self.disco_port = disco_port
        self.disco_data = os.path.join(root, "data")
        self.ddfs_data = os.path.join(root, "ddfs")
        self.jobs = {}
        self.taskids = 0

    def submit(self, jobpack):
        """Unpack a job pack (bytes) into its job home; the job's name."""
        pack = JobPack.loads(jobpack)
        name = "%s@%x:%x" % (pack.jobdict["prefix"], int(time.time()), len(self.jobs))
        home = self.jobhome(name)
        os.makedirs(home)
        with open(os.path.join(home, "jobfile"), "wb") as f:
            f.write(jobpack)
        zipfile.ZipFile(BytesIO(pack.jobhome)).extractall(home)
        os.chmod(os.path.join(home, pack.jobdict["worker"]), 0o755)
        self.jobs[name] = pack
        return name

    def jobhome(self, name):
        return os.path.join(self.disco_data, self.host, hexhash(name), name)

    def task_payload(self, name, stage, grouping, group, taskid):
        return {"taskid": taskid, "master": "http://%s:%s" % (self.host, self.disco_port),
                "disco_port": self.disco_port, "put_port": 8990, "ddfs_data": self.ddfs_data,
                "disco_data": self.disco_data, "stage": stage, "grouping": grouping,
                "group": list(group), "jobfile": os.path.join(self.jobhome(name), "jobfile"),
                "jobname": name, "host": self.host}

    def run_task(self, name, stage, inputs, grouping="split", group=(0, ""), taskid=None,
                 env=None, timeout=120, python=sys.executable):
        """Run one task; ``inputs`` = ``[(label, [url, ...]), ...]`` (ids 0, 1, ...). The worker
        gets ``DISCO_PYTHON=python`` as from our master (None: nothing, as from Disco 0.5's)."""
        pack = self.jobs[name]
        taskid = self._taskid() if taskid is None else taskid
        home = self.jobhome(name)
        environ = dict(pack.jobenvs, **({"DISCO_PYTHON": python} if python else {}), **(env or {}))
        environ.setdefault("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
        table = {i: [label, [[r, url] for r, url in enumerate(urls)], set()]
                 for i, (label, urls) in enumerate(inputs)}
        r, w = os.pipe()
        proc = subprocess.Popen([os.path.join(home, pack.jobdict["worker"])], cwd=home,
                                env=environ, stdin=subprocess.PIPE, stdout=w, stderr=w)
        os.close(w)
        run = TaskRun()
        with os.fdopen(r, "rb") as out:
            try:
                self._converse(run, out, proc.stdin, table,
                               self.task_payload(name, stage, grouping, group, taskid))
            except protocol.ProtocolError as e:
                proc.stdin.close()   # like the master: stop answering, collect the last words
                run.status, run.error = "crashed", (e.data + out.read()).decode(errors="replace")
        if not proc.stdin.closed:
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return run

    def _converse(self, run, out, inp, table, task):
        def reply(msg_type, payload):
            inp.write(protocol.encode(msg_type, payload))
            inp.flush()

        def entry(i):
            label, replicas, failed = table[i]
            return [i, "ok", label, [r for r in replicas if r[0] not in failed]]
        while True:
            message = protocol.read_message(out)
            if message is None:
                run.status = "crashed"
                return
            msg_type, payload = message
            run.log.append(message)
            if msg_type == "WORKER":
                assert payload["version"] == "1.1" and isinstance(payload["pid"], int)
                reply("OK", "ok")
            elif msg_type == "TASK":
                reply("TASK", task)
            elif msg_type == "INPUT":
                ids = list(table)
                if payload:
                    how, which = payload
                    ids = [i for i in ids if (i in which) == (how == "include")]
                reply("INPUT", ["done", [entry(i) for i in ids]])
            elif msg_type == "INPUT_ERR":
                run.input_errs.append(payload)
                table[payload[0]][2].update(payload[1])
                left = entry(payload[0])[3]
                reply("RETRY", left) if left else reply("FAIL", "")
            elif msg_type == "MSG":
                run.messages.append(payload)
                reply("OK", "ok")
            elif msg_type == "OUTPUT":
                run.outputs.append(payload)
                reply("OK", "ok")
            elif msg_type in ("DONE", "ERROR", "FATAL"):
                run.status, run.error = msg_type, payload or None
                return
            else:
                raise AssertionError("unexpected message %s %r" % (msg_type, payload))

    def _taskid(self):
        self.taskids += 1
        return self.taskids

    def write_index(self, name, stage, taskid, outputs):
        """The ``dir://`` URL of the index file of a task's local outputs."""
        home = self.jobhome(name)
        os.makedirs(os.path.join(home, ".disco"), exist_ok=True)
        filename = "%s-%d-%d.results" % (stage, taskid, int(time.time() * 1e6))
        prefix = "%s/disco/%s/%s/%s" % (self.host, self.host, hexhash(name), name)
        with open(os.path.join(home, ".disco", filename), "w") as f:
            for label, path, size in outputs:
                f.write("%d disco://%s/%s %d\n" % (label, prefix, path, size))
        return "dir://%s/.disco/%s" % (prefix, filename)

    def run_stage(self, name, stage, groups, grouping):
        """Run a task per ``(group, inputs)``; the index URL of each task's outputs."""
        results = []
        for group, inputs in groups:
            taskid = self._taskid()
            run = self.run_task(name, stage, inputs, grouping=grouping, group=group,
                                taskid=taskid)
            if run.status != "DONE":
                raise AssertionError("%s task failed: %s %s" % (stage, run.status, run.error))
            if run.outputs:
                results.append(self.write_index(name, stage, taskid, run.outputs))
        return results

    def run_classic(self, name):
        """Run a v1 job like the master (docs/jobs.md#groupings, one node); its result URLs."""
        jobdict = self.jobs[name].jobdict
        inputs = [i if isinstance(i, list) else [i] for i in jobdict["input"]]
        if jobdict["map?"]:
            dirs = self.run_stage(name, "map", [((0, self.host), [(0, urls)]) for urls in inputs],
                                  "split")
            dirs = self.run_stage(name, "map_shuffle",
                                  [((0, self.host), [("all", [d]) for d in dirs])], "group_node")
        else:
            dirs = [urls[0] for urls in inputs]
        if not jobdict["reduce?"]:
            return [[d] for d in dirs]
        if jobdict["nr_reduces"] == 1:
            groups = [((0, ""), [("all" if d.startswith("dir://") else 0, [d]) for d in dirs])]
            dirs = self.run_stage(name, "reduce", groups, "group_all")
        else:
            labels = sorted({label for d in dirs for label, _u, _s in read_index(d)})
            groups = [((label, ""), [(label, [d]) for d in dirs]) for label in labels]
            dirs = self.run_stage(name, "reduce", groups, "group_label")
        return [[d] for d in dirs]

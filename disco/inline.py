"""Running a job in the calling process, for debugging: ``Job().run(..., inline=True)``.

No master and no worker processes: the job pack is built as for a submission, the stages and
their tasks are made as the master makes them (``disco.master.jobspec`` for the pipeline,
``disco.master.grouping`` for the groups), and each task runs the job's own worker in this
process, one after the other, with the same readers, partitioning and record streams. The Worker
Protocol requests of a task are answered here (:class:`InlineChannel`): ``INPUT`` from the task's
inputs, ``OUTPUT`` collected into the task's index file, ``MSG`` printed to stderr. So ``print``
shows, ``pdb.set_trace()`` and breakpoints work in map and reduce functions, and an exception
propagates with its traceback.

Data goes under a temporary directory (``<tmp>/localhost/...``, the layout of a node named
``localhost``); the results are ``dir://`` URLs that ``result_iterator`` reads from there (they
carry the settings that say so). The directory stays until the process exits.
"""
import asyncio
import atexit
import importlib
import os
import shutil
import sys
import tempfile
import time

from disco.context import reset_task, set_task
from disco.core import Results
from disco.error import JobError
from disco.jobpack import JobPack
from disco.layout import job_path
from disco.master import jobspec
from disco.master.backends import write_atomically
from disco.master.grouping import group
from disco.master.jobinputs import job_outputs
from disco.master.outputs import TaskOutputs
from disco.master.taskinputs import TaskInputs
from disco.settings import DiscoSettings
from disco.task import Task, jobdata

NODE = "localhost"
channel_module = importlib.import_module("disco.worker.channel")  # (disco.worker.channel is also a function)


class InlineChannel:
    """The master's side of the Worker Protocol for one task run in this process."""

    def __init__(self, task_name, inputs):
        self.task_name = task_name
        self.inputs = inputs          # disco.master.taskinputs.TaskInputs
        self.outputs = []             # [label, relative path or URL, size]

    def request(self, msg_type, payload=""):
        if msg_type == "INPUT":
            return "INPUT", self.inputs.reply(payload)
        if msg_type == "INPUT_ERR":
            remaining = self.inputs.fail(payload)
            return ("RETRY", remaining) if remaining else ("FAIL", "")
        if msg_type == "OUTPUT":
            self.outputs.append(payload)
        elif msg_type == "MSG":
            print("[%s] %s" % (self.task_name, payload), file=sys.stderr)
        return "OK", "pong" if msg_type == "PING" else "ok"

    def post(self, msg_type, payload=""):
        pass

    def flush_messages(self, force=False):
        return "OK", "ok"


def run_inline(job, jobargs):
    """Run ``job`` (a :class:`disco.job.Job`) with ``jobargs`` here; its results."""
    worker = job.worker
    pack = JobPack(worker.jobpack_version, worker.jobdict(job, **jobargs),
                   worker.jobenvs(job, **jobargs), worker.jobhome(job, **jobargs),
                   jobdata(job, jobargs)).dumps()
    try:
        spec = jobspec.parse(pack)
    except jobspec.SubmitError as e:
        raise JobError(job, str(e)) from e
    root = tempfile.mkdtemp(prefix="disco-inline-")
    atexit.register(shutil.rmtree, root, True)
    settings = DiscoSettings(job.settings, DISCO_DATA=root)
    job.name = "%s@inline:%d" % (spec.prefix, int(time.time() * 1000))
    home = os.path.join(root, job_path(NODE, job.name))
    os.makedirs(home)
    jobfile = os.path.join(home, "jobfile")
    with open(jobfile, "wb") as f:
        f.write(pack)
    outputs = asyncio.run(job_outputs(spec.inputs, {"disco": root, "ddfs": settings["DDFS_DATA"]},
                                      int(settings["DISCO_PORT"])))
    taskid = 0
    saved = os.getcwd(), channel_module._channel
    os.chdir(home)
    try:
        for stage in spec.pipeline:
            done = []
            for (label, host), inputs in group(stage.grouping, outputs, choose=lambda urls: urls[0]):
                chan = InlineChannel("%s:%d" % (stage.name, taskid), TaskInputs(inputs))
                task = Task(taskid=taskid, master=settings["DISCO_MASTER"], disco_port=settings["DISCO_PORT"],
                            put_port=settings["DDFS_PUT_PORT"], ddfs_data=settings["DDFS_DATA"],
                            disco_data=root, stage=stage.name, grouping=stage.grouping,
                            group=[label, host], jobfile=jobfile, jobname=job.name, host=NODE)
                channel_module._channel = chan
                token = set_task(task)
                try:
                    task.makedirs()
                    task_job, task_jobargs = task.jobobjs
                    task_job.worker.run(task, task_job, **task_jobargs)
                    task_job.worker.end(task, task_job, **task_jobargs)
                finally:
                    reset_task(token)
                done += _outputs(chan.outputs, job.name, stage.name, taskid, home)
                taskid += 1
            outputs = done
    finally:
        os.chdir(saved[0])
        channel_module._channel = saved[1]
    return Results([o.result for o in outputs], settings)


def _outputs(reported, jobname, stage, taskid, home):
    """The task's outputs as the master records them: an index file of its local outputs, and
    its URL outputs."""
    outputs = TaskOutputs(NODE, jobname)
    for label, location, size in reported:
        outputs.add(label, location, size)
    name = ".disco/%s-%d.results" % (stage, taskid)
    index = outputs.index(name)
    if index is None:
        return outputs.data
    write_atomically(os.path.join(home, name), index[0])
    return [index[1]] + outputs.data

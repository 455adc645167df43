"""The job and task records shared by the coordinator, the scheduler and the worker host."""
from dataclasses import dataclass, field

from disco.master.outputs import url_host
from disco.master.taskinputs import TaskInputs


@dataclass(eq=False)
class JobRun:
    """A running job: its name, its job pack file on the master and the jobdict fields the
    workers need."""

    name: str
    jobfile: str
    worker: str
    jobenvs: dict
    max_cores: int
    started: float


@dataclass(eq=False)
class Task:
    """One task: stage, grouping, group ``(label, host)`` and inputs; ``failed_hosts`` are the
    nodes where it failed (avoided by the scheduler); ``runs`` counts attempts started,
    ``failures`` the recoverable failures, ``reruns`` the re-runs after its output was lost. ``admit``, when set, is asked by the scheduler whether
    the task may start now, given the job's running tasks per stage (a mapping; absent stages run none)."""

    job: JobRun
    taskid: int
    stage: str
    grouping: str
    group: tuple
    inputs: TaskInputs
    failed_hosts: set = field(default_factory=set)
    runs: int = 0
    failures: int = 0
    reruns: int = 0
    admit: object = None

    @property
    def name(self):
        """``<stage>:<taskid>`` as in events."""
        return "%s:%d" % (self.stage, self.taskid)

    @property
    def input_hosts(self):
        """Hosts holding a replica of some input (for data-local scheduling)."""
        return {url_host(u) for inp in self.inputs.inputs for u in inp.urls}

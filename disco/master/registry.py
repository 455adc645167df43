"""SQLite persistence of the master (``DISCO_ROOT/<DISCO_NAME>.sqlite3``).

Jobs (status, start time, pipeline, inputs, results), tasks (state, host, failures), stage results
and runtime settings survive a restart. Opening the registry turns jobs left ``active`` by a
previous master into ``dead``. All calls come from the event loop thread; each write commits.

The database runs in WAL mode with ``synchronous=NORMAL``: a commit is an append to the log,
synced only at checkpoints, so a task's state change costs microseconds instead of an fsync. A
crash of the master loses nothing (the log is in the file system); a power cut may lose the last
commits, which a restarted master treats like any job it did not see finish (``dead``).
"""
import json
import sqlite3
import time
from dataclasses import dataclass

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY, owner TEXT, worker TEXT, status TEXT, started REAL,
    pipeline TEXT, inputs TEXT, results TEXT);
CREATE TABLE IF NOT EXISTS tasks (
    job TEXT, taskid INTEGER, stage TEXT, state TEXT, host TEXT, failures INTEGER DEFAULT 0,
    PRIMARY KEY (job, taskid));
CREATE TABLE IF NOT EXISTS stage_results (
    job TEXT, stage TEXT, results TEXT, PRIMARY KEY (job, stage));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS job_ends (job TEXT PRIMARY KEY, ended REAL);
"""


@dataclass
class JobRecord:
    name: str
    owner: str
    worker: str
    status: str        # active | ready | dead
    started: float     # seconds since the epoch
    pipeline: list     # [[stage, grouping, concurrent], ...]
    inputs: list       # job input URLs, flattened
    results: list      # [[url, ...], ...] once ready


class Registry:
    """Jobs, tasks, stage results and settings in one SQLite file."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self):
        self.db.close()

    def dead_on_restart(self):
        """Mark jobs still ``active`` (their master died) as ``dead``; return their names."""
        names = [r[0] for r in self.db.execute("SELECT name FROM jobs WHERE status = 'active'")]
        self.db.execute("UPDATE jobs SET status = 'dead' WHERE status = 'active'")
        self.db.executemany("INSERT OR REPLACE INTO job_ends VALUES (?, ?)",
                            [(name, time.time()) for name in names])
        self.db.execute("UPDATE tasks SET state = 'waiting' WHERE state = 'running'")
        return names

    # jobs
    def add_job(self, name, owner, worker, started, pipeline, inputs):
        self.db.execute("INSERT INTO jobs VALUES (?, ?, ?, 'active', ?, ?, ?, '[]')",
                        (name, owner, worker, started, json.dumps(pipeline), json.dumps(inputs)))

    def finish_job(self, name, status, results=()):
        self.db.execute("UPDATE jobs SET status = ?, results = ? WHERE name = ?",
                        (status, json.dumps(list(results)), name))
        self.db.execute("INSERT OR REPLACE INTO job_ends VALUES (?, ?)", (name, time.time()))
        self.db.execute("UPDATE tasks SET state = 'waiting' WHERE job = ? AND state = 'running'",
                        (name,))

    def job(self, name):
        """The :class:`JobRecord` of ``name``, or None."""
        row = self.db.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
        return _record(row) if row else None

    def jobs(self):
        """All jobs, newest first."""
        return [_record(r) for r in self.db.execute("SELECT * FROM jobs ORDER BY started DESC")]

    def delete_job(self, name):
        for table, column in (("jobs", "name"), ("tasks", "job"), ("stage_results", "job"),
                              ("job_ends", "job")):
            self.db.execute("DELETE FROM %s WHERE %s = ?" % (table, column), (name,))

    # tasks
    def add_task(self, job, taskid, stage):
        self.db.execute("INSERT INTO tasks (job, taskid, stage, state) VALUES (?, ?, ?, 'waiting')",
                        (job, taskid, stage))

    def set_task(self, job, taskid, state, host=None):
        """Set a task's state (``waiting``, ``running``, ``done``) and, if given, its host."""
        self.db.execute("UPDATE tasks SET state = ?, host = coalesce(?, host) WHERE job = ? AND taskid = ?",
                        (state, host, job, taskid))

    def task_failed(self, job, taskid):
        self.db.execute("UPDATE tasks SET state = 'waiting', failures = failures + 1 "
                        "WHERE job = ? AND taskid = ?", (job, taskid))

    def ended(self, job):
        """When the job ended (seconds since the epoch), or None while it runs."""
        row = self.db.execute("SELECT ended FROM job_ends WHERE job = ?", (job,)).fetchone()
        return row[0] if row else None

    def job_ends(self):
        """``{job: when it ended}`` of the jobs that have ended."""
        return dict(self.db.execute("SELECT job, ended FROM job_ends"))

    def unfinished_tasks(self, job, limit=200):
        """``[taskid, stage, state, host, failures]`` of the job's tasks not done (at most
        ``limit``; running first, then by task id)."""
        rows = self.db.execute(
            "SELECT taskid, stage, state, host, failures FROM tasks WHERE job = ? AND state != 'done' "
            "ORDER BY state != 'running', taskid LIMIT ?", (job, limit))
        return [list(r) for r in rows]

    def stage_counts(self, job):
        """``{stage: (known, running, done, failures)}`` of the job's tasks."""
        rows = self.db.execute(
            "SELECT stage, count(*), sum(state = 'running'), sum(state = 'done'), sum(failures) "
            "FROM tasks WHERE job = ? GROUP BY stage", (job,))
        return {r[0]: tuple(r[1:]) for r in rows}

    def running_hosts(self, job):
        return [r[0] for r in self.db.execute(
            "SELECT host FROM tasks WHERE job = ? AND state = 'running' ORDER BY taskid", (job,))]

    # stage results
    def save_stage_results(self, job, stage, results):
        self.db.execute("INSERT OR REPLACE INTO stage_results VALUES (?, ?, ?)",
                        (job, stage, json.dumps(results)))

    def stage_results(self, job, stage):
        """The results of a finished stage, or None."""
        row = self.db.execute("SELECT results FROM stage_results WHERE job = ? AND stage = ?",
                              (job, stage)).fetchone()
        return json.loads(row[0]) if row else None

    # settings
    def setting(self, key, default):
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key, value):
        self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))


def _record(row):
    name, owner, worker, status, started, pipeline, inputs, results = row
    return JobRecord(name, owner, worker, status, started, json.loads(pipeline), json.loads(inputs),
                     json.loads(results))

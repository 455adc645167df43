"""The task attempts of a job (docs/master.md#attempts): what ran where, when, and how it ended.

An attempt is ``[stage, taskid, attempt, node, start, end, outcome]``: ``attempt`` counts the
task's runs from 1, ``start`` and ``end`` are seconds since the job started (to the millisecond;
``end`` is None while it runs), ``outcome`` is one of :data:`OUTCOMES`.

While its job runs, a :class:`JobAttempts` holds them in memory: the running ones, and the ended
ones in the order they ended. Recording costs no I/O per task: the ended attempts are appended to
``<job dir>/attempts`` (one JSON array a line) in batches, once ``FLUSH_COUNT`` have ended or
``FLUSH_SECONDS`` have passed since the last batch, and when the job ends (:meth:`close`). The
file is the record of a job that is not running; a master that crashed lost at most the batch
of its last seconds. Nothing here is O(attempts) per attempt; a reply is O(its attempts).
"""
import json
import os
import time

FILENAME = "attempts"
OUTCOMES = ("running", "done", "failed", "fatal", "lost_input", "killed")
FLUSH_COUNT = 1000
FLUSH_SECONDS = 5.0
MAX_REPLY = 10000       # ended attempts per reply at most (the next ones: ask again ``since``)


class JobAttempts:
    """The attempts of one running job started at ``started`` (seconds since the epoch), saved
    to the file ``path``."""

    def __init__(self, path, started):
        self.path, self.started = path, started
        self.ended = []         # ended attempts, in the order they ended
        self.running = {}       # id(attempt) -> attempt
        self.saved = 0          # ended attempts already in the file
        self.saved_at = time.monotonic()
        self.closed = False

    def start(self, task, node):
        """Record that ``task`` (:class:`disco.master.model.Task`, its ``runs`` counting this
        attempt) started on ``node``; return the attempt for :meth:`end`."""
        attempt = [task.stage, task.taskid, task.runs, node, self._now(), None, "running"]
        self.running[id(attempt)] = attempt
        return attempt

    def end(self, attempt, kind, lost_input=False):
        """``attempt`` ended with the worker host's outcome ``kind`` (``done``, ``error``,
        ``fatal``; ``killed``: it was cancelled); an ``error`` while an input of the task is
        being re-created is ``lost_input``, else ``failed``."""
        if self.running.pop(id(attempt), None) is None:
            return
        if kind == "error":
            kind = "lost_input" if lost_input else "failed"
        attempt[5], attempt[6] = self._now(), kind
        self.ended.append(attempt)
        if (len(self.ended) - self.saved >= FLUSH_COUNT
                or time.monotonic() - self.saved_at >= FLUSH_SECONDS):
            self.flush()

    def close(self):
        """The job has ended: an attempt still running is ``killed``; save what is not saved."""
        for attempt in list(self.running.values()):
            self.end(attempt, "killed")
        self.flush()
        self.closed = True

    def flush(self):
        """Append the ended attempts not yet saved to the file (its directory gone: the job was
        deleted, nothing to keep)."""
        self.saved_at = time.monotonic()
        if self.saved == len(self.ended):
            return
        lines = "".join(json.dumps(a) + "\n" for a in self.ended[self.saved:])
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(lines)
        except FileNotFoundError:
            pass
        self.saved = len(self.ended)

    def reply(self, since, limit=MAX_REPLY):
        """``(ended attempts since #since, at most limit; the running ones; the ended count;
        the next since)``."""
        ended = self.ended[since:since + limit]
        return ended, list(self.running.values()), len(self.ended), min(since, len(self.ended)) + len(ended)

    def _now(self):
        return round(time.time() - self.started, 3)


def read(path, since, limit=MAX_REPLY):
    """``(ended attempts since #since, at most limit; the ended count; the next since)`` from
    the file of a job not running (none if it has no file). Positions count lines; only the
    lines asked for are decoded; a line cut short by a crash, or that is not an attempt, is
    skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f if line.endswith("\n")]
    except FileNotFoundError:
        return [], 0, 0
    window = lines[since:since + limit]
    return ([a for a in map(_attempt, window) if a is not None], len(lines),
            min(since, len(lines)) + len(window))


def _attempt(line):
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, list) and len(value) == 7 and value[6] in OUTCOMES else None


def path(job_dir):
    return os.path.join(job_dir, FILENAME)

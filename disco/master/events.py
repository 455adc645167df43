"""Per-job event logs (docs/master.md#event-log): ``DISCO_MASTER_ROOT/<HH>/<job>/events``.

One JSON array per line, ``["YYYY/MM/DD HH:MM:SS", "<host or master>", "<message>"]\\n``, appended
as events happen (no buffering, so ``rawevents`` always serves what has been logged).
"""
import collections
import json
import os
import re

from disco.master.names import job_dir, timestamp

_UNSAFE = re.compile(r"[^A-Za-z0-9 _\-.:@/\[\]]")
MAX_EVENTS = 1000


class EventLog:
    """The event logs of all jobs under ``master_root``."""

    def __init__(self, master_root):
        self.master_root = master_root

    def path(self, jobname):
        return os.path.join(job_dir(self.master_root, jobname), "events")

    def add(self, jobname, message, host="master"):
        """Append one event line to the job's log (its directory must exist)."""
        line = json.dumps([timestamp(), host, message], ensure_ascii=False) + "\n"
        with open(self.path(jobname), "a", encoding="utf-8") as f:
            f.write(line)

    def tail(self, jobname, num=10, query=""):
        """The last ``num`` (at most 1000) events, newest first, as ``[time, host, message]``
        lists; ``query`` keeps only lines containing it (case-insensitive, reduced to a safe
        character set). A job without a log has no events."""
        num = max(0, min(num, MAX_EVENTS))
        needle = _UNSAFE.sub("", query).lower()
        try:
            with open(self.path(jobname), encoding="utf-8") as f:
                lines = collections.deque((line for line in f if needle in line.lower()), maxlen=num)
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in reversed(lines)]

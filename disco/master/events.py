"""Per-job event logs (docs/master.md#event-log): ``DISCO_MASTER_ROOT/<HH>/<job>/events``.

One JSON array per line, ``["YYYY/MM/DD HH:MM:SS", "<host or master>", "<message>"]\\n``, appended
as events happen (no buffering, so ``rawevents`` always serves what has been logged).

A log is capped at ``max_size`` bytes (``DISCO_MAX_EVENTS_SIZE``; 0: no cap). Both ends of a log
matter (how the job started, how it ended), so when it grows past the cap it is rewritten as its
first ``max_size / 2`` bytes of events, one marker event from the master, ``WARN: event log
truncated: <n> events dropped here ...``, and its last ``max_size / 4`` bytes of events; later
rewrites keep the same start and add to the marker's count. A rewrite replaces the file by rename,
so a reader sees the old log or the new one.
"""
import collections
import json
import os
import re

from disco.master.names import job_dir, timestamp

_UNSAFE = re.compile(r"[^A-Za-z0-9 _\-.:@/\[\]]")
MAX_EVENTS = 1000
OPEN_LOGS = 64
TRUNCATED = "WARN: event log truncated: %d events dropped here (DISCO_MAX_EVENTS_SIZE is %d bytes)"
_TRUNCATED = re.compile(r"WARN: event log truncated: (\d+) events dropped here ")


class EventLog:
    """The event logs of all jobs under ``master_root``, each at most ``max_size`` bytes (0: no
    cap) give or take one event."""

    def __init__(self, master_root, max_size=0):
        self.master_root = master_root
        self.max_size = max_size
        self._open = collections.OrderedDict()   # job name -> [unbuffered append file, size]

    def path(self, jobname):
        return os.path.join(job_dir(self.master_root, jobname), "events")

    def add(self, jobname, message, host="master"):
        """Append one event line to the job's log (its directory must exist). The logs of the
        last ``OPEN_LOGS`` jobs written stay open: an event is one ``write``, which reaches the
        file at once (no buffer)."""
        entry = self._open.get(jobname)
        if entry is None:
            f = open(self.path(jobname), "ab", buffering=0)
            entry = self._open[jobname] = [f, os.fstat(f.fileno()).st_size]
            if len(self._open) > OPEN_LOGS:
                self._open.popitem(last=False)[1][0].close()
        else:
            self._open.move_to_end(jobname)
        entry[1] += entry[0].write(_line(host, message).encode("utf-8"))
        if self.max_size and entry[1] > self.max_size:
            self.forget(jobname)
            self._shrink(self.path(jobname))

    def forget(self, jobname):
        """Close the job's log if it is open (before it is rewritten or deleted)."""
        entry = self._open.pop(jobname, None)
        if entry is not None:
            entry[0].close()

    def _shrink(self, path):
        """Rewrite the log at ``path`` as its start, the marker and its end (module doc)."""
        with open(path, "rb") as f:
            lines = f.readlines()
        marker = next((i for i, line in enumerate(lines) if _dropped(line) is not None), None)
        if marker is None:
            head = _fitting(lines, self.max_size // 2)
            dropped, rest = 0, lines[len(head):]
        else:
            head, dropped, rest = lines[:marker], _dropped(lines[marker]), lines[marker + 1:]
        tail = _fitting(rest[::-1], self.max_size // 4)[::-1]
        dropped += len(rest) - len(tail)
        tmp = path + ".shrinking"
        with open(tmp, "wb") as f:
            f.writelines(head)
            f.write(_line("master", TRUNCATED % (dropped, self.max_size)).encode("utf-8"))
            f.writelines(tail)
        os.replace(tmp, path)

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


def _line(host, message):
    return json.dumps([timestamp(), host, message], ensure_ascii=False) + "\n"


def _fitting(lines, budget):
    """The longest prefix of ``lines`` whose total size is at most ``budget`` bytes."""
    for i, line in enumerate(lines):
        budget -= len(line)
        if budget < 0:
            return lines[:i]
    return lines


def _dropped(line):
    """The count of a marker line written by a rewrite, else None. Only the master writes
    messages that start with ``WARN: event log`` (worker texts are prefixed ``MSG:`` etc.)."""
    if b"WARN: event log truncated" not in line:
        return None
    try:
        _time, host, message = json.loads(line)
    except ValueError:
        return None
    m = _TRUNCATED.match(message) if host == "master" and isinstance(message, str) else None
    return int(m.group(1)) if m else None

"""The journal of the worker process groups a master started (so that its successor can kill them).

A master that crashes leaves its workers running. Each worker leads its own process group; the
master appends ``+<pgid> <start time>`` to one journal file when it starts a worker and
``-<pgid>`` when the worker's attempt ends (one ``write`` to a file opened for appending: no file
per attempt). The start time (clock ticks since boot, from ``/proc/<pid>/stat``) guards against a
reused pid: a group is killed only if its leader is the very process that was recorded.

:meth:`GroupJournal.open` (at master start) reads what a previous master left, kills the groups
still alive, and starts an empty journal. While the master runs, the journal is rewritten with
only the live groups once it grows past :data:`COMPACT_BYTES`. A line cut short by a crash is
ignored.
"""
import os
import signal

COMPACT_BYTES = 1 << 20


class GroupJournal:
    def __init__(self, path):
        self.path = path
        self.live = {}      # pgid -> start time (str) of the groups running now
        self.fd = None
        self.size = 0

    def open(self):
        """Kill the groups a previous master left (see the module doc); start a new journal."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        for pgid, started in read(self.path).items():
            if started and start_time(pgid) == started:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except OSError:
                    pass
        self._rewrite()

    def add(self, pgid):
        """Record the running group ``pgid``."""
        started = start_time(pgid) or ""
        self.live[pgid] = started
        self._append("+%d %s\n" % (pgid, started))

    def remove(self, pgid):
        """``pgid`` has ended (idempotent)."""
        if self.live.pop(pgid, None) is not None:
            self._append("-%d\n" % pgid)
            if self.size > COMPACT_BYTES:
                self._rewrite()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _append(self, line):
        if self.fd is None:
            return
        data = line.encode("ascii")
        try:
            os.write(self.fd, data)
            self.size += len(data)
        except OSError:
            pass    # a full disk: the journal is a safety net, the attempt goes on

    def _rewrite(self):
        self.close()
        text = "".join("+%d %s\n" % item for item in self.live.items())
        tmp = self.path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self.size = len(text)


def read(path):
    """``{pgid: start time}`` of the groups a journal says are running."""
    live = {}
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("ascii", "replace").split("\n")
    except FileNotFoundError:
        return live
    for line in lines[:-1]:         # the last one is empty, or cut short by a crash
        fields = line[1:].split(" ")
        if not fields[0].isdigit():
            continue
        if line.startswith("+") and len(fields) == 2:
            live[int(fields[0])] = fields[1]
        elif line.startswith("-"):
            live.pop(int(fields[0]), None)
    return live


def start_time(pid):
    """The start time (clock ticks since boot) of process ``pid`` from /proc, or None."""
    try:
        fd = os.open("/proc/%d/stat" % pid, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    fields = data.rsplit(b")", 1)[-1].split()
    return fields[19].decode("ascii") if len(fields) > 19 else None

"""Console output of job events while a client waits (``disco.eventmonitor`` of Disco 0.5).

``EventMonitor(job, format, poll_interval)`` polls ``job.events(offset)`` and ``job.jobinfo()``
at most every ``poll_interval`` seconds and prints new events, then a status line
``Status: [stage] P pending, W waiting, R running, D done, F failed`` (the last stage with
tasks) whenever it changes. ``format``: falsy = silent, ``'json'`` = one JSON array per event,
``'nocolor'`` = plain text, ``'progress'`` = no events but one line rewritten in place (stages
with tasks done/total, failures, elapsed time), anything else = ANSI colours when the stream is
a terminal, plain text otherwise. Events go to stderr unless another ``stream`` is given, so
that they never mix with what a program prints on stdout.
"""
import json
import sys
import time


class EventWriter(object):
    """Prints nothing."""

    enabled = False

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def event(self, event):
        pass

    def status(self, text):
        pass

    def progress(self, jobinfo):
        pass

    def finish(self):
        pass

    def write(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()


class TextEventWriter(EventWriter):
    enabled = True

    def event(self, event):
        timestamp, host, message = event
        self.write("%s %s %s" % (timestamp, host, message))

    def status(self, text):
        self.write(text)


class ANSIEventWriter(TextEventWriter):
    COLORS = (("ERROR", "31"), ("FATAL", "31"), ("WARN", "33"), ("READY", "32"))

    def event(self, event):
        timestamp, host, message = event
        color = next((c for prefix, c in self.COLORS if str(message).startswith(prefix)), "0")
        self.write("\033[1m%s \033[36m%s\033[0m \033[%sm%s\033[0m"
                   % (timestamp, host, color, message))

    def status(self, text):
        self.write("\033[1m%s\033[0m" % text)


class JSONEventWriter(TextEventWriter):
    def event(self, event):
        self.write(json.dumps(list(event)))

    def status(self, text):
        pass


class ProgressWriter(EventWriter):
    """One line, rewritten in place: ``<job>: map 2/2, reduce 1/3 (2 running), 1 failed, 12s``."""

    enabled = True

    def __init__(self, stream=None, name=""):
        super().__init__(stream)
        self.name = name
        self.started = time.monotonic()
        self.width = 0

    def progress(self, jobinfo):
        line = "%s: %s, %ds" % (self.name, progress_line(jobinfo), time.monotonic() - self.started)
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)

    def finish(self):
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def event_writer(format, stream=None, name=""):
    """The writer of ``format`` (see the module doc) on ``stream``, for the job ``name``."""
    if not format:
        return EventWriter(stream)
    if format == "progress":
        return ProgressWriter(stream, name)
    if format not in ("json", "nocolor"):
        isatty = getattr(stream or sys.stderr, "isatty", None)
        format = "ansi" if isatty is not None and isatty() else "nocolor"
    return {"json": JSONEventWriter, "nocolor": TextEventWriter}.get(format, ANSIEventWriter)(stream)


class EventMonitor(object):
    """See the module doc; ``job`` has ``events(offset=...)`` and ``jobinfo()``."""

    def __init__(self, job, format=None, poll_interval=2, stream=None):
        self.job = job
        self.writer = event_writer(format, stream, getattr(job, "name", ""))
        self.poll_interval = poll_interval
        self.offset = 0
        self.last_poll = float("-inf")
        self.last_status = None

    @property
    def isenabled(self):
        return self.writer.enabled

    def refresh(self):
        if self.isenabled and time.monotonic() - self.last_poll >= self.poll_interval:
            self.last_poll = time.monotonic()
            self.update()

    def update(self):
        for offset, event in self.job.events(offset=self.offset):
            self.offset = offset
            self.writer.event(event)
        jobinfo = self.job.jobinfo()
        self.writer.progress(jobinfo)
        status = stage_status(jobinfo)
        if status and status != self.last_status:
            self.last_status = status
            self.writer.status(status)

    def done(self):
        if self.isenabled:
            try:
                self.update()
            finally:
                self.writer.finish()


def stage_status(jobinfo):
    """The status line of the last stage that has tasks, or None."""
    for stage, *counts in reversed(jobinfo.get("pipeline") or []):
        if any(counts):
            return ("Status: [%s] %d pending, %d waiting, %d running, %d done, %d failed"
                    % tuple([stage] + counts[:5]))
    return None


def progress_line(jobinfo):
    """``map 2/2, reduce 1/3 (2 running), 1 failed``: per stage its tasks done/known (``-`` before
    it has tasks), then the failed task attempts of the job."""
    parts, failed = [], 0
    for stage, _pending, waiting, running, done, stage_failed in jobinfo.get("pipeline") or []:
        known = waiting + running + done
        parts.append("%s %s" % (stage, "%d/%d" % (done, known) if known else "-")
                     + (" (%d running)" % running if running else ""))
        failed += stage_failed
    return ", ".join(parts + ["%d failed" % failed])

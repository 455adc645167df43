"""Console output of job events while a client waits (``disco.eventmonitor`` of Disco 0.5).

``EventMonitor(job, format, poll_interval)`` polls ``job.events(offset)`` and ``job.jobinfo()``
at most every ``poll_interval`` seconds and prints new events, then a status line
``Status: [stage] P pending, W waiting, R running, D done, F failed`` (the last stage with
tasks) whenever it changes. ``format``: falsy = silent, ``'json'`` = one JSON array per event,
``'nocolor'`` = plain text, anything else = ANSI colours.
"""
import json
import sys
import time


class EventWriter(object):
    """Prints nothing."""

    enabled = False

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def event(self, event):
        pass

    def status(self, text):
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


def event_writer(format, stream=None):
    if not format:
        return EventWriter(stream)
    writer = {"json": JSONEventWriter, "nocolor": TextEventWriter}.get(format, ANSIEventWriter)
    return writer(stream)


class EventMonitor(object):
    """See the module doc; ``job`` has ``events(offset=...)`` and ``jobinfo()``."""

    def __init__(self, job, format=None, poll_interval=2, stream=None):
        self.job = job
        self.writer = event_writer(format, stream)
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
        status = stage_status(self.job.jobinfo())
        if status and status != self.last_status:
            self.last_status = status
            self.writer.status(status)

    def done(self):
        if self.isenabled:
            self.update()


def stage_status(jobinfo):
    """The status line of the last stage that has tasks, or None."""
    for stage, *counts in reversed(jobinfo.get("pipeline") or []):
        if any(counts):
            return ("Status: [%s] %d pending, %d waiting, %d running, %d done, %d failed"
                    % tuple([stage] + counts[:5]))
    return None

"""Names and time formats of the master (docs/formats/urls.md, docs/master.md#event-log)."""
import time

from disco.layout import hexhash, job_path  # noqa: F401  (hexhash: used by master.ddfs)


def job_dir(root, jobname):
    """``<root>/<HH>/<jobname>``: where a job's files live (master root or a node's data dir)."""
    return job_path(root.rstrip("/"), jobname)


class JobNamer:
    """Unique job names ``<prefix>@<MegaSecs hex>:<Secs hex>:<MicroSecs hex>`` from the clock.

    Successive names are strictly increasing in time even if the clock stalls or steps back."""

    def __init__(self):
        self._last = 0

    def __call__(self, prefix):
        micros = max(time.time_ns() // 1000, self._last + 1)
        self._last = micros
        secs, usec = divmod(micros, 10 ** 6)
        mega, secs = divmod(secs, 10 ** 6)
        return "%s@%x:%x:%x" % (prefix, mega, secs, usec)


def timestamp(when=None):
    """Local time as ``YYYY/MM/DD HH:MM:SS`` (event lines, jobinfo)."""
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(when))


def duration(seconds):
    """``H:MM:SS.mmm`` (task, stage and job durations in events)."""
    millis = int(round(seconds * 1000))
    secs, millis = divmod(millis, 1000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    return "%d:%02d:%02d.%03d" % (hours, mins, secs, millis)


def ordinal(n):
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return "%d%s" % (n, suffix)


def count(n, noun):
    """``1 task``, ``2 tasks``, ``0 tasks``."""
    return "%d %s%s" % (n, noun, "" if n == 1 else "s")

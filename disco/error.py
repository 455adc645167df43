"""Disco's exception types (Disco 0.5 names and messages)."""


class DiscoError(Exception):
    """The base class of every Disco error."""


class JobError(DiscoError):
    """A job failed; ``str`` is ``Job <name> failed: <message>``."""

    def __init__(self, job, message):
        self.job = job
        self.message = message
        super().__init__(job, message)

    @property
    def name(self):
        return getattr(self.job, "name", self.job)

    def __str__(self):
        return "Job %s failed: %s" % (self.name, self.message)


class DataError(DiscoError):
    """A recoverable failure to read data: the task is retried elsewhere.

    ``str`` is ``Unable to access resource (<url>): <msg>[ (<code>)]``.
    """

    def __init__(self, msg, url, code=None):
        self.msg = msg
        self.url = url
        self.code = code
        super().__init__(msg, url, code)

    def __str__(self):
        s = "Unable to access resource (%s): %s" % (self.url, self.msg)
        return s + (" (%s)" % self.code if self.code is not None else "")


class InputMissing(DataError):
    """A job input that does not exist (no such local file, HTTP 404 or 410) on every replica:
    no retry can heal it, so the task fails the job at once (FATAL) instead of being retried."""


class CommError(DataError):
    """An HTTP or network failure; ``code`` is the HTTP status, or None."""

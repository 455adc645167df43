"""The task this code runs for: one explicit context instead of module globals.

A worker process sets it once it has its task (``disco.worker.Worker.start``); the schemes read
it to find the task's data directories and port (the locality rule), the classic worker's helper
functions (``this_name``, ``get``, ...) to answer for the running task. On a client it is unset
and readers fall back to the client's settings. A ``contextvars.ContextVar``: threads and asyncio
tasks started with a copied context see the same task, tests may run several in one process.
"""
import contextvars

_task = contextvars.ContextVar("disco_task", default=None)


def current_task():
    """The running ``disco.task.Task``, or None outside a task."""
    return _task.get()


def set_task(task):
    """Make ``task`` the current one (None: no task); a token for ``reset_task``."""
    return _task.set(task)


def reset_task(token):
    _task.reset(token)

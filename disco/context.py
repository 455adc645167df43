"""Where code runs: one explicit context instead of module globals and environment reads.

Two context variables (``contextvars``: threads and asyncio tasks started with a copied context
see the same values, and tests may use several masters in one process):

* the **task**: set by a worker once it has its task (``disco.worker.Worker.start``). The schemes
  read it for the task's data directories and port (the locality rule), the classic worker's
  helper functions (``this_name``, ``get``, ...) to answer for the running task.
* the **client settings**: the ``DiscoSettings`` of the ``Disco``/``Job``/``DDFS`` object whose
  work is being done (``run_with``). Readers outside a task take ``DISCO_DATA``, ``DDFS_DATA``,
  ``DISCO_PORT`` and ``DISCO_PROXY`` from them; with none set, from ``DiscoSettings()`` (the
  environment and settings file).
"""
import contextvars

from disco.settings import DiscoSettings

_task = contextvars.ContextVar("disco_task", default=None)
_settings = contextvars.ContextVar("disco_settings", default=None)


def current_task():
    """The running ``disco.task.Task``, or None outside a task."""
    return _task.get()


def set_task(task):
    """Make ``task`` the current one (None: no task); a token for ``reset_task``."""
    return _task.set(task)


def reset_task(token):
    _task.reset(token)


def current_settings():
    """The client settings of the work being done, else ``DiscoSettings()``."""
    settings = _settings.get()
    return DiscoSettings() if settings is None else settings


def run_with(settings, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with ``settings`` as the client settings (None: unchanged)."""
    if settings is None:
        return fn(*args, **kwargs)
    context = contextvars.copy_context()
    context.run(_settings.set, settings)
    return context.run(fn, *args, **kwargs)

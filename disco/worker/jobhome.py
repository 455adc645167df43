"""The job home of a Python worker: a zip archive the master unpacks on each node, the
worker's working directory (docs/formats/jobpack.md).

It holds the launcher ``disco_worker`` (:func:`launcher_script`), ``required_files`` and the
user's own modules (``disco.worker.modutil``); never the disco package or compiled files: nodes
have this package installed.

The master runs the launcher with cwd = the job home. It runs ``python -m disco.worker`` with the
first interpreter of: ``$DISCO_PYTHON`` (our master sets it; trusted as given), the interpreter
that submitted the job (its absolute path, when that is on the node and has this package),
``python3`` (when it has this package). Masters that set nothing (Disco 0.5's) thus still find
the package. When no interpreter has it, the launcher's last words (stderr, which the master
reports) say so and which ones it tried. Checking costs one short interpreter start per
candidate, only when ``DISCO_PYTHON`` is unset.
"""
import io
import os
import shlex
import sys
import zipfile

LAUNCHER = "disco_worker"
_HAS_DISCO = 'import importlib.util as u, sys; sys.exit(u.find_spec("disco.worker") is None)'


def launcher_script(python=None):
    """The launcher (bytes) for a job submitted by the interpreter ``python`` (default: this one)."""
    candidates = (python or sys.executable, "python3")
    failure = ("disco_worker: no Python interpreter on this node has the disco package (tried:"
               " DISCO_PYTHON (unset), %s). Install Disco for one of them, or set DISCO_PYTHON"
               " (for example in the job's environment)." % ", ".join(candidates))
    return ("#!/bin/sh\n"
            '[ -z "$DISCO_PYTHON" ] || exec "$DISCO_PYTHON" -m disco.worker "$@"\n'
            "for py in %s; do\n"
            '    "$py" -c %s >/dev/null 2>&1 && exec "$py" -m disco.worker "$@"\n'
            "done\n"
            "echo %s >&2\n"
            "exit 127\n" % (" ".join(map(shlex.quote, candidates)), shlex.quote(_HAS_DISCO),
                            shlex.quote(failure))).encode()


LAUNCHER_SCRIPT = launcher_script()


def _executable(name):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def launcher(home):
    """Add the launcher ``disco_worker`` (executable) to the DiscoZipFile ``home``."""
    home.writestr(_executable(LAUNCHER), launcher_script())


class DiscoZipFile(zipfile.ZipFile):
    """A zip archive built in memory (the job home): ``writepath``, ``writemodule``,
    ``writesource``, ``dump(handle)``, ``dumps()``."""

    def __init__(self):
        self.buffer = io.BytesIO()
        super().__init__(self.buffer, "w", zipfile.ZIP_DEFLATED)

    def writepath(self, path, arcname=None, exclude=()):
        """Add file ``path`` (a directory: its files, recursively) as ``arcname`` (default: the
        path with the leading ``/`` dropped)."""
        arcname = arcname or path.lstrip("/")
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if not any(name.endswith(x) for x in exclude):
                    self.writepath(os.path.join(path, name), os.path.join(arcname, name), exclude)
        elif arcname not in self.namelist():
            self.write(path, arcname)

    def writemodule(self, module, arcname=None):
        """Add the source file of ``module`` (an object or a name)."""
        if isinstance(module, str):
            module = __import__(module, fromlist=["__name__"])
        self.writepath(module.__file__, arcname)

    def writesource(self, object):
        """Add the source file of the module defining ``object``."""
        import inspect
        self.writepath(inspect.getsourcefile(inspect.getmodule(object)))

    def dump(self, handle):
        handle.write(self.dumps())

    def dumps(self):
        if self.fp is not None:
            self.close()
        return self.buffer.getvalue()

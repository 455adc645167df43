"""The job home of a Python worker: a zip archive the master unpacks on each node, the
worker's working directory (docs/formats/jobpack.md).

It holds the launcher ``disco_worker`` (``exec "${DISCO_PYTHON:-python3}" -m disco.worker``),
``required_files`` and the user's own modules (``disco.worker.modutil``); never the disco package
or compiled files: nodes have this package installed.
"""
import io
import os
import zipfile

LAUNCHER = "disco_worker"
LAUNCHER_SCRIPT = b'#!/bin/sh\nexec "${DISCO_PYTHON:-python3}" -m disco.worker "$@"\n'


def _executable(name):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def launcher(home):
    """Add the launcher ``disco_worker`` (executable) to the DiscoZipFile ``home``."""
    home.writestr(_executable(LAUNCHER), LAUNCHER_SCRIPT)


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

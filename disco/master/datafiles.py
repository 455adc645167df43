"""Safe resolution of ``GET /disco/<path>`` under ``DISCO_DATA`` (SPEC §3.2).

Only regular files inside the data root are served: a path with a ``..`` segment, or one whose
real path (symbolic links resolved) leaves the root, is forbidden; so is anything not a file.
"""
import os


class Forbidden(Exception):
    """The path may not be served."""


def resolve(root, relpath):
    """The real path of the file ``root/relpath``; raises :class:`Forbidden` or FileNotFoundError."""
    if relpath.startswith("/") or "\0" in relpath or ".." in relpath.split("/"):
        raise Forbidden(relpath)
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(real_root, relpath))
    if not path.startswith(real_root + os.sep):
        raise Forbidden(relpath)
    if not os.path.exists(path):
        raise FileNotFoundError(relpath)
    if not os.path.isfile(path):
        raise Forbidden(relpath)
    return path

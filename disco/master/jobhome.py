"""Unpacking a job home on a node (SPEC §6.5).

``DISCO_DATA/<node>/<HH>/<job>/`` receives the job pack as ``jobfile``, the files of the jobhome
zip, an executable worker and finally the empty marker ``.jobhome``; a directory that has the
marker is left alone. Zip entries that would land outside the job home are refused.
"""
import io
import os
import shutil
import stat
import zipfile

from disco.jobpack import JobPack, JobPackError


class JobHomeError(Exception):
    """The job home cannot be unpacked (bad zip, escaping entry, missing worker)."""


def unpack(home, jobfile, worker):
    """Make ``home`` the job home of the job pack file ``jobfile`` whose worker is ``worker``
    (relative path). Blocking; idempotent once ``home/.jobhome`` exists."""
    marker = os.path.join(home, ".jobhome")
    if os.path.exists(marker):
        return
    os.makedirs(home, exist_ok=True)
    shutil.copyfile(jobfile, os.path.join(home, "jobfile"))
    try:
        with open(jobfile, "rb") as f:
            archive = zipfile.ZipFile(_section(f))
        with archive:
            for info in archive.infolist():
                _extract(archive, info, home)
    except (zipfile.BadZipFile, JobPackError) as e:
        raise JobHomeError("invalid job home: %s" % e) from None
    path = os.path.join(home, worker)
    if not os.path.isfile(path):
        raise JobHomeError("worker %r not found in the job home" % worker)
    os.chmod(path, 0o755)
    open(marker, "w").close()


def _section(f):
    """A file object over the jobhome section of the job pack file ``f``."""
    _dict, _envs, home_at, data_at = JobPack.offsets(f)
    f.seek(home_at)
    return io.BytesIO(f.read(data_at - home_at))


def _extract(archive, info, home):
    parts = info.filename.replace("\\", "/").split("/")
    if info.filename.startswith("/") or ".." in parts:
        raise JobHomeError("job home entry %r escapes the job home" % info.filename)
    target = archive.extract(info, home)
    mode = info.external_attr >> 16
    if not info.is_dir() and mode & 0o111:
        os.chmod(target, stat.S_IMODE(mode) | 0o700)

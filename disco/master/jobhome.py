"""Unpacking a job home on a node (docs/master.md#job-homes).

``DISCO_DATA/<node>/<HH>/<job>/`` receives the job pack as ``jobfile``, the files of the jobhome
zip, an executable worker and finally the empty marker ``.jobhome``; a directory that has the
marker is left alone. Refused, with a :class:`JobHomeError` naming the entry: entries that would
land outside the job home or on the names the master uses there (``jobfile``, ``.jobhome``,
``.disco``), and a zip whose entries unpack to more than ``DISCO_MAX_JOBHOME_SIZE`` bytes (counted
as they are written, not as the zip declares them; 0 = no cap). Files keep only their user, group
and other read/execute bits and the owner's write bit: no setuid, setgid, sticky or group/world
write.
"""
import io
import os
import shutil
import stat
import zipfile
import zlib

from disco.jobpack import JobPack, JobPackError
from disco.settings import DiscoSettings

RESERVED = ("jobfile", ".jobhome", ".disco")
COPY_CHUNK = 1 << 20


class JobHomeError(Exception):
    """The job home cannot be unpacked (bad zip, escaping entry, too big, missing worker)."""


def unpacked(home):
    """True once ``home`` is a complete job home (one ``stat``: callers may skip :func:`unpack`)."""
    return os.path.exists(os.path.join(home, ".jobhome"))


def unpack(home, jobfile, worker, max_size=None):
    """Make ``home`` the job home of the job pack file ``jobfile`` whose worker is ``worker``
    (relative path); ``max_size`` bytes at most (default ``DISCO_MAX_JOBHOME_SIZE`` of this
    process's settings). Blocking; idempotent once ``home/.jobhome`` exists."""
    if unpacked(home):
        return
    if max_size is None:
        max_size = DiscoSettings().getint("DISCO_MAX_JOBHOME_SIZE")
    os.makedirs(home, exist_ok=True)
    _link_or_copy(jobfile, os.path.join(home, "jobfile"))
    try:
        with open(jobfile, "rb") as f, zipfile.ZipFile(_section(f)) as archive:
            budget = [max_size or float("inf")]
            for info in archive.infolist():
                _extract(archive, info, home, budget, max_size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, JobPackError) as e:
        raise JobHomeError("invalid job home: %s" % e) from None
    path = os.path.join(home, worker)
    if not os.path.isfile(path):
        raise JobHomeError("worker %r not found in the job home" % worker)
    os.chmod(path, 0o755)
    open(os.path.join(home, ".jobhome"), "w").close()


def _link_or_copy(src, dst):
    """``dst`` becomes a hard link to ``src`` (the same file system: no copy, no new inode; a job
    pack never changes once submitted), else a copy."""
    try:
        os.unlink(dst)      # left by an unpacking that did not finish
    except FileNotFoundError:
        pass
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _section(f):
    """A file object over the jobhome section of the job pack file ``f`` (not read into memory)."""
    _dict, _envs, home_at, data_at = JobPack.offsets(f)
    return io.BufferedReader(_Window(f, home_at, data_at), COPY_CHUNK)


class _Window(io.RawIOBase):
    """The bytes ``start``..``end`` of the seekable binary file ``f``, as a seekable file."""

    def __init__(self, f, start, end):
        super().__init__()
        self.f, self.start, self.size, self.pos = f, start, end - start, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the job home")
        self.pos = base + offset
        return self.pos

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.size - self.pos))
        self.f.seek(self.start + self.pos)
        data = self.f.read(n)
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def _extract(archive, info, home, budget, max_size):
    """Write the entry ``info`` under ``home``, taking its size from ``budget[0]``."""
    name = info.filename
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith(("/", "\\")) or ".." in parts or "\0" in name:
        raise JobHomeError("job home entry %r escapes the job home" % name)
    if not parts:
        return
    if parts[0] in RESERVED:
        raise JobHomeError("job home entry %r uses a name the master keeps for itself (%s)"
                           % (name, ", ".join(RESERVED)))
    target = os.path.join(home, *parts)
    try:
        if info.is_dir():
            os.makedirs(target, exist_ok=True)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(COPY_CHUNK):
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise JobHomeError("job home unpacks to more than %d bytes "
                                       "(DISCO_MAX_JOBHOME_SIZE), at entry %r" % (max_size, name))
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
            RuntimeError) as e:
        raise JobHomeError("invalid job home entry %r: %s" % (name, e)) from None
    except OSError as e:
        raise JobHomeError("cannot unpack job home entry %r: %s" % (name, e.strerror or e)) from None
    mode = stat.S_IMODE(info.external_attr >> 16)
    if mode & 0o111:
        os.chmod(target, (mode & 0o755) | 0o700)

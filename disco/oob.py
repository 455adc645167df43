"""Out-of-band results (docs/ddfs.md#out-of-band-results): small values a task stores under a
key, kept as blobs of the job's DDFS tag ``disco:job:oob:<job>`` (``disco.util.save_oob`` and
``load_oob`` of Disco 0.5, which ``disco.util`` still answers for). Above the DDFS client."""
from disco.ddfs import DDFS


def save_oob(host, name, key, value, ddfs=None):
    """Store ``value`` (bytes; str is UTF-8 encoded) as blob ``key`` in job ``name``'s OOB tag
    ``disco:job:oob:<name>`` on the master ``host`` (a delayed tag update)."""
    ddfs = ddfs or DDFS(host)
    if isinstance(value, str):
        value = value.encode("utf-8")
    ddfs.push(DDFS.job_oob(name), [(value, key)], delayed=True)


def load_oob(host, name, key, settings=None):
    """The newest value stored for ``key`` in job ``name``'s OOB tag (bytes), or None."""
    ddfs = DDFS(host, settings=settings)
    for fd in ddfs.pull(DDFS.job_oob(name), blobfilter=lambda blob: blob == key):
        with fd:
            return fd.read()
    return None

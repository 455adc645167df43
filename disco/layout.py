"""Where Disco data lives, as strings: the formats the master and the workers both read and write.

No I/O here (nothing opens a file or a socket), so that the master, the workers and the clients
share one definition of each (docs/formats/urls.md, docs/formats/index-files.md):

* ``hexhash(name)``: ``HH``, the first byte of the MD5 of a name as two lowercase hex digits.
* Data URLs: a task output is ``disco://<node>/disco/<node>/<HH(job)>/<job>/<path in the job
  home>``; the job home of a node is ``DISCO_DATA/<node>/<HH(job)>/<job>``.
* Index files: one line per output, ``<label> <url> <size>``; a reader takes the first URL when a
  line lists several replicas (``<label> <url> <url> ... <size>``).
* The locality rule: ``disco://H/disco/<rest>`` (or ``dir://``) is the file ``DISCO_DATA/<rest>``
  when it exists on this machine, else ``http://H:<DISCO_PORT>/disco/<rest>``; ``/ddfs/<rest>``
  likewise under ``DDFS_DATA``. ``locate`` gives both candidates; callers check the file.
"""
import functools
import hashlib
import os


@functools.lru_cache(maxsize=4096)     # the master hashes the same job names for every task
def hexhash(name):
    """``HH`` of ``name`` (str, UTF-8 encoded, or bytes)."""
    if isinstance(name, str):
        name = name.encode("utf-8")
    return hashlib.md5(name).hexdigest()[:2]


# -- data URLs ------------------------------------------------------------------------------------

def job_path(node, jobname):
    """``<node>/<HH>/<job>``: the job home of ``node``, relative to ``DISCO_DATA``."""
    return "%s/%s/%s" % (node, hexhash(jobname), jobname)


def data_url(scheme, node, jobname, relpath):
    """The URL (``disco://`` data, ``dir://`` index) of ``relpath`` in the job home of ``node``."""
    return "%s://%s/disco/%s/%s" % (scheme, node, job_path(node, jobname), relpath)


# -- index files ----------------------------------------------------------------------------------

def index_line(label, url, size):
    """One line of an index file: ``"<label> <url> <size>\\n"``."""
    return "%d %s %d\n" % (label, url, size)


def parse_index_line(line):
    """``(label, url, size)`` of one non-blank index line (the first URL of a replica list);
    ValueError saying what is wrong otherwise."""
    fields = line.split()
    if len(fields) < 3:
        raise ValueError("expected '<label> <url> <size>', got %d field(s)" % len(fields))
    try:
        return int(fields[0]), fields[1], int(fields[-1])
    except ValueError:
        raise ValueError("label and size must be integers") from None


def index_entries(text):
    """``(line number, (label, url, size))`` of each non-blank line of index file ``text``;
    ValueError naming the line for a bad one."""
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.strip():
            try:
                yield lineno, parse_index_line(line)
            except ValueError as e:
                raise ValueError("line %d is %r: %s" % (lineno, line[:200], e)) from None


# -- the locality rule ----------------------------------------------------------------------------

def local_path(path, roots):
    """The local file of the URL path ``disco/<rest>`` or ``ddfs/<rest>``: ``roots[top]/<rest>``
    (``roots`` maps ``"disco"`` and ``"ddfs"`` to data directories); None for another top, an
    empty ``rest``, a missing root or a path with ``..``."""
    top, _, rest = path.lstrip("/").partition("/")
    root = roots.get(top)
    if not root or not rest or ".." in rest.split("/"):
        return None
    return os.path.join(root, rest)


def locate(url, roots, port):
    """``(local path or None, http URL)`` of a ``disco://`` or ``dir://`` URL: the two places
    the locality rule reads it from (``port``: the nodes' HTTP port unless the URL names one;
    ``user@`` is dropped)."""
    location, _, path = url.partition("://")[2].partition("/")
    host, _, url_port = location.rpartition("@")[2].partition(":")
    return local_path(path, roots), "http://%s:%s/%s" % (host, url_port or port, path)

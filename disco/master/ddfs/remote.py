"""The DDFS storage of a node on another machine (the ``dask`` backend), as the master sees it.

The node keeps its volumes under its own ``DDFS_DATA/<node>/`` and serves them (and the DDFS
writes) with its data server (:mod:`disco.node.ddfsnode`); :class:`RemoteStore` talks to it over
HTTP. The master's DDFS code asks some questions on its event loop (where is this object, what
does this tag version say, how much room is there): a RemoteStore answers those from memory --
an index of the node's objects refreshed by every :meth:`~RemoteStore.scan`, the contents of
the newest tag versions it wrote or scanned, the node's disk usage as the backend last saw
it -- and does its HTTP calls only in the methods that run in threads (``write``, ``copy_in``,
``scan``, ``refresh``, ``remove_file``, ``delete``).

A node is ``UP`` (connected), ``AWAY`` (not connected for less than ``DISCO_NODE_GRACE``
seconds: its replicas count as present but cannot be read, reads go to other replicas) or
``LOST`` (away for longer: treated as having lost its data until it comes back).
"""
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from disco.master.ddfs.names import split_object, object_age
from disco.master.ddfs.volumes import object_url

UP, AWAY, LOST = "up", "away", "lost"
API = "/ddfs-node/"         # the node's DDFS write and listing endpoints (disco.node.ddfsnode)
TIMEOUT = 60
log = logging.getLogger("disco.master")


class RemoteStore:
    """The volumes of remote ``node``: ``presence()`` says UP, AWAY or LOST, ``address()`` gives
    the ``http://host:port`` of its data server (None when unknown), ``disk_usage()`` its
    ``(free KiB, used KiB)``; ``headers`` (the access token) go with every request."""

    remote = True

    def __init__(self, node, presence, address, disk_usage, headers=None):
        self.node = node
        self.presence, self.address, self.disk_usage = presence, address, disk_usage
        self.headers = dict(headers or {})
        self.index = {"blob": {}, "tag": {}}    # kind -> {object: (vol, relative path, size, mtime)}
        self.contents = {}                      # tag version -> bytes (newest version of each tag)
        self._recent = set()                    # (kind, object) written since the last scan began
        self._lock = threading.Lock()           # writers and scans run in several threads

    # -- answered from memory (event loop) ----------------------------------------------------

    def url(self, kind, vol, obj):
        return object_url(self.node, kind, vol, obj)

    def put_url(self, base, obj):
        """The node's own data server takes the upload (``base``, the master, is not involved)."""
        return "%s/ddfs/put/%s/%s" % (self._server(), self.node, obj)

    def locate(self, kind, obj):
        """The volume holding the object as last seen (None when the node is LOST)."""
        if self.presence() == LOST:
            return None
        entry = self.index[kind].get(obj)
        return entry[0] if entry else None

    def read_tag(self, obj):
        """The bytes of tag version ``obj`` (None unless the node is UP and holds it)."""
        if self.presence() != UP or obj not in self.index["tag"]:
            return None
        return self.contents.get(obj)

    def free_space(self):
        """``(free, total)`` bytes of the node's data disk, as the backend last saw it."""
        free, used = self.disk_usage()
        return free * 1024, (free + used) * 1024

    def source(self, path):
        """The URL another node copies the file ``path`` (of :meth:`scan`) from."""
        return "%s/ddfs/%s/%s" % (self._server(), self.node, path)

    # -- HTTP (threads) -----------------------------------------------------------------------

    def write(self, kind, obj, data, ts):
        """Write ``data`` as ``obj`` on the node; its URL. FileExistsError if it exists."""
        reply = self._call("PUT", "%s/%s" % (kind, obj), data, "application/octet-stream")
        self._learn(kind, obj, reply, data)
        return reply["url"]

    def copy_in(self, kind, obj, source, ts):
        """Have the node fetch ``source`` (a URL: another node's replica, a job's output) as
        ``obj``, peer to peer; its URL. FileExistsError if the object exists."""
        reply = self._call("POST", "pull", json.dumps({"kind": kind, "obj": obj, "url": source}).encode())
        self._learn(kind, obj, reply, None)
        return reply["url"]

    def scan(self, kind):
        """``(obj, relative path, size, mtime)`` of every file of ``kind`` on the node (see
        ``NodeStore.scan``): listed by the node when it is UP (the index is renewed, new tag
        versions read), as last seen when it is AWAY, none when it is LOST."""
        presence = self.presence()
        if presence == LOST:
            return []
        if presence == AWAY:
            return [(obj, path, size, mtime) for obj, (_vol, path, size, mtime) in self.index[kind].items()]
        with self._lock:
            self._recent = {(k, obj) for k, obj in self._recent if k != kind}
        files = [tuple(entry) for entry in self._call("GET", "scan?kind=" + kind)["files"]]
        objects = {obj: (path.split("/", 1)[0], path, size, mtime)
                   for obj, path, size, mtime in files if not obj.startswith("!")}
        if kind == "tag":
            self._read_tags(objects)
        with self._lock:    # what was written while the node listed its files stays known
            objects.update((obj, self.index[kind][obj]) for k, obj in self._recent
                           if k == kind and obj in self.index[kind])
            self.index[kind] = objects
        return files

    def refresh(self):
        """Scan the node (it joined); ``{tag: newest version}`` of the tags it holds."""
        self.scan("blob")
        self.scan("tag")
        return newest({obj for obj in self.index["tag"] if obj in self.contents})

    def remove_file(self, path, paranoid=False):
        """Delete the file ``path`` (of :meth:`scan`); a node that cannot be reached keeps it
        (a later GC deletes it), which is logged."""
        try:
            self._call("POST", "delete", json.dumps({"paths": [path], "paranoid": bool(paranoid)}).encode())
        except OSError as e:
            log.warning("DDFS: cannot delete %s on node %s: %s", path, self.node, e)
            return
        name = path.rsplit("/", 1)[-1]
        with self._lock:
            for kind in self.index:
                self.index[kind].pop(name, None)
            self.contents.pop(name, None)

    def delete(self, kind, obj):
        entry = self.index[kind].get(obj)
        if entry:
            self.remove_file(entry[1])

    # -- helpers ------------------------------------------------------------------------------

    def _server(self):
        address = self.address()
        if address is None:
            raise OSError("DDFS node %s is not connected" % self.node)
        return address

    def _call(self, method, path, data=None, content_type="application/json"):
        """The JSON reply of the node's ``/ddfs-node/<path>``; OSError when it fails
        (FileExistsError for 409)."""
        request = urllib.request.Request(self._server() + API + path, data=data, method=method,
                                         headers=dict(self.headers, **{"Content-Type": content_type}))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")[:500]
            if e.code == 409:
                raise FileExistsError("%s on node %s: %s" % (path, self.node, text)) from None
            raise OSError("DDFS node %s: %s %s: HTTP %d %s" % (self.node, method, path, e.code, text)) from None
        except ValueError as e:
            raise OSError("DDFS node %s: %s %s: bad reply: %s" % (self.node, method, path, e)) from None

    def _get(self, path):
        request = urllib.request.Request(self._server() + API + "read?" + urllib.parse.urlencode({"path": path}),
                                         headers=self.headers)
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            return reply.read()

    def _learn(self, kind, obj, reply, data):
        with self._lock:
            self.index[kind][obj] = (reply["path"].split("/", 1)[0], reply["path"], reply["size"], time.time())
            self._recent.add((kind, obj))
            if kind == "tag" and data is not None:
                name = split_object(obj)[0]
                for old in [v for v in self.contents if split_object(v)[0] == name]:
                    del self.contents[old]
                self.contents[obj] = data

    def _read_tags(self, objects):
        """Read the newest version of every tag in ``objects`` that is not known yet; forget
        versions that are gone or older."""
        wanted = set(newest(objects).values())
        with self._lock:
            for obj in [obj for obj in self.contents if obj not in wanted and ("tag", obj) not in self._recent]:
                del self.contents[obj]
            missing = wanted - set(self.contents)
        for obj in missing:
            try:
                data = self._get(objects[obj][1])
            except OSError as e:
                log.warning("DDFS: cannot read tag %s on node %s: %s", obj, self.node, e)
                continue
            with self._lock:
                self.contents[obj] = data


def newest(versions):
    """``{tag: newest version}`` of the tag versions (object names) ``versions``."""
    found = {}
    for obj in versions:
        name = split_object(obj)[0]
        if name not in found or object_age(obj) > object_age(found[name]):
            found[name] = obj
    return found

"""The DDFS client (``disco.ddfs`` of Disco 0.5): tags, blobs, attributes and tokens over the
master's ``/ddfs/`` API (docs/ddfs.md, docs/http-api.md#ddfs).

A tag is named ``tag://NAME``, ``tag://HOST[:PORT]/NAME`` or ``tag://[USER:]TOKEN@/NAME``; a bare
``NAME`` without ``/`` or ``://`` means ``tag://NAME``. Requests go to the master (``proxy`` if
given, else ``master``, else ``DISCO_MASTER``). The token of a request is the ``token`` argument,
else the one in the tag URL, else ``DDFS_READ_TOKEN`` for reads and ``DDFS_WRITE_TOKEN`` for
writes; it is sent as ``Authorization: Basic base64("token:<TOKEN>")``.

Blob replicas are read by the locality rule (``disco.schemes.scheme_disco``): from the local
file when it exists, else over HTTP; a replica that fails is replaced by the next one. This
module sits above the URL schemes and the readers of records (``disco.readers``), below input
lists (``disco.inputs``) and out-of-band results (``disco.oob``).
"""
import gzip
import io
import json
import os
import random
import re
import tarfile
from urllib.parse import quote, urlencode

from disco import comm, schemes
from disco.context import run_with
from disco.error import CommError, DiscoError
from disco.fileutils import CHUNK_SIZE, MAX_RECORD_SIZE, Chunker
from disco.readers import expand_all, read_results
from disco.settings import DiscoSettings
from disco.util import chainify, iterify, partition, safe_name, urljoin, urlsplit, urltoken

unsafe_re = re.compile(r"[^A-Za-z0-9_\-@:]")
MAX_TAG_NAME = 511
SAFE = "@:$+"


class InvalidTag(DiscoError):
    """Not a tag (see ``canonizetag``)."""


def canonizetag(tag):
    """``tag://...`` for a tag (the first of a list; a bare name gets ``tag://``); else InvalidTag."""
    if isinstance(tag, (list, tuple)) and tag:
        return canonizetag(tag[0])
    if isinstance(tag, str) and tag:
        if tag.startswith("tag://"):
            return tag
        if "/" not in tag and "://" not in tag and tag != "-":
            return "tag://" + tag
    raise InvalidTag("Invalid tag: %r" % (tag,))


def canonizetags(tags):
    return [canonizetag(tag) for tag in iterify(tags)]


def istag(tag):
    try:
        canonizetag(tag)
    except InvalidTag:
        return False
    return True


def tagsplit(tag):
    """``(netloc, name)`` of a tag; ``netloc`` keeps any ``user:token@`` (tag names may contain
    ``@``, so a token needs the ``/``: ``tag://token@/name``)."""
    netloc, _, name = canonizetag(tag)[len("tag://"):].rpartition("/")
    return netloc, name


def tagname(tag):
    """The bare name of a tag."""
    return tagsplit(tag)[1]


def check_tagname(tag):
    """``tag`` if its name is one the master accepts (1 to 511 of ``A-Z a-z 0-9 _ - @ :``, see
    docs/formats/urls.md#names), else InvalidTag: lets uploads fail before any blob is stored."""
    name = tagname(tag)
    if not name or len(name) > MAX_TAG_NAME or unsafe_re.search(name):
        raise InvalidTag("Invalid tag name %r: a tag name is 1 to %d characters of letters, digits "
                         "and _ - @ :" % (name, MAX_TAG_NAME))
    return tag


def relativizetag(tag, parent):
    """``tag`` with ``parent``'s host (and token) when it has none of its own."""
    netloc, name = tagsplit(tag)
    netloc = netloc or tagsplit(parent)[0]
    return "tag://%s/%s" % (netloc, name) if netloc else "tag://" + name


def relativizetags(tags, parent):
    return [relativizetag(tag, parent) for tag in tags]


class DDFS(object):
    """A DDFS client of the master ``proxy or master or DISCO_MASTER`` (written back into
    ``settings['DISCO_MASTER']``)."""

    def __init__(self, master=None, proxy=None, settings=None):
        self.settings = settings or DiscoSettings()
        self.proxy = proxy or self.settings["DISCO_PROXY"]
        self.master = self.proxy or master or self.settings["DISCO_MASTER"]
        self.settings["DISCO_MASTER"] = self.master

    @property
    def url(self):
        """The master's http URL (``host[:port]`` and ``disco://host`` allowed)."""
        master = self.master.rstrip("/")
        scheme, netloc, path = urlsplit(master if "://" in master else "disco://" + master,
                                        disco_port=self.settings["DISCO_PORT"])
        return urljoin((scheme, netloc, path)).rstrip("/")

    # -- names ------------------------------------------------------------------------------------

    @classmethod
    def safe_name(cls, name):
        return safe_name(name)

    @classmethod
    def blob_name(cls, url):
        """The name of a blob URL: its last path component before ``$``."""
        return url.rstrip("/").rsplit("/", 1)[-1].split("$", 1)[0]

    @classmethod
    def job_blob(cls, job, file):
        return "disco:blob:%s:%s" % (job, os.path.basename(file))

    @classmethod
    def job_oob(cls, job):
        return "disco:job:oob:%s" % job

    @classmethod
    def job_tag(cls, job):
        return "disco:job:results:%s" % job

    # -- HTTP -------------------------------------------------------------------------------------

    def _token(self, tag, token, method):
        if token is None and tag is not None:
            netloc = tagsplit(tag)[0]
            token = urltoken("tag://%s/" % netloc) if "@" in netloc else None
        if token is None:
            token = self.settings["DDFS_READ_TOKEN" if method == "GET" else "DDFS_WRITE_TOKEN"]
        return token if isinstance(token, str) else None

    def _request(self, path, method="GET", data=None, tag=None, token=None):
        """The JSON reply of ``<master>/ddfs/<path>``."""
        headers = comm.auth_header(self._token(tag, token, method))
        if data is not None:
            data = json.dumps(data).encode("utf-8")
        response = comm.request(method, "%s/ddfs/%s" % (self.url, path), data=data, headers=headers)
        return json.loads(response.content or b'""')

    def _tag_path(self, tag, attr=None):
        return "tag/%s%s" % (quote(tagname(tag), safe=SAFE), "/" + quote(attr, safe=SAFE) if attr else "")

    # -- tags -------------------------------------------------------------------------------------

    def get(self, tag, token=None):
        """The tag object (``version``, ``id``, ``last-modified``, ``urls``, ``user-data``)."""
        return self._request(self._tag_path(tag), tag=tag, token=token)

    def exists(self, tag):
        """True if the tag exists (also when it exists but the token does not fit)."""
        try:
            self.get(tag)
        except CommError as e:
            if e.code == 401:
                return True
            if e.code in (403, 404):
                return False
            raise
        return True

    def urls(self, tag, token=None):
        return self.get(tag, token=token)["urls"]

    def attrs(self, tag, token=None):
        return self.get(tag, token=token)["user-data"]

    def getattr(self, tag, attr, token=None):
        return self._request(self._tag_path(tag, attr), tag=tag, token=token)

    def setattr(self, tag, attr, val, token=None):
        return self._request(self._tag_path(tag, attr), "PUT", val, tag=tag, token=token)

    def delattr(self, tag, attr, token=None):
        return self._request(self._tag_path(tag, attr), "DELETE", tag=tag, token=token)

    def list(self, prefix=""):
        """Names of the tags starting with ``prefix``."""
        return self._request("tags/%s" % quote(prefix, safe=SAFE))

    def tag(self, tag, urls, token=None, delayed=False, update=False):
        """Put the replica lists ``urls`` in front of the tag's (creating it); ``update``: skip
        blobs already there; ``delayed``: let the master batch the change. The tag's URLs."""
        query = urlencode({"delayed": "1" if delayed else "", "update": "1" if update else ""})
        return self._request("%s?%s" % (self._tag_path(tag), query), "POST", [list(iterify(u)) for u in urls],
                             tag=tag, token=token)

    def put(self, tag, urls, token=None):
        """Replace the tag's URL list."""
        return self._request(self._tag_path(tag), "PUT", [list(iterify(u)) for u in urls], tag=tag,
                             token=token)

    def delete(self, tag, token=None):
        return self._request(self._tag_path(tag), "DELETE", tag=tag, token=token)

    # -- the tag graph ----------------------------------------------------------------------------

    def walk(self, tag, ignore_missing=True, tagpath=(), token=None):
        """Depth first: ``(tagpath, subtags, blobs)`` for the tag and every tag it reaches. A
        missing tag yields ``(tagpath, (), ())`` with ``ignore_missing``, else ``(tagpath, None,
        None)`` and then raises the CommError."""
        tagpath += (canonizetag(tag),)
        try:
            tags, blobs = partition(self.urls(tag, token=token), istag)
        except CommError as e:
            if ignore_missing and e.code == 404:
                yield tagpath, (), ()
                return
            yield tagpath, None, None
            raise
        yield tagpath, tags, blobs
        for child in tags:
            child = relativizetag(child, tag)
            if child not in tagpath:
                yield from self.walk(child, ignore_missing=ignore_missing, tagpath=tagpath, token=token)

    def findtags(self, tags=(), ignore_missing=True, token=None):
        """Breadth first over the tags reachable from ``tags``: ``(tag, subtags, blobs)`` once per
        tag; missing tags are skipped with ``ignore_missing``, else raise CommError."""
        queue, seen = canonizetags(tags), set()
        while queue:
            tag = queue.pop(0)
            if tagname(tag) in seen:
                continue
            seen.add(tagname(tag))
            try:
                subtags, blobs = partition(self.urls(tag, token=token), istag)
            except CommError as e:
                if ignore_missing and e.code == 404:
                    continue
                raise
            yield tag, subtags, blobs
            queue.extend(relativizetag(t, tag) for t in subtags)

    def tag_inputs(self, tag, token=None):
        """The replica lists of every blob reachable from ``tag``, breadth first: the job inputs
        a ``tag://`` input stands for. A missing tag raises CommError."""
        return chainify(blobs for _tag, _tags, blobs in self.findtags(tag, ignore_missing=False,
                                                                      token=token))

    def blobs(self, tag, ignore_missing=True, token=None):
        """Replica lists of every blob reachable from the tag."""
        for _tagpath, tags, blobs in self.walk(tag, ignore_missing=ignore_missing, token=token):
            if tags is not None:
                yield from blobs

    # -- blobs ------------------------------------------------------------------------------------

    def pull(self, tag, blobfilter=lambda name: True, token=None):
        """An open reader per blob of the tag whose name passes ``blobfilter``: replicas are
        tried in random order; the last error is raised when all fail."""
        for replicas in self.blobs(tag, token=token):
            if blobfilter(self.blob_name(replicas[0])):
                yield run_with(self.settings, open_replica, random.sample(replicas, len(replicas)))

    def push(self, tag, files, replicas=None, forceon=(), exclude=(), retries=10, delayed=False,
             update=False, token=None):
        """Upload ``files`` (paths, ``(path, name)`` or ``(file object, name)``) as blobs and tag
        them; ``(tag URLs, [blob replica URLs, ...])``."""
        check_tagname(tag)

        def aim(item):
            if isinstance(item, str):
                return item, self.safe_name(os.path.basename(item))
            return item
        urls = [self._push(aim(f), replicas=replicas, forceon=forceon, exclude=exclude, retries=retries,
                           token=token) for f in files]
        return self.tag(tag, urls, token=token, delayed=delayed, update=update), urls

    def _push(self, source_target, replicas=None, forceon=(), exclude=(), retries=10, token=None):
        """Upload one blob: ask ``new_blob`` for PUT URLs, PUT the data to each; on a failed
        upload try again (``retries`` times) without the node that failed. Its replica URLs."""
        source, target = source_target
        if not isinstance(source, (str, bytes)):
            source = source.read()
        query = urlencode([(k, v) for k, v in (("exclude", ",".join(exclude)), ("include", ",".join(forceon)),
                                               ("replicas", replicas or "")) if v])
        urls = self._request("new_blob/%s?%s" % (quote(target, safe=SAFE), query), token=token)
        try:
            replies = comm.upload(urls, source, token=self._token(None, token, "PUT"))
            return [json.loads(reply) for reply in replies]
        except CommError as e:
            if retries <= 0:
                raise
            return self._push((source, target), replicas=replicas, forceon=forceon,
                              exclude=list(exclude) + [put_node(e.url)], retries=retries - 1, token=token)

    def chunk(self, tag, urls, replicas=None, forceon=(), retries=10, delayed=False, update=False,
              token=None, chunk_size=None, max_record_size=None, **kwargs):
        """Read each input as ``disco.core.result_iterator`` would (``reader=None`` by default:
        text lines; ``tag://`` inputs expand through this client) and store its records as Disco
        record stream chunks (``disco.fileutils.Chunker``), one blob each, named
        ``<basename>-<n>``; tag them. ``(tag URLs, [blob replica URLs, ...])``."""
        check_tagname(tag)
        kwargs.setdefault("reader", None)
        kwargs.pop("ddfs", None)
        chunker = Chunker(chunk_size or CHUNK_SIZE, max_record_size or MAX_RECORD_SIZE)
        blobs = []
        for reps in urls:
            basename = os.path.basename(list(iterify(reps))[0].rstrip("/")) or "chunk"
            inputs = run_with(self.settings, expand_all, [reps], tags=self.tag_inputs)
            records = read_results(inputs, settings=self.settings, **kwargs)
            for n, chunk in enumerate(chunker.chunks(records)):
                blobs.append(self._push((chunk, self.safe_name("%s-%d" % (basename, n))), replicas=replicas,
                                        forceon=forceon, retries=retries, token=token))
        return self.tag(tag, blobs, token=token, delayed=delayed, update=update), blobs

    def save(self, jobname, paths, retries=600):
        """Push ``paths`` to the tag ``job_tag(jobname)`` (delayed, update)."""
        return self.push(self.job_tag(jobname), paths, retries=retries, delayed=True, update=True)

    @classmethod
    def tarblobs(cls, tarball, compress=True, include=None, exclude=None):
        """``(name, file object, size)`` for each regular member of the tar file ``tarball``
        whose name contains ``include`` and not ``exclude``; ``compress`` gzips it (level 2) and
        adds ``_gz`` to its name."""
        with tarfile.open(tarball) as tar:
            for member in tar:
                if not member.isfile() or (include and include not in member.name) \
                        or (exclude and exclude in member.name):
                    continue
                data = tar.extractfile(member).read()
                name = cls.safe_name(member.name)
                if compress:
                    data, name = gzip.compress(data, compresslevel=2), name + "_gz"
                yield name, io.BytesIO(data), len(data)


def open_replica(replicas):
    """A reader of the first of ``replicas`` that opens (``disco.schemes.open``); the last error
    when none does."""
    error = None
    for url in replicas:
        try:
            return schemes.open(url)
        except DiscoError as e:
            error = e
    raise error


def put_node(url):
    """The node a ``new_blob`` PUT URL uploads to (``.../ddfs/put/<node>/...`` or its host)."""
    path = url.split("://", 1)[-1].partition("/")[2]
    parts = path.split("/")
    if len(parts) > 3 and parts[:2] == ["ddfs", "put"]:
        return parts[2]
    return urlsplit(url)[1].rpartition("@")[2].split(":")[0]

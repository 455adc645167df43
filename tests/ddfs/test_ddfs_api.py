"""The ``/ddfs/...`` HTTP API (docs/http-api.md#ddfs) of a real master with nodes n1..n3, two replicas."""
import json
import os
import socket
import stat
import threading
import time
import urllib.request

from ddfs_support import call, local, node_of, ok, upload
from disco.master.ddfs.gc import PHASES


def test_new_blob_picks_distinct_writable_nodes(master):
    urls = ok(master, "/ddfs/new_blob/data")
    assert len(urls) == 2 and len({u.split("/")[-2] for u in urls}) == 2
    for url in urls:
        assert url.startswith(master.url + "/ddfs/put/n") and "/data$" in url
    assert len(ok(master, "/ddfs/new_blob/data?replicas=3")) == 3
    picked = ok(master, "/ddfs/new_blob/data?replicas=1&include=n2")
    assert [u.split("/")[-2] for u in picked] == ["n2"]
    picked = ok(master, "/ddfs/new_blob/data?exclude=n1,n2&replicas=1")
    assert [u.split("/")[-2] for u in picked] == ["n3"]
    long_name = ok(master, "/ddfs/new_blob/" + "x" * 300)[0].rsplit("/", 1)[1]
    assert len(long_name.split("$")[0]) == 32
    assert call(master, "/ddfs/new_blob/data?replicas=4") == (403, "Not enough nodes for replicas.")
    assert call(master, "/ddfs/new_blob/data?exclude=n1&replicas=3")[1] == "Not enough nodes for replicas."
    assert call(master, "/ddfs/new_blob/bad.name") == (403, "Invalid prefix.")
    assert call(master, "/ddfs/new_blob/data?include=nx") == (403, "Requested Replica not found.")


def test_upload_commits_read_only_blobs_served_with_ranges(master):
    urls = upload(master, "hello", b"hello world")
    assert len(urls) == 2 and {node_of(u) for u in urls} <= {"n1", "n2", "n3"}
    for url in urls:
        node = node_of(url)
        assert url.startswith("disco://%s/ddfs/%s/vol0/blob/" % (node, node))
        path = local(master, url)
        assert open(path, "rb").read() == b"hello world"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
        assert not [f for f in os.listdir(os.path.dirname(path)) if f.startswith("!")]
    rest = urls[0].split("/ddfs/", 1)[1]
    request = urllib.request.Request(master.url + "/ddfs/" + rest, headers={"Range": "bytes=6-"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 206 and response.read() == b"world"
    head = urllib.request.Request(master.url + "/ddfs/" + rest, method="HEAD")
    with urllib.request.urlopen(head) as response:
        assert response.headers["Content-Length"] == "11" and response.read() == b""
    assert call(master, "/ddfs/n1/vol0/nothing")[0] == 404
    assert call(master, "/ddfs/n1/vol0")[0] == 403


def test_put_refuses_bad_names_unknown_nodes_and_existing_blobs(master):
    put = ok(master, "/ddfs/new_blob/once?replicas=1")[0].replace(master.url, "")
    assert call(master, put, b"1", "PUT")[0] == 201
    assert call(master, put, b"2", "PUT") == (409, "File exists")
    assert call(master, "/ddfs/put/n1/no-version", b"x", "PUT") == (403, "Invalid blob name.")
    assert call(master, "/ddfs/put/nx/a$1-2-3", b"x", "PUT") == (404, "Unknown host.")


def test_interrupted_upload_leaves_no_blob(master):
    put = ok(master, "/ddfs/new_blob/cut?replicas=1")[0]
    node, obj = put.split("/")[-2:]
    host, port = master.url.split("//")[1].split(":")
    blobdir = os.path.join(master.settings["DDFS_DATA"], node, "vol0", "blob")

    def files():
        return [f for _d, _, names in os.walk(blobdir) for f in names if obj in f]
    with socket.create_connection((host, int(port))) as s:
        s.sendall(("PUT /ddfs/put/%s/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
                   % (node, obj)).encode() + b"x" * 5000)
        deadline = time.time() + 10
        while not files() and time.time() < deadline:
            time.sleep(0.02)
        assert [f.startswith("!partial-") for f in files()] == [True]     # being written
    deadline = time.time() + 10
    while files() and time.time() < deadline:
        time.sleep(0.02)
    assert files() == []


def test_tag_lifecycle(master, name):
    replicas = ok(master, "/ddfs/tag/" + name, [["disco://x/a$1-1-1"]], "POST")
    assert len(replicas) == 2 and len({node_of(u) for u in replicas}) == 2
    assert all(os.path.isfile(local(master, u)) for u in replicas)
    tag = ok(master, "/ddfs/tag/" + name)
    assert set(tag) == {"version", "id", "last-modified", "urls", "user-data"}
    assert tag["version"] == 1 and tag["id"].startswith(name + "$") and tag["urls"] == [["disco://x/a$1-1-1"]]
    assert json.loads(open(local(master, replicas[0])).read())["read-token"] is None
    ok(master, "/ddfs/tag/%s?update=1" % name, [["disco://y/b$2-2-2"], ["disco://y/a$3-3-3"]], "POST")
    assert ok(master, "/ddfs/tag/" + name)["urls"] == [["disco://y/b$2-2-2"], ["disco://x/a$1-1-1"]]
    version = ok(master, "/ddfs/tag/" + name)["id"]
    assert ok(master, "/ddfs/tag/%s?update=1" % name, [["disco://z/b$9-9-9"]], "POST")
    assert ok(master, "/ddfs/tag/" + name)["id"] == version          # a no-op makes no version
    ok(master, "/ddfs/tag/%s?update=" % name, [["disco://z/b$9-9-9"]], "POST")   # empty flag: off
    assert ok(master, "/ddfs/tag/" + name)["urls"][0] == ["disco://z/b$9-9-9"]
    ok(master, "/ddfs/tag/" + name, [["disco://only/c$1-1-1", "disco://other/c$1-1-1"]], "PUT")
    assert ok(master, "/ddfs/tag/" + name)["urls"] == [["disco://only/c$1-1-1", "disco://other/c$1-1-1"]]
    assert name in ok(master, "/ddfs/tags") and name in ok(master, "/ddfs/tags/test:")
    assert ok(master, "/ddfs/tags/nomatch:") == []
    assert ok(master, "/ddfs/tags//%s/" % name[:8]) == ok(master, "/ddfs/tags/" + name[:8])


def test_delayed_updates_are_committed_together(master, name):
    replies = [None] * 5

    def post(i):
        replies[i] = ok(master, "/ddfs/tag/%s?delayed=1" % name, [["disco://h/b%d$1-1-1" % i]], "POST")
    threads = [threading.Thread(target=post, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == replies[0] for r in replies)           # one version answers them all
    assert sorted(u[0] for u in ok(master, "/ddfs/tag/" + name)["urls"]) == \
        ["disco://h/b%d$1-1-1" % i for i in range(5)]


def test_bad_requests(master, name):
    assert call(master, "/ddfs/tag/bad.name") == (403, "Invalid tag.")
    assert call(master, "/ddfs/tag/" + name) == (404, "Tag not found.")
    assert call(master, "/ddfs/tag/" + name, b"not json", "POST") == (403, "Invalid request body.")
    for body in ({"a": 1}, [["ok"], "notalist"], [[]], [[1]]):
        assert call(master, "/ddfs/tag/" + name, body, "POST") == (403, "Invalid url object.")
    assert call(master, "/ddfs/tag/" + name)[0] == 404       # nothing was created


def test_attributes(master, name):
    ok(master, "/ddfs/tag/" + name, [["disco://x/a$1-1-1"]], "POST")
    ok(master, "/ddfs/tag/%s/colour" % name, "blue", "PUT")
    assert ok(master, "/ddfs/tag/%s/colour" % name) == "blue"
    assert ok(master, "/ddfs/tag/" + name)["user-data"] == {"colour": "blue"}
    assert ok(master, "/ddfs/tag/%s/ddfs:urls" % name) == [["disco://x/a$1-1-1"]]
    ok(master, "/ddfs/tag/%s/ddfs:urls" % name, [["disco://y/b$1-1-1"]], "PUT")
    assert ok(master, "/ddfs/tag/" + name)["urls"] == [["disco://y/b$1-1-1"]]
    assert ok(master, "/ddfs/tag/%s/ddfs:read-token" % name) is None
    assert call(master, "/ddfs/tag/%s/ddfs:size" % name)[0] == 404
    assert call(master, "/ddfs/tag/%s/ddfs:size" % name, "1", "PUT")[0] == 404
    assert call(master, "/ddfs/tag/%s/missing" % name)[0] == 404
    assert call(master, "/ddfs/tag/%s/%s" % (name, "k" * 1025))[0] == 403
    assert call(master, "/ddfs/tag/%s/big" % name, "v" * 4097, "PUT")[0] == 403
    assert call(master, "/ddfs/tag/%s/num" % name, 5, "PUT")[0] == 403
    assert ok(master, "/ddfs/tag/%s/colour" % name, method="DELETE") == "deleted"
    assert ok(master, "/ddfs/tag/%s/colour" % name, method="DELETE") == "deleted"   # absent is fine
    assert ok(master, "/ddfs/tag/" + name)["user-data"] == {}
    assert call(master, "/ddfs/tag/nosuch:tag/colour", method="DELETE")[0] == 404
    ok(master, "/ddfs/tag/%s:new/colour" % name, "red", "PUT")        # setting one creates the tag
    assert ok(master, "/ddfs/tag/%s:new" % name)["user-data"] == {"colour": "red"}


def test_delete_and_recreate(master, name):
    ok(master, "/ddfs/tag/" + name, [["disco://x/a$1-1-1"]], "POST")
    assert ok(master, "/ddfs/tag/" + name, method="DELETE") == "deleted"
    assert call(master, "/ddfs/tag/" + name) == (404, "Tag not found.")
    assert name not in ok(master, "/ddfs/tags")
    assert ["tag://" + name] in ok(master, "/ddfs/tag/+deleted")["urls"]
    assert call(master, "/ddfs/tag/+deleted", [["tag://x"]], "POST") == (403, "Invalid tag.")
    assert ok(master, "/ddfs/tag/never:existed", method="DELETE") == "deleted"
    ok(master, "/ddfs/tag/" + name, [["disco://y/b$2-2-2"]], "POST")
    assert ok(master, "/ddfs/tag/" + name)["urls"] == [["disco://y/b$2-2-2"]]     # starts afresh
    assert ["tag://" + name] not in ok(master, "/ddfs/tag/+deleted")["urls"]


def test_ctrl(master, name):
    replicas = ok(master, "/ddfs/tag/" + name, [], "POST")
    for node in ("n1", "n2", "n3"):
        hosted = ok(master, "/ddfs/ctrl/hosted_tags", node, "POST")
        assert (name in hosted) == (node in {node_of(u) for u in replicas})
    assert call(master, "/ddfs/ctrl/hosted_tags", "nx", "POST")[0] == 404
    assert ok(master, "/ddfs/ctrl/safe_gc_blacklist") == []
    assert ok(master, "/ddfs/ctrl/gc_status") in ("",) + tuple(PHASES.values())
    assert ok(master, "/ddfs/ctrl/gc_start") == "GC has started"
    deadline = time.time() + 20
    while ok(master, "/ddfs/ctrl/gc_status") != "" and time.time() < deadline:
        time.sleep(0.05)
    stats = ok(master, "/ddfs/ctrl/gc_stats")
    assert set(stats) == {"timestamp", "stats"}
    assert set(stats["stats"]) == {"Tags kept", "Tags deleted", "Blobs kept", "Blobs deleted"}
    assert all(len(v) == 2 for v in stats["stats"].values())


def test_an_empty_blob_is_served_to_disco_05_ranged_reads(master):
    """Issue 14.3: Disco 0.5's client pulls every blob with ``Range: bytes=0-1048575``."""
    url = upload(master, "empty", b"", replicas=1)[0]
    request = urllib.request.Request(master.url + "/ddfs/" + url.split("/ddfs/", 1)[1],
                                     headers={"Range": "bytes=0-1048575"})
    with urllib.request.urlopen(request) as response:
        assert (response.status, response.read()) == (200, b"")

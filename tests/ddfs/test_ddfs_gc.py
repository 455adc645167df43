"""DDFS garbage collection, re-replication, GC blacklist and tag replica limits (docs/ddfs.md)."""
import os
import shutil
import time

from ddfs_support import call, gc, local, node_of, ok, upload, wait_gc_idle
from disco.ddfs import DDFS
from disco.master.ddfs.gc import WAITING

DAY = 24 * 3600


def age(master, urls, seconds):
    """Make the files of ``urls`` ``seconds`` old."""
    for url in urls:
        then = time.time() - seconds
        os.utime(local(master, url), (then, then))


def tag_files(master, name):
    root = master.settings["DDFS_DATA"]
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                  if "/tag/" in d and f.split("$")[0] == name)


def hosts(master, name):
    return [n for n in ("n1", "n2", "n3") if name in ok(master, "/ddfs/ctrl/hosted_tags", n, "POST")]


def test_gc_before_the_initial_wait(start):
    m = start(DDFS_GC_INITIAL_WAIT="")
    assert ok(m, "/ddfs/ctrl/gc_status") == WAITING
    assert ok(m, "/ddfs/ctrl/gc_start") == "GC is waiting"
    assert ok(m, "/ddfs/ctrl/gc_stats") == ""


def test_gc_deletes_what_nobody_needs(start):
    m = start()
    wait_gc_idle(m)
    ddfs = DDFS()
    old_orphan, young_orphan = upload(m, "old", b"x" * 10), upload(m, "young", b"y")
    age(m, old_orphan, 6 * DAY)
    _tag, (kept,) = ddfs.push("keep", [(b"k", "k")])
    age(m, kept, 6 * DAY)
    ddfs.tag("keep", [["disco://h/extra$1-1-1"]])           # a second version
    ddfs.tag("gone", [])
    ddfs.delete("gone")
    blobdir = os.path.join(m.settings["DDFS_DATA"], "n1", "vol0", "blob", "aa")
    os.makedirs(blobdir, exist_ok=True)
    partials = [os.path.join(blobdir, "!partial-1-2-%d.junk$1-2-3" % i) for i in (1, 2)]
    for path in partials:
        open(path, "w").close()
    os.utime(partials[0], (time.time() - 2 * DAY,) * 2)
    assert len(tag_files(m, "keep")) == 4 and len(tag_files(m, "gone")) == 2
    stats = gc(m)["stats"]
    assert not any(os.path.exists(local(m, u)) for u in old_orphan)
    assert all(os.path.exists(local(m, u)) for u in young_orphan + kept)
    assert len(tag_files(m, "keep")) == 2 and tag_files(m, "gone") == []
    assert [os.path.exists(p) for p in partials] == [False, True]
    assert stats["Blobs deleted"] == [2, 20] and stats["Tags deleted"][0] == 4
    assert stats["Blobs kept"][0] == 4 and stats["Tags kept"][0] >= 4
    assert ddfs.urls("keep")[1] == kept


def test_gc_restores_replicas_of_a_removed_node(start):
    m = start()
    wait_gc_idle(m)
    ddfs = DDFS()
    ddfs.tag("data", [])
    victim = hosts(m, "data")[0]
    ddfs.push("data", [(b"blob %d" % i, "b%d" % i) for i in range(6)], forceon=[victim])
    ddfs.tag("meta", [["tag://data"]])
    shutil.rmtree(os.path.join(m.settings["DDFS_DATA"], victim))
    assert all(not os.path.exists(local(m, u)) for reps in ddfs.urls("data") for u in reps
               if node_of(u) == victim)
    gc(m)
    urls = ddfs.urls("data")
    assert len(urls) == 6
    for reps in urls:
        assert len(reps) == 2 and all(os.path.isfile(local(m, u)) for u in reps)
    assert sorted(f.read() for f in ddfs.pull("meta")) == [b"blob %d" % i for i in range(6)]
    for name in ("data", "meta"):
        assert len(hosts(m, name)) == 2
        assert len(ok(m, "/ddfs/tag/%s" % name)["urls"]) > 0


def test_gc_moves_data_off_gc_blacklisted_nodes(start):
    m = start()
    wait_gc_idle(m)
    ddfs = DDFS()
    ddfs.push("mig", [(b"m%d" % i, "m%d" % i) for i in range(4)], forceon=["n1"])
    assert all("n1" in map(node_of, reps) for reps in ddfs.urls("mig"))
    ok(m, "/disco/ctrl/gc_blacklist", "n1", "POST")
    assert all(u.split("/")[-2] != "n1" for u in ok(m, "/ddfs/new_blob/x"))
    assert ok(m, "/ddfs/ctrl/safe_gc_blacklist") == []
    gc(m)
    for reps in ddfs.urls("mig"):
        assert len(reps) == 2 and "n1" not in map(node_of, reps)
        assert all(os.path.isfile(local(m, u)) for u in reps)
    assert "mig" not in hosts(m, "n1") and len(hosts(m, "mig")) == 2
    assert ok(m, "/ddfs/ctrl/safe_gc_blacklist") == ["n1"]


def test_tag_writes_need_enough_nodes(start):
    m = start(DDFS_TAG_MIN_REPLICAS="3")
    assert len(ok(m, "/ddfs/tag/t", [["u"]], "POST")) == 3
    version = ok(m, "/ddfs/tag/t")["id"]
    ok(m, "/disco/ctrl/blacklist", "n3", "POST")
    status, message = call(m, "/ddfs/tag/t", [["v"]], "POST")
    assert status == 403 and "DDFS_TAG_MIN_REPLICAS is 3" in message
    assert call(m, "/ddfs/tag/new", [], "POST")[0] == 403
    assert call(m, "/ddfs/tag/t", method="DELETE")[0] == 403
    assert ok(m, "/ddfs/tag/t")["id"] == version and ok(m, "/ddfs/tags") == ["t"]
    assert tag_files(m, "new") == [] and len(tag_files(m, "t")) == 3
    ok(m, "/disco/ctrl/whitelist", "n3", "POST")
    ok(m, "/ddfs/tag/new", [], "POST")


def test_tags_survive_a_restart(start, tmp_path):
    m = start(root=tmp_path / "r")
    ddfs = DDFS()
    ddfs.tag("stays", [["disco://h/a$1-1-1"]])
    ddfs.tag("goes", [])
    ddfs.delete("goes")
    m.stop()
    m = start(root=tmp_path / "r")
    assert DDFS().urls("stays") == [["disco://h/a$1-1-1"]] and len(hosts(m, "stays")) == 2
    assert not DDFS().exists("goes") and ok(m, "/ddfs/tags") == ["stays"]

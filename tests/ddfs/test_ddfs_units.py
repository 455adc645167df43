"""DDFS pieces without a master: names, the tag object's rules, client name helpers, chunks."""
import io
import os
import re
import time

import pytest

from disco import comm
from disco.ddfs import (DDFS, InvalidTag, canonizetag, istag, put_node, relativizetag, tagname,
                        tagsplit)
from disco.error import CommError
from disco.fileutils import Chunker
from disco.master.ddfs import tagdata
from disco.master.ddfs.errors import Forbidden, NotFound, Unauthorized
from disco.master.ddfs.gc import relocated
from disco.master.config import ClusterConfig
from disco.master.ddfs.gcmap import Snapshot, blob_object, collect
from disco.master.ddfs.names import (Clock, blob_prefix, format_ts, split_object, ts_micros,
                                     valid_name)
from disco.master.ddfs.nodes import Nodes
from disco.worker.task_io import disco_input_stream


def test_timestamps_and_object_names():
    assert format_ts(0) == "00-00-00"
    assert format_ts(((1 * 10 ** 6 + 2) * 10 ** 6) + 255) == "1-2-ff"
    assert ts_micros("1-2-ff") == (10 ** 6 + 2) * 10 ** 6 + 255
    clock = Clock()
    stamps = [clock() for _ in range(1000)]
    assert len(set(stamps)) == 1000 and all(re.fullmatch(r"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+", s) for s in stamps)
    assert [ts_micros(s) for s in stamps] == sorted(ts_micros(s) for s in stamps)
    assert split_object("a:b@c-d_e$1-2-3") == ("a:b@c-d_e", "1-2-3")
    for bad in ("noversion", "a b$1-2-3", "a$1-2", "$1-2-3", "a$x-y-z"):
        with pytest.raises(ValueError):
            split_object(bad)


def test_names_and_blob_prefixes():
    assert valid_name("Az09_-@:") and valid_name("x" * 511)
    assert not any(valid_name(n) for n in ("", "x" * 512, "a/b", "a.b", "a b", "+deleted", 5))
    assert blob_prefix("x" * 200) == "x" * 200
    assert re.fullmatch(r"[0-9a-f]{32}", blob_prefix("x" * 201))


def test_token_rules():
    def tag(read, write):
        return dict(tagdata.new_tag(None), **{"read-token": read, "write-token": write})
    cases = [  # (read-token, write-token, request token, can read, can write)
        (None, None, None, True, True), (None, None, "x", True, True),
        ("r", None, None, False, True), ("r", None, "r", True, True),
        (None, "w", None, True, False), (None, "w", "w", True, True),
        ("r", "w", "r", True, False), ("r", "w", "w", True, True), ("r", "w", "x", False, False),
    ]
    for read, write, token, can_read, can_write in cases:
        t = tag(read, write)
        assert (tagdata.can_read(t, token), tagdata.can_write(t, token)) == (can_read, can_write), t
    with pytest.raises(Unauthorized):      # a reader may not see a different write token
        tagdata.get_attr(tag("r", "w"), "ddfs:write-token", "r")
    assert tagdata.get_attr(tag("t", "t"), "ddfs:write-token", "t") == "t"
    assert tagdata.get_attr(tag(None, None), "ddfs:write-token", None) is None
    assert tagdata.new_tag("k")["read-token"] == tagdata.new_tag("k")["write-token"] == "k"
    assert "read-token" not in tagdata.public(tag("r", "w"))


def test_attributes_and_their_limits():
    t = tagdata.new_tag(None)
    assert tagdata.set_attr(t, "a", "1") and not tagdata.set_attr(t, "a", "1")
    assert tagdata.get_attr(t, "a", None) == "1"
    for attr, value, error in [("ddfs:other", "v", NotFound), ("x" * 1025, "v", Forbidden),
                               ("", "v", Forbidden), ("b", "v" * 4097, Forbidden), ("b", 5, Forbidden),
                               ("ddfs:urls", [["u"], "v"], Forbidden), ("ddfs:read-token", 5, Forbidden)]:
        with pytest.raises(error):
            tagdata.set_attr(t, attr, value)
    tagdata.set_attr(t, "b", "v" * 4096)
    for i in range(998):
        tagdata.set_attr(t, "k%d" % i, "v")
    with pytest.raises(Forbidden, match="Too many attributes"):
        tagdata.set_attr(t, "one-more", "v")
    tagdata.set_attr(t, "a", "changed")   # replacing one is fine
    with pytest.raises(NotFound):
        tagdata.get_attr(t, "missing", None)
    assert tagdata.del_attr(t, "a") and not tagdata.del_attr(t, "a")


def test_update_skips_blobs_already_present():
    t = tagdata.new_tag(None)
    assert tagdata.add_urls(t, [["disco://n/ddfs/b/x$1-2-3"]])
    assert tagdata.add_urls(t, [["disco://n/ddfs/b/y$1-2-4"], ["disco://m/ddfs/b/x$9-9-9"],
                                ["disco://n/ddfs/b/y$5-5-5"]], update=True)
    assert t["urls"] == [["disco://n/ddfs/b/y$1-2-4"], ["disco://n/ddfs/b/x$1-2-3"]]
    assert not tagdata.add_urls(t, [["http://h/x$0-0-1"]], update=True)
    assert tagdata.valid_urls([["a"], ["b", "c"]]) and not tagdata.valid_urls([[]])


def test_client_tag_names():
    assert canonizetag("t") == "tag://t" and canonizetag(["tag://a", "x"]) == "tag://a"
    for bad in ("a/b", "http://x/y", "-", "", None, []):
        with pytest.raises(InvalidTag):
            canonizetag(bad)
    assert istag("t") and not istag("/path/f") and not istag("disco://h/ddfs/x")
    assert tagname("tag://h:1/t") == "t" and tagname("tag://u:tok@/t") == "t" and tagname("t") == "t"
    assert tagsplit("tag://u:tok@/t") == ("u:tok@", "t") and tagsplit("tag://j@1:2") == ("", "j@1:2")
    assert relativizetag("tag://a", "tag://h:1/p") == "tag://h:1/a"
    assert relativizetag("tag://g/a", "tag://h/p") == "tag://g/a" and relativizetag("a", "p") == "tag://a"
    assert DDFS.safe_name("a b/c.d") == "a_b_c_d"
    assert DDFS.blob_name("disco://n/ddfs/v/blob/ab/x$1-2-3") == "x"
    assert DDFS.job_oob("j") == "disco:job:oob:j" and DDFS.job_tag("j") == "disco:job:results:j"
    assert DDFS.job_blob("j", "/p/f") == "disco:blob:j:f"
    assert put_node("http://127.0.0.1:9/ddfs/put/n2/x$1-2-3") == "n2" and put_node("http://h:9/ddfs/x") == "h"


def test_gc_helpers():
    assert blob_object("disco://n/ddfs/n/vol0/blob/ab/x$1-2-3") == "x$1-2-3"
    assert blob_object("tag://x") is None and blob_object("http://h/blob/ab/nots") is None
    where = {"x$1-2-3": {"n1": "u1", "n2": "u2", "n3": "u3"}}
    urls = [["disco://n/ddfs/n/vol0/blob/ab/x$1-2-3"], ["tag://t"]]
    assert relocated(urls, where, {"n1"}) == [["u2", "u3"], ["tag://t"]]
    assert relocated(urls, {"x$1-2-3": {"n1": "u1"}}, {"n1"}) == [["u1"], ["tag://t"]]


@pytest.mark.parametrize("version,marker", [(1, 0x81), (2, 0x82)])
def test_chunker_writes_independent_record_streams(version, marker):
    records = ["line %d\n" % i for i in range(2000)]
    chunks = list(Chunker(chunk_size=2000, version=version).chunks(records))
    assert len(chunks) > 5 and all(c[0] == marker for c in chunks)
    assert [r for c in chunks for r in disco_input_stream(io.BytesIO(c), len(c), "c")] == records
    assert list(Chunker().chunks([])) == []
    with pytest.raises(ValueError):
        list(Chunker(max_record_size=10).chunks(["x" * 100]))


def test_paranoid_gc_renames_instead_of_deleting(tmp_path):
    nodes = Nodes(str(tmp_path), lambda: ClusterConfig.from_table([["a", "1"]]))
    store = nodes.store("a")
    url = store.write("blob", "old$1-2-3", b"data", "1-2-3")
    path = os.path.join(str(tmp_path), url.split("/ddfs/", 1)[1])
    assert url.startswith("disco://a/ddfs/a/vol0/blob/") and open(path, "rb").read() == b"data"
    with pytest.raises(FileExistsError):
        store.write("blob", "old$1-2-3", b"again", "1-2-4")
    os.utime(path, (time.time() - 6 * 24 * 3600,) * 2)
    stats, _found = collect(Snapshot.build(nodes), set(), set(), time.time(), paranoid=True)
    assert stats["Blobs deleted"] == [1, 4] and not os.path.exists(path)
    assert os.listdir(os.path.dirname(path)) == ["!trash.old$1-2-3"]
    assert collect(Snapshot.build(nodes), set(), set(), time.time())[0]["Blobs deleted"] == [0, 0]


def test_an_unknown_host_fails_fast():
    """Replica fail-over relies on it: a node name that does not resolve is not retried for long."""
    started = time.time()
    with pytest.raises(CommError):
        comm.request("GET", "http://no-such-node.invalid:9/ddfs/x")
    assert time.time() - started < 5

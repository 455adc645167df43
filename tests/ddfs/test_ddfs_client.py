"""The DDFS client (``disco.ddfs.DDFS``, docs/ddfs.md) against a real master."""
import gzip
import io
import os
import tarfile

import pytest

from ddfs_support import local, node_of
from disco import comm, schemes
from disco.core import Disco, result_iterator
from disco.ddfs import DDFS
from disco.error import CommError


@pytest.fixture
def ddfs(master):
    return DDFS()


@pytest.fixture
def files(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / ("file%d.txt" % i)
        p.write_text("line a%d\nline b%d\n" % (i, i))
        paths.append(str(p))
    return paths


def test_push_forms_and_reads(ddfs, name, files):
    tag_urls, blobs = ddfs.push(name, [files[0], (files[1], "second"), (io.BytesIO(b"raw"), "third")])
    assert len(tag_urls) == 2 and len(blobs) == 3 and all(len(reps) == 2 for reps in blobs)
    assert [DDFS.blob_name(reps[0]) for reps in blobs] == ["file0_txt", "second", "third"]
    assert ddfs.urls(name) == blobs and list(ddfs.blobs(name)) == blobs
    assert ddfs.exists(name) and name in ddfs.list("test:") and ddfs.list("zz:") == []
    assert [f.read() for f in ddfs.pull(name, blobfilter=lambda n: n == "third")] == [b"raw"]
    assert ddfs.get(name)["id"].startswith(name + "$")
    assert Disco().ddfs.url == ddfs.url


def test_tags_attributes_and_deletion(ddfs, name):
    ddfs.tag(name, [["disco://h/a$1-1-1"]])
    ddfs.tag(name, ["disco://h/b$1-1-1"], update=True)
    ddfs.tag(name, [["disco://h/b$2-2-2"]], update=True, delayed=True)
    assert ddfs.urls(name) == [["disco://h/b$1-1-1"], ["disco://h/a$1-1-1"]]
    ddfs.put(name, [["disco://h/c$1-1-1"]])
    assert ddfs.urls(name) == [["disco://h/c$1-1-1"]]
    ddfs.setattr(name, "a1", "v1")
    assert ddfs.getattr(name, "a1") == "v1" and ddfs.attrs(name) == {"a1": "v1"}
    ddfs.delattr(name, "a1")
    assert ddfs.attrs(name) == {}
    assert ddfs.delete(name) == "deleted" and not ddfs.exists(name)


def test_walk_and_findtags_follow_subtags_once(ddfs, name):
    ddfs.tag(name + ":leaf", [["disco://h/x$1-1-1"]])
    ddfs.tag(name + ":mid", [["tag://%s:leaf" % name], ["disco://h/y$1-1-1"]])
    ddfs.tag(name, [["tag://%s:mid" % name], ["tag://%s:missing" % name], ["tag://%s" % name]])
    paths = [(path, blobs) for path, _tags, blobs in ddfs.walk(name)]
    top, mid, leaf = "tag://" + name, "tag://%s:mid" % name, "tag://%s:leaf" % name
    assert paths == [((top,), []), ((top, mid), [["disco://h/y$1-1-1"]]),
                     ((top, mid, leaf), [["disco://h/x$1-1-1"]]), ((top, "tag://%s:missing" % name), ())]
    found = {tag: blobs for tag, _tags, blobs in ddfs.findtags([name])}
    assert set(found) == {top, mid, leaf}
    assert sorted(ddfs.blobs(name)) == [["disco://h/x$1-1-1"], ["disco://h/y$1-1-1"]]
    with pytest.raises(CommError):
        list(ddfs.walk(name, ignore_missing=False))


def test_reads_fall_back_to_the_next_replica(master, ddfs, name, files, monkeypatch):
    _urls, (replicas,) = ddfs.push(name, [files[0]])
    os.unlink(local(master, replicas[0]))
    monkeypatch.setattr("disco.ddfs.random.sample", lambda seq, k: list(seq))   # the gone one first
    assert [f.read() for f in ddfs.pull(name)] == [b"line a0\nline b0\n"]
    assert list(result_iterator(["tag://" + name], reader=None)) == ["line a0\n", "line b0\n"]


def test_failed_upload_is_retried_without_that_node(ddfs, name, monkeypatch):
    upload = comm.upload
    failed = []

    def flaky(urls, source, token=None):
        if not failed:
            failed.append(urls[0].split("/")[-2])
            raise CommError("injected", urls[0], 500)
        return upload(urls, source, token)
    monkeypatch.setattr(comm, "upload", flaky)
    _tag, (replicas,) = ddfs.push(name, [(b"data", "blob")])
    assert failed and failed[0] not in {node_of(u) for u in replicas} and len(replicas) == 2


@pytest.mark.parametrize("version,marker", [("1", 0x81), ("2", 0x82)])
def test_chunk_reencodes_records(master, ddfs, name, tmp_path, monkeypatch, version, marker):
    monkeypatch.setenv("DISCO_STREAM_VERSION", version)
    path = tmp_path / "big.txt"
    path.write_text("".join("record %d\n" % i for i in range(3000)))
    _tag, blobs = ddfs.chunk(name, [str(path)], chunk_size=8000)
    assert len(blobs) > 2 and [DDFS.blob_name(b[0]) for b in blobs][:2] == ["big_txt-0", "big_txt-1"]
    assert all(open(local(master, b[0]), "rb").read(1)[0] == marker for b in blobs)
    assert list(result_iterator(["tag://" + name])) == ["record %d\n" % i for i in range(3000)]
    assert list(schemes.open("tag://" + name)) == ["record %d\n" % i for i in range(3000)]


def test_tarblobs(tmp_path):
    tarball = tmp_path / "t.tar"
    with tarfile.open(tarball, "w") as tar:
        for member, data in (("dir/a.txt", b"A" * 100), ("dir/b.log", b"B")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    blobs = {name: (buf.read(), size) for name, buf, size in DDFS.tarblobs(str(tarball))}
    assert set(blobs) == {"dir_a_txt_gz", "dir_b_log_gz"}
    assert gzip.decompress(blobs["dir_a_txt_gz"][0]) == b"A" * 100
    plain = [(n, b.read()) for n, b, _s in DDFS.tarblobs(str(tarball), compress=False, exclude=".log")]
    assert plain == [("dir_a_txt", b"A" * 100)]

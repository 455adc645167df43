"""The ``ddfs`` command line (docs/cli.md#ddfs), run as a subprocess against a real master."""
import gzip
import json
import os
import subprocess
import sys
import tarfile

import pytest

from disco.job import Job

FLAGS = ("DISCO_MASTER", "DISCO_PORT", "DDFS_READ_TOKEN", "DDFS_WRITE_TOKEN", "DISCO_SETTINGS_FILE")


def run(master, *args, stdin=None, master_flag=True, text=True):
    """``(exit code, stdout, stderr)`` of ``ddfs [-M <master>] args``. The environment names the
    data directories (blobs are read locally) but not the master."""
    env = {k: v for k, v in os.environ.items() if k not in FLAGS}
    env["DISCO_SETTINGS_FILE"] = os.devnull
    argv = [sys.executable, "-m", "disco.ddfs_cli"] + (["-M", master.url] if master_flag else []) + list(args)
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=text, env=env, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def out(master, *args, **kwargs):
    code, stdout, stderr = run(master, *args, **kwargs)
    assert code == 0, stderr
    return stdout


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    for name, text in (("one.txt", "first\nline\n"), ("two.txt", "second\n")):
        (d / name).write_text(text)
    with gzip.open(d / "z.gz", "wt") as f:
        f.write("zipped 1\nzipped 2\n")
    return d


def test_push_and_look(master, files):
    created = out(master, "push", "cli:a", str(files / "one.txt"), str(files / "two.txt")).splitlines()
    assert len(created) == 2 and all(line.startswith("created: disco://") for line in created)
    assert "cli:a" in out(master, "ls").split()
    listing = out(master, "ls", "-r", "cli:").splitlines()
    assert listing[0] == "cli:a" and len(listing) == 3 and listing[1].startswith("\t")
    blobs = out(master, "blobs", "cli:a").splitlines()
    assert len(blobs) == 2 and all(len(line.split("\t")) == 2 for line in blobs)
    assert out(master, "urls", "cli:a") == out(master, "blobs", "-p", "cli:")
    assert out(master, "cat", "cli:a") == "first\nline\nsecond\n"
    assert out(master, "exists", "cli:a") == "True\n"
    code, _stdout, stderr = run(master, "exists", "cli:nope")
    assert code == 1 and "False" in stderr
    tag = json.loads(out(master, "get", "cli:a"))
    assert len(tag["urls"]) == 2
    assert set(json.loads(out(master, "stat", "cli:a"))) == {"id", "last-modified", "user-data", "version"}
    assert out(master, "du", "cli:a") == "%d\tcli:a\n" % len("first\nline\nsecond\n")
    assert sorted(line.split("\t")[0] for line in out(master, "df").splitlines()) == ["n1", "n2", "n3"]


def test_push_directories_and_tarballs(master, files, tmp_path):
    assert run(master, "push", "cli:dir", str(files))[0] == 1
    created = out(master, "push", "-r", "-E", ".gz", "cli:dir", str(files)).splitlines()
    assert len(created) == 2
    with tarfile.open(tmp_path / "t.tar", "w") as tar:
        tar.add(str(files / "one.txt"), "inside/one.txt")
    created = out(master, "push", "-x", "-z", "-n", "1", "cli:tar", str(tmp_path / "t.tar")).splitlines()
    assert len(created) == 1 and len(created[0].split("\t")) == 1 and "inside_one_txt_gz" in created[0]
    assert gzip.decompress(run(master, "cat", "cli:tar", text=False)[1]) == b"first\nline\n"


def test_attributes_and_tokens(master):
    out(master, "touch", "cli:b")
    out(master, "setattr", "cli:b", "colour", "blue")
    assert out(master, "getattr", "cli:b", "colour") == "blue\n"
    assert out(master, "attrs", "cli:b") == "colour\tblue\n"
    out(master, "delattr", "cli:b", "colour")
    assert out(master, "attrs", "cli:b") == ""
    out(master, "chtok", "cli:b", "tok")
    code, _stdout, stderr = run(master, "get", "cli:b")
    assert code == 1 and "Incorrect or missing token" in stderr
    assert json.loads(out(master, "-t", "tok", "get", "cli:b"))["urls"] == []
    out(master, "chtok", "-r", "cli:b", "reader", "-t", "tok")
    assert out(master, "getattr", "-t", "reader", "cli:b", "ddfs:read-token") == "reader\n"
    assert run(master, "getattr", "-t", "reader", "cli:b", "ddfs:write-token")[0] == 1


def test_tag_put_cp_find_rm(master):
    out(master, "touch", "cli:x1", "cli:x2")
    out(master, "tag", "cli:x1", "disco://h/x$1-1-1")
    out(master, "tag", "cli:x2", stdin="disco://h/a$1-1-1 disco://g/a$1-1-1\n")
    assert out(master, "urls", "cli:x2") == "disco://h/a$1-1-1\tdisco://g/a$1-1-1\n"
    out(master, "put", "cli:x1", "disco://h/y$1-1-1")
    assert out(master, "urls", "cli:x1") == "disco://h/y$1-1-1\n"
    out(master, "cp", "cli:x1", "cli:x3")
    assert out(master, "urls", "cli:x3") == "disco://h/y$1-1-1\n"
    out(master, "tag", "cli:parent", "tag://cli:x1", "tag://cli:missing")
    assert out(master, "find", "cli:parent").splitlines() == ["tag://cli:parent",
                                                              "tag://cli:parent\ttag://cli:x1"]
    assert "Tag not found" in run(master, "find", "-w", "cli:parent")[2]
    assert run(master, "blobs", "cli:missing")[0] == 1
    assert out(master, "blobs", "-i", "cli:missing") == ""
    assert out(master, "rm", "-p", "cli:x") == "deleted\ndeleted\ndeleted\n"
    assert run(master, "ls", "cli:x") == (1, "", "ddfs: no tag starts with cli:x\n")


def test_chunk_and_xcat(master, files):
    created = out(master, "chunk", "-S", "0.000001", "cli:c", str(files / "one.txt")).splitlines()
    assert len(created) == 2 and all(line.startswith("created: ") for line in created)
    assert out(master, "xcat", "cli:c") == "first\nline\n"
    out(master, "chunk", "cli:d", "-", stdin="from\nstdin\n")
    assert out(master, "xcat", "-R", "disco.worker.task_io.chain_reader", "cli:d") == "from\nstdin\n"
    out(master, "push", "cli:z", str(files / "z.gz"))
    assert out(master, "xcat", "-T", "disco.worker.task_io.gzip_line_stream", "-R", "None", "cli:z") \
        == "zipped 1\nzipped 2\n"
    assert out(master, "cat", str(files / "two.txt")) == "second\n"


def map_pairs(line, params):
    yield line, len(line)


def test_job_mode_and_settings_file(master, tmp_path):
    job = Job().run(input=["raw://hello"], map=map_pairs)
    job.wait()
    assert out(master, "xcat", "-j", "@") == "hello\t5\n"
    assert out(master, "xcat", "-j", job.name) == "hello\t5\n"
    settings = tmp_path / "settings.py"
    settings.write_text("DISCO_MASTER = %r\n" % master.url)
    assert "cli:a" in out(master, "-s", str(settings), "ls", master_flag=False).split()
    assert "DISCO_MASTER = %s" % master.url in out(master, "-v", "ls")

"""disco.util helpers."""
import functools
import os

import pytest

from disco import util
from disco.error import DiscoError


def test_kvgroup_groups_consecutive_keys_only():
    records = [("a", 1), ("a", 2), ("b", 3), ("a", 4)]
    assert [(k, list(vs)) for k, vs in util.kvgroup(records)] == [
        ("a", [1, 2]), ("b", [3]), ("a", [4])]
    assert [(k, sum(vs)) for k, vs in util.kvgroup(sorted(records))] == [("a", 7), ("b", 3)]


def test_small_helpers():
    assert util.iskv(("k", "v")) and not util.iskv(["k", "v"]) and not util.iskv(("k",))
    assert util.isiterable([1]) and not util.isiterable("abc") and not util.isiterable(b"x")
    assert util.iterify("x") == ["x"] and util.iterify([1, 2]) == [1, 2]
    assert util.kvify("x") == ("x", None) and util.kvify((1, 2)) == (1, 2)
    assert util.partition(range(6), lambda n: n % 2) == ([1, 3, 5], [0, 2, 4])
    assert util.chainify([[1], [2, 3]]) == [1, 2, 3]
    assert list(util.flatten([1, [2, [3, "ab"]]])) == [1, 2, 3, "ab"]
    assert util.ilen(iter(range(5))) == 5
    assert sorted(util.shuffled(range(10))) == list(range(10))
    assert util.hexhash("job") == util.hexhash(b"job") and len(util.hexhash("x")) == 2


def test_argcount_accounts_for_partials_and_methods():
    def f(a, b, c=1):
        pass

    class C(object):
        def m(self, a, b):
            pass
    assert util.argcount(f) == 3
    assert util.argcount(functools.partial(f, 1)) == 2
    assert util.argcount(C().m) == 2
    assert util.argcount(lambda x: x) == 1


def test_globalize_only_fills_missing_names():
    ns = {}
    exec("x = 1\ndef f():\n    return x, y\n", ns)
    util.globalize(ns["f"], {"x": 2, "y": 3})
    assert ns["f"]() == (1, 3)


def test_dsorted_spills_runs_and_merges(tmp_path):
    data = [(i * 7919 % 1000, i) for i in range(1000)]
    assert list(util.dsorted(data, buffer_size=100, tempdir=str(tmp_path))) == sorted(data)
    assert list(util.dsorted(data, buffer_size=10000)) == sorted(data)
    by_key = list(util.dsorted([(2, {}), (1, {}), (2, [])], buffer_size=2, tempdir=str(tmp_path),
                               key=lambda r: r[0]))
    assert by_key == [(1, {}), (2, {}), (2, [])]
    assert os.listdir(str(tmp_path)) == []


def test_url_helpers():
    assert util.schemesplit("http://h/p") == ("http", "h/p")
    assert util.schemesplit("/local/path") == ("", "/local/path")
    assert util.urlsplit("disco://node/disco/a/b", disco_port=9000) == ("http", "node:9000", "disco/a/b")
    assert util.urlsplit("disco://node/disco/node/b", localhost="node", disco_data="/d") == (
        "file", "", "/d/node/b")
    assert util.urlsplit("disco://node/ddfs/vol0/x", localhost=True, ddfs_data="/dd") == (
        "file", "", "/dd/vol0/x")
    assert util.urlsplit("tag://mytag") == ("tag", "", "mytag")
    assert util.urljoin(("http", "h:1", "p/q")) == "http://h:1/p/q"
    assert util.urlresolve("dir://n/disco/x", disco_port=8989) == "http://n:8989/disco/x"
    assert util.urlresolve("tag://t", master="http://m:1") == "http://m:1/ddfs/tag/t"
    assert util.netloc.parse("user@host:80") == ("host", "80")
    assert str(util.netloc.parse("host")) == "host"
    assert util.urltoken("tag://u:tok@h/t") == "tok" and util.urltoken("tag://tok@/t") == "tok"
    assert util.urltoken("http://h/x") is None


def test_jobname_of_result_urls():
    name = "WordCount@5a1:2b3:4c5"
    assert util.jobname("dir://n/disco/n/ab/%s/.disco/map-1-2.results" % name) == name
    assert util.jobname("disco://n/disco/n/ab/%s/12/uid/file" % name) == name
    assert util.jobname("http://n:8989/x/%s/f" % name) == name
    with pytest.raises(DiscoError):
        util.jobname("raw://data")


def test_proxy_url():
    assert util.proxy_url("http://h:1/disco/x", proxy="") == "http://h:1/disco/x"
    assert util.proxy_url("http://h:1/disco/x", proxy="http://p:2") == "http://p:2/disco/x"
    assert util.proxy_url("http://h:1/disco/x", proxy="http://p:2", to_master=False) == \
        "http://p:2/proxy/h/GET/disco/x"


def write_index(root, lines, name="idx.results"):
    path = os.path.join(root, "n", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.writelines(lines)
    return "dir://n/disco/n/%s" % name


def test_read_index_and_parse_dir_read_local_files(disco_env):
    url = write_index(str(disco_env / "data"), ["1 disco://n/disco/n/b 10\n", "0 disco://n/disco/n/a 5\n",
                                                 "\n", "1 disco://n/disco/n/c 0\n"])
    assert list(util.read_index(url)) == [(1, "disco://n/disco/n/b", 10),
                                          (0, "disco://n/disco/n/a", 5),
                                          (1, "disco://n/disco/n/c", 0)]
    assert util.parse_dir(url) == ["disco://n/disco/n/a", "disco://n/disco/n/b",
                                   "disco://n/disco/n/c"]
    assert util.parse_dir(url, label=1) == ["disco://n/disco/n/b", "disco://n/disco/n/c"]
    assert util.ispartitioned([url]) and util.ispartitioned(url)
    assert not util.ispartitioned([]) and not util.ispartitioned([url, "http://x"])


def test_read_index_gz_and_corrupt(disco_env):
    import gzip
    from disco.error import DataError
    path = disco_env / "data" / "n" / "i.results.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b"3 disco://n/disco/n/x 7\n"))
    assert list(util.read_index("dir://n/disco/n/i.results.gz")) == [(3, "disco://n/disco/n/x", 7)]
    bad = write_index(str(disco_env / "data"), ["zero url 1\n"], "bad.results")
    with pytest.raises(DataError):
        list(util.read_index(bad))


def test_inputlist_expands_dirs_and_nested_lists(disco_env):
    url = write_index(str(disco_env / "data"), ["0 disco://n/disco/n/a 1\n", "1 disco://n/disco/n/b 1\n"])
    assert util.inputlist(["http://x", url]) == ["http://x", ["disco://n/disco/n/a"],
                                                 ["disco://n/disco/n/b"]]
    assert util.inputlist([url], label=1) == [["disco://n/disco/n/b"]]
    assert util.inputlist([url], label=False) == [url]
    assert util.inputlist([["http://a", "http://b"], [], ""]) == [["http://a", "http://b"]]

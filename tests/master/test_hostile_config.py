"""Hostile config tables and tag files (issue 9, items 5 and 7)."""
import json
import os

import pytest

from master_support import call, get_json, jobpack, run

TABLES = [
    ([[".." , "1"]], "node name '..'"),
    ([["a/b", "1"]], "node name 'a/b'"),
    ([["a..b", "1"]], "node name 'a..b'"),
    ([[".", "1"]], "node name '.'"),
    ([["-x", "1"]], "node name '-x'"),
    ([["a\u0000b", "1"]], "node name"),
    ([["a b", "1"]], "node name 'a b'"),
    ([["h" * 254, "1"]], "node name"),
    ([["n0:99999", "1"]], "range 'n0:99999' has more than 10000 nodes"),
    ([["a0:6000", "1"], ["b0:5000", "1"]], "more than 10000 nodes at entry 'b0:5000'"),
    ([["n9:1", "1"]], "range 'n9:1' ends before it starts"),
    ([["n", "１"]], "entry ['n', '１']"),
    ([["n", "99999999999"]], "entry"),
    ("hosts", "host table is not a list"),
]


@pytest.mark.parametrize("table, reason", TABLES)
def test_bad_tables_are_refused_naming_the_entry(master, table, reason):
    status, _h, body = call(master, "/disco/ctrl/save_config_table", table)
    assert status == 400, body
    text = json.loads(body)
    assert text.startswith("invalid config: ") and reason in text, text
    assert get_json(master, "/disco/ctrl/load_config_table") == [["localhost", "4"]]


def test_nothing_is_written_outside_the_data_directories(master):
    root = master.settings["DISCO_ROOT"]
    before = set(os.listdir(os.path.dirname(root)))
    for table, _reason in TABLES:
        call(master, "/disco/ctrl/save_config_table", table)
    name, reply = run(master, jobpack(inputs=[[0, 0, ["raw://0-a"]]], pipeline=[["map", "split", False]]))
    assert reply[0] == "ready"
    assert set(os.listdir(os.path.dirname(root))) == before
    assert os.listdir(master.settings["DISCO_DATA"]) == ["localhost"]


def test_ten_thousand_nodes_are_fine(master):
    try:
        assert get_json(master, "/disco/ctrl/save_config_table", [["n1:10000", "1"]]) == "table saved!"
        assert len(get_json(master, "/disco/ctrl/nodeinfo")) == 10000
    finally:
        get_json(master, "/disco/ctrl/save_config_table", [["localhost", "4"]])


def test_tag_files_are_not_served(master):
    assert call(master, "/ddfs/tag/secret", [["tag://x"]], "PUT")[0] == 200
    auth = {"Authorization": "Basic dG9rZW46czNjcjN0"}     # token:s3cr3t
    assert call(master, "/ddfs/tag/secret/ddfs:read-token", "s3cr3t", "PUT")[0] == 200
    tagdir = os.path.join(master.settings["DDFS_DATA"], "localhost", "vol0", "tag")
    versions = [(hh, v) for hh in os.listdir(tagdir) for v in os.listdir(os.path.join(tagdir, hh))
                if v.startswith("secret$")]
    assert len(versions) == 2
    for hh, version in versions:
        with open(os.path.join(tagdir, hh, version)) as f:
            assert "s3cr3t" in f.read() or version == min(v for _hh, v in versions)
        status, _h, body = call(master, "/ddfs/localhost/vol0/tag/%s/%s" % (hh, version.replace("$", "%24")))
        assert status == 403 and b"s3cr3t" not in body, body
    status, _h, body = call(master, "/ddfs/tag/secret", headers=auth)
    assert status == 200 and json.loads(body)["urls"] == [["tag://x"]]

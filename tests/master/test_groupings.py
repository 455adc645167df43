"""The five groupings on a simulated three-node cluster: group keys, placement, inputs, data."""
import pytest

from disco.master.embedded import start_master
from master_support import get_json, jobpack, read_results, run, seen

NODES = [["n1:3", "2"]]
# (node holding it, label, word): the map stage (split) is pinned to each input's node
INPUTS = [("n1", 0, "a"), ("n1", 1, "b"), ("n2", 1, "c"), ("n3", 2, "d"), ("n3", 0, "e")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with start_master(str(tmp_path_factory.mktemp("root")), config=NODES, DISCO_RETRY_BASE="0.01") as master:
        yield master


def run_grouping(master, grouping, envs=None):
    inputs = [[label, 0, ["disco://%s/x/%d-%s" % (node, label, word)]] for node, label, word in INPUTS]
    name, (status, results) = run(master, jobpack(envs=envs, inputs=inputs, pipeline=[
        ["map", "split", False], ["second", grouping, False]]))
    assert status == "ready"
    reports = seen(master, name)
    maps = {k[1]: v for k, v in reports.items() if k[0] == "map"}
    assert [(maps[i]["group"], maps[i]["node"]) for i in range(5)] == \
        [("%d,%s" % (label, node), node) for node, label, _word in INPUTS]
    second = [v for k, v in sorted(reports.items()) if k[0] == "second"]
    return second, results


def summary(reports):
    """``[(group, node or None for hostless groups, [(label, host of input), ...])]``."""
    return [(r["group"], r["node"] if not r["group"].endswith(",") else None,
             [(label, url.split("/")[2]) for label, url in r["inputs"]]) for r in reports]


def test_split(cluster):
    reports, results = run_grouping(cluster, "split")
    assert summary(reports) == [("%d,%s" % (label, node), node, [(str(label), node)])
                                for node, label, _word in INPUTS]
    assert read_results(cluster, results) == list("abcde")


def test_group_label(cluster):
    reports, results = run_grouping(cluster, "group_label")
    assert summary(reports) == [("0,", None, [("0", "n1"), ("0", "n3")]),
                                ("1,", None, [("1", "n1"), ("1", "n2")]),
                                ("2,", None, [("2", "n3")])]
    assert read_results(cluster, results) == list("abcde")
    assert [read_results(cluster, [r]) for r in results] == [["a", "e"], ["b", "c"], ["d"]]


def test_group_node_label(cluster):
    reports, results = run_grouping(cluster, "group_node_label")
    assert summary(reports) == [("0,n1", "n1", [("0", "n1")]), ("0,n3", "n3", [("0", "n3")]),
                                ("1,n1", "n1", [("1", "n1")]), ("1,n2", "n2", [("1", "n2")]),
                                ("2,n3", "n3", [("2", "n3")])]
    assert read_results(cluster, results) == list("abcde")


def test_group_node(cluster):
    reports, results = run_grouping(cluster, "group_node")
    assert summary(reports) == [("0,n1", "n1", [("all", "n1"), ("all", "n1")]),
                                ("0,n2", "n2", [("all", "n2")]),
                                ("0,n3", "n3", [("all", "n3"), ("all", "n3")])]
    assert [read_results(cluster, [r]) for r in results] == [["a", "b"], ["c"], ["d", "e"]]


def test_group_all(cluster):
    reports, results = run_grouping(cluster, "group_all")
    assert len(reports) == 1 and reports[0]["group"] == "0,"
    assert [label for label, _url in reports[0]["inputs"]] == ["all"] * 5
    assert read_results(cluster, results) == list("abcde")


def test_groupings_of_data_outputs(cluster):
    """URL outputs are grouped by their label and replica host like index entries."""
    reports, results = run_grouping(cluster, "group_node_label", envs={"BEHAVIOUR": "forward"})
    assert summary(reports) == [("%d,%s" % (label, node), node, [(str(label), node)])
                                for node, label, _word in sorted(INPUTS, key=lambda i: (i[1], i[0]))]
    assert results == [["disco://%s/x/%d-%s" % i] for i in sorted(INPUTS, key=lambda i: (i[1], i[0]))]


def test_blacklisted_node_gets_no_tasks(cluster):
    get_json(cluster, "/disco/ctrl/blacklist", "n2")
    inputs = [[label, 0, ["disco://%s/x/%d-%s" % (node, label, word)]] for node, label, word in INPUTS]
    try:
        name, (status, _results) = run(cluster, jobpack(inputs=inputs, pipeline=[["map", "split", False]]))
    finally:
        get_json(cluster, "/disco/ctrl/whitelist", "n2")
    assert status == "ready"
    nodes = {k[1]: v["node"] for k, v in seen(cluster, name).items()}
    assert nodes[2] in ("n1", "n3") and [nodes[i] for i in (0, 1, 3, 4)] == ["n1", "n1", "n3", "n3"]

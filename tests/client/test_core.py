"""disco.core: the master client (against a scripted HTTP master) and result_iterator."""
import ast
import json
import os
import shutil

import pytest

from disco.core import Disco, client_version, result_iterator
from disco.error import CommError, DiscoError, JobError
from disco.fileutils import DiscoOutput
from disco.job import Job, JobChain, JobPack


def json_route(value, status=200):
    return lambda handler, body: (status, json.dumps(value).encode())


@pytest.fixture
def disco(server, monkeypatch):
    monkeypatch.setenv("DISCO_PORT", str(server.port))
    return Disco(server.url)


def last_request(server):
    method, path, headers, body = server.requests[-1]
    return method, path, body


def test_master_url_forms(monkeypatch):
    monkeypatch.setenv("DISCO_PORT", "9999")
    assert Disco("disco://node").url == "http://node:9999"
    assert Disco("http://h:1/").url == "http://h:1"
    monkeypatch.setenv("DISCO_MASTER", "http://m:2")
    assert Disco().master == "http://m:2" and repr(Disco()) == "Disco master at http://m:2"
    assert Disco(proxy="http://p:3").url == "http://p:3"


def test_control_requests(disco, server):
    routes = server.routes
    routes[("GET", "/disco/version")] = json_route("0.5.4")
    routes[("GET", "/disco/ctrl/nodeinfo")] = json_route({"localhost": {"max_workers": 2}})
    routes[("GET", "/disco/ctrl/joblist")] = json_route([[1, "ready", "j@1"]])
    routes[("GET", "/disco/ctrl/jobinfo")] = json_route({"active": "ready"})
    routes[("GET", "/disco/ctrl/get_stageresults")] = json_route([["dir://x"]])
    routes[("GET", "/disco/ctrl/load_config_table")] = json_route([["localhost", "2"]])
    for op in ("kill_job", "clean_job", "purge_job", "blacklist", "whitelist"):
        routes[("POST", "/disco/ctrl/" + op)] = json_route("")
    routes[("POST", "/disco/ctrl/save_config_table")] = json_route("table saved!")
    assert disco.master_version() == "0.5.4"
    assert disco.nodeinfo() == {"localhost": {"max_workers": 2}}
    assert disco.joblist() == [[1, "ready", "j@1"]]
    assert disco.jobinfo("j@1:2") == {"active": "ready"}
    assert last_request(server)[1] == "/disco/ctrl/jobinfo?name=j%401%3A2"
    assert disco.stageresults("j", "map") == [["dir://x"]]
    assert last_request(server)[1] == "/disco/ctrl/get_stageresults?name=j&stage=map"
    assert disco.config == [["localhost", "2"]]
    disco.config = [["n", "1"]]
    assert last_request(server) == ("POST", "/disco/ctrl/save_config_table", b'[["n", "1"]]')
    for method, path in ((disco.kill, "kill_job"), (disco.clean, "clean_job"),
                         (disco.purge, "purge_job"), (disco.blacklist, "blacklist"),
                         (disco.whitelist, "whitelist")):
        method("j@1")
        assert last_request(server) == ("POST", "/disco/ctrl/" + path, b'"j@1"')
    routes[("POST", "/disco/ctrl/save_config_table")] = json_route("invalid config", 200)
    with pytest.raises(DiscoError, match="invalid config"):
        disco.set_config([])


def test_submit_and_jobpack(disco, server):
    pack = JobPack(1, {"prefix": "p", "worker": "w", "owner": "o", "scheduler": {}, "input": [],
                       "nr_reduces": 1}, {}, b"home", b"data")
    server.routes[("POST", "/disco/job/new")] = json_route(["ok", "p@1:2:3"])
    assert disco.submit(pack.dumps()) == "p@1:2:3"
    assert last_request(server)[2] == pack.dumps()
    server.routes[("GET", "/disco/ctrl/parameters")] = lambda h, b: (200, pack.dumps())
    assert disco.jobpack("p@1:2:3").jobhome == b"home"
    server.routes[("POST", "/disco/job/new")] = json_route(["error", "invalid prefix"])
    with pytest.raises(DiscoError, match="invalid prefix"):
        disco.submit(pack.dumps())


def test_unreachable_master_says_so(monkeypatch):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % s.getsockname()[1]
    with pytest.raises(CommError, match="is disco master running at"):
        Disco(url).joblist()


def test_results_single_and_list(disco, server):
    replies = {"a": ["ready", [["dir://r"]]], "b": ["active", []], "c": ["dead", []]}

    def get_results(handler, body):
        timeout, names = json.loads(body)
        return 200, json.dumps([[n, replies.get(n, ["unknown job", []])] for n in names]).encode()
    server.routes[("POST", "/disco/ctrl/get_results")] = get_results
    assert disco.results("a", timeout=5) == ("ready", [["dir://r"]])
    assert json.loads(last_request(server)[2]) == [5, ["a"]]
    assert disco.results(Job(name="zz", master=disco)) == ("unknown job", [])
    inactive, active = disco.results(["a", ("b", ("active", [])), Job(name="c", master=disco)])
    assert inactive == [("a", ("ready", [["dir://r"]])), ("c", ("dead", []))]
    assert active == [("b", ("active", []))]
    with pytest.raises(JobError, match="Status dead"):
        disco.wait("c", poll_interval=0.01)
    assert disco.wait("a") == [["dir://r"]]
    with pytest.raises(JobError, match="Timeout"):
        disco.wait("b", poll_interval=0.01, timeout=0.05)


def test_events_and_rawevents_offsets(disco, server):
    lines = [json.dumps(["2024/01/01 00:00:0%d" % i, "master", "event é %d" % i]).encode() + b"\n"
             for i in range(3)]
    log = b"".join(lines) + b'["partial'

    def rawevents(handler, body):
        start = int(handler.headers.get("Range", "bytes=0-")[6:-1])
        if start >= len(log):
            return 416, b""
        return (206 if start else 200), log[start:]
    server.routes[("GET", "/disco/ctrl/rawevents")] = rawevents
    events = list(disco.events("j"))
    assert [e for _, e in events] == [tuple(json.loads(l)) for l in lines]
    assert [o for o, _ in events] == [len(lines[0]), len(lines[0] + lines[1]),
                                      len(b"".join(lines))]
    assert [e[2] for _, e in disco.events("j", offset=events[0][0])] == ["event é 1", "event é 2"]
    assert list(disco.events("j", offset=len(log) + 5)) == []


def test_wait_shows_events(disco, server, capsys):
    server.routes[("POST", "/disco/ctrl/get_results")] = json_route([["j", ["ready", ["dir://r"]]]])
    server.routes[("GET", "/disco/ctrl/rawevents")] = lambda h, b: (200, b'["t", "master", "READY: done"]\n')
    server.routes[("GET", "/disco/ctrl/jobinfo")] = json_route(
        {"pipeline": [["map", 0, 0, 0, 2, 0], ["reduce", 0, 0, 0, 0, 0]]})
    assert disco.wait("j", show="nocolor") == ["dir://r"]
    out = capsys.readouterr().err      # events never mix with a program's output
    assert "t master READY: done" in out and "Status: [map] 0 pending, 0 waiting, 0 running, 2 done, 0 failed" in out


def test_oob_reads_the_jobs_oob_tag(disco, server):
    server.routes[("GET", "/ddfs/tag/disco:job:oob:j")] = json_route({"urls": [], "user-data": {}})
    assert disco.ddfs.url == server.url
    assert disco.oob_list("j") == [] and disco.oob_get("j", "k") is None
    with pytest.raises(JobError, match="No profile data"):
        disco.profile_stats("j")


def test_client_version():
    assert client_version() == "0.5.4"


# -- result_iterator ---------------------------------------------------------------------------------

def write_records(path, records, version=-1):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with DiscoOutput(path, version=version) as out:
        for record in records:
            out.append(record)


def test_result_iterator_local_index_files(disco_env):
    data = disco_env / "data"
    write_records(str(data / "n" / "ab" / "j" / "p0"), [("a", 1)])
    write_records(str(data / "n" / "ab" / "j" / "p1"), [("b", 2), ("c", 3)])
    index = data / "n" / "ab" / "j" / ".disco" / "reduce-1-1.results"
    index.parent.mkdir()
    index.write_text("0 disco://n/disco/n/ab/j/p0 10\n1 disco://n/disco/n/ab/j/p1 20\n")
    notified = []
    results = [["dir://n/disco/n/ab/j/.disco/reduce-1-1.results"]]
    assert list(result_iterator(results, notifier=notified.append)) == [("a", 1), ("b", 2), ("c", 3)]
    assert notified == [["disco://n/disco/n/ab/j/p0"], ["disco://n/disco/n/ab/j/p1"]]


def test_result_iterator_reads_an_original_cluster_over_http(vectors, server, monkeypatch):
    """dir:// and disco:// URLs of a Disco 0.5 cluster: index and v1 files fetched from
    http://host:DISCO_PORT/disco/..."""
    monkeypatch.setenv("DISCO_PORT", str(server.port))
    jobdir = os.path.join(server.root, "disco", "node1", "4f", "WordCount@1:2:3")
    os.makedirs(os.path.join(jobdir, ".disco"))
    expected = []
    lines = []
    for label, name in enumerate(("v1-wordcount", "v1-py2", "v1-multihunk")):
        shutil.copy(os.path.join(vectors, name + ".disco"), os.path.join(jobdir, name))
        with open(os.path.join(vectors, name + ".expected")) as f:
            expected += ast.literal_eval(f.read())
        lines.append("%d disco://127.0.0.1/disco/node1/4f/WordCount@1:2:3/%s 100\n" % (label, name))
    with open(os.path.join(jobdir, ".disco", "reduce-0-1.results"), "w") as f:
        f.writelines(lines)
    url = "dir://127.0.0.1/disco/node1/4f/WordCount@1:2:3/.disco/reduce-0-1.results"
    assert list(result_iterator([[url]])) == expected
    direct = "disco://127.0.0.1/disco/node1/4f/WordCount@1:2:3/v1-wordcount"
    with open(os.path.join(vectors, "v1-wordcount.expected")) as f:
        assert list(result_iterator([direct])) == ast.literal_eval(f.read())


def test_result_iterator_fails_over_between_replicas(server, disco_env):
    write_records(os.path.join(server.root, "good"), [("k", "v")])
    replicas = [server.url + "/gone", server.url + "/good"]
    assert list(result_iterator([replicas])) == [("k", "v")]
    from disco.error import InputMissing
    with pytest.raises(InputMissing, match=r"/gone\): input not found: .*\(404\)"):
        list(result_iterator([[server.url + "/gone"]]))     # absent everywhere: no use retrying


def test_result_iterator_custom_reader_and_streams(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("x\ny\n")
    assert list(result_iterator([str(path)], reader=None)) == ["x\n", "y\n"]

    def upper(fd, size, url, params):
        return [line.upper() + params for line in fd]
    assert list(result_iterator([str(path)], reader=upper, params="!")) == ["X\n!", "Y\n!"]


# -- JobChain -----------------------------------------------------------------------------------------

class ChainJob(Job):
    pass


def test_job_chain_runs_jobs_when_their_inputs_are_ready(monkeypatch):
    state = {}
    submitted = []

    def run(job, **jobargs):
        submitted.append((job.name, jobargs["input"]))
        state[job.name] = "active"
        return job

    def results(self, name, timeout=2000):
        return state.get(name, "unknown job"), ["%s-out" % name]
    monkeypatch.setattr(ChainJob, "run", run)
    monkeypatch.setattr(Disco, "results", results)
    first, second = ChainJob(name="first"), ChainJob(name="second")
    chain = JobChain({first: ["raw://in"], second: [first, "raw://extra"]})
    assert chain.walk() == "active" and submitted == [("first", ["raw://in"])]
    assert chain.walk() == "active" and len(submitted) == 1
    state["first"] = "ready"
    assert chain.walk() == "active"
    assert submitted[1] == ("second", ["first-out", "raw://extra"])
    state["second"] = "ready"
    assert chain.wait(poll_interval=0) is chain
    state["second"] = "dead"
    with pytest.raises(JobError, match="Status dead"):
        chain.walk()

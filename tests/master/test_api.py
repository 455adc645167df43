"""The /disco/ HTTP API of docs/http-api.md#disco: paths, bodies, status codes and JSON shapes."""
import json
import os
import re
import time

from master_support import call, get_json, jobpack, run, submit, wait

MAP = {"pipeline": [["map", "split", False]]}


def test_version(master):
    status, headers, body = call(master, "/disco/version")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == "0.5.4"


def test_unknown_paths_and_methods_are_404(master):
    assert call(master, "/disco/ctrl/no_such_op")[0] == 404
    assert call(master, "/disco/ctrl/no_such_op", "x")[0] == 404
    assert call(master, "/disco/version", "x")[0] == 404
    assert call(master, "/disco/ctrl/joblist", method="DELETE")[0] == 404
    assert call(master, "/elsewhere")[0] == 404


def test_bad_bodies_are_400(master):
    status, _h, body = call(master, "/disco/ctrl/kill_job", b"{not json")
    assert status == 400 and "invalid JSON" in json.loads(body)
    assert call(master, "/disco/ctrl/get_results", {"a": 1})[0] == 400
    assert call(master, "/disco/ctrl/kill_job", [1])[0] == 400
    assert call(master, "/disco/ctrl/jobinfo")[0] == 400


def test_config_table(master):
    assert get_json(master, "/disco/ctrl/load_config_table") == [["localhost", "4"]]
    table = [["localhost", "4"], ["node01:03", "2"]]
    assert get_json(master, "/disco/ctrl/save_config_table", table) == "table saved!"
    try:
        assert get_json(master, "/disco/ctrl/load_config_table") == table
        info = get_json(master, "/disco/ctrl/nodeinfo")
        assert sorted(info) == ["localhost", "node01", "node02", "node03"]
        assert info["node02"]["max_workers"] == 2
        for bad, reason in (([["n1:2", "1"], ["n2", "1"]], "duplicate nodes"), ([["n1", "x"]], "invalid config"),
                            ({"hosts": []}, "invalid config")):
            status, _h, body = call(master, "/disco/ctrl/save_config_table", bad)
            assert status == 400 and json.loads(body).startswith(reason), (bad, body)
        assert get_json(master, "/disco/ctrl/load_config_table") == table
    finally:
        get_json(master, "/disco/ctrl/save_config_table", [["localhost", "4"]])


def test_blacklists(master):
    get_json(master, "/disco/ctrl/save_config_table", [["localhost", "4"], ["spare", "1"]])
    try:
        for add, remove, show in (("blacklist", "whitelist", "get_blacklist"),
                                  ("gc_blacklist", "gc_whitelist", "get_gc_blacklist")):
            assert get_json(master, "/disco/ctrl/" + add, "spare") == ""
            assert get_json(master, "/disco/ctrl/" + show) == ["spare"]
            assert call(master, "/disco/ctrl/" + add, "unknown-host")[0] == 400
            assert get_json(master, "/disco/ctrl/" + remove, "spare") == ""
            assert get_json(master, "/disco/ctrl/" + show) == []
        get_json(master, "/disco/ctrl/blacklist", "spare")
        assert get_json(master, "/disco/ctrl/nodeinfo")["spare"]["blacklisted"] is True
        get_json(master, "/disco/ctrl/save_config_table", [["localhost", "4"]])   # prunes the blacklist
        assert get_json(master, "/disco/ctrl/get_blacklist") == []
    finally:
        get_json(master, "/disco/ctrl/save_config_table", [["localhost", "4"]])


def test_settings(master):
    assert get_json(master, "/disco/ctrl/get_settings") == {"max_failure_rate": 100, "accept_new_jobs": 1}
    assert get_json(master, "/disco/ctrl/save_settings", {"max_failure_rate": "7", "other": "x"}) == "Settings saved"
    assert get_json(master, "/disco/ctrl/get_settings") == {"max_failure_rate": 7, "accept_new_jobs": 1}
    assert call(master, "/disco/ctrl/save_settings", {"accept_new_jobs": "2"})[0] == 400
    assert call(master, "/disco/ctrl/save_settings", {"max_failure_rate": "many"})[0] == 400
    get_json(master, "/disco/ctrl/save_settings", {"max_failure_rate": "100"})


def test_job_queries(master):
    name, (status, results) = run(master, jobpack(prefix="query", inputs=[[0, 0, ["raw://0-a"]], [0, 0, ["raw://1-b"]]],
                                                  **MAP))
    assert status == "ready" and len(results) == 2
    assert re.fullmatch(r"query@[0-9a-f]+:[0-9a-f]+:[0-9a-f]+", name)
    start, listed_status, listed_name = get_json(master, "/disco/ctrl/joblist")[0]
    assert (listed_status, listed_name) == ("ready", name) and abs(start - time.time()) < 60

    info = get_json(master, "/disco/ctrl/jobinfo?name=" + name)
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", info.pop("timestamp"))
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", info.pop("ended"))
    assert 0 < info.pop("duration") < 60 and info.pop("tasks") == []
    assert info == {"active": "ready", "pipeline": [["map", 0, 0, 0, 2, 0]], "hosts": [],
                    "results": [r[0] for r in results], "inputs": ["raw://0-a", "raw://1-b"],
                    "worker": "worker.sh", "owner": "tester@host"}
    assert call(master, "/disco/ctrl/jobinfo?name=nosuchjob")[0] == 404

    status, _h, body = call(master, "/disco/ctrl/parameters?name=" + name)
    assert status == 200 and body.startswith(b"\xd5\xc0\x00\x02")
    assert call(master, "/disco/ctrl/parameters?name=nosuchjob")[0] == 404

    assert get_json(master, "/disco/ctrl/get_stageresults?stage=map&name=" + name) == results
    assert get_json(master, "/disco/ctrl/get_stageresults?stage=input&name=" + name) == [["raw://0-a"], ["raw://1-b"]]
    assert call(master, "/disco/ctrl/get_stageresults?stage=reduce&name=" + name)[0] == 404
    assert call(master, "/disco/ctrl/get_stageresults?stage=map&name=nosuchjob")[0] == 404


def test_events(master):
    name, _status = run(master, jobpack(inputs=[[0, 0, ["raw://0-a"]]], **MAP))
    status, headers, raw = call(master, "/disco/ctrl/rawevents?name=" + name)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    lines = raw.decode().splitlines(keepends=True)
    for line in lines:
        stamp, host, message = json.loads(line)
        assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", stamp) and host in ("master", "localhost")
        assert line == json.dumps([stamp, host, message], ensure_ascii=False) + "\n"
    assert json.loads(lines[0])[2] == "New job initialized!"
    assert json.loads(lines[-1])[2].startswith("READY: Job done in ")

    status, headers, tail = call(master, "/disco/ctrl/rawevents?name=" + name, headers={"Range": "bytes=%d-" % 10})
    assert status == 206 and tail == raw[10:]

    status, headers, body = call(master, "/disco/ctrl/jobevents?num=3&name=" + name)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert json.loads(body) == [json.loads(line) for line in reversed(lines[-3:])]
    assert len(get_json(master, "/disco/ctrl/jobevents?name=" + name)) == min(10, len(lines))
    done = get_json(master, "/disco/ctrl/jobevents?num=100&filter=FINISHED%20in&name=" + name)
    assert [e[2][:5] for e in done] == ["Stage", "DONE:"]
    assert get_json(master, "/disco/ctrl/jobevents?name=nosuchjob") == []
    assert call(master, "/disco/ctrl/rawevents?name=nosuchjob")[0] == 404
    assert call(master, "/disco/ctrl/jobevents?num=x&name=" + name)[0] == 400


def test_nodeinfo(master):
    info = get_json(master, "/disco/ctrl/nodeinfo")["localhost"]
    assert info["max_workers"] == 4 and info["connected"] is True and info["blacklisted"] is False
    assert info["job_ok"] >= 0 and info["diskfree"] > 0 and info["diskused"] >= 0
    assert "tasks" not in info or all(isinstance(t, str) for t in info["tasks"])


def test_data_files_with_range_and_no_escape(master):
    name, (_status, results) = run(master, jobpack(inputs=[[0, 0, ["raw://0-hello"]]], **MAP))
    path = results[0][0].split("/disco/", 1)[1]
    status, _h, index = call(master, "/disco/" + path)
    assert status == 200 and index.startswith(b"0 disco://localhost/disco/localhost/")
    data_path = index.split()[1].decode().split("/disco/", 1)[1]
    assert call(master, "/disco/" + data_path)[2] == b"hello\n"
    status, _h, part = call(master, "/disco/" + data_path, headers={"Range": "bytes=2-"})
    assert (status, part) == (206, b"llo\n")
    assert call(master, "/disco/" + data_path, method="HEAD")[0] == 404
    assert call(master, "/disco/localhost/no/such/file")[0] == 404

    data = master.settings["DISCO_DATA"]
    secret = os.path.join(os.path.dirname(data), "secret")
    with open(secret, "w") as f:
        f.write("secret")
    os.symlink(secret, os.path.join(data, "link"))
    for bad in ("/disco/..%2Fsecret", "/disco/localhost/..%2F..%2Fsecret", "/disco/%2E%2E/secret",
                "/disco/link", "/disco/localhost"):
        status, _h, body = call(master, bad)
        assert status in (403, 404) and b"secret" not in body, bad


def test_get_results_long_poll(master, tmp_path):
    sleeper = submit(master, jobpack(envs={"BEHAVIOUR": "sleep", "TEST_DIR": str(tmp_path)}, inputs=[[0, 0, ["raw://0-a"]]], **MAP))
    quick = submit(master, jobpack(inputs=[[0, 0, ["raw://0-a"]]], **MAP))
    started = time.monotonic()
    reply = get_json(master, "/disco/ctrl/get_results", [20000, [sleeper, quick, "nosuchjob"]])
    assert time.monotonic() - started < 10
    assert [r[0] for r in reply] == [sleeper, quick, "nosuchjob"]
    assert reply[0][1] == ["active", []] and reply[1][1][0] == "ready" and reply[2][1] == ["unknown job", []]
    started = time.monotonic()
    assert get_json(master, "/disco/ctrl/get_results", [300, [sleeper]]) == [[sleeper, ["active", []]]]
    assert 0.25 < time.monotonic() - started < 5
    assert get_json(master, "/disco/ctrl/kill_job", sleeper) == ""
    assert wait(master, sleeper) == ["dead", []]


def test_kill_clean_purge(master):
    name, (_status, results) = run(master, jobpack(inputs=[[0, 0, ["raw://0-a"]]], **MAP))
    index = os.path.join(master.settings["DISCO_DATA"], results[0][0].split("/disco/", 1)[1])
    assert os.path.exists(index)
    assert get_json(master, "/disco/ctrl/kill_job", name) == ""        # not active: nothing happens
    assert wait(master, name)[0] == "ready"
    assert get_json(master, "/disco/ctrl/clean_job", name) == ""
    assert wait(master, name) == ["unknown job", []] and os.path.exists(index)
    assert call(master, "/disco/ctrl/jobinfo?name=" + name)[0] == 404

    name, (_status, results) = run(master, jobpack(inputs=[[0, 0, ["raw://0-a"]]], **MAP))
    jobdir = os.path.dirname(os.path.dirname(os.path.join(master.settings["DISCO_DATA"],
                                                          results[0][0].split("/disco/", 1)[1])))
    assert get_json(master, "/disco/ctrl/purge_job", name) == ""
    assert wait(master, name) == ["unknown job", []] and not os.path.exists(jobdir)
    assert name not in [j[2] for j in get_json(master, "/disco/ctrl/joblist")]
    for op in ("kill_job", "clean_job", "purge_job"):
        assert get_json(master, "/disco/ctrl/" + op, "../../nosuchjob") == ""


RANGE_CASES = [   # (Range header, status, body, Content-Range) for the file "hello\n"; RFC 9110 §14
    ("bytes=1-3", 206, b"ell", "bytes 1-3/6"),
    ("bytes=4-", 206, b"o\n", "bytes 4-5/6"),
    ("bytes=-2", 206, b"o\n", "bytes 4-5/6"),
    ("bytes=-100", 206, b"hello\n", "bytes 0-5/6"),       # suffix longer than the file: all of it
    ("bytes=2-1000", 206, b"llo\n", "bytes 2-5/6"),       # last position clamped
    ("BYTES=0-0", 206, b"h", "bytes 0-0/6"),              # the unit is case-insensitive
    ("bytes=6-", 416, b"", "bytes */6"),                  # first position past the end
    ("bytes=-0", 416, b"", "bytes */6"),                  # empty suffix: unsatisfiable
    ("bytes=3-1", 200, b"hello\n", None),                 # invalid: ignored
    ("bytes=-", 200, b"hello\n", None),
    ("bytes=0-1,3-4", 200, b"hello\n", None),             # several ranges: may be ignored
    ("items=0-1", 200, b"hello\n", None),                 # unknown unit: must be ignored
]
EMPTY_CASES = [   # the same for an empty file
    ("bytes=0-1048575", 200, b"", None),                  # what Disco 0.5 clients always send
    ("bytes=0-", 200, b"", None),
    ("bytes=-5", 200, b"", None),                         # satisfiable, but no 206 holds 0 bytes
    ("bytes=1-", 416, b"", "bytes */0"),
    ("bytes=-0", 416, b"", "bytes */0"),
]


def test_data_file_ranges_follow_rfc_9110(master):
    """Issue 14.3: a ranged GET of an empty file answers 200 with an empty body."""
    data = master.settings["DISCO_DATA"]
    os.makedirs(os.path.join(data, "localhost", "ranges"), exist_ok=True)
    for name, content, cases in (("hello", b"hello\n", RANGE_CASES), ("empty", b"", EMPTY_CASES)):
        with open(os.path.join(data, "localhost", "ranges", name), "wb") as f:
            f.write(content)
        for header, status, body, content_range in cases:
            got = call(master, "/disco/localhost/ranges/" + name, headers={"Range": header})
            assert (got[0], got[2], got[1].get("Content-Range")) == (status, body, content_range), header


def test_proxy_prefix_is_taken_off(master):
    """Disco 0.5's master took ``/proxy/<node>/<METHOD>/`` off a path before dispatching it
    (clients whose DISCO_PROXY is the master send data requests that way): the same answers,
    the same refusals."""
    name, (_status, results) = run(master, jobpack(inputs=[[0, 0, ["raw://0-proxied"]]], **MAP))
    path = results[0][0].split("/disco/", 1)[1]
    index = call(master, "/disco/" + path)[2]
    assert call(master, "/proxy/localhost/GET/disco/" + path)[:3:2] == (200, index)
    data_path = index.split()[1].decode().split("/disco/", 1)[1]
    assert call(master, "/proxy/localhost/GET/disco/" + data_path, headers={"Range": "bytes=2-"})[:3:2] \
        == (206, b"oxied\n")
    assert json.loads(call(master, "/proxy/x/GET/disco/ctrl/joblist")[2])[0][2] == name
    urls = json.loads(call(master, "/proxy/localhost/GET/ddfs/new_blob/proxyblob")[2])
    put = urls[0].split("/ddfs/", 1)[1]
    status, _h, body = call(master, "/proxy/localhost/PUT/ddfs/" + put, body=b"blob data", method="PUT")
    assert status == 201, body
    blob = json.loads(body).split("/ddfs/", 1)[1]
    assert call(master, "/proxy/localhost/GET/ddfs/" + blob)[2] == b"blob data"
    for bad in ("/proxy/localhost/GET/disco/..%2F..%2Fsecret", "/proxy/localhost/GET/disco/localhost",
                "/proxy/localhost/GET/nothing", "/proxy/localhost/disco/" + data_path):
        assert call(master, bad)[0] in (403, 404), bad

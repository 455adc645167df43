"""Hostile and unlucky request bodies (issue 9, item 9): each gets a 4xx naming what was wrong,
never a 500, and the master keeps working."""
import json
import socket

import pytest

from master_support import call, get_json, jobpack, run

DEEP = b"[" * 100000 + b"]" * 100000
SURROGATE = b'"\\udc80"'


def status_text(master, path, body=None, method=None):
    status, _headers, data = call(master, path, body, method)
    return status, data.decode("utf-8", "replace")


@pytest.mark.parametrize("path", ["/disco/ctrl/kill_job", "/disco/ctrl/purge_job", "/disco/ctrl/clean_job",
                                  "/disco/ctrl/get_results", "/disco/ctrl/save_settings",
                                  "/disco/ctrl/save_config_table", "/disco/ctrl/blacklist",
                                  "/disco/ctrl/gc_whitelist"])
def test_deeply_nested_json_is_refused(master, path):
    status, text = status_text(master, path, DEEP)
    assert (status, "nested too deeply" in text) == (400, True), text


def test_deeply_nested_tag_body_is_refused(master):
    for method in ("POST", "PUT"):
        assert status_text(master, "/ddfs/tag/deep", DEEP, method) == (
            403, "Invalid request body: JSON nested too deeply.")
        assert status_text(master, "/ddfs/tag/deep/attr", DEEP, "PUT")[0] == 403


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, 1.5, True, "x", -1, 2 ** 40, "9" * 5000])
def test_save_settings_names_the_bad_value(master, value):
    for key in ("max_failure_rate", "accept_new_jobs"):
        status, text = status_text(master, "/disco/ctrl/save_settings", {key: value})
        assert status == 400 and ("invalid %s" % key) in text, (value, status, text)
    assert get_json(master, "/disco/ctrl/get_settings")["accept_new_jobs"] == 1


@pytest.mark.parametrize("op", ["kill_job", "purge_job", "clean_job"])
@pytest.mark.parametrize("body", [SURROGATE, b'"a\\u0000b"', json.dumps("j" * 300).encode(), b"3", b"[]"])
def test_job_operations_refuse_bad_names(master, op, body):
    status, text = status_text(master, "/disco/ctrl/" + op, body)
    assert status == 400 and "invalid job name" in text, (status, text)


def test_jobinfo_and_events_refuse_bad_names(master):
    for path in ("jobinfo", "jobevents", "rawevents", "parameters", "jobattempts"):
        status, text = status_text(master, "/disco/ctrl/%s?name=%s" % (path, "a%00b"))
        assert status == 400 and "invalid job name" in text, (path, status, text)


@pytest.mark.parametrize("timeout", ["NaN", "Infinity", "-Infinity", "1e15", "-5", "true", '"5"'])
def test_get_results_refuses_bad_timeouts(master, timeout):
    status, text = status_text(master, "/disco/ctrl/get_results", ('[%s, ["x"]]' % timeout).encode())
    assert status == 400 and "invalid timeout" in text, (status, text)


def test_get_results_refuses_bad_names(master):
    status, text = status_text(master, "/disco/ctrl/get_results", b'[10, ["\\udc80"]]')
    assert status == 400 and "invalid job name" in text


@pytest.mark.parametrize("prefix, reason", [("p" * 300, "longer than 128"), ("p\0", "invalid prefix"),
                                            ("p\udc80", "lone surrogate"), ("", "invalid prefix")])
def test_job_prefix_errors(master, prefix, reason):
    reply = get_json(master, "/disco/job/new", jobpack(prefix=prefix))
    assert reply[0] == "error" and reason in reply[1], reply


def test_lone_surrogates_anywhere_in_the_jobdict(master):
    reply = get_json(master, "/disco/job/new", jobpack(owner="o\udc80"))
    assert reply[0] == "error" and "invalid jobdict" in reply[1], reply


@pytest.mark.parametrize("name", ["a b", "a/b", "x" * 65, "s\0"])
def test_stage_names_that_cannot_be_file_names(master, name):
    reply = get_json(master, "/disco/job/new", jobpack(pipeline=[[name, "split", False]]))
    assert reply[0] == "error" and "stage name" in reply[1], reply


def test_ddfs_attribute_with_lone_surrogate(master):
    assert status_text(master, "/ddfs/tag/surr", [["tag://x"]], "PUT")[0] == 200
    assert status_text(master, "/ddfs/tag/surr/a", SURROGATE, "PUT") == (403, "Invalid attribute value.")
    assert status_text(master, "/ddfs/tag/surr/%ED%B2%80", b'"x"', "PUT")[0] in (200, 403)


@pytest.mark.parametrize("length", [201, 250, 300, 511])
def test_long_tag_names(master, length):
    status, text = status_text(master, "/ddfs/tag/" + "t" * length, [["tag://x"]], "POST")
    assert (status, text) == (403, "Invalid tag: longer than 200 characters.")


@pytest.mark.parametrize("length", [230, 300, 511])
def test_long_blob_names(master, length):
    status, text = status_text(master, "/ddfs/put/localhost/%s$5e5-1-2" % ("b" * length), b"x", "PUT")
    assert (status, text) == (403, "Invalid blob name.")


def test_duplicate_blob_put_is_a_conflict(master):
    put = "/ddfs/put/localhost/dup$5e5-1-2"
    assert status_text(master, put, b"x", "PUT")[0] == 201
    assert status_text(master, put, b"x", "PUT") == (409, "File exists")


@pytest.mark.parametrize("replicas", ["-1", "x", "100000", "1e3"])
def test_new_blob_refuses_bad_replicas(master, replicas):
    status, text = status_text(master, "/ddfs/new_blob/b?replicas=" + replicas)
    assert status == 403 and text.startswith("Invalid replicas"), (status, text)


def test_master_still_works(master):
    name, status = run(master, jobpack())
    assert status == ["ready", []], status


def test_bodies_cut_short_are_not_internal_errors(start, tmp_path):
    log = open(tmp_path / "master.log", "w+")
    master = start(stderr=log)
    for path in ("/disco/job/new", "/disco/ctrl/kill_job", "/ddfs/tag/cut", "/ddfs/put/localhost/cut$5e5-1-2"):
        with socket.create_connection(("127.0.0.1", master.port)) as s:
            method = b"PUT" if "/put/" in path else b"POST"
            s.sendall(b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
                      % (method, path.encode()) + b"x" * 5000)
    run(master, jobpack())          # the master has handled the cut requests by now
    log.seek(0)
    text = log.read()
    log.close()
    assert "Traceback" not in text and "ERROR" not in text, text[-2000:]

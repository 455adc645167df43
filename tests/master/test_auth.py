"""Who may ask the master (issue 9, item 4): Host and Origin checks, the optional
DISCO_AUTH_TOKEN for the HTTP API, the Python client, the CLIs and the workers."""
import json
import os
import subprocess
import sys

import pytest

from disco.core import Disco, result_iterator
from disco.ddfs import DDFS
from disco.error import CommError
from disco.job import Job
from master_support import call, get_json, jobpack
from masters import point_clients_at

TOKEN = "s3cret-t0ken"
BEARER = {"Authorization": "Bearer " + TOKEN}


def host_of(master):
    return master.url.split("://", 1)[1]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "localhost.evil.example", "x:y:z",
                                  "[::1"])
def test_foreign_host_names_are_refused(master, host):
    status, _h, body = call(master, "/disco/ctrl/joblist", headers={"Host": host})
    assert status == 403 and b"is not a name of this server" in body, body


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:1", "127.0.0.1:9", "[::1]:80", "10.1.2.3"])
def test_own_names_and_addresses_are_served(master, host):
    assert call(master, "/disco/ctrl/joblist", headers={"Host": host})[0] == 200


def test_configured_nodes_and_allowed_hosts_are_names_of_the_master(start):
    m = start(DISCO_ALLOWED_HOSTS="disco.example.org, other.example")
    for host in ("disco.example.org", "other.example:8989"):
        assert call(m, "/disco/ctrl/joblist", headers={"Host": host})[0] == 200
    assert call(m, "/disco/ctrl/joblist", headers={"Host": "node7"})[0] == 403
    get_json(m, "/disco/ctrl/save_config_table", [["localhost", "1"], ["node7", "1"]])
    assert call(m, "/disco/ctrl/joblist", headers={"Host": "node7"})[0] == 200


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://localhost:1"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"}])
def test_cross_site_state_changes_are_refused(master, headers):
    for path, body in (("/disco/ctrl/save_settings", {"accept_new_jobs": "0"}),
                       ("/disco/job/new", jobpack()), ("/ddfs/tag/x", [["tag://y"]])):
        status, _h, text = call(master, path, body, headers=headers)
        assert status == 403 and text.startswith(b"cross-site request refused"), (path, text)
    assert call(master, "/ddfs/ctrl/gc_start", headers=headers)[0] == 403
    assert get_json(master, "/disco/ctrl/get_settings")["accept_new_jobs"] == 1
    assert call(master, "/disco/ctrl/joblist", headers=headers)[0] == 200    # reads are not state changes


def test_same_origin_state_changes_pass(master):
    for headers in ({"Origin": master.url}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
        status, _h, body = call(master, "/disco/ctrl/save_settings", {"accept_new_jobs": "1"}, headers=headers)
        assert status == 200, (headers, body)


@pytest.fixture
def secured(start):
    return start(DISCO_AUTH_TOKEN=TOKEN)


def test_token_is_needed_for_the_api_but_not_the_page_assets(secured):
    for path in ("/disco/ctrl/joblist", "/ddfs/tags", "/disco/version", "/disco/localhost/x"):
        status, headers, body = call(secured, path)
        assert (status, headers.get("WWW-Authenticate")) == (401, 'Bearer realm="disco"'), path
        assert b"DISCO_AUTH_TOKEN" in body
        assert call(secured, path, headers={"Authorization": "Bearer wrong"})[0] == 401
    assert call(secured, "/disco/ctrl/joblist", headers=BEARER)[0] == 200
    assert call(secured, "/disco/ctrl/joblist", headers={"X-Disco-Auth": TOKEN})[0] == 200
    for path in ("/", "/index.html", "/job.html", "/js/common.js", "/css/style.css"):
        status = call(secured, path)[0]
        assert status in (200, 404) and status != 401, path
    assert call(secured, "/js/common.js")[0] == 200


def test_token_beside_a_ddfs_tag_token(secured):
    tag_token = {"Authorization": "Basic dG9rZW46dDE=", "X-Disco-Auth": TOKEN}     # token:t1
    assert call(secured, "/ddfs/tag/locked", [["tag://x"]], "PUT", headers=BEARER)[0] == 200
    assert call(secured, "/ddfs/tag/locked/ddfs:read-token", "t1", "PUT", headers=BEARER)[0] == 200
    assert call(secured, "/ddfs/tag/locked", headers=BEARER)[0] == 401          # the tag token is missing
    status, _h, body = call(secured, "/ddfs/tag/locked", headers=tag_token)
    assert status == 200 and json.loads(body)["urls"] == [["tag://x"]]


def test_python_client_cli_and_workers_send_the_token(secured, monkeypatch, tmp_path):
    point_clients_at(monkeypatch, secured)
    with pytest.raises(CommError) as failure:
        Disco().joblist()
    assert failure.value.code == 401
    monkeypatch.setenv("DISCO_AUTH_TOKEN", TOKEN)
    ddfs = DDFS()
    ddfs.push("words", [str(_words(tmp_path))])
    assert ddfs.list() == ["words"]
    (blob,), = ddfs.urls("words")
    http_blob = "%s/ddfs/%s" % (secured.url, blob.split("/ddfs/", 1)[1])
    for inputs in (["tag://words"], [http_blob]):       # the worker reads the blob over HTTP
        job = Job().run(input=inputs, map=_word_map)
        assert sorted(result_iterator(job.wait(timeout=120))) == [("hello", 1), ("world", 1)]
    env = {**os.environ, "DISCO_AUTH_TOKEN": TOKEN}
    for argv in ([sys.executable, "-m", "disco.ddfs_cli", "ls"], [sys.executable, "-m", "disco.cli", "nodeinfo"]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (argv, done.stderr)
    done = subprocess.run([sys.executable, "-m", "disco.ddfs_cli", "ls"], capture_output=True, text=True,
                          timeout=120, env={k: v for k, v in env.items() if k != "DISCO_AUTH_TOKEN"})
    assert done.returncode != 0 and "401" in done.stderr + done.stdout, done


def _words(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("hello world\n")
    return path


def _word_map(line, params):
    for word in line.split():
        yield word, 1

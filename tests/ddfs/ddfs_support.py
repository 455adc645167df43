"""Helpers of the DDFS tests: HTTP calls with tokens, local paths of DDFS URLs, GC runs."""
import base64
import json
import os
import time
import urllib.error
import urllib.request


def auth(token):
    return {"Authorization": "Basic " + base64.b64encode(b"token:" + token.encode()).decode()}


def call(master, path, body=None, method=None, token=None, headers=None):
    """``(status, body)`` of a request (JSON reply decoded when it is JSON); non-bytes bodies are
    sent as JSON."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    headers = dict(headers or {}, **(auth(token) if token else {}))
    request = urllib.request.Request(master.url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, data, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as e:
        status, data, kind = e.code, e.read(), e.headers.get_content_type()
    return status, json.loads(data) if kind == "application/json" else data.decode()


def ok(master, path, body=None, method=None, token=None):
    status, reply = call(master, path, body, method, token)
    assert 200 <= status < 300, (status, reply)
    return reply


def local(master, url):
    """The file of a ``disco://N/ddfs/...`` URL."""
    return os.path.join(master.settings["DDFS_DATA"], url.split("/ddfs/", 1)[1])


def node_of(url):
    return url.split("://", 1)[1].split("/", 1)[0]


def upload(master, prefix, data, **query):
    """Upload ``data`` as a new blob through ``new_blob``; its replica URLs."""
    qs = "&".join("%s=%s" % kv for kv in query.items())
    return [ok(master, put.replace(master.url, ""), data, "PUT")
            for put in ok(master, "/ddfs/new_blob/%s?%s" % (prefix, qs))]


def gc(master, timeout=30):
    """Run GC (after the first automatic run has finished); its statistics."""
    wait_gc_idle(master, timeout)
    assert ok(master, "/ddfs/ctrl/gc_start") == "GC has started"
    return wait_gc_idle(master, timeout)


def wait_gc_idle(master, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        # the status first: stats read before it could be those of the run before, when the
        # run in progress ends between the two requests
        if ok(master, "/ddfs/ctrl/gc_status") == "":
            stats = ok(master, "/ddfs/ctrl/gc_stats")
            if stats:
                return stats
        time.sleep(0.05)
    raise AssertionError("GC did not finish within %d s" % timeout)

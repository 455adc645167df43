#!/usr/bin/env python3
"""A worker that, like Disco 0.5's Python worker, knows its cluster only from its environment.

It speaks the Worker Protocol 1.1 using the standard library alone (so any ``python3`` runs it),
resolves the ``disco://`` URL of jobenv ``TEST_URL`` the way Disco 0.5's ``util.urlsplit`` does
without a task (``http://<host>:$DISCO_PORT/disco/<path>``, DISCO_PORT defaulting to 8989), reads
it over HTTP and reports in one MSG, as JSON: ``{"read": <body or error>, "env": {<Disco settings
it inherited>}, "local": <whether DISCO_DATA/<path> exists>}``.
"""
import json
import os
import sys
import urllib.request

SETTINGS = ("DISCO_MASTER", "DISCO_MASTER_HOST", "DISCO_PORT", "DISCO_DATA", "DDFS_DATA")


def request(msg_type, payload):
    body = json.dumps(payload)
    sys.stderr.write("%s %d %s\n" % (msg_type, len(body.encode()), body))
    sys.stderr.flush()
    return sys.stdin.readline()


request("WORKER", {"version": "1.1", "pid": os.getpid()})
request("TASK", "")
url = os.environ["TEST_URL"]
host, path = url.split("://", 1)[1].split("/", 1)
try:
    with urllib.request.urlopen("http://%s:%s/%s" % (host, os.environ.get("DISCO_PORT", "8989"), path),
                                timeout=10) as reply:
        read = reply.read().decode()
except OSError as e:
    read = "error: %s" % e
local = os.path.exists(os.path.join(os.environ.get("DISCO_DATA", "/nonexistent"), path.split("/", 1)[1]))
request("MSG", json.dumps({"read": read, "env": {k: os.environ.get(k) for k in SETTINGS}, "local": local}))
sys.stderr.write('DONE 2 ""\n')

"""Fixtures of the web page tests: headless Chromium (Debian's ``chromium`` driven by Playwright),
real masters, screenshots under ``test-artifacts/screenshots/`` and a stub DDFS API.

Without Playwright or Chromium (``.ci/install-browser`` installs both) the tests that need the
browser are skipped, with the reason, unless ``DISCO_TEST_WEB=required`` (CI sets it): then they
fail. Set ``DISCO_TEST_CHROMIUM`` to use another Chromium binary.
"""
import asyncio
import os
import threading
import time
import types

import pytest
import requests

from disco.master.embedded import start_master
from masters import point_clients_at

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCREENSHOTS = os.path.join(REPO, "test-artifacts", "screenshots")
CHROMIUM = os.environ.get("DISCO_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAPTOP = {"width": 1366, "height": 800}
FAST = {"DISCO_RETRY_BASE": "0.01", "DISCO_WORKERS": "2"}
INSTALL = "run .ci/install-browser (apt-get install chromium; pip install playwright)"
REQUIRED = os.environ.get("DISCO_TEST_WEB") == "required"


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _without_browser("the web tests need Playwright for Python: " + INSTALL)
    if not os.access(CHROMIUM, os.X_OK):
        _without_browser("the web tests need Chromium at %s: %s" % (CHROMIUM, INSTALL))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _without_browser(reason):
    if REQUIRED:
        pytest.fail(reason + " (DISCO_TEST_WEB=required)", pytrace=False)
    pytest.skip(reason)


class Dialogs:
    """The dialogs a page opened (``seen``: ``(type, message)``); confirms and prompts are
    answered with the queued answers (``answer(True)``; a string: the text typed in a prompt),
    dismissed when none is queued."""

    def __init__(self):
        self.seen = []
        self.answers = []

    def answer(self, accept):
        self.answers.append(accept)

    def handle(self, dialog):
        self.seen.append((dialog.type, dialog.message))
        answer = self.answers.pop(0) if dialog.type in ("confirm", "prompt") and self.answers else None
        if isinstance(answer, str):
            dialog.accept(answer)
        elif answer:
            dialog.accept()
        else:
            dialog.dismiss()


@pytest.fixture
def dialogs():
    return Dialogs()


@pytest.fixture
def page(browser, dialogs):
    """A fresh laptop-sized page; the test fails on any uncaught script error."""
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(10000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", dialogs.handle)
    yield page
    context.close()
    assert errors == [], "script errors on the page: %s" % errors


@pytest.fixture
def shot():
    """``shot(page, name)``: a full-page screenshot ``test-artifacts/screenshots/<name>.png``."""
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def take(page, name):
        page.screenshot(path=os.path.join(SCREENSHOTS, name + ".png"), full_page=True)
    return take


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """One real master for the module (node ``localhost``, 2 slots); clients use it."""
    m = start_master(str(tmp_path_factory.mktemp("web") / "root"), **FAST)
    patch = pytest.MonkeyPatch()
    point_clients_at(patch, m)
    yield m
    patch.undo()
    m.stop()


@pytest.fixture
def fresh_master(tmp_path, monkeypatch):
    """A real master of its own for one test: ``fresh_master(config=..., **settings)``."""
    masters = []

    def starter(**settings):
        m = start_master(str(tmp_path / ("root%d" % len(masters))), **{**FAST, **settings})
        masters.append(m)
        point_clients_at(monkeypatch, m)
        return m
    yield starter
    for m in masters:
        m.stop()


def wait_for(check, timeout=15, interval=0.1, what="condition"):
    """Poll ``check()`` until it returns a true value (returned) or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for %s" % what)
        time.sleep(interval)


def api(master, path, **kwargs):
    """GET (or POST with ``json=``) ``/disco/ctrl/<path>`` of ``master``; the decoded reply."""
    url = master.url + "/disco/ctrl/" + path
    reply = requests.post(url, **kwargs) if "json" in kwargs else requests.get(url, **kwargs)
    reply.raise_for_status()
    return reply.json()


# ---- a stub of the DDFS API (docs/http-api.md#ddfs), for the pages' DDFS branches ----

STUB_TAGS = {
    "data:web:logs": {
        "version": 1, "id": "data:web:logs$5f1-2a-3b", "last-modified": "2024/01/02 03:04:05",
        "read-token": "SECRET-READ-TOKEN", "write-token": "SECRET-WRITE-TOKEN",
        "urls": [["disco://%s/ddfs/vol0/blob/1f/part-0$5f1-1-1" % host for host in ("nodeA", "nodeB")],
                 ["tag://data:web:other"]],
        "user-data": {"owner": "<b>alice</b>", "rows": 42},
    },
    "data:web:other": {"version": 1, "id": "data:web:other$5f1-2a-3c",
                       "last-modified": "2024/01/02 03:04:06", "urls": [], "user-data": {}},
    "results:<img src=x onerror=alert(3)>": {"version": 1, "id": "x$1", "last-modified": "2024/01/01 00:00:00",
                                             "urls": [], "user-data": {}},
}

STUB_JOB = "<i>stub</i>@1:2:3"
STUB_NODES = {
    "nodeA": {"job_ok": 5, "data_error": 1, "error": 2, "max_workers": 3, "connected": True,
              "blacklisted": True, "tasks": [STUB_JOB], "diskfree": 1000, "diskused": 3000},
    "nodeB": {"job_ok": 0, "data_error": 0, "error": 0, "max_workers": 2, "connected": False,
              "blacklisted": False},
}


class StubDDFS:
    """An HTTP server with the web pages and a stub ``/ddfs`` API (tags above, GC control; none
    with ``ddfs=False``) plus
    the ``/disco`` replies the status page needs (nodes in states a local master never shows:
    disconnected, blacklisted with a running task), in a thread of its own."""

    def __init__(self, ddfs=True):
        self.ddfs = ddfs
        self.gc_running = False
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _app(self):
        from aiohttp import web

        from disco.master import webui

        def const(value):
            async def handler(request):
                return web.json_response(value() if callable(value) else value)
            return handler

        async def tags(request):
            prefix = request.match_info.get("prefix", "").strip("/")
            return web.json_response(sorted(t for t in STUB_TAGS if t.startswith(prefix)))

        async def tag(request):
            obj = STUB_TAGS.get(request.match_info["tag"])
            if obj is None:
                raise web.HTTPNotFound(text="Tag not found.")
            return web.json_response(obj)

        async def gc_start(request):
            self.gc_running = True
            return web.json_response("GC has started")

        app = web.Application()
        ddfs_routes = [
            web.get("/ddfs/tags", tags),
            web.get("/ddfs/tags/{prefix:.*}", tags),
            web.get("/ddfs/tag/{tag}", tag),
            web.get("/ddfs/ctrl/gc_status", const(lambda: "build_map" if self.gc_running else "")),
            web.get("/ddfs/ctrl/gc_stats", const({"timestamp": "2024/01/02 03:00:00", "stats": {
                "Tags kept": [12, 3400], "Tags deleted": [1, 200],
                "Blobs kept": [340, 5 * 1024 ** 3], "Blobs deleted": [7, 1024 ** 2]}})),
            web.get("/ddfs/ctrl/gc_start", gc_start),
        ]
        app.add_routes([
            *(ddfs_routes if self.ddfs else []),
            web.get("/disco/version", const("stub")),
            web.get("/disco/ctrl/joblist", const([[1700000000, "active", STUB_JOB]])),
            web.get("/disco/ctrl/nodeinfo", const(STUB_NODES)),
            *webui.routes(types.SimpleNamespace(settings={})),
        ])
        return app

    def _run(self):
        from aiohttp import web
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(self._app(), access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = "http://127.0.0.1:%d" % site._server.sockets[0].getsockname()[1]
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def ddfs_stub():
    stub = StubDDFS()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def no_ddfs_stub():
    """The stub without any ``/ddfs`` route (a master without DDFS: every ``/ddfs`` call 404s)."""
    stub = StubDDFS(ddfs=False)
    yield stub
    stub.stop()

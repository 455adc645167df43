"""The test harness of Disco (``disco.test`` of Disco 0.5): unittest cases that run jobs on a
master, and a small HTTP server that feeds them generated inputs.

``TestCase`` uses the master of its class attribute ``settings`` (default ``DiscoSettings()``,
i.e. ``DISCO_MASTER``) when one answers there; otherwise it starts an embedded master
(``disco.master.embedded``) under a temporary root for the test class, points this process's
Disco settings (``DISCO_MASTER``, ``DISCO_PORT``, ``DISCO_ROOT``, ``DISCO_DATA``) at it while the
class runs, and stops it afterwards. A test that defines ``serve(path)`` gets a ``TestServer`` on
``test_server_address`` (``DISCO_TEST_HOST``, ``DISCO_TEST_PORT``; port 0 picks a free one) for
each test: ``self.test_server.urls(inputs)`` are its input URLs. ``self.job`` is purged after each
test when ``DISCO_TEST_PURGE`` is set (default). SIGINT during a test raises ``InterruptTest``.
"""
import os
import shutil
import signal
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import zip_longest
from unittest import SkipTest
from urllib.parse import unquote

from disco.core import Disco, result_iterator
from disco.error import CommError, DiscoError
from disco.job import Job
from disco.settings import DiscoSettings

CLIENT_SETTINGS = ("DISCO_MASTER", "DISCO_PORT", "DISCO_ROOT", "DISCO_DATA", "DDFS_DATA")
VERBOSITY = {"off": 0, "log": 1, "trace": 2}


class InterruptTest(SkipTest):
    """The test was interrupted (SIGINT)."""


class FailedReply(Exception):
    """Raised by a ``serve`` function: the TestServer answers ``500``."""


def handler(data_generator):
    """A request handler class: ``GET /<path>`` answers ``200`` with ``data_generator(path)``
    (str is sent UTF-8 encoded; a ``Range: bytes=a-b`` request gets that part, ``206``), or
    ``500`` when it raises FailedReply."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            try:
                data = data_generator(unquote(self.path.lstrip("/")))
            except FailedReply as e:
                return self.reply(500, str(e).encode("utf-8"))
            if isinstance(data, str):
                data = data.encode("utf-8")
            start, end = _range(self.headers.get("Range"), len(data))
            if start is None:
                return self.reply(200, data)
            self.reply(206, data[start:end + 1],
                       {"Content-Range": "bytes %d-%d/%d" % (start, end, len(data))})

        def reply(self, status, body, headers=()):
            self.send_response(status)
            for item in dict(headers, **{"Content-Length": str(len(body))}).items():
                self.send_header(*item)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass
    return Handler


def _range(header, size):
    """``(start, end)`` of a ``bytes=a-b`` header within ``size`` bytes, or ``(None, None)``."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None, None
    first, _, last = header[6:].partition("-")
    try:
        start = int(first) if first else max(size - int(last), 0)
        end = int(last) if first and last else size - 1
    except ValueError:
        return None, None
    return (start, min(end, size - 1)) if start < size else (None, None)


class TestServer(ThreadingHTTPServer):
    """A threaded HTTP server of generated data (see ``handler``)."""

    allow_reuse_address = True
    daemon_threads = True
    __test__ = False

    @classmethod
    def create(cls, server_address, data_generator):
        return cls(tuple(server_address), handler(data_generator))

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    @property
    def address(self):
        host, port = self.server_address[:2]
        return "http://%s:%d" % (host, port)

    def urls(self, inputs):
        """``[[<address>/<input>], ...]``: one single-replica input per item."""
        return [["%s/%s" % (self.address, input)] for input in inputs]


class TestJob(Job):
    """A Job whose ``profile`` parameter is ``DISCO_TEST_PROFILE``."""

    __test__ = False  # not a test class for pytest

    @property
    def profile(self):
        return bool(self.settings["DISCO_TEST_PROFILE"])


class TestPipe(TestJob):
    """A TestJob run by the pipeline worker."""

    from disco.worker.pipeline.worker import Worker  # noqa: F401  (the class attribute)


class TestCase(unittest.TestCase):
    """A test case running jobs on a master (see the module doc)."""

    settings = None
    _master = _saved = _root = _given = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        settings = cls.settings or DiscoSettings()
        try:
            Disco(settings=settings).master_version()
            cls.settings = settings
        except CommError:
            cls._start_embedded_master()

    @classmethod
    def _start_embedded_master(cls):
        from disco.master.embedded import start_master
        cls._given = cls.settings
        cls._root = tempfile.mkdtemp(prefix="disco-test-")
        cls._master = start_master(os.path.join(cls._root, "root"))
        cls.settings = cls._master.settings
        cls._saved = {k: os.environ.get(k) for k in CLIENT_SETTINGS}
        for key in CLIENT_SETTINGS:
            os.environ[key] = str(cls.settings[key])

    @classmethod
    def tearDownClass(cls):
        if cls._master is not None:
            cls._master.stop()
            for key, value in cls._saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            shutil.rmtree(cls._root, ignore_errors=True)
            cls.settings = cls._given
            cls._master = cls._saved = cls._root = cls._given = None
        super().tearDownClass()

    @property
    def disco(self):
        return Disco(settings=self.settings)

    @property
    def ddfs(self):
        return self.disco.ddfs

    @property
    def nodes(self):
        """``{host: max_workers}`` of the nodes that are not blacklisted."""
        return {host: info["max_workers"] for host, info in self.disco.nodeinfo().items()
                if not info.get("blacklisted")}

    @property
    def num_workers(self):
        return sum(info["max_workers"] for info in self.disco.nodeinfo().values())

    @property
    def test_server_address(self):
        return (str(self.settings["DISCO_TEST_HOST"]), int(self.settings["DISCO_TEST_PORT"]))

    def assertAllEqual(self, results, answers):
        """Every item of ``results`` equals the answer at the same position (same lengths)."""
        missing = object()
        for n, (result, answer) in enumerate(zip_longest(results, answers, fillvalue=missing)):
            self.assertEqual(result, answer, "item %d differs: %r != %r" % (n, result, answer))

    def assertCommErrorCode(self, code, callable):
        """``callable()`` raises CommError with HTTP status ``code``."""
        with self.assertRaises(CommError) as cm:
            callable()
        self.assertEqual(cm.exception.code, code)

    def assertResults(self, job, answers):
        self.assertAllEqual(self.results(job), answers)

    def results(self, job, **kwargs):
        return result_iterator(job.wait(), **kwargs)

    def setUp(self):
        if hasattr(self, "serve"):
            self.test_server = TestServer.create(self.test_server_address, self.serve).start()

    def tearDown(self):
        if hasattr(self, "serve") and hasattr(self, "test_server"):
            self.test_server.stop()
        if self.settings and self.settings["DISCO_TEST_PURGE"] and hasattr(self, "job"):
            try:
                self.job.purge()
            except DiscoError:
                pass

    def run(self, result=None):
        def interrupt(signum, frame):
            raise InterruptTest("interrupted (SIGINT)")
        if threading.current_thread() is not threading.main_thread():
            return super().run(result)
        previous = signal.signal(signal.SIGINT, interrupt)
        try:
            return super().run(result)
        finally:
            signal.signal(signal.SIGINT, previous)


class TestLoader(unittest.TestLoader):
    """A loader giving every loaded ``TestCase`` class ``settings``."""

    __test__ = False

    def __init__(self, settings):
        super().__init__()
        self.settings = settings

    def loadTestsFromTestCase(self, testCaseClass):
        if issubclass(testCaseClass, TestCase):
            testCaseClass.settings = self.settings
        return super().loadTestsFromTestCase(testCaseClass)


class TestRunner(unittest.TextTestRunner):
    """A text runner with verbosity from ``DISCO_DEBUG`` (off/log/trace -> 0/1/2); ``run(*names)``
    loads tests by dotted name with a ``TestLoader(settings)``."""

    __test__ = False

    def __init__(self, settings, stream=None):
        self.settings = settings
        verbosity = VERBOSITY.get(str(settings["DISCO_DEBUG"]), 1)
        super().__init__(stream=stream or sys.stderr, verbosity=verbosity)

    def run(self, *names):
        return super().run(TestLoader(self.settings).loadTestsFromNames(names))

"""``disco.test`` (TestCase with a TestServer, TestLoader/TestRunner, an embedded master when none
answers) and the ``disco`` commands ``run``, ``deref``, ``oob``, ``pstats`` and ``test``."""
import io
import os
import subprocess
import sys
import textwrap

from disco.core import Disco
from disco.job import Job
from disco.test import FailedReply, TestCase, TestJob, TestRunner

from wsupport import reduce_sum

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples")


def served_map(line, params):
    yield line.strip(), 1


class ServedCount(TestCase):
    """Run by test_testcase_on_the_running_master (not collected on its own)."""

    __test__ = False

    def serve(self, path):
        if path == "broken":
            raise FailedReply("no such data")
        return "".join("%s\n" % path for _ in range(3))

    def test_job_on_served_inputs(self):
        self.assertIsNone(type(self)._master)  # the master at DISCO_MASTER answered
        self.assertEqual(self.nodes, {"n1": 2, "n2": 2})
        self.assertEqual(self.num_workers, 4)
        self.job = TestJob().run(input=self.test_server.urls(["x", "y"]), map=served_map, reduce=reduce_sum)
        self.assertResults(self.job, [("x", 3), ("y", 3)])
        self.assertAllEqual(iter([1, 2]), [1, 2])
        with self.assertRaises(AssertionError):
            self.assertAllEqual([1, 2], [1])
        self.assertCommErrorCode(404, lambda: self.disco.jobinfo("nosuchjob@0:0:0"))
        import requests
        reply = requests.get(self.test_server.address + "/broken")
        self.assertEqual(reply.status_code, 500)
        ranged = requests.get(self.test_server.address + "/abc", headers={"Range": "bytes=2-5"})
        self.assertEqual((ranged.status_code, ranged.content), (206, b"c\nab"))


def test_testcase_on_the_running_master(master, monkeypatch):
    monkeypatch.setenv("DISCO_TEST_PORT", "0")
    stream = io.StringIO()
    result = TestRunner(Disco().settings, stream=stream).run("test_harness_cli.ServedCount")
    assert result.wasSuccessful() and result.testsRun == 1, stream.getvalue()


EMBEDDED_TEST = '''
from disco.test import TestCase, TestJob


def upper_map(line, params):
    yield line.strip().upper(), None


class EmbeddedMaster(TestCase):
    def serve(self, path):
        return path + "\\n"

    def test_runs_on_an_embedded_master(self):
        assert type(self)._master is not None
        self.job = TestJob().run(input=self.test_server.urls(["a", "b"]), map=upper_map, partitions=None)
        self.assertEqual(sorted(self.results(self.job)), [("A", None), ("B", None)])
'''


def disco(*args, cwd=None, input=None):
    return subprocess.run([sys.executable, "-m", "disco.cli"] + list(args), capture_output=True, text=True,
                          timeout=120, cwd=cwd, input=input)


def test_disco_test_starts_an_embedded_master_when_none_answers(master, tmp_path, monkeypatch):
    module = tmp_path / "test_embedded_case.py"
    module.write_text(textwrap.dedent(EMBEDDED_TEST))
    monkeypatch.setenv("DISCO_TEST_PORT", "0")
    out = disco("-M", "http://127.0.0.1:1", "test", str(module), cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
    missing = disco("test", "no_such_test_module")
    assert missing.returncode != 0 and "no test module" in missing.stderr


def test_disco_run_deref_oob_and_pstats(master, text_inputs):
    out = disco("run", "-n", "counted", "-S", "max_cores", "2", "-P", "note", "hello",
                "--profile", "True", "chain.Count", *text_inputs, cwd=EXAMPLES)
    assert out.returncode == 0, out.stderr
    name = out.stdout.strip()
    assert name.startswith("counted@")
    results = Disco().wait(name)
    jobdict = Disco().jobpack(name).jobdict
    assert jobdict["scheduler"] == {"max_cores": 2}
    deref = disco("deref", *[u for reps in results for u in reps])
    members = deref.stdout.split()
    assert deref.returncode == 0 and members and all(u.startswith("disco://") for u in members)
    assert disco("deref", "-j", name).stdout == deref.stdout
    assert all(u.startswith("http://") for u in disco("deref", "-r", "-j", name).stdout.split())
    keys = disco("oob", name)
    assert keys.returncode == 0 and "profile-map:" in keys.stdout, keys.stderr
    stats = disco("pstats", "-k", "tottime", name)
    assert stats.returncode == 0 and "function calls" in stats.stdout, stats.stderr


def put_map(line, params):
    put("greeting", b"hello, oob")  # noqa: F821  (a classic worker global)
    yield line, 1


def test_disco_oob_get_and_run_with_map_and_reduce_options(master, text_inputs):
    out = disco("run", "-m", "wsupport.map_words", "-r", "wsupport.reduce_sum", "disco.job.Job",
                cwd=HERE, input="\n".join(text_inputs) + "\n")
    assert out.returncode == 0, out.stderr
    assert dict(Disco().result_iterator(Disco().wait(out.stdout.strip())))["the"] == 15
    job = Job().run(input=["raw://a"], map=put_map)
    job.wait()
    got = disco("oob", "get", "greeting", "@?%s" % job.name.split("@")[1])
    assert got.returncode == 0 and got.stdout == "hello, oob", got.stderr
    bad = disco("oob", "get", "nosuchkey", job.name)
    assert bad.returncode != 0 and bad.stderr.startswith("disco: ")


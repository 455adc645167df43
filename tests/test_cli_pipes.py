"""The ``disco`` and ``ddfs`` commands as a user runs them: in pipes, on a terminal, with typos
(issue 13.4). Every command runs as a subprocess against a real master."""
import os
import pty
import subprocess
import sys

import pytest

from disco.job import Job
from masters import CLEARED, CLIENT_ENV, point_clients_at

ANSI = "\x1b["


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    from disco.master.embedded import start_master
    m = start_master(str(tmp_path_factory.mktemp("cli") / "root"), DISCO_WORKERS="2")
    patch = pytest.MonkeyPatch()
    point_clients_at(patch, m)
    yield m
    patch.undo()
    m.stop()


def upper_map(line, params):
    yield line.upper(), 1


@pytest.fixture(scope="module")
def job(master):
    job = Job().run(input=["raw://one", "raw://two"], map=upper_map)
    job.wait()
    return job


def command(master, program, *args, **env):
    """argv and environment of ``disco|ddfs args`` for ``master`` (no settings file)."""
    environ = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV + CLEARED}
    environ.update({key: str(master.settings[key]) for key in CLIENT_ENV}, DISCO_SETTINGS_FILE=os.devnull,
                   **env)
    module = {"disco": "disco.cli", "ddfs": "disco.ddfs_cli"}[program]
    return [sys.executable, "-m", module] + list(args), environ


def run(master, program, *args, **env):
    argv, environ = command(master, program, *args, **env)
    return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=60)


def on_terminal(master, program, *args, **env):
    """What ``program args`` writes to a terminal (stdout and stderr both on one pty)."""
    argv, environ = command(master, program, *args, **env)
    pid, fd = pty.fork()
    if pid == 0:                                            # pragma: no cover (the child)
        os.execve(argv[0], argv, environ)
    output = b""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:                                     # EIO: the child has closed the pty
            break
        if not data:
            break
        output += data
    os.close(fd)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode()


def into_closed_pipe(master, program, *args):
    """``program args | head -0``: (exit code, stderr) when stdout's reader has gone."""
    argv, environ = command(master, program, *args)
    proc = subprocess.Popen(argv, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _out, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def test_events_go_to_stderr_without_colours_in_a_pipe(master, job):
    done = run(master, "disco", "wait", job.name, DISCO_EVENTS="1")
    assert done.returncode == 0
    assert done.stdout.split() == [url for replicas in job.wait() for url in replicas]
    assert "master New job initialized!" in done.stderr and ANSI not in done.stderr


def test_events_have_colours_on_a_terminal(master, job):
    code, output = on_terminal(master, "disco", "wait", job.name, DISCO_EVENTS="1")
    assert code == 0 and ANSI + "36mmaster" in output


def test_wait_shows_one_progress_line_on_a_terminal(master, job):
    code, output = on_terminal(master, "disco", "wait", job.name)
    assert code == 0
    progress, _cleared, results = output.split("\r", 3)[1:]
    assert progress.startswith("%s: map 2/2, map_shuffle 1/1, 0 failed, " % job.name)
    assert results.strip() == job.wait()[0][0]
    assert run(master, "disco", "wait", job.name).stderr == ""     # no progress into a pipe


def test_attempts_are_listed_by_start(master, job):
    reply = run(master, "disco", "attempts", job.name)
    assert reply.returncode == 0, reply.stderr
    header, *lines = reply.stdout.splitlines()
    assert header.split("\t") == ["task", "attempt", "node", "start", "end", "seconds", "outcome"]
    rows = [line.split("\t") for line in lines]
    assert sorted(r[0] for r in rows) == ["map:0", "map:1", "map_shuffle:2"]
    assert all(r[1:3] == ["1", "localhost"] and r[6] == "done" for r in rows)
    assert all(abs(float(r[4]) - float(r[3]) - float(r[5])) < 0.002 for r in rows)
    assert [float(r[3]) for r in rows] == sorted(float(r[3]) for r in rows)
    missing = run(master, "disco", "attempts", "nosuchjob")
    assert missing.returncode != 0 and "nosuchjob" in missing.stderr


def test_events_are_readable_lines_or_json(master, job):
    lines = run(master, "disco", "events", job.name).stdout.splitlines()
    assert lines[0].endswith(" master New job initialized!") and lines[0][:4].isdigit()
    assert "master Stage map scheduled with 2 tasks" in lines[1]
    raw = run(master, "disco", "events", "--json", job.name).stdout.splitlines()
    assert raw[0].startswith("[") and raw[0].endswith('"master", "New job initialized!"]')
    assert len(raw) == len(lines)


@pytest.fixture(scope="module")
def lines_tag(master, tmp_path_factory):
    path = tmp_path_factory.mktemp("lines") / "lines.txt"
    path.write_text("".join("line %d\n" % i for i in range(1000)))
    assert run(master, "ddfs", "chunk", "data:lines", str(path)).returncode == 0
    return "data:lines"


@pytest.mark.parametrize("program, args", [
    ("disco", ["results", "@"]), ("disco", ["events", "@"]), ("disco", ["jobs"]), ("ddfs", ["xcat", "data:lines"])])
def test_a_closed_pipe_ends_quietly(master, job, lines_tag, program, args):
    assert into_closed_pipe(master, program, *args) == (141, "")


@pytest.mark.parametrize("args", [["kill", "nosuchjob"], ["purge", "nosuchjob"], ["clean", "nosuchjob"],
                                  ["oob", "nosuchjob"], ["results", "nosuchjob"], ["wait", "nosuchjob"],
                                  ["events", "nosuchjob"], ["kill", "@?nosuchjob"]])
def test_unknown_jobs_are_errors(master, args):
    done = run(master, "disco", *args)
    assert done.returncode == 1 and done.stdout == ""
    if args[-1] == "nosuchjob":
        assert done.stderr == "disco: no job named nosuchjob on the master at %s\n" % master.url
    else:
        assert done.stderr == "disco: no job matches '@?nosuchjob'\n"


def test_unknown_tags_are_errors(master):
    assert run(master, "ddfs", "touch", "data:here").returncode == 0
    done = run(master, "ddfs", "rm", "data:nosuch", "data:here")
    assert (done.returncode, done.stdout, done.stderr) == (1, "deleted\n", "ddfs: no such tag: data:nosuch\n")
    done = run(master, "ddfs", "ls", "-r", "data:nosuch")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "ddfs: no tag starts with data:nosuch\n")


def blob_files(master):
    return sorted(f for _dir, _dirs, files in os.walk(master.settings["DDFS_DATA"]) for f in files
                  if "$" in f)


def test_push_checks_the_tag_before_uploading(master, tmp_path):
    (tmp_path / "file.txt").write_text("data\n")
    before = blob_files(master)
    done = run(master, "ddfs", "push", "bad tag!!", str(tmp_path / "file.txt"))
    assert done.returncode == 1 and done.stderr == (
        "ddfs: Invalid tag name 'bad tag!!': a tag name is 1 to 511 characters of letters, digits "
        "and _ - @ :\n")
    assert blob_files(master) == before


def test_xcat_of_raw_data_says_so_in_one_line(master, tmp_path):
    (tmp_path / "plain.txt").write_text("not records\n")
    assert run(master, "ddfs", "push", "data:plain", str(tmp_path / "plain.txt")).returncode == 0
    done = run(master, "ddfs", "xcat", "data:plain")
    assert done.returncode == 1 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("ddfs: disco://") and done.stderr.endswith(
        " is not in Disco's record format (Corrupted input: could not parse a value length at "
        "character 0): `ddfs cat` prints raw contents, -R names a reader\n")


def test_help_wording(master):
    usage = run(master, "disco", "-h").stdout
    assert "status the master" not in usage
    assert "tell whether the master on this machine is running" in usage


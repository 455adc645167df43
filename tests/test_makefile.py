"""README's quick start on a fresh machine (issue 13.6): ``make`` installs the package once per
interpreter, and the README says to make a virtual environment first."""
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_make_installs_once_then_again_when_the_build_files_change(tmp_path):
    for name in ("Makefile", "pyproject.toml", "setup.py"):
        shutil.copy(os.path.join(REPO, name), tmp_path / name)
    log = tmp_path / "pip.log"
    python = tmp_path / "python"        # logs pip runs, runs everything else with this interpreter
    python.write_text('#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo "$@" >> %s; exit 0; fi\n'
                      'exec %s "$@"\n' % (log, sys.executable))
    python.chmod(0o755)

    def make(*args):
        subprocess.run(["make", "-s", "PYTHON=%s" % python] + list(args), cwd=tmp_path, check=True,
                       capture_output=True, timeout=60)
        return log.read_text().splitlines() if log.exists() else []
    assert make("install") == ["-m pip install -q -e .[test]"]
    assert len(make("install")) == 1
    stamp, = (tmp_path / "build").iterdir()
    os.utime(stamp, (1, 1))                                   # pyproject.toml changed since
    assert len(make("install")) == 2
    assert len(make("install")) == 2


def test_readme_quick_start():
    readme = open(os.path.join(REPO, "README.md")).read()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```sh\n(.*?)```", section, re.S).group(1).splitlines()
    assert [c.split("#")[0].strip() for c in commands] == ["make wordcount", "make test"]
    assert "python3 -m venv" in section.split("```sh")[0]

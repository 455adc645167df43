"""The journal of running workers' process groups (disco.master.pgroups), with real processes."""
import os
import subprocess

from disco.master import pgroups
from disco.master.pgroups import GroupJournal
from masters import alive, wait_gone


def _group():
    """A process leading its own group (a worker as the master starts it)."""
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def test_a_new_master_kills_the_groups_the_journal_says_are_running(tmp_path):
    kept, ended, reused = _group(), _group(), _group()
    try:
        journal = GroupJournal(str(tmp_path / "groups"))
        journal.open()
        for proc in (kept, ended, reused):
            journal.add(proc.pid)
        journal.remove(ended.pid)
        journal.remove(ended.pid)       # idempotent
        journal.live[reused.pid] = "1"  # as if the pid now belonged to another process
        journal._append("+%d 1\n" % reused.pid)
        journal._append("+123")          # a line cut short by a crash
        assert pgroups.read(journal.path) == {kept.pid: pgroups.start_time(kept.pid), reused.pid: "1"}

        GroupJournal(journal.path).open()    # a master starting after a crash
        wait_gone(kept.pid, 10, "the recorded group survived")
        assert alive(ended.pid) and alive(reused.pid)
        assert pgroups.read(journal.path) == {}
    finally:
        for proc in (kept, ended, reused):
            proc.kill()
            proc.wait()


def test_the_journal_is_compacted_as_it_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(pgroups, "COMPACT_BYTES", 200)
    journal = GroupJournal(str(tmp_path / "groups"))
    journal.open()
    proc = _group()
    try:
        journal.add(proc.pid)
        for pid in range(10 ** 6, 10 ** 6 + 100):
            journal.add(pid)
            journal.remove(pid)
        assert os.path.getsize(journal.path) < 300
        assert pgroups.read(journal.path) == {proc.pid: pgroups.start_time(proc.pid)}
    finally:
        journal.close()
        proc.kill()
        proc.wait()

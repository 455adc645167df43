"""DDFS in jobs: tag inputs, ``save_results``, OOB values and profiles (docs/ddfs.md, docs/master.md)."""
import collections

from ddfs_support import local, ok
from disco.core import Disco, result_iterator
from disco.ddfs import DDFS
from disco.job import Job
from disco.util import kvgroup
from disco.wordcount import map_words

TEXT = ["the quick brown fox", "jumps over the lazy dog", "the dog sleeps"]


def map_init(input_iter, params):
    put("mapped", b"yes")  # noqa: F821  (the classic worker's OOB helpers)


def reduce_counts(iter, params):
    yield "oob", get("mapped").decode()  # noqa: F821
    for word, counts in kvgroup(sorted(iter)):
        yield word, sum(counts)


def test_tag_input_saved_results_and_oob(master, name, tmp_path):
    ddfs = DDFS()
    for i, line in enumerate(TEXT):
        (tmp_path / ("in%d" % i)).write_text(line + "\n")
    ddfs.push(name, [str(tmp_path / ("in%d" % i)) for i in range(len(TEXT))], token="secret")
    job = Job().run(input=["tag://secret@/" + name], map=map_words, map_init=map_init,
                    reduce=reduce_counts, save_results=True)
    results = job.wait()
    assert results == ["tag://disco:results:%s" % job.name]
    expected = collections.Counter(w for line in TEXT for w in line.split())
    assert dict(result_iterator(results)) == dict(expected, oob="yes")
    saved = list(ddfs.blobs("disco:results:" + job.name))
    assert saved and all(len(reps) == 2 for reps in saved)
    assert ok(master, "/disco/ctrl/jobinfo?name=" + job.name)["results"] == results
    assert job.oob_list() == ["mapped"] and job.oob_get("mapped") == b"yes"
    assert Disco().oob_get(job.name, "nothing") is None
    pushed = [url for reps in ddfs.urls(name, token="secret") for url in reps]
    assert sorted(job.jobinfo()["inputs"]) == sorted(pushed)      # the tag became its blobs


def test_profile_stats_and_purge(master):
    job = Job().run(input=["raw://one two", "raw://three"], map=map_words, profile=True)
    job.wait()
    keys = job.oob_list()
    assert len([k for k in keys if k.startswith("profile-map:")]) == 2
    assert all(k.startswith(("profile-map:", "profile-map_shuffle:")) for k in keys)
    stats = job.profile_stats()
    assert stats.total_calls > 0
    assert any(fn[2] == "map_words" for fn in stats.stats)
    assert job.profile_stats("map_shuffle").total_calls < stats.total_calls
    oob = local(master, DDFS().urls(DDFS.job_oob(job.name))[0][0])
    job.purge()
    assert not DDFS().exists(DDFS.job_oob(job.name))
    assert open(oob, "rb").read()          # the blobs themselves stay until GC

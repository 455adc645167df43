"""Classic worker parameters against a real master: sort (bounded memory, any key type),
status_interval, required_files (list and dict), required_modules, ext_params and external
map/reduce programs."""
import os
import shutil
import subprocess
import sys

import pytest

from disco.core import Disco, result_iterator
from disco.error import JobError
from disco.job import Job
from disco.util import external, kvgroup

from wsupport import map_words, reduce_sum, word_counts

HERE = os.path.dirname(os.path.abspath(__file__))


def events(job):
    try:
        job.wait(timeout=60)
    except JobError:
        pass
    return [msg for _off, (_t, _host, msg) in Disco().events(job.name)]


def tuple_keys(line, params):
    for word in line.split():
        yield (len(word), word), 1


def check_sorted(iter, params):
    """Yields ("sorted", bool) and every (key, count) group."""
    keys = [k for k, _v in iter]
    yield "sorted", keys == sorted(keys)
    for k, vs in kvgroup((k, 1) for k in keys):
        yield k, sum(vs)


def test_sort_spills_and_merges_any_key_type(master, text_inputs):
    job = Job().run(input=text_inputs, map=tuple_keys, reduce=check_sorted, sort=True,
                    sort_buffer_size=7, partitions=2)
    results = list(result_iterator(job.wait()))
    assert results.count(("sorted", True)) == 2
    counts = {k[1]: n for k, n in results if k != "sorted"}
    assert counts == word_counts()
    assert any("Sorting: " in m and "runs" in m for m in events(job))


def test_sort_with_size_strings(master, text_inputs):
    for size in ("1K", "10%"):
        job = Job().run(input=text_inputs, map=tuple_keys, reduce=check_sorted, sort=True,
                        sort_buffer_size=size)
        assert ("sorted", True) in list(result_iterator(job.wait()))


def test_status_interval(master, text_inputs):
    job = Job().run(input=text_inputs[:1], map=map_words, reduce=reduce_sum, status_interval=2)
    msgs = "\n".join(events(job))
    assert "2 entries mapped" in msgs and "4 entries mapped" in msgs
    assert "Done: 5 entries mapped" in msgs
    assert "2 entries reduced" in msgs and "Done: " in msgs and "entries reduced" in msgs
    quiet = Job().run(input=text_inputs[:1], map=map_words, reduce=reduce_sum, status_interval=0)
    quiet_msgs = "\n".join(events(quiet))
    assert "Done: 5 entries mapped" in quiet_msgs and "\n2 entries mapped" not in "\n" + quiet_msgs


def map_with_files(line, params):
    import shippedhelper  # shipped to lib/ by required_files
    suffix = ""
    if os.path.exists("tables/suffix.txt"):  # shipped by required_files (a dict)
        with open("tables/suffix.txt") as f:
            suffix = f.read().strip()
    for word in line.split():
        yield shippedhelper.shout(word) + suffix, 1


def test_required_files_list_and_dict(master, text_inputs, tmp_path):
    helper = tmp_path / "shippedhelper.py"
    helper.write_text("def shout(word):\n    return word.upper()\n")
    job = Job().run(input=text_inputs, map=map_with_files, reduce=reduce_sum,
                    required_files=[str(helper)])
    assert dict(result_iterator(job.wait())) == {w.upper(): n for w, n in word_counts().items()}
    job = Job().run(input=text_inputs, map=map_with_files, reduce=reduce_sum,
                    required_files={"lib/shippedhelper.py": helper.read_bytes(),
                                    "tables/suffix.txt": b"?\n"})
    assert dict(result_iterator(job.wait())) == {w.upper() + "?": n for w, n in word_counts().items()}


def map_with_module(line, params):
    for word in line.split():
        yield extramodule.tag(word), 1  # noqa: F821  (injected from required_modules)


def test_required_modules_are_shipped_and_injected(master, text_inputs, tmp_path):
    module = tmp_path / "extramodule.py"
    module.write_text("def tag(word):\n    return '<%s>' % word\n")
    job = Job().run(input=text_inputs, map=map_with_module, reduce=reduce_sum,
                    required_modules=[("extramodule", str(module)), "os.path"])
    assert dict(result_iterator(job.wait())) == {"<%s>" % w: n for w, n in word_counts().items()}


@pytest.fixture(scope="module")
def ext_program(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    out = str(tmp_path_factory.mktemp("ext") / "ext_wordcount")
    subprocess.run([cc, "-O", "-o", out, os.path.join(HERE, "data", "ext_wordcount.c")], check=True)
    return out


def test_external_map_and_reduce_with_ext_params(master, text_inputs, ext_program):
    program = external([ext_program])
    assert set(program) == {"op"}
    job = Job().run(input=text_inputs, map=program, reduce=program, ext_params={"suffix": "!"},
                    partitions=2)
    results = dict(result_iterator(job.wait()))
    assert results == {(w + "!").encode(): str(n).encode() for w, n in word_counts().items()}
    msgs = "\n".join(events(job))
    assert "external map started" in msgs and "plain stderr line" in msgs
    assert "external reduce wrote" in msgs


def test_external_map_with_python_reduce_and_no_params(master, text_inputs, ext_program):
    job = Job().run(input=text_inputs, map=external([ext_program]), reduce=reduce_bytes)
    assert dict(result_iterator(job.wait())) == {w: n for w, n in word_counts().items()}


def reduce_bytes(iter, params):
    counts = {}
    for k, v in iter:
        counts[k.decode()] = counts.get(k.decode(), 0) + int(v)
    return counts.items()


def test_external_err_line_fails_the_job(master, text_inputs, ext_program):
    job = Job().run(input=text_inputs[:1], map=external([ext_program]), ext_params={"fail": "1"})
    with pytest.raises(JobError):
        job.wait(timeout=60)
    assert any("failing on purpose" in m for m in events(job))


BIG_SORT = r"""
import resource, sys, time
from disco.worker.sort import sorted_records
N, P = 10000000, 10000019
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
records = ((i * 7919 % P, i) for i in range(N))
n, prev, total = 0, -1, 0
for k, v in sorted_records(records, "64M", sys.argv[1]):
    if k < prev:
        raise SystemExit("not sorted at record %d" % n)
    prev, n, total = k, n + 1, total + v
assert n == N and total == N * (N - 1) // 2, (n, total)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""


def test_sort_of_ten_million_records_in_a_64_mib_buffer(tmp_path):
    out = subprocess.run([sys.executable, "-c", BIG_SORT, str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    growth = int(out.stdout)
    assert growth < 96 * 1024 ** 2, "peak RSS grew by %d MiB" % (growth // 1024 ** 2)
    assert os.listdir(str(tmp_path)) == []  # the runs are gone

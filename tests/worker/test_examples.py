"""Every example runs as a user runs it (``python examples/X.py``) against the test master, and
prints the right answer (computed here without Disco)."""
import collections
import csv
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO, "examples")
DATA = [os.path.join(EXAMPLES, "data", n) for n in sorted(os.listdir(os.path.join(EXAMPLES, "data")))]
SAMPLE = os.path.join(EXAMPLES, "sample")


def run(master, name, *args):
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)] + list(args),
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert "started the embedded master" not in out.stdout  # it used the running master
    return out.stdout.splitlines()


def words(paths, lower=False):
    text = "".join(open(p).read() for p in paths)
    return collections.Counter((text.lower() if lower else text).split())


def test_grep(master):
    pattern = r"Python|better"
    expected = sorted((os.path.basename(p), line.rstrip("\n")) for p in DATA for line in open(p)
                      if re.search(pattern, line))
    assert run(master, "grep.py", pattern) == ["%s:%s" % m for m in expected]


def test_join(master):
    users = {row[0]: row[1:] for row in csv.reader(open(os.path.join(SAMPLE, "users.csv")))}
    expected = sorted((users[o[1]][0], users[o[1]][1], o[2], float(o[3]))
                      for o in csv.reader(open(os.path.join(SAMPLE, "orders.csv"))) if o[1] in users)
    rows = [line.split() for line in run(master, "join.py")]
    assert [(n, c, i, float(p)) for n, c, i, p in rows] == expected


def test_kmeans(master):
    pytest.importorskip("numpy")
    lines = run(master, "kmeans.py", "-k", "3", "--iterations", "6")
    found = [tuple(float(x) for x in line.split()[1:3]) + (int(line.split()[3]),) for line in lines]
    for (x, y, n), (cx, cy) in zip(sorted(found), [(0, 0), (3, 5), (6, 0)]):
        assert abs(x - cx) < 0.3 and abs(y - cy) < 0.3 and n == 100


def test_pagerank(master):
    edges = [line.split() for line in open(os.path.join(SAMPLE, "graph.txt"))]
    nodes = sorted({n for e in edges for n in e})
    out = collections.defaultdict(list)
    for s, t in edges:
        out[s].append(t)
    ranks = {n: 1.0 / len(nodes) for n in nodes}
    for _ in range(8):
        dangling = sum(ranks[n] for n in nodes if not out[n])
        ranks = {n: 0.15 / len(nodes) + 0.85 * (sum(ranks[m] / len(out[m]) for m in nodes if n in out[m])
                                                 + dangling / len(nodes)) for n in nodes}
    lines = run(master, "pagerank.py", "--iterations", "8")
    printed = {line.split()[0]: float(line.split()[1]) for line in lines}
    assert printed.keys() == ranks.keys()
    assert all(abs(printed[n] - ranks[n]) < 1e-5 for n in nodes)


def test_pipeline(master):
    lines = run(master, "pipeline.py")
    counts = words(DATA)
    top = [(int(line.split()[0]), line.split()[1]) for line in lines[1:]]
    assert len(top) == 10 and all(counts[w] == n for n, w in top)
    assert sorted(counts.values(), reverse=True)[:10] == [n for n, _w in top]


def test_chain(master):
    by_count = collections.defaultdict(list)
    for word, n in words(DATA, lower=True).items():
        by_count[n].append(word)
    expected = ["%6d  %s" % (n, " ".join(sorted(by_count[n]))) for n in sorted(by_count, reverse=True)[:5]]
    assert run(master, "chain.py") == expected

"""Fuzzing a real master (issue 9): mutated job packs and request bodies, seeded and bounded.

Each target runs at most ``COUNT`` inputs and stops early after ``SECONDS`` (a bound on the run
time, not an assertion). ``DISCO_FUZZ_SEED`` picks another seed, ``DISCO_FUZZ_SCALE`` multiplies
the bounds. Asserted: no reply is 5xx, accepted jobs end (ready, or dead with a message that is
not "internal exception"), the master's log holds no traceback or error, nothing is written
outside DISCO_ROOT, and the master still runs a job afterwards. With ``-s`` each target prints
how many inputs it tried and what came back.
"""
import collections
import json
import os
import random
import struct
import time
import urllib.parse
import zipfile

import pytest

from disco.master.embedded import start_master
from master_support import call, get_json, jobdict, jobhome, jobpack, messages, run, wait

SEED = int(os.environ.get("DISCO_FUZZ_SEED", "9"))
SCALE = float(os.environ.get("DISCO_FUZZ_SCALE", "1"))
COUNT = {"job packs": int(500 * SCALE), "request bodies": int(2000 * SCALE), "queries": int(1000 * SCALE)}
SECONDS = {"job packs": 20 * SCALE, "request bodies": 12 * SCALE, "queries": 6 * SCALE}
JOBHOME_CAP = 1000000
ESCAPE = "fuzz-escaped"

STRINGS = ["", "a", "\0", "\udc80", "a b", "../../x", "/etc/passwd", ".disco", "x" * 300, "é", "\n",
           "tag://x", "dir://localhost/disco/../../etc/passwd", "disco://localhost/../x", "raw://0-x",
           "localhost", "..", "=", "A=B", "\u2028", "%00", "@@DEEP@@", "split", "group_all", "map", "input",
           "hdfs,x", "ddfs"]
ATOMS = [None, True, False, 0, -1, 1, 2 ** 31, 2 ** 63, 10 ** 30, 1.5, -0.0, float("nan"), float("inf"),
         1e308]


def weird(rng, depth=0):
    """A random JSON value, biased to the values that broke masters before."""
    r = rng.random()
    if depth > 3 or r < 0.55:
        return rng.choice(STRINGS) if rng.random() < 0.6 else rng.choice(ATOMS)
    if r < 0.8:
        return [weird(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {rng.choice(STRINGS): weird(rng, depth + 1) for _ in range(rng.randrange(5))}


def dumps(value, rng):
    """JSON bytes of ``value``; the string ``@@DEEP@@`` becomes an array nested 100,000 deep."""
    text = json.dumps(value)
    deep = "[" * 100000 + "]" * 100000 if rng.random() < 0.5 else "[" * 30 + "]" * 30
    return text.replace('"@@DEEP@@"', deep).encode()


def raw_pack(version, jobdict_bytes, jobenvs_bytes, home, data):
    """Job pack bytes built without the client's checks."""
    first = 128
    offsets = (first, first + len(jobdict_bytes), first + len(jobdict_bytes) + len(jobenvs_bytes),
               first + len(jobdict_bytes) + len(jobenvs_bytes) + len(home))
    header = struct.pack("!IIIII", (0xd5c0 << 16) | (version & 0xffff), *offsets)
    return header + b"\0" * (first - len(header)) + jobdict_bytes + jobenvs_bytes + home + data


def bad_entries(rng):
    """Zip entries of the kinds that escaped, collided or exploded before."""
    entries = []
    for _ in range(rng.randrange(1, 4)):
        kind = rng.randrange(7)
        if kind == 0:
            name = "../" * rng.randrange(1, 12) + ESCAPE
        elif kind == 1:
            name = rng.choice([".disco", ".disco/x", "jobfile", ".jobhome", "/" + ESCAPE, "a\\..\\..\\" + ESCAPE])
        elif kind == 2:
            name = "n" * rng.choice([200, 255, 300, 1000])
        elif kind == 3:
            name = rng.choice(["d/", "d/e/", "./x", "é/ü", "worker.sh"])
        else:
            name = "f%d" % rng.randrange(100)
        info = zipfile.ZipInfo(name)
        info.external_attr = (0o100000 | rng.choice([0o644, 0o755, 0o4755, 0o2777, 0o1777, 0o777])) << 16
        size = rng.choice([0, 10, JOBHOME_CAP // 2, 2 * JOBHOME_CAP]) if kind >= 4 else 10
        entries.append((info, b"\0" * size))
    return entries


def mutated_pack(rng):
    """``(kind, pack bytes)``: a valid map job pack, mutated one way."""
    version = rng.choice([1, 2])
    if version == 2:
        d = jobdict(inputs=[[0, 0, ["raw://0-a"]]], pipeline=[["map", "split", False]])
    else:
        d = jobdict(1, input=["raw://0-a"], nr_reduces=1, **{"map?": True})
    envs, home, data = {}, jobhome(), b"jobdata"
    kind = rng.choice(["bytes", "truncate", "header", "version", "field", "nested", "jobenvs",
                       "zip bytes", "zip entries", "zip entries", "zip entries"])
    if kind == "field":
        d[rng.choice(list(d) + ["save_results", "save_info", "extra"])] = weird(rng)
    elif kind == "nested":
        key = "pipeline" if version == 2 else "input"
        target = d[key] if version == 1 or rng.random() < 0.5 else d["inputs"]
        item = target[0] if isinstance(target[0], list) else target
        item[rng.randrange(len(item))] = weird(rng)
    elif kind == "jobenvs":
        envs = weird(rng) if rng.random() < 0.3 else {rng.choice(STRINGS): rng.choice(STRINGS + [1])}
    elif kind == "zip entries":
        home = jobhome(bad_entries(rng))
    pack = bytearray(raw_pack(version, dumps(d, rng), dumps(envs, rng), home, data))
    if kind == "bytes":
        for _ in range(rng.randrange(1, 10)):
            pack[rng.randrange(len(pack))] = rng.randrange(256)
    elif kind == "truncate":
        del pack[rng.randrange(len(pack)):]
    elif kind == "header":
        at = 4 + 4 * rng.randrange(4)
        pack[at:at + 4] = struct.pack("!I", rng.choice([0, 1, 127, 128, len(pack), len(pack) + 1, 2 ** 32 - 1,
                                                         rng.randrange(len(pack))]))
    elif kind == "version":
        pack[2:4] = struct.pack("!H", rng.choice([0, 3, 255, 65535]))
    elif kind == "zip bytes":
        start = pack.index(b"PK\x03\x04")
        for _ in range(rng.randrange(1, 6)):
            pack[start + rng.randrange(len(home))] = rng.randrange(256)
    return kind, bytes(pack)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """``(master, base directory, log file)``: a master whose log goes to a file."""
    base = tmp_path_factory.mktemp("fuzz")
    outside = _outside(base)
    log = open(base / "master.log", "w+")
    master = start_master(str(base / "root"), stderr=log, DISCO_WORKERS="4", DISCO_RETRY_BASE="0.01",
                          DISCO_MAX_FAILURE_RATE="1", DISCO_MAX_JOBHOME_SIZE=str(JOBHOME_CAP),
                          DISCO_MAX_EVENTS_SIZE="100000")
    yield master, base, log, outside
    master.stop()
    log.close()


def _outside(base):
    """Every path under ``base`` but the master's root and log, and stray escapes under /."""
    found = {os.path.join(d, f) for d, dirs, files in os.walk(base) for f in files + dirs
             if not os.path.join(d, f).startswith(str(base / "root"))}
    found.discard(str(base / "master.log"))
    return found | {p for p in ("/" + ESCAPE, "/tmp/" + ESCAPE) if os.path.exists(p)}


def bounded(target):
    """Yield ``(i, rng)`` for the inputs of ``target`` until its count or time bound."""
    rng = random.Random("%s-%s" % (SEED, target))
    deadline = time.monotonic() + SECONDS[target]
    for i in range(COUNT[target]):
        if time.monotonic() > deadline:
            break
        yield i, rng


def report(target, counter, problems):
    """Print what ``target`` tried and found; fail on any problem (listing the first ones)."""
    print("\nfuzz %s: %d inputs, %d problems: %s" % (target, sum(counter.values()), len(problems),
                                                      dict(sorted(counter.items()))))
    for problem in problems[:10]:
        print("  problem: %.300r" % (problem,))
    assert not problems, "%d problems, first: %.2000r" % (len(problems), problems[:3])


def test_fuzz_job_packs(fuzzed):
    master, _base, _log, _outside = fuzzed
    seen, jobs, problems = collections.Counter(), [], []
    for _i, rng in bounded("job packs"):
        kind, pack = mutated_pack(rng)
        status, _h, body = call(master, "/disco/job/new", pack)
        if status >= 500:
            problems.append((kind, status, body[:300]))
        reply = json.loads(body) if status == 200 else None
        if reply and reply[0] == "ok":
            jobs.append(reply[1])
            seen[kind + ": accepted"] += 1
        else:
            seen["%s: refused %s" % (kind, status)] += 1
    endings = collections.Counter()
    for name in jobs:
        state, _results = wait(master, name, timeout=120)
        events = messages(master, name)
        if state == "dead":
            why = events[-1].replace("ERROR: Job killed: ", "").replace("Task map:0 failed: ", "")
            endings["dead: " + why.split(":")[0][:40]] += 1
            if "internal exception" in events[-1] or not events[-1].startswith("ERROR: Job killed"):
                problems.append((name, events[-3:]))
        else:
            endings[state] += 1
    print("\nfuzz job packs: accepted jobs ended %s" % dict(sorted(endings.items())))
    assert sum(seen.values()) >= min(50, COUNT["job packs"])
    report("job packs", seen, problems)


def bodies(rng):
    """``(method, path, body bytes)`` of one mutated request."""
    tag = rng.choice(["fuzz", "fuzz:b", "a" * 201, "+deleted", "..", "x y", "\udc80", "é"])
    quoted = urllib.parse.quote(tag.encode("utf-8", "surrogatepass"), safe="")
    method, path, shape = rng.choice([
        ("POST", "/disco/ctrl/kill_job", "str"), ("POST", "/disco/ctrl/purge_job", "str"),
        ("POST", "/disco/ctrl/clean_job", "str"), ("POST", "/disco/ctrl/get_results", "results"),
        ("POST", "/disco/ctrl/blacklist", "str"), ("POST", "/disco/ctrl/whitelist", "str"),
        ("POST", "/disco/ctrl/gc_blacklist", "str"), ("POST", "/disco/ctrl/gc_whitelist", "str"),
        ("POST", "/disco/ctrl/save_config_table", "table"), ("POST", "/disco/ctrl/save_settings", "settings"),
        ("POST", "/ddfs/tag/" + quoted, "urls"), ("PUT", "/ddfs/tag/" + quoted, "urls"),
        ("PUT", "/ddfs/tag/%s/%s" % (quoted, urllib.parse.quote(rng.choice(STRINGS[:12]).encode(
            "utf-8", "surrogatepass"), safe="")), "any"),
        ("DELETE", "/ddfs/tag/%s/attr" % quoted, "any"), ("POST", "/ddfs/ctrl/hosted_tags", "str"),
        ("PUT", "/ddfs/put/localhost/%s$5e5-1-%x" % (rng.choice(["b", "b" * 230, "..", "b%00"]),
                                                      rng.randrange(1 << 20)), "any"),
    ])
    if shape == "str":
        value = rng.choice(STRINGS + ["localhost"]) if rng.random() < 0.7 else weird(rng)
    elif shape == "results":
        value = [rng.choice(ATOMS + [10]), [rng.choice(STRINGS)]] if rng.random() < 0.7 else weird(rng)
    elif shape == "table":
        value = [[rng.choice(STRINGS + ["n0:99999", "n1:3"]), rng.choice(["1", "0", "-1", "x", "99999999999"])]
                 for _ in range(rng.randrange(3))] if rng.random() < 0.7 else weird(rng)
    elif shape == "settings":
        value = {rng.choice(["max_failure_rate", "accept_new_jobs", "x"]): weird(rng)}
    elif shape == "urls":
        value = [[rng.choice(STRINGS)] for _ in range(rng.randrange(3))] if rng.random() < 0.7 else weird(rng)
    else:
        value = weird(rng)
    body = bytearray(dumps(value, rng))
    if rng.random() < 0.2 and body:
        for _ in range(rng.randrange(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
    return method, path, bytes(body)


def test_fuzz_request_bodies(fuzzed):
    master, _base, _log, _outside = fuzzed
    seen, problems = collections.Counter(), []
    try:
        for _i, rng in bounded("request bodies"):
            method, path, body = bodies(rng)
            status, _h, text = call(master, path, body, method)
            if status >= 500:
                problems.append((method, path, body[:200], status, text[:300]))
            seen["%s %s %s" % (status, method, "/".join(path.split("/")[:3]))] += 1
    finally:
        get_json(master, "/disco/ctrl/save_config_table", [["localhost", "4"]])
        get_json(master, "/disco/ctrl/save_settings", {"max_failure_rate": 1, "accept_new_jobs": 1})
    assert sum(seen.values()) >= min(100, COUNT["request bodies"])
    report("request bodies", seen, problems)


def test_fuzz_queries_and_paths(fuzzed):
    master, _base, _log, _outside = fuzzed
    seen, problems = collections.Counter(), []

    def q(value):
        return urllib.parse.quote(str(value).encode("utf-8", "surrogatepass"), safe="")
    for _i, rng in bounded("queries"):
        word = q(rng.choice(STRINGS + ATOMS))
        path = rng.choice([
            "/disco/ctrl/%s?name=%s&num=%s&filter=%s&stage=%s&since=%s&times=%s" % (
                rng.choice(["jobinfo", "jobevents", "rawevents", "parameters", "get_stageresults",
                            "jobattempts", "joblist", "nope"]),
                word, q(rng.choice(ATOMS + STRINGS)), word, word, q(rng.choice(ATOMS + STRINGS)),
                q(rng.choice(ATOMS + ["0", "1"]))),
            "/ddfs/tags/" + word, "/ddfs/tag/" + word, "/ddfs/tag/fuzz/" + word, "/disco/" + word,
            "/disco/localhost/" + word, "/ddfs/localhost/vol0/" + word, "/ddfs/localhost/vol0/tag/" + word,
            "/ddfs/new_blob/%s?replicas=%s&exclude=%s&include=%s" % (word, q(rng.choice(ATOMS)), word, word),
            "/" + word, "/js/" + word, "/%s.html" % word,
        ])
        status, _h, text = call(master, path)
        if status >= 500:
            problems.append((path, status, text[:300]))
        seen["%s /%s" % (status, path.split("?")[0].split("/")[1] if path.count("/") > 1 else "<page>")] += 1
    assert sum(seen.values()) >= min(100, COUNT["queries"])
    report("queries", seen, problems)


def test_master_survives_the_fuzz(fuzzed):
    master, base, log, outside = fuzzed
    name, reply = run(master, jobpack(inputs=[[0, 0, ["raw://0-alive"]]], pipeline=[["map", "split", False]]))
    assert reply[0] == "ready", (reply, messages(master, name)[-3:])
    log.flush()
    log.seek(0)
    text = log.read()
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    assert _outside(base) == outside
    assert master.proc.poll() is None


"""Run the benchmark suite and print, for each group, how many times faster our code is than its baseline.

Every benchmark module follows one convention: a benchmark's ``group`` names the workload, and each
group has exactly one benchmark whose id has the token ``ours`` and one with ``baseline`` (e.g.
``test_read[ours-v1]``, from a parameter ``impl``), run side by side in the same pytest run. The ratio printed is baseline median / ours median.
A benchmark's ``extra_info`` (e.g. the bytes bench_cluster moved over HTTP) is printed below the ratios.

    python benchmarks/report.py [extra pytest args, e.g. -k merge]
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def ratios(data):
    """``{group: (ours_median, baseline_median, ratio)}`` from a pytest-benchmark JSON report."""
    groups = {}
    for bench in data["benchmarks"]:
        tokens = bench["name"].partition("[")[2].rstrip("]").split("-")
        side = "ours" if "ours" in tokens else "baseline" if "baseline" in tokens else None
        if side:
            groups.setdefault(bench["group"], {})[side] = bench["stats"]["median"]
    return {g: (s["ours"], s["baseline"], s["baseline"] / s["ours"])
            for g, s in sorted(groups.items()) if "ours" in s and "baseline" in s}


def main(argv):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [sys.executable, "-m", "pytest", HERE, "-q", "-o", "python_files=bench_*.py",
               "--benchmark-only", "--benchmark-json=" + out] + argv
        rc = subprocess.call(cmd)
        if not os.path.exists(out):
            return rc or 1
        with open(out) as f:
            data = json.load(f)
    print("\n%-42s %12s %14s %8s" % ("group (medians)", "ours (ms)", "baseline (ms)", "ratio"))
    for group, (ours, base, ratio) in ratios(data).items():
        print("%-42s %12.3f %14.3f %7.2fx" % (group, ours * 1e3, base * 1e3, ratio))
    paired = ratios(data)
    for bench in data["benchmarks"]:
        if bench["group"] not in paired:
            print("%-42s %12.3f %14s %8s" % (bench["group"], bench["stats"]["median"] * 1e3, "-", "-"))
    for bench in data["benchmarks"]:
        for key, value in sorted(bench.get("extra_info", {}).items()):
            print("%s %s: %s" % (bench["name"], key, value))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Time `parser.listing.parse_listing` on the big kube-proxy `-L` dump.

    python bench/bench_listing.py [PATH] [--runs N]

Prints, per run: read time, time to a browsable model (chains, rules, targets, counters), time
of `Ruleset.resolve_all()` (every rule's spec, i.e. the extra column parsed), both as wall clock
and as process CPU time (steadier on a shared machine), and peak RSS.
Each run is a fresh interpreter so caches and RSS do not carry over.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "large" / "kube-5000-nat-after.list"

ONE_RUN = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from parser.listing import parse_listing
t0 = time.perf_counter()
lines = open({path!r}, encoding="utf-8").read().splitlines()
t1 = time.perf_counter()
c1 = time.process_time()
rs = parse_listing(lines, {path!r}, strict=False)
t2 = time.perf_counter()
c2 = time.process_time()
rs.resolve_all()
t3 = time.perf_counter()
c3 = time.process_time()
print(json.dumps({{
    "read": t1 - t0, "browsable": t2 - t1, "resolve_all": t3 - t2,
    "browsable_cpu": c2 - c1, "resolve_all_cpu": c3 - c2,
    "rules": rs.rule_count, "chains": sum(len(t.chains) for t in rs.tables.values()),
    "errors": len(rs.errors), "format": rs.format,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = str(Path(__file__).resolve().parents[1])
    results = []
    for _ in range(args.runs):
        code = ONE_RUN.format(root=root, path=args.path)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        results.append(json.loads(out.stdout))
        print(out.stdout.strip())
    for key in ("read", "browsable", "browsable_cpu", "resolve_all", "resolve_all_cpu",
                "peak_rss_mb"):
        print(f"median {key}: {statistics.median(r[key] for r in results):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the app's `/` search (ruleset.search) on a large lazily loaded dump, before and after
the text prefilter, in one run.

    python bench/bench_search.py [PATH] [--runs N]

Per run (a fresh interpreter) and per query kind (address, port, text), on a fresh lazy load:
the first and the second search with the exact check alone (`Query.matches_full` over every
rule: the code before the prefilter) and with `search()` (prefilter on `rule.text`, exact check
on the survivors), as process CPU seconds, plus the hit counts (which must agree).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "large" / "kube-5000-after.save"
QUERIES = {"address": "10.244.30.90", "network": "10.244.0.0/16", "port": "443",
           "text": "svc-3077"}

ONE_RUN = """
import json, sys, time
sys.path.insert(0, {root!r})
from parser.load import load_path
from ruleset.search import Query, search

def before(rs, q):
    return [r for c in rs.chains() for r in c.rules if q.matches_full(r)]

def after(rs, q):
    return list(search(rs, q))

out = {{}}
for kind, text in {queries!r}.items():
    q = Query.parse(text)
    for mode, fn in (("before", before), ("after", after)):
        rs = load_path({path!r})
        times, hits = [], []
        for _ in range(2):
            c0 = time.process_time()
            found = fn(rs, q)
            times.append(time.process_time() - c0)
            hits.append(len(found))
        out[kind + "/" + mode] = {{"first": times[0], "second": times[1], "hits": hits[0]}}
print(json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(DEFAULT))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not Path(args.path).exists():
        print(f"{args.path}: not found", file=sys.stderr)
        return 1
    runs = []
    for _ in range(args.runs):
        code = ONE_RUN.format(root=str(ROOT), path=args.path, queries=QUERIES)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        runs.append(json.loads(out.stdout))
    print(f"{args.path}: {args.runs} runs, process CPU s, median")
    print(f"{'query':28} {'first before':>12} {'after':>7} {'ratio':>6}"
          f" {'second before':>13} {'after':>7} {'ratio':>6} {'hits':>5}")
    for kind, text in QUERIES.items():
        row = {}
        for mode in ("before", "after"):
            for when in ("first", "second"):
                row[mode, when] = statistics.median(r[f"{kind}/{mode}"][when] for r in runs)
        hits = {r[f"{kind}/{mode}"]["hits"] for r in runs for mode in ("before", "after")}
        if len(hits) != 1:
            print(f"{kind}: hit counts differ: {hits}", file=sys.stderr)
            return 1
        print(f"{kind + ' ' + text:28} {row['before', 'first']:12.3f} {row['after', 'first']:7.3f}"
              f" {row['before', 'first'] / max(row['after', 'first'], 1e-9):6.1f}"
              f" {row['before', 'second']:13.3f} {row['after', 'second']:7.3f}"
              f" {row['before', 'second'] / max(row['after', 'second'], 1e-9):6.1f}"
              f" {hits.pop():5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

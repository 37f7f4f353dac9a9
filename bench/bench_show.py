"""Time `iptscope check` and `iptscope show` rendering on a large dump.

    python bench/bench_show.py [PATH] [--runs N]

Per run (a fresh interpreter): load + resolve_all, the `check` summary line, the full `show`
listing as unwrapped lines (what a pipe gets), and one chain through Rich (what a terminal
gets), as process CPU time (steadier than wall clock on a shared machine), plus peak RSS.
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

ONE_RUN = """
import io, json, resource, sys, time
sys.path.insert(0, {root!r})
from parser.load import load_path
from tui import render
c0 = time.process_time()
rs = load_path({path!r})
rs.resolve_all()
c1 = time.process_time()
render.ruleset_summary(rs, render.unknown_modules(rs))
c2 = time.process_time()
lines = sum(1 for _ in render.listing_lines(rs))
c3 = time.process_time()
table = next(t for t in rs.ordered_tables() if t.rule_count)
chain = max(table.chains.values(), key=len)
console = render.make_console(file=io.StringIO(), width=120)
console.print(render.ruleset_listing(rs, table=table.name, chain=chain.name))
c4 = time.process_time()
print(json.dumps({{
    "load_resolve": c1 - c0, "check_summary": c2 - c1, "show_lines": c3 - c2,
    "rich_chain": c4 - c3, "chain": chain.name, "chain_rules": len(chain),
    "rules": rs.rule_count, "lines": lines,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
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
        code = ONE_RUN.format(root=str(ROOT), path=args.path)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        runs.append(json.loads(out))
        print(out.strip())
    keys = ("load_resolve", "check_summary", "show_lines", "rich_chain", "peak_rss_mb")
    print("median:", {k: round(statistics.median(r[k] for r in runs), 3) for k in keys})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

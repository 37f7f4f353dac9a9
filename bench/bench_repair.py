"""Repair benchmark: loading a clean dump against damaged copies of it (parser/repair.py).

    python bench/bench_repair.py [DUMP]

Loads the dump (default ../shared/large/kube-5000-after.save) clean, then coloured by
`grep --color=always`, with smart punctuation on every line, wrapped by a terminal at 80 columns
and by a mail client at 72 (the damages of tests/parser/test_repair.py), in this process, and
prints the load time, rules, errors and diagnostics of each. Clean input must cost what it did
before the repairs existed (each repair is gated by a cheap check); the damaged copies show what
a repair costs when it is needed. Figures: bench/RESULTS-repair.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DUMP = REPO.parent / "shared" / "large" / "kube-5000-after.save"


def main() -> int:
    sys.path.insert(0, str(REPO))
    from parser.load import load_text
    from tests.parser.test_repair import grep_color, mail_wrap, smart, terminal_wrap

    dump = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DUMP
    text = dump.read_text(encoding="utf-8")
    damages = [("clean", lambda t: t), ("ANSI (grep --color)", grep_color("KUBE-SVC")),
               ("smart punctuation", smart), ("wrapped, terminal 80", terminal_wrap(80)),
               ("wrapped, mail 72", mail_wrap(72))]
    print(f"dump: {dump} ({len(text.splitlines())} lines)")
    for name, damage in damages:
        damaged = damage(text)
        start = time.perf_counter()
        rs = load_text(damaged, dump.name)
        took = time.perf_counter() - start
        print(f"  {name:24s} {took:6.2f} s  {rs.rule_count} rules, {len(rs.errors)} errors, "
              f"{len(rs.diagnostics)} diagnostics")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

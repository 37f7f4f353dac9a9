"""Benchmark the counter deltas on the kube-proxy scale dumps.

    python bench/bench_delta.py [--runs N]

1. diff: `diff_rulesets` of kube-5000-before.save vs kube-5000-after.save, both already loaded
   (target <= 0.5 s), and the same for the two `-L -v -n -x` nat listings;
2. live re-poll: the first full load of kube-5000-after.save (`parser.load.load_text`, what
   the poller's first poll runs) vs one re-poll of the unchanged ruleset through the poller's
   incremental parser (target <= 0.3x of the first load); also the whole `Poller.poll_once`
   (fetch through a no-op runner, parse, delta vs previous and vs baseline).

Medians of N runs (default 5); each full load runs in the same interpreter, after a warm-up.
Figures go to bench/RESULTS-delta.md by hand.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LARGE = REPO.parent / "shared" / "large"


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> int:
    from parser.load import load_text
    from ruleset.delta import Status, diff_rulesets
    from ruleset.live import IncrementalParser, Poller

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    runs = args.runs

    before_text = (LARGE / "kube-5000-before.save").read_text()
    after_text = (LARGE / "kube-5000-after.save").read_text()
    before = load_text(before_text, "before")
    after = load_text(after_text, "after")
    print(f"kube-5000 save: {after.rule_count} rules, "
          f"{sum(len(t.chains) for t in after.tables.values())} chains")

    d = diff_rulesets(before, after)
    grew = sum(1 for r in d.rules if r.grew)
    t_diff, all_diff = median_time(lambda: diff_rulesets(before, after), runs)
    print(f"diff save -c (loaded): median {t_diff:.3f} s  runs {[round(t, 3) for t in all_diff]}"
          f"  grew={grew}  target <= 0.5 s: {'OK' if t_diff <= 0.5 else 'MISSED'}")

    lb = load_text((LARGE / "kube-5000-nat-before.list").read_text(), "lb")
    la = load_text((LARGE / "kube-5000-nat-after.list").read_text(), "la")
    dl = diff_rulesets(lb, la)
    t_ldiff, all_ldiff = median_time(lambda: diff_rulesets(lb, la), runs)
    print(f"diff -L -v -n -x nat (loaded): median {t_ldiff:.3f} s  runs "
          f"{[round(t, 3) for t in all_ldiff]}  grew={sum(1 for r in dl.rules if r.grew)}")

    # Mixed formats: the nat listing vs the nat table of the save (specs resolved by the parser
    # first, then paired by normalized spec).
    t0 = time.perf_counter()
    lb.resolve_all()
    after.resolve_all()
    t1 = time.perf_counter()
    dm = diff_rulesets(lb, after, tables=["nat"])
    t2 = time.perf_counter()
    print(f"mixed -L (before) vs save -c (after), nat: resolve both {t1 - t0:.2f} s, diff "
          f"{t2 - t1:.2f} s, grew={sum(1 for r in dm.rules if r.grew)}, "
          f"added/removed={dm.count(Status.ADDED)}/{dm.count(Status.REMOVED)}")

    # First full load vs incremental re-poll, interleaved (load, re-poll, load, re-poll, ...)
    # so that both see the same machine load; CPU time of this process (time.process_time)
    # next to wall time, since the machine is shared.
    load_text(after_text, "warm-up")
    loads: list[tuple[float, float]] = []
    repolls: list[tuple[float, float]] = []
    for _ in range(runs):
        inc = IncrementalParser(lambda text, src: load_text(text, src))
        inc.parse(after_text, "poll")  # the first poll: a full load (+ the layout for later)
        w1, c1 = time.perf_counter(), time.process_time()
        inc.parse(after_text, "poll")
        w2, c2 = time.perf_counter(), time.process_time()
        assert inc.last_incremental
        t0, p0 = time.perf_counter(), time.process_time()
        load_text(after_text, "full")
        t1, p1 = time.perf_counter(), time.process_time()
        loads.append((t1 - t0, p1 - p0))
        repolls.append((w2 - w1, c2 - c1))
        del inc
    for label, idx in (("wall", 0), ("cpu", 1)):
        t_load = statistics.median(x[idx] for x in loads)
        t_repoll = statistics.median(x[idx] for x in repolls)
        ratio = t_repoll / t_load
        print(f"[{label}] first full load (load_text): median {t_load:.3f} s  runs "
              f"{[round(x[idx], 3) for x in loads]}")
        print(f"[{label}] re-poll unchanged (incremental parse): median {t_repoll:.3f} s  runs "
              f"{[round(x[idx], 3) for x in repolls]}  = {ratio:.2f}x of the first load  "
              f"target <= 0.3x: {'OK' if ratio <= 0.3 else 'MISSED'}")

    def runner(argv: Sequence[str], timeout: float) -> tuple[int, str, str]:
        return 0, after_text, ""

    firsts: list[float] = []
    seconds_: list[float] = []
    thirds: list[float] = []
    for _ in range(runs):
        poller = Poller(lambda text, src: load_text(text, src), cmd="x", runner=runner)
        for bucket in (firsts, seconds_, thirds):
            t0 = time.perf_counter()
            result = poller.poll_once()
            bucket.append(time.perf_counter() - t0)
            assert result.ok
        assert result.incremental
        del poller, result
    t_first = statistics.median(firsts)
    print(f"Poller.poll_once (wall): first {t_first:.3f} s (full load + layout); second "
          f"{statistics.median(seconds_):.3f} s (re-poll + delta vs previous = baseline); third "
          f"{statistics.median(thirds):.3f} s (re-poll + deltas vs previous and vs baseline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

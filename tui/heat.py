"""Counter heat for the delta and live views: the delta engine's result as per-rule RowHeat.

The pairing and subtraction are `ruleset.delta`'s; this only scales growth to a 0..1 shade.
"""

from __future__ import annotations

import math

from ruleset.delta import Delta, DeltaError, Status, common_tables, diff_rulesets
from ruleset.model import Ruleset
from ruleset.snapshot import Snapshot, diff_snapshots
from tui.explorer import Explorer
from tui.widgets.rule_view import RowHeat


def heat_map(delta: Delta, *, with_rates: bool = False) -> dict[int, RowHeat]:
    """id(rule of the after snapshot) -> RowHeat, shaded on a log scale of packet growth."""
    top = max((r.delta.packets or 0 for r in delta.rules if r.after is not None), default=0)
    scale = math.log1p(top) or 1.0
    out: dict[int, RowHeat] = {}
    for rd in delta.rules:
        if rd.after is None:
            continue
        d = rd.delta
        packets, nbytes = d.packets or 0, d.bytes or 0
        note = ""
        if rd.status is Status.ADDED:
            note = "new"
        elif rd.status is Status.RESET:
            note = "reset"
        elif d.approximate:
            note = "~"
        elif rd.status is Status.MOVED:
            note = "moved"
        rate = None
        if with_rates:
            r = rd.rate(delta.seconds)
            rate = r.packets_per_s if r is not None else None
        heat = math.log1p(max(packets, 0)) / scale if packets > 0 else 0.0
        ranges: dict[str, tuple[int, int]] = {}
        if d.approximate and not d.reset:
            if d.packets_min is not None and d.packets_max is not None:
                ranges["packets_range"] = (d.packets_min, d.packets_max)
            if d.bytes_min is not None and d.bytes_max is not None:
                ranges["bytes_range"] = (d.bytes_min, d.bytes_max)
        out[id(rd.after)] = RowHeat(packets, nbytes, heat, note, rate, **ranges)
    return out


def summary_text(delta: Delta, label: str = "delta") -> str:
    counts = delta.summary()
    parts = [f"{label}: {counts['grew']} rules grew"]
    for key in ("added", "removed", "moved", "reset"):
        if counts.get(key):
            parts.append(f"{counts[key]} {key}")
    if delta.seconds:
        parts.append(f"over {delta.seconds:.0f}s")
    return ", ".join(parts)


def apply_delta(explorer: Explorer, before: Ruleset, after: Ruleset, *,
                live: bool = False, seconds: float | None = None) -> Delta | None:
    """Compute the delta between two snapshots and put its heat on the explorer."""
    try:
        delta = diff_rulesets(before, after, tables=common_tables(before, after),
                              seconds=seconds)
    except DeltaError as exc:
        explorer.heat = None
        explorer.delta_summary = f"no delta: {exc}"
        return None
    explorer.heat = heat_map(delta, with_rates=live)
    explorer.delta_summary = summary_text(delta, "live" if live else "delta")
    return delta


def apply_snapshot_delta(explorer: Explorer, before: Snapshot, after: Snapshot,
                         count: int = 2) -> Delta | None:
    """As apply_delta, timed by the snapshots (headers, recordings) when they say when."""
    try:
        delta = diff_snapshots(before, after,
                               tables=common_tables(before.ruleset, after.ruleset))
    except DeltaError as exc:
        explorer.heat = None
        explorer.delta_summary = f"no delta: {exc}"
        return None
    explorer.heat = heat_map(delta)
    label = "delta" if count <= 2 else (
        f"delta of {count} snapshots, #{explorer.baseline + 1} to #{count} (< > baseline)")
    explorer.delta_summary = summary_text(delta, label)
    return delta

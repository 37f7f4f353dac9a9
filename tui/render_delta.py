"""Rich rendering of counter deltas (shared by `iptscope diff`, `iptscope record` and the app).

Nothing here prints: functions return Rich renderables (Text, Table, Group).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ruleset.delta import CounterDelta, Delta, PolicyDelta, RuleDelta, Status
from ruleset.snapshot import Snapshot
from tui.render_trace import Hanging

STATUS_STYLES: dict[Status, str] = {
    Status.CHANGED: "bold green",
    Status.UNCHANGED: "dim",
    Status.ADDED: "cyan",
    Status.REMOVED: "red",
    Status.MOVED: "yellow",
    Status.RESET: "bold magenta",
}


def format_number(value: int) -> str:
    return str(value)


def delta_cell(d: CounterDelta, which: str) -> Text:
    """`+332`, `~+7000 [6500..7499]` for rounded figures, `reset`, or `?` when unknown."""
    if d.reset:
        return Text("reset", style=STATUS_STYLES[Status.RESET])
    value = d.packets if which == "packets" else d.bytes
    if value is None:
        return Text("?", style="dim")
    lo = d.packets_min if which == "packets" else d.bytes_min
    hi = d.packets_max if which == "packets" else d.bytes_max
    style = "green" if value > 0 else "dim"
    if d.approximate and lo != hi:
        text = Text(f"~+{format_number(value)}", style=style)
        if lo != hi:
            text.append(f"\n[{format_number(lo)}..{format_number(hi)}]", style="dim")
        return text
    return Text(f"+{format_number(value)}" if value else "0", style=style)


def rate_cell(r: RuleDelta, seconds: float | None) -> Text:
    rate = r.rate(seconds)
    if rate is None:
        return Text("")
    prefix = "≥" if r.delta.reset else ""
    return Text(f"{prefix}{rate.packets_per_s:.1f}/s", style="green" if rate.packets_per_s
                else "dim")


def position_cell(before: int | None, after: int | None) -> Text:
    left = str(before) if before is not None else "-"
    right = str(after) if after is not None else "-"
    return Text(left if left == right else f"{left}→{right}")


def where_cell(r: RuleDelta) -> Text:
    """`table:chain #before→after` on the first line, the rule's words on the second."""
    text = Text(f"{r.table}:{r.chain}", style="bold")
    text.append(" #")
    text.append_text(position_cell(r.rule_before, r.rule_after))
    text.append("\n")
    text.append(r.spec_text())
    return text


def rule_table(
    changes: Sequence[RuleDelta], *, seconds: float | None = None, title: str | None = None,
) -> Table:
    """One row per rule: deltas, rate (when the interval is known), status, then where the rule
    is (table:chain, position before→after) over the rule's own words."""
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", expand=False,
                  pad_edge=False)
    table.add_column("Δ packets", justify="right", no_wrap=True)
    table.add_column("Δ bytes", justify="right", no_wrap=True)
    show_rate = seconds is not None and seconds > 0
    if show_rate:
        table.add_column("pkt/s", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("table:chain #before→after / rule", overflow="fold")
    for r in changes:
        row: list[RenderableType] = [delta_cell(r.delta, "packets"), delta_cell(r.delta, "bytes")]
        if show_rate:
            row.append(rate_cell(r, seconds))
        row += [Text(r.status.value, style=STATUS_STYLES[r.status]), where_cell(r)]
        table.add_row(*row)
    return table


def policy_table(policies: Sequence[PolicyDelta]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="chain policies", title_justify="left",
                  pad_edge=False)
    table.add_column("Δ packets", justify="right", no_wrap=True)
    table.add_column("Δ bytes", justify="right", no_wrap=True)
    table.add_column("table:chain", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for p in policies:
        pol = p.policy_after or p.policy_before or "-"
        if p.policy_before and p.policy_after and p.policy_before != p.policy_after:
            pol = f"{p.policy_before}→{p.policy_after}"
        table.add_row(delta_cell(p.delta, "packets"), delta_cell(p.delta, "bytes"),
                      f"{p.table}:{p.chain}", pol,
                      Text(p.status.value, style=STATUS_STYLES[p.status]))
    return table


def snapshot_line(label: str, snap: Snapshot) -> Text:
    rs = snap.ruleset
    text = Text(f"{label}: ", style="bold")
    text.append(snap.source)
    text.append(f"  ({rs.format}, {rs.rule_count} rules, "
                f"{snap.taken_at.strftime('%Y-%m-%d %H:%M:%S')} from {snap.time_source})",
                style="dim")
    return text


def summary_text(delta: Delta, shown: Sequence[RuleDelta]) -> Text:
    counts = delta.summary()
    parts = [f"{counts['grew']} grew", f"{counts['reset']} reset", f"{counts['added']} added",
             f"{counts['removed']} removed", f"{counts['moved']} moved",
             f"{counts['unchanged']} unchanged"]
    text = Text(", ".join(parts))
    if delta.seconds:
        text.append(f"; {delta.seconds:.3g} s between the snapshots")
    if any(r.delta.approximate and (r.delta.packets_min != r.delta.packets_max
                                    or r.delta.bytes_min != r.delta.bytes_max)
           for r in shown):
        text.append("; ~ marks figures rounded by iptables -L (K/M/G): bounds in brackets",
                    style="dim")
    if not shown:
        text.append("\nno rule counter changed", style="dim")
    return text


def delta_report(
    delta: Delta,
    changes: Sequence[RuleDelta],
    policies: Sequence[PolicyDelta],
    *,
    before: Snapshot | None = None,
    after: Snapshot | None = None,
) -> Group:
    """The `iptscope diff` text report."""
    parts: list[RenderableType] = []
    if before is not None and after is not None:
        parts += [Hanging(snapshot_line("before", before), hang=8),
                  Hanging(snapshot_line("after ", after), hang=8), Text("")]
    if changes:
        parts.append(rule_table(changes, seconds=delta.seconds))
    if policies:
        parts.append(policy_table(policies))
    parts.append(summary_text(delta, changes))
    return Group(*parts)

"""The detail pane: one rule's original text, its matches in plain words, its counters, and the
iptables commands to delete it or insert a rule before it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ruleset.commands import Command
from ruleset.describe import describe_spec, describe_target
from ruleset.model import Counters, Family, Rule
from ruleset.spec import target_kind
from tui.render import format_count
from tui.widgets.rule_view import RowHeat
from tui.widgets.styles import TARGET_MARKUP


def rule_commands(rule: Rule, family: Family = Family.IPV4) -> tuple[str, str, str]:
    """(delete by position, delete by spec, insert before) as shell lines."""
    flag = "ip6tables" if family is Family.IPV6 else "iptables"
    table, chain = rule.table_name or "filter", rule.chain_name
    by_pos = Command("-D", table, chain, position=rule.position, family_flag=flag).render()
    by_spec = Command("-D", table, chain, spec=rule.spec, family_flag=flag).render()
    insert = Command("-I", table, chain, position=rule.position, spec=rule.spec,
                     family_flag=flag).render()
    return by_pos, by_spec, insert


def _growth(value: int, bounds: tuple[int, int] | None) -> str:
    """`810`, or `~810 (805..815)` when the figures it comes from were rounded by -L."""
    if bounds is None or bounds[0] == bounds[1]:
        return str(value)
    return f"~{value} ({bounds[0]:,}..{bounds[1]:,})"


def counters_text(counters: Counters) -> str:
    """`1381 packets, 1104800 bytes`; `-L` figures as printed with the range they stand for:
    `550K packets (549,500..550,499), 80M bytes (79,499,500..80,499,499): rounded by -L`."""
    if counters.exact:
        return f"{counters.packets} packets, {counters.bytes} bytes"
    parts = []
    for value, unit, lo, hi, what in (
        (counters.packets, counters.packets_unit, counters.packets_min, counters.packets_max,
         "packets"),
        (counters.bytes, counters.bytes_unit, counters.bytes_min, counters.bytes_max, "bytes"),
    ):
        shown = format_count(value, unit)
        parts.append(f"{shown} {what}" if lo == hi else f"{shown} {what} ({lo:,}..{hi:,})")
    return ", ".join(parts) + ": rounded by -L"


def detail_text(rule: Rule | None, *, chain_names: frozenset[str] | None = None,
                heat: RowHeat | None = None, family: Family = Family.IPV4,
                note: str = "", compact: bool = False) -> Text:
    """The detail of a rule; `compact` (the pane) leaves out the delete-by-spec command."""
    if rule is None:
        return Text("No rule selected.", style="dim italic")
    out = Text()
    out.append(f"{rule.table_name}:{rule.chain_name} #{rule.position}", style="bold")
    if rule.line:
        out.append(f"   line {rule.line}", style="dim")
    if rule.edited:
        out.append("   EDITED (what-if)", style="bold magenta")
    if compact:
        out.append("   (i: full detail)", style="dim")
    out.append("\n")
    out.append(rule.text or "(no original text)", style="italic")
    out.append("\n")
    out.append("Matches when: ", style="bold")
    for i, words in enumerate(describe_spec(rule.spec)):
        out.append(("" if i == 0 else "  and ") + words)
        out.append("\n")
    kind = target_kind(rule.target_name, rule.goto, chain_names)
    out.append("Then: ", style="bold")
    out.append(describe_target(rule, chain_names), style=TARGET_MARKUP.get(kind, ""))
    out.append("\n")
    counters = rule.counters
    if counters is not None:
        out.append("Counters: ", style="bold")
        out.append(counters_text(counters))
        if heat is not None:
            out.append("\nGrew by: ", style="bold")
            out.append(f"{_growth(heat.packets, heat.packets_range)} packets, "
                       f"{_growth(heat.bytes, heat.bytes_range)} bytes", style="bold")
            if heat.note and heat.note != "~":
                out.append(f" ({heat.note})")
            elif heat.note == "~" and heat.packets_range is None and heat.bytes_range is None:
                out.append(" (~)")
            if heat.rate is not None:
                out.append(f", {heat.rate:.1f} pkt/s")
        out.append("\n")
    by_pos, by_spec, insert = rule_commands(rule, family)
    out.append("Delete: ", style="bold")
    out.append(by_pos)
    if not compact:
        out.append("   or   ", style="dim")
        out.append(by_spec)
    out.append("\n")
    out.append("Insert before: ", style="bold")
    out.append(insert)
    if note:
        out.append("\n" + note, style="dim")
    return out


class RuleDetail(Static):
    """The selected rule's detail, in a fixed-height pane (updating it needs no layout of the
    screen); `i` on the main screen shows the whole text when it is longer than the pane."""

    DEFAULT_CSS = """
    RuleDetail {
        height: 13;
        border-top: hkey $panel-lighten-2;
        padding: 0 1;
        overflow: hidden hidden;
    }
    """

    plain: str = ""
    text: Text = Text()

    def show(self, text: Text) -> None:
        self.plain = text.plain
        self.text = text
        self.update(text, layout=False)

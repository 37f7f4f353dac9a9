"""What the stepping view's panes say: the call stack, the packet now, the current rule's
reasons, the verdict; and a trace as Markdown. Pure text from the stepper's Steps."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ruleset.matches import MATCH, NO_MATCH, UNKNOWN
from ruleset.stepper import Assumption, Step, StepKind, Trace

RESULT_STYLE = {MATCH: "bold green", NO_MATCH: "red", UNKNOWN: "bold yellow"}
RESULT_WORD = {MATCH: "matched", NO_MATCH: "did not match", UNKNOWN: "UNKNOWN"}


def packet_text(summary: str, count: int, edits: list[str]) -> Text:
    """` STEPPING  step 13  1 what-if edit  forward: udp …`: what changes as you step comes
    first, so a narrow screen cuts the end of the packet, not the step count."""
    text = Text()
    text.append(" STEPPING ", style="bold reverse")
    text.append(f"  step {count}", style="dim")
    if edits:
        text.append(f"  {len(edits)} what-if edit{'s' if len(edits) > 1 else ''}",
                    style="bold magenta")
    text.append(f"   {summary}", style="bold")
    return text


def stack_text(step: Step | None, width: int | None = None) -> Text:
    """The chains being walked, one a line, each indented under its caller; in `width` cells
    the indentation gives way first, then the middle of the name (`neutro…-i6746373c-0`), so a
    line never wraps with its name on the next."""
    from tui.widgets.rule_view import elide_middle

    text = Text("Call stack", style="bold underline")
    text.append("\n")
    if step is None:
        text.append("(not started: n steps, c runs to the verdict)\n", style="dim")
        return text
    text.append(f"{step.hook} hook, {step.table} table\n", style="dim")
    for depth, name in enumerate(step.stack):
        indent = "  " * depth
        mark = "└ " if depth else ""
        if width is not None and len(indent) + len(mark) + len(name) > width:
            indent = " " * max(0, min(len(indent), width - len(mark) - len(name)))
            name = elide_middle(name, max(1, width - len(indent) - len(mark)))
        text.append(indent + mark + name + "\n")
    return text


def packet_now_text(step: Step | None, start: Any) -> Text:
    text = Text("Packet now", style="bold underline")
    text.append("\n")
    packet = step.packet if step is not None else start
    text.append(packet.summary() + "\n")
    now, before = packet.as_dict(), start.as_dict()
    shown = ("in_iface", "out_iface", "physdev_in", "physdev_out", "bridged", "state", "mark",
             "connmark")
    for key in shown:
        value = now.get(key)
        if value in (None, False, "", "0x0") and before.get(key) == value:
            continue
        changed = before.get(key) != value
        text.append(f"  {key}: {value}", style="bold magenta" if changed else "")
        if changed:
            text.append(f"  (was {before.get(key)})", style="dim")
        text.append("\n")
    for key in ("src", "dst", "sport", "dport"):
        if now.get(key) != before.get(key):
            text.append(f"  {key}: {now.get(key)}  (was {before.get(key)})\n",
                        style="bold magenta")
    return text


def step_title(step: Step) -> str:
    if not step.table:  # the routing decision is no chain's: `routing`, not `:routing route`
        return step.chain or step.kind.value
    if step.kind is StepKind.RULE:
        return f"{step.table}:{step.chain} #{step.position}"
    if step.kind is StepKind.POLICY:
        return f"{step.table}:{step.chain} policy"
    if step.kind is StepKind.RETURN:
        return f"{step.table}:{step.chain} end (returns)"
    return f"{step.table}:{step.chain} {step.kind.value}"


def reasons_text(step: Step | None) -> Text:
    text = Text("This step", style="bold underline")
    text.append("\n")
    if step is None:
        return text
    text.append(step_title(step) + "  ", style="bold")
    if step.kind is StepKind.RULE:
        text.append(RESULT_WORD[step.result], style=RESULT_STYLE[step.result])
        if step.assumed is not None:
            text.append(f" (assumed {RESULT_WORD[step.assumed]})", style="bold yellow")
    text.append("\n")
    if step.rule is not None and step.rule.text:
        text.append(step.rule.text + "\n", style="italic dim")
    for check in step.checks:
        text.append(" " + {MATCH: "✓", NO_MATCH: "✗", UNKNOWN: "?"}[check.result] + " ",
                    style=RESULT_STYLE[check.result])
        text.append(f"{check.label}: ", style="bold")
        text.append(check.reason + "\n")
    if step.kind is StepKind.RULE and not step.checks:
        text.append(" every packet matches (no conditions)\n", style="dim")
    if step.target and step.taken is MATCH:
        text.append(f" → {step.target} ({step.action.value})\n", style="bold")
    if step.note:
        text.append(f" {step.note}\n", style="dim")
    if step.probability is not None:
        text.append(f" probability {step.probability:.3g}\n", style="dim")
    return text


def verdict_text(trace: Trace | None, message: str, assumptions: list[Assumption]) -> Text:
    text = Text()
    if trace is None:
        text.append(" verdict: not yet ", style="reverse")
    else:
        style = "bold white on dark_green" if trace.verdict.value == "ACCEPT" else (
            "bold white on red" if trace.verdict.value in ("DROP", "REJECT") else "bold reverse")
        text.append(f" {trace.verdict.value} ", style=style)
        if trace.decided_by is not None:
            text.append(f"  decided by {step_title(trace.decided_by)}", style="bold")
        if trace.probability is not None and trace.probability < 1.0:
            text.append(f"  (p={trace.probability:.3g})")
    if assumptions:
        text.append(f"   {len(assumptions)} assumption{'s' if len(assumptions) > 1 else ''}",
                    style="yellow")
    if message:
        text.append("   " + message)
    return text


def trace_markdown(summary: str, steps: list[Step], trace: Trace | None,
                   edits: list[str]) -> str:
    out = [f"# iptscope trace: {summary}", ""]
    if trace is not None:
        decided = step_title(trace.decided_by) if trace.decided_by is not None else "-"
        out += [f"**Verdict: {trace.verdict.value}**, decided by `{decided}`.", ""]
    else:
        out += ["Verdict: not reached yet.", ""]
    out += ["| # | where | result | target | reasons |", "|---|---|---|---|---|"]
    for step in steps:
        result = RESULT_WORD.get(step.result, str(step.result))
        if step.assumed is not None:
            result += f" (assumed {RESULT_WORD[step.assumed]})"
        if step.kind is not StepKind.RULE:
            result = step.kind.value
        reasons = "; ".join(c.reason for c in step.checks).replace("|", "\\|")
        target = step.target if step.taken is MATCH and step.target else ""
        out.append(f"| {step.index + 1} | `{step_title(step)}` | {result} | {target} | "
                   f"{reasons} |")
    if trace is not None and trace.assumptions:
        out += ["", "## Assumptions", ""]
        out += [f"- {a.describe()}" for a in trace.assumptions]
    if edits:
        out += ["", "## What-if edits", "", "```sh", *edits, "```"]
    return "\n".join(out) + "\n"


def log_text(steps: list[Step], limit: int = 14) -> Text:
    """The last steps taken, newest last, each with its result."""
    text = Text(f"Steps ({len(steps)})", style="bold underline")
    text.append("\n")
    if len(steps) > limit:
        text.append(f"  … {len(steps) - limit} earlier\n", style="dim")
    for step in steps[-limit:]:
        if step.kind is StepKind.RULE:
            shown = step.assumed if step.assumed is not None else step.result
            mark = {MATCH: "✓", NO_MATCH: "✗", UNKNOWN: "?"}[shown]
            style = RESULT_STYLE[step.result]
        else:
            mark, style = "↩" if step.kind is StepKind.RETURN else "■", "bold"
        text.append(f" {mark} ", style=style)
        if step.kind is StepKind.ROUTE and step.note:  # where the packet goes from here
            note = step.note
            text.append(note if note.startswith("routing") else f"routing: {note}")
            text.append("\n")
            continue
        text.append(step_title(step))
        if step.taken is MATCH and step.target and step.kind is StepKind.RULE:
            text.append(f" → {step.target}", style="bold")
        if step.result is UNKNOWN:
            text.append(" (assumed)", style="yellow")
        text.append("\n")
    return text

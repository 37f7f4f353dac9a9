"""Rich rendering of a packet trace, in the style of the kernel's own trace, and its JSON form.

    filter:FORWARD:rule:2  -j neutron-openvswi-FORWARD
        => JUMP neutron-openvswi-FORWARD
      filter:neutron-openvswi-FORWARD:rule:3  -m physdev --physdev-out tap6746373c-01 ...
        ✓ physdev-out tap6746373c-01 matches tap6746373c-01; bridged
        => JUMP neutron-openvswi-sg-chain

Each rule visited: `table:chain:rule:N` indented by call depth and the rule as iptables words,
then one line per match evaluated (✓ match, ✗ no match, ? unknown) with its reason, then
`=> TARGET` when the rule acted. Used by `iptscope trace` and by the app.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from ruleset.matches import MATCH, NO_MATCH, UNKNOWN, Result
from ruleset.spec import render_spec
from ruleset.stepper import Exploration, Step, StepKind, Trace, Verdict, caller_steps
from ruleset.suggest import Suggestion
from ruleset.targets import Action

VERDICT_STYLES = {
    Verdict.ACCEPT: "bold green",
    Verdict.DROP: "bold red",
    Verdict.REJECT: "bold red",
    Verdict.QUEUE: "bold yellow",
    Verdict.UNKNOWN: "bold yellow",
}
RESULT_MARKS = {MATCH: ("✓", "green"), NO_MATCH: ("✗", "red"), UNKNOWN: ("?", "yellow")}
MAX_WORDS = 160  # a rule's text is cut after this many characters


def where(step: Step) -> str:
    if step.kind is StepKind.RULE:
        return f"{step.table}:{step.chain}:rule:{step.position}"
    if step.kind is StepKind.POLICY:
        return f"{step.table}:{step.chain}:policy"
    if step.kind is StepKind.RETURN:
        return f"{step.table}:{step.chain}:return"
    return step.kind.value


def _rule_words(step: Step) -> tuple[str, str | None]:
    """The rule as iptables words without its comment, and the comment."""
    if step.rule is None:
        return "", None
    spec = step.rule.spec
    plain = replace(spec, matches=tuple(m for m in spec.matches if m.module != "comment"))
    text = render_spec(plain) or "(no conditions, no target)"
    if len(text) > MAX_WORDS:
        text = text[: MAX_WORDS - 1] + "…"
    return text, spec.comment


def _action_text(step: Step) -> Text | None:
    target = step.target or ""
    a = step.action
    if a is Action.JUMP:
        return Text(f"=> JUMP {target}", style="bold blue")
    if a is Action.GOTO:
        return Text(f"=> GOTO {target}", style="bold magenta")
    if a is Action.RETURN:
        return Text("=> RETURN", style="cyan")
    if a is Action.ACCEPT:
        word = target if target and target != "ACCEPT" else "ACCEPT"
        suffix = " (this table; the packet goes on)" if word == "ACCEPT" else ""
        return Text(f"=> {word}{suffix}", style="bold green")
    if a is Action.DROP:
        return Text(f"=> {target or 'DROP'}", style="bold red")
    if a is Action.REJECT:
        return Text(f"=> {target or 'REJECT'}", style="bold red")
    if a is Action.QUEUE:
        return Text(f"=> {target or 'QUEUE'}", style="bold yellow")
    if a is Action.UNKNOWN:
        return Text(f"=> {target} (effect unknown)", style="bold yellow")
    if target:
        return Text(f"=> {target} (continue)", style="magenta")
    return None


def step_lines(step: Step) -> list[Text]:
    """The lines of one step (not indented; see step_renderable)."""
    lines: list[Text] = []
    if step.kind is StepKind.RULE:
        head = Text()
        head.append(where(step), style="bold")
        words, comment = _rule_words(step)
        head.append("  " + words)
        lines.append(head)
        if comment:
            lines.append(Text(f"  /* {comment} */", style="dim"))
        for check in step.checks:
            if check.label.startswith("-m comment") and len(step.checks) > 1:
                continue
            mark, style = RESULT_MARKS[check.result]
            line = Text("  ")
            line.append(mark, style=style)
            line.append(" " + check.reason)
            lines.append(line)
        if step.result is UNKNOWN and step.assumed is not None:
            word = "matches" if step.assumed is MATCH else "does not match"
            p = (f" (p={step.probability:.3g})" if step.probability is not None
                 and step.assumed is MATCH else
                 f" (p={1 - step.probability:.3g})" if step.probability is not None else "")
            lines.append(Text(f"  assumed: the rule {word}{p}", style="yellow"))
        if step.taken is MATCH:
            act = _action_text(step)
            if act is not None:
                line = Text("  ")
                line.append_text(act)
                if step.note:
                    line.append(f"  ({step.note})", style="dim")
                lines.append(line)
        return lines
    if step.kind is StepKind.POLICY:
        head = Text()
        head.append(where(step), style="bold")
        style = "bold green" if step.action is Action.ACCEPT else "bold red"
        head.append("  ")
        head.append(f"policy {step.target}", style=style)
        lines.append(head)
        return lines
    if step.kind is StepKind.RETURN:
        lines.append(Text(f"{where(step)}  end of chain: back to the caller", style="dim"))
        return lines
    lines.append(Text(f"-- {step.note}", style="cyan"))
    return lines


class Indented:
    """Lines indented by `indent` columns; a wrapped line continues `hang` columns further in,
    and nothing is padded out to the terminal's width."""

    def __init__(self, lines: list[Text], indent: int, hang: int = 4) -> None:
        self.lines = lines
        self.indent = indent
        self.hang = hang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width - self.indent - self.hang, 20)
        for text in self.lines:
            for i, line in enumerate(text.wrap(console, width, overflow="fold")):
                line.rstrip()
                yield Segment(" " * (self.indent + (self.hang if i else 0)))
                yield from line.render(console)
                yield Segment.line()


class Hanging:
    """Lines as they are, each wrapped (when wider than the terminal) with its continuation
    `hang` columns further in than the line's own leading spaces; a Text holding newlines is
    several lines. Nothing ends in the space it broke at."""

    def __init__(self, text: Text, hang: int = 4) -> None:
        self.text = text
        self.hang = hang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for logical in self.text.split("\n"):
            plain = logical.plain
            lead = len(plain) - len(plain.lstrip(" "))
            if logical.cell_len <= options.max_width:
                logical.rstrip()
                yield from logical.render(console)
                yield Segment.line()
                continue
            body = logical[lead:]
            # The first line takes the whole width, the rest wrap narrower under the hang.
            first = body.wrap(console, max(options.max_width - lead, 20), overflow="fold")[0]
            rest = body[len(first.plain):]
            rest = rest[len(rest.plain) - len(rest.plain.lstrip(" ")):]
            first.rstrip()
            yield Segment(" " * lead)
            yield from first.render(console)
            yield Segment.line()
            width = max(options.max_width - lead - self.hang, 20)
            for line in rest.wrap(console, width, overflow="fold") if rest.plain else []:
                line.rstrip()
                yield Segment(" " * (lead + self.hang))
                yield from line.render(console)
                yield Segment.line()


def _hanging(parts: list[RenderableType]) -> list[RenderableType]:
    return [Hanging(part) if isinstance(part, Text) else part for part in parts]


def step_renderable(step: Step) -> RenderableType:
    """One step, indented by its call depth (wrapped lines keep the indent)."""
    return Indented(step_lines(step), 2 * max(len(step.stack) - 1, 0))


def _hook_header(step: Step) -> Text:
    return Text(f"[{step.hook}]", style="bold underline")


def steps_renderable(steps: list[Step], *, hooks: bool = True) -> list[RenderableType]:
    out: list[RenderableType] = []
    hook = None
    for step in steps:
        if hooks and step.hook and step.hook != hook and step.kind is not StepKind.ROUTE:
            hook = step.hook
            out.append(_hook_header(step))
        out.append(step_renderable(step))
    return out


def packet_line(trace: Trace) -> Text:
    pkt = trace.packet
    text = Text("packet ", style="bold")
    text.append(pkt.summary())
    extras = [pkt.state.value]
    if pkt.bridged:
        extras.append("bridged")
    for name, value in (("in", pkt.in_iface), ("out", pkt.out_iface),
                        ("physdev-in", pkt.physdev_in), ("physdev-out", pkt.physdev_out),
                        ("mac", pkt.mac_src)):
        if value:
            extras.append(f"{name} {value}")
    if pkt.mark:
        extras.append(f"mark {pkt.mark:#x}")
    text.append("  " + ", ".join(extras), style="dim")
    text.append(f"\npath   {trace.path.value}", style="bold")
    if trace.final_path is not trace.path:
        text.append(f" (re-routed to {trace.final_path.value} after DNAT)")
    return text


def decision_via(trace: Trace) -> str:
    """`FORWARD#2 > neutron-openvswi-FORWARD#3 > ...` the calls that led to the decision."""
    decided = trace.decided_by
    if decided is None or not decided.stack:
        return ""
    calls = [f"{step.chain} rule {step.position}" for step in caller_steps(trace, decided)]
    return " > ".join(reversed(calls))


def verdict_text(trace: Trace) -> Text:
    text = Text("verdict ", style="bold")
    text.append(trace.verdict.value, style=VERDICT_STYLES[trace.verdict])
    decided = trace.decided_by
    if decided is not None:
        if decided.kind is StepKind.POLICY:
            text.append(f" by the policy of {decided.table}:{decided.chain}")
        elif decided.kind is StepKind.RULE:
            text.append(f" by {decided.table}:{decided.chain} rule {decided.position}")
        elif decided.note:
            text.append(f" ({decided.note})")
        via = decision_via(trace)
        if via:
            text.append(f"\n  having matched {via}", style="dim")
    if trace.probability is not None and trace.assumptions and any(
            a.probability is not None for a in trace.assumptions):
        text.append(f"  (p={trace.probability:.3g})", style="dim")
    return text


def assumption_lines(trace: Trace) -> list[Text]:
    return [Text(f"  assumed: {a.describe()}", style="yellow") for a in trace.assumptions]


def suggestion_lines(suggestion: Suggestion | None) -> list[Text]:
    if suggestion is None:
        return []
    lines = [Text("fix     ", style="bold")]
    lines[0].append(suggestion.text, style="bold green" if suggestion.proven else "yellow")
    proof = ("proven: re-stepping gives ACCEPT" if suggestion.proven else
             f"not proven: re-stepping gives {suggestion.verdict_after.value}")
    lines.append(Text(f"        {proof}", style="dim"))
    for alt in suggestion.alternatives:
        line = Text("  or, narrower: ", style="dim")
        line.append("; ".join(c.render() for c in alt))
        lines.append(line)
    return lines


def common_prefix(branches: list[Trace]) -> int:
    """How many leading steps every branch shares."""
    if not branches:
        return 0
    n = min(len(b.steps) for b in branches)
    first = branches[0].steps
    for i in range(n):
        key = (first[i].where, first[i].taken)
        if any((b.steps[i].where, b.steps[i].taken) != key for b in branches[1:]):
            return i
    return n


def render_trace(trace: Trace, *, edits: list[str] | None = None,
                 suggestion: Suggestion | None = None) -> RenderableType:
    parts: list[RenderableType] = [packet_line(trace)]
    for edit in edits or []:
        parts.append(Text(f"what-if {edit}", style="magenta"))
    parts.append(Text(""))
    parts.extend(steps_renderable(trace.steps))
    parts.append(Text(""))
    parts.append(verdict_text(trace))
    parts.extend(assumption_lines(trace))
    parts.extend(suggestion_lines(suggestion))
    return Group(*_hanging(parts))


def render_exploration(ex: Exploration, *, edits: list[str] | None = None,
                       suggestion: Suggestion | None = None) -> RenderableType:
    """One branch: as render_trace. Several: the shared steps once, then each branch."""
    if len(ex.branches) == 1:
        return render_trace(ex.branches[0], edits=edits, suggestion=suggestion)
    first = ex.branches[0]
    shared = common_prefix(ex.branches)
    parts: list[RenderableType] = [packet_line(first)]
    for edit in edits or []:
        parts.append(Text(f"what-if {edit}", style="magenta"))
    parts.append(Text(""))
    parts.extend(steps_renderable(first.steps[:shared]))
    unknown = first.steps[shared] if shared < len(first.steps) else None
    if unknown is not None:
        parts.append(Text(""))
        note = Text(f"{where(unknown)} cannot be decided from the dump: "
                    f"{len(ex.branches)} outcomes follow", style="bold yellow")
        parts.append(note)
    for number, branch in enumerate(ex.branches, 1):
        parts.append(Text(""))
        head = Text(f"branch {number}: ", style="bold yellow")
        head.append("; ".join(_short_assumption(a.result, a.table, a.chain, a.position,
                                                a.probability)
                              for a in branch.assumptions))
        parts.append(head)
        parts.extend(steps_renderable(branch.steps[shared:]))
        parts.append(verdict_text(branch))
    parts.append(Text(""))
    verdicts = sorted(v.value for v in ex.verdicts)
    summary = Text("verdict ", style="bold")
    if len(verdicts) == 1:
        summary.append(verdicts[0], style=VERDICT_STYLES[Verdict(verdicts[0])])
        summary.append(" in every branch")
    else:
        summary.append("UNKNOWN", style=VERDICT_STYLES[Verdict.UNKNOWN])
        summary.append(" (" + " or ".join(verdicts) + ": give --assume or --ipsets to decide)")
    if ex.truncated:
        summary.append(" [branches cut at the limit]", style="dim")
    parts.append(summary)
    parts.extend(suggestion_lines(suggestion))
    return Group(*_hanging(parts))


def _short_assumption(result: Result, table: str, chain: str, position: int,
                      probability: float | None) -> str:
    word = "matches" if result is MATCH else "does not match"
    p = ""
    if probability is not None:
        p = f" (p={probability if result is MATCH else 1 - probability:.3g})"
    return f"{table}:{chain}:rule:{position} {word}{p}"


# ---------------------------------------------------------------------------------------------
# JSON

def _decided_json(step: Step | None) -> dict[str, Any] | None:
    if step is None:
        return None
    rule: int | str | None
    if step.kind is StepKind.POLICY:
        rule = "policy"
    elif step.kind is StepKind.RULE:
        rule = step.position
    else:
        rule = step.kind.value
    return {"table": step.table, "chain": step.chain, "rule": rule}


def steps_json(steps: list[Step]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in steps:
        if step.kind is StepKind.RULE:
            out.append({
                "table": step.table,
                "chain": step.chain,
                "rule": step.position,
                "matched": step.matched,
                "target": step.target if step.taken is MATCH else None,
                "reasons": step.reasons,
            })
        elif step.kind is StepKind.POLICY:
            out.append({
                "table": step.table,
                "chain": step.chain,
                "rule": "policy",
                "matched": True,
                "target": step.target,
                "reasons": [f"policy {step.target}"],
            })
    return out


def assumptions_json(trace: Trace) -> list[dict[str, Any]]:
    return [{
        "table": a.table,
        "chain": a.chain,
        "rule": a.position,
        "assumed": "match" if a.result is MATCH else "nomatch",
        "probability": a.probability,
        "reason": a.why,
    } for a in trace.assumptions]


def trace_json(trace: Trace, suggestion: Suggestion | None = None) -> dict[str, Any]:
    return {
        "verdict": trace.verdict.value,
        "decided_by": _decided_json(trace.decided_by),
        "steps": steps_json(trace.steps),
        "packet": trace.packet.as_dict(),
        "assumptions": assumptions_json(trace),
        "suggestion": suggestion.text if suggestion is not None else None,
    }


def exploration_json(ex: Exploration, suggestion: Suggestion | None = None) -> dict[str, Any]:
    """One branch: trace_json. Several: verdict UNKNOWN unless all agree, decided_by the first
    undecidable rule, the shared steps, and `branches` with each outcome."""
    if len(ex.branches) == 1:
        return trace_json(ex.branches[0], suggestion)
    first = ex.branches[0]
    shared = common_prefix(ex.branches)
    verdicts = ex.verdicts
    fork = first.steps[shared] if shared < len(first.steps) else None
    agreed = len(verdicts) == 1
    out = {
        "verdict": next(iter(verdicts)).value if agreed else Verdict.UNKNOWN.value,
        "decided_by": _decided_json(first.decided_by if agreed and all(
            b.decided_by is not None and first.decided_by is not None
            and b.decided_by.where == first.decided_by.where for b in ex.branches) else fork),
        "steps": steps_json(first.steps[: shared + 1]),
        "packet": first.packet.as_dict(),
        "assumptions": [],
        "suggestion": suggestion.text if suggestion is not None else None,
        "branches": [
            {
                "verdict": b.verdict.value,
                "decided_by": _decided_json(b.decided_by),
                "probability": b.probability if any(
                    a.probability is not None for a in b.assumptions) else None,
                "assumptions": assumptions_json(b),
                "steps": steps_json(b.steps),
            }
            for b in ex.branches
        ],
    }
    return out

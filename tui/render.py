"""Rich renderings of rulesets, shared by the CLI (`check`, `show`) and the Textual app.

Rich only (no Textual). Every function is small and pure: model objects in, a Rich
`Text`/`Table`/`Group` out. Nothing here prints; `make_console()` builds the Console the CLI
prints with (it honours NO_COLOR, FORCE_COLOR and non-tty output as Rich does).

Vocabulary of a rendered rule (one line, `rule_summary`):

    tcp src 10.0.0.0/8 in eth0 dport 22 ctstate NEW → ACCEPT  /* ssh */

generic options first (protocol, `src`, `dst`, `in`, `out`, `frag`), then each `-m` module
(its name, then its options without their dashes; the module name is left out when it only
repeats the protocol, as in `-p tcp -m tcp`), then the target coloured by its kind
(`ruleset.spec.target_kind`), then the comment. A negation is a `!` before what it negates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from ruleset.graph import JumpGraph
from ruleset.model import (
    Chain,
    Counters,
    Diagnostic,
    Match,
    Option,
    Rule,
    Ruleset,
    RuleSpec,
    Severity,
    Table,
    Target,
)
from ruleset.spec import TargetKind, quote, target_kind

# ---------------------------------------------------------------------------------------------
# Palette

TARGET_STYLES: dict[TargetKind, str] = {
    TargetKind.ACCEPT: "bold green",
    TargetKind.DROP: "bold red",
    TargetKind.REJECT: "red",
    TargetKind.RETURN: "cyan",
    TargetKind.JUMP: "bold blue",
    TargetKind.GOTO: "bold magenta",
    TargetKind.QUEUE: "yellow",
    TargetKind.LOG: "yellow",
    TargetKind.MODIFY: "magenta",
    TargetKind.NONE: "dim",
    TargetKind.UNKNOWN: "bold yellow",
}
SEVERITY_STYLES: dict[Severity, str] = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
}
MODULE_STYLE = "cyan"
OPTION_STYLE = "dim"
NEGATION_STYLE = "bold red"
COMMENT_STYLE = "green italic"
OPAQUE_STYLE = "yellow italic"
CHAIN_STYLE = "bold"
TABLE_STYLE = "bold underline"
UNREACHABLE_STYLE = "bold yellow"
COUNTER_STYLE = ""
ZERO_STYLE = "dim"

# Generic options, shown with a readable word (protocol alone, as iptables -L does).
GENERIC_WORDS: dict[str, str] = {
    "-p": "",
    "-s": "src",
    "-d": "dst",
    "-i": "in",
    "-o": "out",
    "-f": "frag",
}
_GENERIC_ORDER = ("-p", "-s", "-d", "-i", "-o", "-f")

def known_modules() -> frozenset[str]:
    """Names of the match modules the stepper evaluates (the rest are "unknown modules")."""
    from ruleset.matches import KNOWN_MODULES

    return KNOWN_MODULES


def unknown_modules(ruleset: Ruleset) -> list[str]:
    """Sorted names of the match modules in `ruleset` the stepper does not evaluate."""
    return ruleset.unknown_modules(known_modules())


# ---------------------------------------------------------------------------------------------
# Console

def make_console(
    file: IO[str] | None = None,
    *,
    width: int | None = None,
    force_terminal: bool | None = None,
    no_color: bool | None = None,
    stderr: bool = False,
) -> Console:
    """The Console the CLI prints with: no markup, emoji or highlighting of plain strings
    (dump text may contain `[`, `:smile:` or numbers), NO_COLOR and non-tty respected."""
    return Console(
        file=file,
        width=width,
        force_terminal=force_terminal,
        no_color=no_color,
        stderr=stderr,
        markup=False,
        emoji=False,
        highlight=False,
    )


# ---------------------------------------------------------------------------------------------
# Small pieces

_SUFFIXES = {1: "", 1000: "K", 1000**2: "M", 1000**3: "G", 1000**4: "T", 1000**5: "P"}


def format_count(value: int, unit: int = 1) -> str:
    """A counter as printed: exact figures in full, `-L` rounded ones with their suffix
    (`550K` for value 550000, unit 1000)."""
    if unit <= 1:
        return str(value)
    suffix = _SUFFIXES.get(unit)
    if suffix is None:
        return str(value)
    return f"{value // unit}{suffix}"


def counters_cells(counters: Counters | None) -> tuple[Text, Text]:
    """(packets, bytes) cells; empty when the dump had no counters."""
    if counters is None:
        return Text(""), Text("")
    style = ZERO_STYLE if counters.packets == 0 and counters.bytes == 0 else COUNTER_STYLE
    return (
        Text(format_count(counters.packets, counters.packets_unit), style=style),
        Text(format_count(counters.bytes, counters.bytes_unit), style=style),
    )


def target_style(kind: TargetKind) -> str:
    return TARGET_STYLES.get(kind, "")


def kind_of(rule: Rule, chains: Iterable[str] | None = None) -> TargetKind:
    """The kind of a rule's target; with `chains` (names in its table), a name that is neither
    a known target nor a chain is UNKNOWN."""
    names = frozenset(chains) if chains is not None else None
    return target_kind(rule.target_name, rule.goto, names)


def _values(opt: Option) -> str:
    return " ".join(quote(v) if (" " in v or not v) else v for v in opt.values)


def option_name(name: str, owner: str | None = None) -> str:
    """An option's name as shown: without its dashes, and without its owner's prefix
    (`--physdev-in` of physdev is `in`, `--log-prefix` of LOG is `prefix`)."""
    bare = name.lstrip("-")
    if owner:
        prefix = owner.lower() + "-"
        if bare.lower().startswith(prefix) and len(bare) > len(prefix):
            return bare[len(prefix):]
    return bare


def option_text(opt: Option, owner: str | None = None) -> Text:
    """`dport 80`, `!syn`, `match-set NAME src`: an option without its dashes (and without
    the prefix that repeats `owner`, its module or target name)."""
    text = Text()
    if opt.negated:
        text.append("!", style=NEGATION_STYLE)
    text.append(option_name(opt.name, owner), style=OPTION_STYLE)
    if opt.values:
        text.append(" ")
        text.append(_values(opt))
    return text


def generic_text(spec: RuleSpec) -> Text:
    """`tcp src 10.0.0.1/32 in !eth0`: the built-in options in a fixed order."""
    parts: list[Text] = []
    by_name = {o.name: o for o in spec.generic}
    names = [n for n in _GENERIC_ORDER if n in by_name]
    names += [n for n in by_name if n not in _GENERIC_ORDER]
    for name in names:
        opt = by_name[name]
        word = GENERIC_WORDS.get(name, name.lstrip("-"))
        piece = Text()
        if word:
            piece.append(word, style=OPTION_STYLE)
            if opt.values or opt.negated:
                piece.append(" ")
        if opt.negated:
            piece.append("!", style=NEGATION_STYLE)
        value = _values(opt)
        piece.append(value, style="bold" if name == "-p" else "")
        parts.append(piece)
    return Text(" ").join(parts)


def _names_module(option: str, module: str) -> bool:
    bare = option.lstrip("-").lower()
    return bare == module or bare.endswith("-" + module)


def match_text(match: Match, *, protocol: str | None = None) -> Text:
    """A match module and its options, readably: `multiport dports 80,443`,
    `physdev in tap0 is-bridged`, `state RELATED,ESTABLISHED`, `match-set NAME src`.

    The module name is left out when it repeats `protocol` (`-p tcp -m tcp`) or when the first
    option says it (`--state`, `--match-set`); option names lose the module's prefix."""
    text = Text()
    module = match.module.lower()
    first = match.options[0].name if match.options else ""
    if module != protocol and (not match.options or not _names_module(first, module)):
        text.append(match.module, style=MODULE_STYLE)
    for opt in match.options:
        if text:
            text.append(" ")
        text.append_text(option_text(opt, None if _names_module(opt.name, module) else module))
    return text


def comment_text(comment: str | None) -> Text:
    if not comment:
        return Text("")
    return Text(f"/* {comment} */", style=COMMENT_STYLE)


def matches_text(spec: RuleSpec) -> Text:
    """Generic options, then the match modules (comments excluded), then any opaque text."""
    proto_opt = spec.protocol
    protocol = proto_opt.value.lower() if proto_opt and not proto_opt.negated else None
    parts: list[Text] = []
    generic = generic_text(spec)
    if generic:
        parts.append(generic)
    for match in spec.matches:
        if match.module == "comment":
            continue
        parts.append(match_text(match, protocol=protocol))
    parts.extend(Text(raw, style=OPAQUE_STYLE) for raw in spec.opaque)
    return Text(" ").join(p for p in parts if p)


def target_options_text(target: Target | None) -> Text:
    if target is None or not target.options:
        return Text("")
    return Text(" ").join(option_text(o, target.name) for o in target.options)


def target_text(rule: Rule, chains: Iterable[str] | None = None, *,
                with_options: bool = True) -> Text:
    """The target name coloured by kind, `[goto]` for `-g`, then its options (dimmed)."""
    kind = kind_of(rule, chains)
    if rule.target_name is None:
        return Text("-", style=target_style(kind))
    text = Text(rule.target_name, style=target_style(kind))
    if rule.goto:
        text.append(" [goto]", style=target_style(kind))
    if with_options:
        options = target_options_text(rule.spec.target)
        if options:
            text.append(" ")
            text.append_text(options)
    return text


def rule_body(rule: Rule, chains: Iterable[str] | None = None, *,
              target_options: bool = True) -> Text:
    """What a rule matches, then (after `→`) the target's options, then its comment: the
    listing's main column."""
    spec = rule.spec
    body = matches_text(spec)
    if target_options:
        options = target_options_text(spec.target)
        if options:
            if body:
                body.append(" ")
            body.append("→ ", style="dim")
            options.stylize(target_style(kind_of(rule, chains)))
            body.append_text(options)
    comment = comment_text(spec.comment)
    if comment:
        if body:
            body.append("  ")
        body.append_text(comment)
    return body


def rule_summary(rule: Rule, chains: Iterable[str] | None = None, *,
                 counters: bool = False, position: bool = False) -> Text:
    """One line for a rule: `[#N] [pkts bytes] matches → TARGET options  /* comment */`.

    An empty match part reads `all`."""
    text = Text()
    if position:
        text.append(f"#{rule.position} ", style="dim")
    if counters and rule.counters is not None:
        pkts, byts = counters_cells(rule.counters)
        text.append("[")
        text.append_text(pkts)
        text.append(":")
        text.append_text(byts)
        text.append("] ")
    spec = rule.spec
    body = matches_text(spec)
    text.append_text(body if body else Text("all", style="dim"))
    if rule.target_name is None:
        text.append(" (no target)", style="dim")
    else:
        text.append(" → ", style="dim")
        text.append_text(target_text(rule, chains))
    comment = comment_text(spec.comment)
    if comment:
        text.append("  ")
        text.append_text(comment)
    return text


# ---------------------------------------------------------------------------------------------
# Chains, tables, rulesets

def reference_count(chain: Chain, graph: JumpGraph | None) -> int | None:
    """The chain's references: as printed by `-L`, else counted in the jump graph."""
    if chain.references is not None:
        return chain.references
    if graph is not None:
        return len(graph.references(chain.name))
    return None


def chain_header(chain: Chain, graph: JumpGraph | None = None, *,
                 unreachable: bool = False) -> Text:
    """`Chain INPUT (policy DROP 12 packets, 840 bytes)` or `Chain X (2 references)`, then
    `unreachable` for a user chain no built-in chain leads to."""
    text = Text("Chain ", style=CHAIN_STYLE)
    text.append(chain.name, style=CHAIN_STYLE)
    details = Text()
    if chain.policy is not None:
        details.append("policy ")
        policy_kind = target_kind(chain.policy)
        details.append(chain.policy, style=target_style(policy_kind))
        if chain.policy_counters is not None:
            c = chain.policy_counters
            details.append(
                f" {format_count(c.packets, c.packets_unit)} packets,"
                f" {format_count(c.bytes, c.bytes_unit)} bytes"
            )
    if not chain.builtin or chain.references is not None:
        refs = reference_count(chain, graph)
        if refs is not None:
            if details:
                details.append(", ")
            details.append(f"{refs} reference" + ("" if refs == 1 else "s"))
    if details:
        text.append(" (")
        text.append_text(details)
        text.append(")")
    if unreachable:
        text.append(" unreachable", style=UNREACHABLE_STYLE)
    return text


TARGET_WIDTH_MAX = 32


def chain_row_parts(chain: Chain, chains: Iterable[str] | None = None, *,
                    show_counters: bool = True, header: bool = True) -> list[tuple[Text, Text]]:
    """The rules of a chain as (columns, rule) pairs: the aligned `#  pkts bytes  target`
    columns (padded to the rule column) and the rule body. The target column is as wide as
    the longest target name, up to TARGET_WIDTH_MAX."""
    names = frozenset(chains) if chains is not None else (
        frozenset(chain.table.chains) if chain.table is not None else None)
    cells: list[tuple[str, Text, Text, Text, Text]] = []
    for rule in chain.rules:
        pkts, byts = counters_cells(rule.counters) if show_counters else (Text(), Text())
        cells.append((str(rule.position), pkts, byts,
                      target_text(rule, names, with_options=False), rule_body(rule, names)))
    w_pos = max([1, *(len(c[0]) for c in cells)])
    w_pkts = max([4, *(len(c[1]) for c in cells)])
    w_bytes = max([5, *(len(c[2]) for c in cells)])
    w_target = min(TARGET_WIDTH_MAX, max([6, *(len(c[3]) for c in cells)]))

    def columns(pos: Text, pkts: Text, byts: Text, target: Text) -> Text:
        out = Text()
        out.append(" " * (w_pos - len(pos)))
        out.append_text(pos)
        if show_counters:
            out.append(" " * (w_pkts - len(pkts) + 2))
            out.append_text(pkts)
            out.append(" " * (w_bytes - len(byts) + 1))
            out.append_text(byts)
        out.append("  ")
        out.append_text(target)
        out.append(" " * max(w_target - len(target), 0) + "  ")
        return out

    rows: list[tuple[Text, Text]] = []
    if header:
        dim = "dim"
        rows.append((columns(Text("#", style=dim), Text("pkts", style=dim),
                             Text("bytes", style=dim), Text("target", style=dim)),
                     Text("rule", style=dim)))
    for pos, pkts, byts, target, body in cells:
        rows.append((columns(Text(pos, style="dim"), pkts, byts, target), body))
    return rows


def chain_rows(chain: Chain, chains: Iterable[str] | None = None, *,
               show_counters: bool = True, header: bool = True) -> list[Text]:
    """The rules of a chain as aligned, unwrapped lines: `#  pkts bytes  target  rule`."""
    rows = []
    for columns, body in chain_row_parts(chain, chains, show_counters=show_counters,
                                         header=header):
        line = columns + body
        line.rstrip()
        rows.append(line)
    return rows


class HangingRow:
    """Fixed columns, then a body that wraps under itself (a hanging indent) when the line
    is wider than the console; printed with `soft_wrap=True` it stays one line."""

    MIN_BODY = 24

    def __init__(self, columns: Text, body: Text) -> None:
        self.columns = columns
        self.body = body

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        indent = self.columns.cell_len
        avail = options.max_width - indent
        if (options.no_wrap or not self.body or avail < self.MIN_BODY
                or self.body.cell_len <= avail):
            line = self.columns + self.body
            line.rstrip()
            yield line
            return
        lines = self.body.wrap(console, avail)
        for i, part in enumerate(lines):
            line = (self.columns if i == 0 else Text(" " * indent)) + part
            line.rstrip()
            yield line


def chain_listing(chain: Chain, graph: JumpGraph | None = None, *,
                  show_counters: bool = True, unreachable: bool | None = None) -> Group:
    """A chain header and its rules (or `(no rules)`), indented by two spaces."""
    if unreachable is None:
        unreachable = bool(graph is not None and not chain.builtin
                           and chain.name not in graph.reachable())
    header = chain_header(chain, graph, unreachable=unreachable)
    if not chain.rules:
        return Group(header, Text("  (no rules)", style="dim"))
    parts = chain_row_parts(chain, show_counters=show_counters)
    return Group(header, *(HangingRow(Text("  ") + columns, body) for columns, body in parts))


def table_header(table: Table) -> Text:
    chains = len(table.chains)
    rules = table.rule_count
    text = Text(f"*{table.name}", style=TABLE_STYLE)
    text.append(f"  {chains} chain{'' if chains == 1 else 's'}, "
                f"{rules} rule{'' if rules == 1 else 's'}", style="dim")
    return text


def has_counters(ruleset: Ruleset) -> bool:
    """Whether the dump carried rule counters (policy counters show in the chain headers)."""
    return any(rule.counters is not None for rule in ruleset.rules())


def table_listing(table: Table, *, chains: Sequence[str] | None = None,
                  show_counters: bool = True) -> Group:
    """A table header, then each chain (built-ins first), or only the chains named."""
    graph = JumpGraph.build(table)
    reachable = graph.reachable()
    parts: list[RenderableType] = [table_header(table)]
    for chain in table.ordered_chains():
        if chains is not None and chain.name not in chains:
            continue
        parts.append(chain_listing(chain, graph, show_counters=show_counters,
                                   unreachable=not chain.builtin and chain.name not in reachable))
        parts.append(Text(""))
    return Group(*parts)


def ruleset_header(ruleset: Ruleset) -> Text:
    text = Text(ruleset.path, style="bold")
    text.append(f": {ruleset.format}, {ruleset.family.value}", style="dim")
    return text


def ruleset_listing(ruleset: Ruleset, *, table: str | None = None,
                    chain: str | None = None) -> Group:
    """The whole listing (`iptscope show`): per table, per chain; filtered by table/chain."""
    counters = has_counters(ruleset)
    parts: list[RenderableType] = [ruleset_header(ruleset), Text("")]
    for tbl in ruleset.ordered_tables():
        if table is not None and tbl.name != table:
            continue
        if chain is not None and chain not in tbl.chains:
            continue
        parts.append(table_listing(tbl, chains=None if chain is None else [chain],
                                   show_counters=counters))
    return Group(*parts)


# ---------------------------------------------------------------------------------------------
# Diagnostics and summaries

def severity_text(severity: Severity) -> Text:
    return Text(severity.value, style=SEVERITY_STYLES.get(severity, ""))


def diagnostic_text(diag: Diagnostic) -> Text:
    """`FILE:LINE:COL: severity: message`, then the offending line indented and a caret under
    the column when it falls inside the line."""
    text = Text(f"{diag.path}:{diag.line}:{diag.col}: ", style="bold")
    text.append_text(severity_text(diag.severity))
    text.append(f": {diag.message}")
    if diag.text:
        line = diag.text.rstrip("\r\n").expandtabs(1)
        text.append("\n    ")
        text.append(line)
        if 1 <= diag.col <= len(line) + 1:
            text.append("\n    " + " " * (diag.col - 1))
            text.append("^", style=SEVERITY_STYLES.get(diag.severity, ""))
    return text


def load_error_text(path: str, message: str) -> Text:
    """`PATH: error: message` for a file that could not be read at all."""
    text = Text(f"{path}: ", style="bold")
    text.append_text(severity_text(Severity.ERROR))
    text.append(f": {message}")
    return text


def diagnostics_group(diagnostics: Iterable[Diagnostic]) -> Group:
    return Group(*(diagnostic_text(d) for d in diagnostics))


def count_severities(diagnostics: Iterable[Diagnostic]) -> dict[Severity, int]:
    counts: dict[Severity, int] = {}
    for diag in diagnostics:
        counts[diag.severity] = counts.get(diag.severity, 0) + 1
    return counts


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def ruleset_summary(ruleset: Ruleset, unknown: Sequence[str] | None = None) -> Text:
    """One line per file for `check`: `PATH: FORMAT, FAMILY; filter: 3 chains, 12 rules;
    unknown modules: set; 1 error`."""
    text = Text(f"{ruleset.path}: ", style="bold")
    text.append(f"{ruleset.format}, {ruleset.family.value}")
    tables = ruleset.ordered_tables()
    if not tables:
        text.append("; no tables", style="dim")
    for tbl in tables:
        text.append("; ")
        text.append(tbl.name, style="bold")
        text.append(f": {_plural(len(tbl.chains), 'chain')}, {_plural(tbl.rule_count, 'rule')}")
    if unknown is not None:
        text.append("; unknown modules: ")
        text.append(", ".join(unknown) if unknown else "none",
                    style=UNREACHABLE_STYLE if unknown else "dim")
    counts = count_severities(ruleset.diagnostics)
    for severity, word in ((Severity.ERROR, "error"), (Severity.WARNING, "warning")):
        n = counts.get(severity, 0)
        if n:
            text.append("; ")
            text.append(_plural(n, word), style=SEVERITY_STYLES[severity])
    return text


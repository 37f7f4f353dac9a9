"""Rich renderings of rulesets, shared by the CLI (`check`, `show`) and the Textual app.

Rich only (no Textual). Every function is small and pure: model objects in, a Rich
`Text`/`Group` out. Nothing here prints; `make_console()` builds the Console the CLI prints
with (it honours NO_COLOR, FORCE_COLOR and non-tty output as Rich does). Text taken from a dump
is never read as markup or emoji, and control characters in it are shown escaped (`clean`).

Vocabulary of a rendered rule (one line, `rule_summary`):

    tcp src 10.0.0.0/8 in !eth0 dport 22 ctstate NEW → ACCEPT  /* ssh */

generic options first (protocol, `src`, `dst`, `in`, `out`, `frag`), then each `-m` module
(its name, then its options without their dashes or the module's prefix; the module name is
left out when it only repeats the protocol, as in `-p tcp -m tcp`, or when the first option
says it, as in `--state`), then the target coloured by its kind (`ruleset.spec.target_kind`,
palette `TARGET_STYLES`), then the comment. A negation is a `!` before what it negates.

Public API:
- pieces: `rule_summary`, `rule_body`, `target_text`, `matches_text`, `match_text`,
  `generic_text`, `option_text`, `comment_text`, `counters_cells`, `format_count`, `kind_of`,
  `target_style`, `TARGET_STYLES`, `table_chain_names` (compute once per table and pass it
  as `chains` when rendering many rules);
- chains and tables: `chain_header`, `chain_row_parts` / `chain_rows` (aligned
  `#  pkts bytes  target  rule` lines), `chain_listing`, `table_header`, `table_listing`;
- whole dumps: `ruleset_listing` (a Group; rows wrap under the rule column), `listing_lines`
  (the same, unwrapped, lazily: for pipes and line-based widgets), `ruleset_summary` (the line
  of `iptscope check`), `unknown_modules` / `known_modules` (the stepper's registry);
- problems: `diagnostic_text`, `load_error_text`, `diagnostics_group`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Span, Text

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
from ruleset.spec import TargetKind, normalize_protocol, quote, target_kind

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
    """Names of the match modules iptscope knows: those the stepper evaluates, and those it
    knows cannot be decided from a dump (`limit`: packet timing). The rest are "unknown
    modules": kept whole, shown as written, UNKNOWN when stepping."""
    from ruleset.matches import KNOWN_MODULES, UNDECIDABLE

    return KNOWN_MODULES | frozenset(UNDECIDABLE)


def unknown_modules(ruleset: Ruleset) -> list[str]:
    """Sorted names of the match modules in `ruleset` iptscope does not know."""
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


# Control characters in dump text (a comment can hold anything) are shown escaped, never sent
# to the terminal.
_CONTROL = {i: f"\\x{i:02x}" for i in (*range(32), 127)}


def clean(text: str) -> str:
    """`text` with control characters escaped (`\\x1b`), safe to print."""
    return text if text.isprintable() else text.translate(_CONTROL)


class _Line:
    """A Text under construction: plain pieces plus spans, built without Rich's per-append
    costs (listings of 75,000 rules are made of these)."""

    __slots__ = ("parts", "pos", "spans")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.pos = 0

    def add(self, piece: str, style: str = "") -> None:
        if not piece:
            return
        piece = clean(piece)
        end = self.pos + len(piece)
        if style:
            self.spans.append(Span(self.pos, end, style))
        self.parts.append(piece)
        self.pos = end

    def text(self) -> Text:
        return Text("".join(self.parts), spans=self.spans)


def counters_cells(counters: Counters | None) -> tuple[Text, Text]:
    """(packets, bytes) cells; empty when the dump had no counters."""
    if counters is None:
        return Text(""), Text("")
    style = ZERO_STYLE if counters.packets == 0 and counters.bytes == 0 else COUNTER_STYLE
    return (
        Text(format_count(counters.packets, counters.packets_unit), style=style),
        Text(format_count(counters.bytes, counters.bytes_unit), style=style),
    )


def _counter_strings(counters: Counters | None) -> tuple[str, str, str]:
    if counters is None:
        return "", "", ""
    style = ZERO_STYLE if counters.packets == 0 and counters.bytes == 0 else COUNTER_STYLE
    return (format_count(counters.packets, counters.packets_unit),
            format_count(counters.bytes, counters.bytes_unit), style)


def target_style(kind: TargetKind) -> str:
    return TARGET_STYLES.get(kind, "")


def _names(chains: Iterable[str] | None) -> frozenset[str] | None:
    if chains is None or isinstance(chains, frozenset):
        return chains
    return frozenset(chains)


def table_chain_names(table: Table | None) -> frozenset[str] | None:
    """The chain names of a table, for telling jumps from unknown targets (compute it once per
    table and pass it to the functions below: a large table has thousands of chains)."""
    return frozenset(table.chains) if table is not None else None


def kind_of(rule: Rule, chains: Iterable[str] | None = None) -> TargetKind:
    """The kind of a rule's target; with `chains` (names in its table), a name that is neither
    a known target nor a chain is UNKNOWN."""
    return target_kind(rule.target_name, rule.goto, _names(chains))


def _values(opt: Option) -> str:
    return " ".join(quote(v) if (" " in v or not v) else v for v in opt.values)


# Names an option's prefix may repeat besides its owner's own (`--icmpv6-type` of icmp6).
_OWNER_ALIASES: dict[str, tuple[str, ...]] = {
    "icmp6": ("icmp6", "icmpv6"),
    "icmpv6": ("icmpv6", "icmp6"),
}
# Match modules that only repeat the protocol named by `-p` (as its normalised name).
_PROTOCOL_MODULES: dict[str, str] = {"icmp6": "ipv6-icmp", "icmpv6": "ipv6-icmp"}


def option_name(name: str, owner: str | None = None) -> str:
    """An option's name as shown: without its dashes, and without its owner's prefix
    (`--physdev-in` of physdev is `in`, `--log-prefix` of LOG is `prefix`)."""
    bare = name.lstrip("-")
    if owner:
        low = bare.lower()
        owner = owner.lower()
        for alias in _OWNER_ALIASES.get(owner, (owner,)):
            prefix = alias + "-"
            if low.startswith(prefix) and len(bare) > len(prefix):
                return bare[len(prefix):]
    return bare


def _protocol_of(spec: RuleSpec) -> str | None:
    """The `-p` protocol as a normalised name (`6` -> `tcp`), None when absent or negated."""
    opt = spec.protocol
    if opt is None or opt.negated:
        return None
    return normalize_protocol(opt.value)


def _repeats_protocol(module: str, protocol: str | None) -> bool:
    return protocol is not None and _PROTOCOL_MODULES.get(module, module) == protocol


def _option(line: _Line, opt: Option, owner: str | None, style: str = "") -> None:
    if opt.negated:
        line.add("!", NEGATION_STYLE)
    line.add(option_name(opt.name, owner), style or OPTION_STYLE)
    if opt.values:
        line.add(" ")
        line.add(_values(opt), style)


def option_text(opt: Option, owner: str | None = None) -> Text:
    """`dport 80`, `!syn`, `match-set NAME src`: an option without its dashes (and without
    the prefix that repeats `owner`, its module or target name)."""
    line = _Line()
    _option(line, opt, owner)
    return line.text()


def _generic(line: _Line, spec: RuleSpec) -> None:
    start = line.pos
    by_name = {o.name: o for o in spec.generic}
    names = [n for n in _GENERIC_ORDER if n in by_name]
    names += [n for n in by_name if n not in _GENERIC_ORDER]
    for name in names:
        opt = by_name[name]
        if line.pos > start:
            line.add(" ")
        word = GENERIC_WORDS.get(name, name.lstrip("-"))
        if not opt.values:  # a flag: `frag`, `!frag`
            if opt.negated:
                line.add("!", NEGATION_STYLE)
            line.add(word, OPTION_STYLE)
            continue
        if word:
            line.add(word, OPTION_STYLE)
            line.add(" ")
        if opt.negated:
            line.add("!", NEGATION_STYLE)
        if name == "-p":  # a number as iptables -L 1.8.9 prints it reads better as a name
            line.add(" ".join(normalize_protocol(v) if v.isdigit() else v for v in opt.values),
                     "bold")
        else:
            line.add(_values(opt))


def generic_text(spec: RuleSpec) -> Text:
    """`tcp src 10.0.0.1/32 in !eth0`: the built-in options in a fixed order."""
    line = _Line()
    _generic(line, spec)
    return line.text()


def _names_module(option: str, module: str) -> bool:
    bare = option.lstrip("-").lower()
    return bare == module or bare.endswith("-" + module)


def _match(line: _Line, match: Match, protocol: str | None) -> None:
    start = line.pos
    module = match.module.lower()
    first = match.options[0].name if match.options else ""
    if not _repeats_protocol(module, protocol) and (
            not match.options or not _names_module(first, module)):
        line.add(match.module, MODULE_STYLE)
    for opt in match.options:
        if line.pos > start:
            line.add(" ")
        _option(line, opt, None if _names_module(opt.name, module) else module)


def match_text(match: Match, *, protocol: str | None = None) -> Text:
    """A match module and its options, readably: `multiport dports 80,443`,
    `physdev in tap0 is-bridged`, `state RELATED,ESTABLISHED`, `match-set NAME src`.

    The module name is left out when it repeats `protocol` (`-p tcp -m tcp`) or when the first
    option says it (`--state`, `--match-set`); option names lose the module's prefix."""
    line = _Line()
    _match(line, match, protocol)
    return line.text()


def comment_text(comment: str | None) -> Text:
    if not comment:
        return Text("")
    return Text(f"/* {clean(comment)} */", style=COMMENT_STYLE)


def _matches(line: _Line, spec: RuleSpec) -> None:
    start = line.pos
    protocol = _protocol_of(spec)
    _generic(line, spec)
    for match in spec.matches:
        if match.module == "comment":
            continue
        if not match.options and _repeats_protocol(match.module.lower(), protocol):
            continue  # `-m tcp` after `-p tcp`: nothing to show
        if line.pos > start:
            line.add(" ")
        _match(line, match, protocol)
    for raw in spec.opaque:
        if line.pos > start:
            line.add(" ")
        line.add(raw, OPAQUE_STYLE)


def matches_text(spec: RuleSpec) -> Text:
    """Generic options, then the match modules (comments excluded), then any opaque text."""
    line = _Line()
    _matches(line, spec)
    return line.text()


def _target_options(line: _Line, target: Target | None, style: str = "") -> None:
    if target is None:
        return
    for i, opt in enumerate(target.options):
        if i:
            line.add(" ")
        _option(line, opt, target.name, style)


def target_options_text(target: Target | None) -> Text:
    line = _Line()
    _target_options(line, target)
    return line.text()


def _target(line: _Line, rule: Rule, kind: TargetKind, with_options: bool) -> None:
    style = target_style(kind)
    if rule.target_name is None:
        line.add("-", style)
        return
    line.add(rule.target_name, style)
    if rule.goto:
        line.add(" [goto]", style)
    if with_options:
        target = rule.spec.target
        if target is not None and target.options:
            line.add(" ")
            _target_options(line, target)


def target_text(rule: Rule, chains: Iterable[str] | None = None, *,
                with_options: bool = True) -> Text:
    """The target name coloured by kind, `[goto]` for `-g`, then its options."""
    line = _Line()
    _target(line, rule, kind_of(rule, chains), with_options)
    return line.text()


def _body(line: _Line, rule: Rule, kind: TargetKind, target_options: bool) -> None:
    start = line.pos
    spec = rule.spec
    _matches(line, spec)
    target = spec.target
    if target_options and target is not None and target.options:
        if line.pos > start:
            line.add(" ")
        line.add("→ ", "dim")
        _target_options(line, target, target_style(kind))
    comment = spec.comment
    if comment:
        if line.pos > start:
            line.add("  ")
        line.add(f"/* {comment} */", COMMENT_STYLE)


def rule_body(rule: Rule, chains: Iterable[str] | None = None, *,
              target_options: bool = True) -> Text:
    """What a rule matches, then (after `→`) the target's options, then its comment: the
    listing's main column."""
    line = _Line()
    _body(line, rule, kind_of(rule, chains), target_options)
    return line.text()


def rule_summary(rule: Rule, chains: Iterable[str] | None = None, *,
                 counters: bool = False, position: bool = False) -> Text:
    """One line for a rule: `[#N] [pkts:bytes] matches → TARGET options  /* comment */`.

    An empty match part reads `all`."""
    line = _Line()
    if position:
        line.add(f"#{rule.position} ", "dim")
    if counters and rule.counters is not None:
        pkts, byts, style = _counter_strings(rule.counters)
        line.add("[")
        line.add(pkts, style)
        line.add(":")
        line.add(byts, style)
        line.add("] ")
    spec = rule.spec
    start = line.pos
    _matches(line, spec)
    if line.pos == start:
        line.add("all", "dim")
    if rule.target_name is None:
        line.add(" (no target)", "dim")
    else:
        line.add(" → ", "dim")
        _target(line, rule, kind_of(rule, chains), True)
    comment = spec.comment
    if comment:
        line.add("  ")
        line.add(f"/* {comment} */", COMMENT_STYLE)
    return line.text()


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
    line = _Line()
    line.add("Chain ", CHAIN_STYLE)
    line.add(chain.name, CHAIN_STYLE)
    details = False
    if chain.policy is not None:
        line.add(" (policy ")
        details = True
        line.add(chain.policy, target_style(target_kind(chain.policy)))
        if chain.policy_counters is not None:
            c = chain.policy_counters
            line.add(f" {format_count(c.packets, c.packets_unit)} packets,"
                     f" {format_count(c.bytes, c.bytes_unit)} bytes")
    if not chain.builtin or chain.references is not None:
        refs = reference_count(chain, graph)
        if refs is not None:
            line.add(", " if details else " (")
            details = True
            line.add(_plural(refs, "reference"))
    if details:
        line.add(")")
    if unreachable:
        line.add(" unreachable", UNREACHABLE_STYLE)
    return line.text()


TARGET_WIDTH_MAX = 32


def chain_row_parts(chain: Chain, chains: Iterable[str] | None = None, *,
                    show_counters: bool = True, header: bool = True) -> list[tuple[Text, Text]]:
    """The rules of a chain as (columns, rule) pairs: the aligned `#  pkts bytes  target`
    columns (padded up to the rule column) and the rule body. The target column is as wide as
    the longest target name, up to TARGET_WIDTH_MAX."""
    names = _names(chains) if chains is not None else table_chain_names(chain.table)
    cells: list[tuple[str, tuple[str, str, str], TargetKind]] = []
    for rule in chain.rules:
        counts = _counter_strings(rule.counters) if show_counters else ("", "", "")
        cells.append((str(rule.position), counts, kind_of(rule, names)))
    w_pos = max([1, *(len(c[0]) for c in cells)])
    w_pkts = max([4, *(len(c[1][0]) for c in cells)])
    w_bytes = max([5, *(len(c[1][1]) for c in cells)])
    w_target = min(TARGET_WIDTH_MAX, max([6, *(
        len(r.target_name or "-") + (7 if r.goto else 0) for r in chain.rules)]))

    def columns(line: _Line, pos: str, pkts: str, byts: str, style: str, pos_style: str) -> None:
        line.add(" " * (w_pos - len(pos)))
        line.add(pos, pos_style)
        if show_counters:
            line.add(" " * (w_pkts - len(pkts) + 2))
            line.add(pkts, style)
            line.add(" " * (w_bytes - len(byts) + 1))
            line.add(byts, style)
        line.add("  ")

    rows: list[tuple[Text, Text]] = []
    if header:
        line = _Line()
        columns(line, "#", "pkts", "bytes", "dim", "dim")
        line.add("target", "dim")
        line.add(" " * (w_target - 6) + "  ")
        rows.append((line.text(), Text("rule", style="dim")))
    for rule, (pos, (pkts, byts, style), kind) in zip(chain.rules, cells, strict=True):
        line = _Line()
        columns(line, pos, pkts, byts, style, "dim")
        start = line.pos
        _target(line, rule, kind, False)
        line.add(" " * max(w_target - (line.pos - start), 0) + "  ")
        body = _Line()
        _body(body, rule, kind, True)
        rows.append((line.text(), body.text()))
    return rows


def chain_rows(chain: Chain, chains: Iterable[str] | None = None, *,
               show_counters: bool = True, header: bool = True) -> list[Text]:
    """The rules of a chain as aligned, unwrapped lines: `#  pkts bytes  target  rule`."""
    return [_joined(columns, body) for columns, body in
            chain_row_parts(chain, chains, show_counters=show_counters, header=header)]


def _joined(columns: Text, body: Text) -> Text:
    line = columns + body
    line.rstrip()
    return line


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
        line = _joined(self.columns, self.body)
        if options.no_wrap or line.cell_len <= options.max_width:
            yield line
            return
        if not self.body or avail < self.MIN_BODY:
            # Too narrow for a hanging indent: the whole line wraps at the console's width.
            for part in line.wrap(console, options.max_width):
                yield _joined(part, _NO_COLUMNS)
            return
        for i, part in enumerate(self.body.wrap(console, avail)):
            yield _joined(self.columns if i == 0 else Text(" " * indent), part)


def chain_listing(chain: Chain, graph: JumpGraph | None = None, *,
                  show_counters: bool = True, unreachable: bool | None = None,
                  chains: Iterable[str] | None = None) -> Group:
    """A chain header and its rules (or `(no rules)`), indented by two spaces."""
    return Group(*(_renderable(item) for item in _chain_items(
        chain, graph, show_counters=show_counters, unreachable=unreachable, chains=chains)))


# A listing is a sequence of items: a whole line (Text) or a rule row (columns, body).
_Item = Text | tuple[Text, Text]
_INDENT = Text("  ")


def _renderable(item: _Item) -> RenderableType:
    # A plain line goes through HangingRow too, with no columns, so that where it wraps (a
    # long file path in the header) no line is left ending in the space it broke at.
    return HangingRow(_NO_COLUMNS, item) if isinstance(item, Text) else HangingRow(*item)


_NO_COLUMNS = Text("")


def _line(item: _Item) -> Text:
    return item if isinstance(item, Text) else _joined(*item)


def _chain_items(chain: Chain, graph: JumpGraph | None, *, show_counters: bool,
                 unreachable: bool | None, chains: Iterable[str] | None) -> Iterator[_Item]:
    if unreachable is None:
        unreachable = bool(graph is not None and not chain.builtin
                           and chain.name not in graph.reachable())
    yield chain_header(chain, graph, unreachable=unreachable)
    if not chain.rules:
        yield Text("  (no rules)", style="dim")
        return
    for columns, body in chain_row_parts(chain, chains, show_counters=show_counters):
        yield _INDENT + columns, body


def table_header(table: Table) -> Text:
    chains = len(table.chains)
    rules = table.rule_count
    text = Text(f"*{clean(table.name)}", style=TABLE_STYLE)
    text.append(f"  {_plural(chains, 'chain')}, {_plural(rules, 'rule')}", style="dim")
    return text


def has_counters(ruleset: Ruleset) -> bool:
    """Whether the dump carried rule counters (policy counters show in the chain headers)."""
    return any(rule.counters is not None for rule in ruleset.rules())


def _table_items(table: Table, *, chains: Sequence[str] | None,
                 show_counters: bool) -> Iterator[_Item]:
    graph = JumpGraph.build(table)
    reachable = graph.reachable()
    names = table_chain_names(table)
    yield table_header(table)
    for chain in table.ordered_chains():
        if chains is not None and chain.name not in chains:
            continue
        yield from _chain_items(chain, graph, show_counters=show_counters, chains=names,
                                unreachable=not chain.builtin and chain.name not in reachable)
        yield Text("")


def table_listing(table: Table, *, chains: Sequence[str] | None = None,
                  show_counters: bool = True) -> Group:
    """A table header, then each chain (built-ins first), or only the chains named."""
    return Group(*(_renderable(item) for item in _table_items(
        table, chains=chains, show_counters=show_counters)))


def ruleset_header(ruleset: Ruleset) -> Text:
    text = Text(clean(ruleset.path), style="bold")
    text.append(f": {ruleset.format}, {ruleset.family.value}", style="dim")
    return text


def _ruleset_items(ruleset: Ruleset, *, table: str | None,
                   chain: str | None) -> Iterator[_Item]:
    counters = has_counters(ruleset)
    yield ruleset_header(ruleset)
    yield Text("")
    for tbl in ruleset.ordered_tables():
        if table is not None and tbl.name != table:
            continue
        if chain is not None and chain not in tbl.chains:
            continue
        yield from _table_items(tbl, chains=None if chain is None else [chain],
                                show_counters=counters)


def ruleset_listing(ruleset: Ruleset, *, table: str | None = None,
                    chain: str | None = None) -> Group:
    """The whole listing (`iptscope show`): per table, per chain; filtered by table/chain.
    Rules wrap under their rule column when printed to a narrow console."""
    return Group(*(_renderable(item) for item in _ruleset_items(
        ruleset, table=table, chain=chain)))


def listing_lines(ruleset: Ruleset, *, table: str | None = None,
                  chain: str | None = None) -> Iterator[Text]:
    """The same listing as unwrapped lines, produced lazily (for pipes and line-based
    widgets: a 75,000-rule dump is not built in memory at once)."""
    for item in _ruleset_items(ruleset, table=table, chain=chain):
        yield _line(item)


# ---------------------------------------------------------------------------------------------
# Diagnostics and summaries

def severity_text(severity: Severity) -> Text:
    return Text(severity.value, style=SEVERITY_STYLES.get(severity, ""))


def diagnostic_text(diag: Diagnostic) -> Text:
    """`FILE:LINE:COL: severity: message`, then the offending line indented and a caret under
    the column when it falls inside the line. Control characters are shown escaped."""
    text = Text(f"{clean(diag.path)}:{diag.line}:{diag.col}: ", style="bold")
    text.append_text(severity_text(diag.severity))
    text.append(f": {clean(diag.message)}")
    if diag.text:
        raw = diag.text.rstrip("\r\n").expandtabs(1)
        text.append("\n    ")
        text.append(clean(raw))
        if 1 <= diag.col <= len(raw) + 1:
            text.append("\n    " + " " * len(clean(raw[: diag.col - 1])))
            text.append("^", style=SEVERITY_STYLES.get(diag.severity, ""))
    return text


def load_error_text(path: str, message: str) -> Text:
    """`PATH: error: message` for a file that could not be read at all."""
    text = Text(f"{clean(path)}: ", style="bold")
    text.append_text(severity_text(Severity.ERROR))
    text.append(f": {clean(message)}")
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
    text = Text(f"{clean(ruleset.path)}: ", style="bold")
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


"""The `iptables -L` family of formats: `-L` with any of `-v`, `-n`, `-x`, `--line-numbers`,
ip6tables listings, several `-t TABLE -L` outputs in one file, and pasted copies of them.

    Chain INPUT (policy ACCEPT 125K packets, 18M bytes)
    num   pkts bytes target     prot opt in     out     source               destination
    1     550K   80M neutron-openvswi-INPUT  all  --  *      *       0.0.0.0/0            0.0.0.0/0

Which columns a row has is read from the header row (`num`, `pkts bytes`, `in out`). Rows are
split on whitespace, never by fixed widths: pastes collapse runs of spaces, long interface names
and IPv6 addresses overflow their columns, negations butt into the next column
(`!10.244.0.0/16`). Per row, the target column may be empty (a counters-only rule) and
ip6tables prints no `opt` column at all; both are recognised from the words themselves.

Loading is two-staged (see `ruleset.model.Rule`): the browsable fields (target, `[goto]`,
counters, text, line) are set at once with `str.split` and a few regular expressions; the
addresses, protocol, interfaces and the extra column (`parser.extra`) are resolved only when
`Rule.spec` is first read.

Tables: a listing does not name its table. A hint line (`# Table: nat`, `*nat`, or a command
such as `# iptables -t nat -L -n`) names it; otherwise it is inferred from the built-in chains
of each listing (PREROUTING+POSTROUTING+FORWARD: mangle, POSTROUTING: nat, PREROUTING+OUTPUT:
raw, INPUT/FORWARD/OUTPUT: filter), then from NAT targets, else filter. A new listing starts
where a built-in chain repeats or follows a user chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parser.errors import ParseError, error, warning
from parser.extra import parse_extra
from parser.tokens import is_count
from ruleset.hosts import HOSTS_V4, HOSTS_V6
from ruleset.model import (
    ALL_BUILTIN_NAMES,
    Chain,
    Counters,
    Diagnostic,
    Family,
    Option,
    Rule,
    Ruleset,
    RuleSpec,
    Table,
    Target,
)
from ruleset.spec import PROTOCOL_NAMES

__all__ = ["looks_like_listing", "parse_listing"]

_CHAIN = re.compile(r"^Chain\s+(\S+)\s*\((.*)\)\s*$")
_CHAIN_START = re.compile(r"^Chain\s+(\S+)")
_POLICY = re.compile(r"^policy\s+(\S+)(?:\s+(\S+)\s+packets?,\s*(\S+)\s+bytes?)?\s*$")
_REFS = re.compile(r"^(\d+)\s+references?\s*$")
_COUNTER = re.compile(r"^(\d+)([KMGTP]?)$", re.ASCII)
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_HINT_TABLE = re.compile(r"^\s*(?:#\s*)?(?:Table:\s*|\*)(raw|mangle|nat|filter|security)\s*$")
_HINT_COMMAND = re.compile(r"(?:^|[#$>]\s*)(?:sudo\s+)?(ip6?tables)(?:-legacy|-nft)?\s+(.*)$")
_CMD_TABLE = re.compile(r"(?:^|\s)(?:-t\s*|--table[=\s]+)(\w+)")
_CMD_LIST = re.compile(r"(?:^|\s)(?:-[A-Za-z]*L|--list)(?:\s+([^-\s|][^\s|]*))?")
_OPT_WORDS = frozenset({"--", "-f", "!f", "!-f", "-?", "!?"})
_HOOK_ORDER = {"PREROUTING": 0, "INPUT": 1, "FORWARD": 2, "OUTPUT": 3, "POSTROUTING": 4}
_ANY_ADDRESS = frozenset({"0.0.0.0/0", "::/0", "anywhere", "0/0"})
_ANY_IFACE = frozenset({"*", "any"})
_NAT_TARGETS = (" DNAT ", " SNAT ", " MASQUERADE ", " REDIRECT ", " NETMAP ")
_RAW_TARGETS = (" NOTRACK ", " CT ")
# /etc/protocols aliases -L may print -> the name iptables-save prints.
_PROTOCOL_ALIASES = {"icmpv6": "ipv6-icmp", "mobility-header": "mh", "ipv6-mh": "mh"}
_PROTOCOL_WORDS = frozenset(PROTOCOL_NAMES.values()) | {"ip", "ipv6-icmp"} | set(_PROTOCOL_ALIASES)


@dataclass(slots=True)
class _Layout:
    """The columns of a row, from the header row (or from `-v`/`--line-numbers` flags)."""

    num: bool = False
    counters: bool = False
    ifaces: bool = False
    wide: bool = False  # `-x`: header `    pkts      bytes`

    @property
    def fixed(self) -> int:
        """Words before the extra column when target and opt are both present."""
        return (1 if self.num else 0) + (2 if self.counters else 0) + 3 + (
            2 if self.ifaces else 0) + 2


@dataclass(slots=True)
class _Context:
    """Load-wide facts the lazy resolver reads (the family is known only at the end)."""

    family: Family = Family.IPV4


# prot, opt, in, out, source, destination, extra: a row's unresolved columns.
_Raw = tuple[str, str, str, str, str, str, str]


@dataclass(slots=True)
class _Row:
    num: int | None
    counters: Counters | None
    target: str | None
    goto: bool
    raw: _Raw
    missing_opt: bool


class _RowError(Exception):
    def __init__(self, col: int, message: str) -> None:
        super().__init__(message)
        self.col = col
        self.message = message


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------


def _is_header(words: list[str]) -> bool:
    return "target" in words and "prot" in words and "source" in words


def looks_like_listing(lines: list[str]) -> bool:
    """True when the first non-blank lines look like `iptables -L` output (cheap)."""
    seen = 0
    for line in lines:
        text = line.strip()
        if not text:
            continue
        seen += 1
        if seen > 50:
            break
        if text.startswith("Chain "):
            m = _CHAIN.match(text)
            if m and ("policy" in m.group(2) or "reference" in m.group(2)):
                return True
        elif text.startswith(("target", "num", "pkts")) and _is_header(text.split()):
            return True
    return False


# --------------------------------------------------------------------------------------------
# Pass 1: where each table's listing starts, and which table it is
# --------------------------------------------------------------------------------------------


def _hint_of(text: str) -> tuple[str, str | None, _Layout | None, bool] | None:
    """(table, chain, layout from flags, ipv6) for a hint line, else None."""
    m = _HINT_TABLE.match(text)
    if m:
        return m.group(1), None, None, False
    m = _HINT_COMMAND.search(text)
    if m is None or not (text.startswith(("#", "$", "/", "*")) or text.split()[0] in (
            "iptables", "ip6tables", "sudo")):
        return None
    args = m.group(2).split("|")[0]
    listing = _CMD_LIST.search(args)
    if listing is None:
        return None
    table_m = _CMD_TABLE.search(args)
    table = table_m.group(1) if table_m else "filter"
    flags = "".join(w[1:] for w in args.split() if w.startswith("-") and not w.startswith("--"))
    layout = _Layout(
        num="--line-numbers" in args or "--line" in args,
        counters="v" in flags or "--verbose" in args,
        ifaces="v" in flags or "--verbose" in args,
        wide="x" in flags or "--exact" in args,
    )
    return table, listing.group(1), layout, m.group(1) == "ip6tables"


def _infer_table(builtins: list[str], block_lines: list[str]) -> str:
    names = set(builtins)
    if "FORWARD" in names and ("PREROUTING" in names or "POSTROUTING" in names):
        return "mangle"
    if "POSTROUTING" in names:
        return "nat"
    if "PREROUTING" in names:
        return "nat" if "INPUT" in names else "raw"
    if "FORWARD" in names or "INPUT" in names:
        return "filter"
    for line in block_lines:
        padded = f" {line} "
        if any(t in padded for t in _NAT_TARGETS):
            return "nat"
        if any(t in padded for t in _RAW_TARGETS):
            return "raw"
    return "filter"


def _plan_tables(lines: list[str]) -> dict[int, str]:
    """Line index of each `Chain` line that starts a new table listing -> the table's name."""
    starts: list[tuple[int, str | None]] = []  # (line index, hinted table)
    builtins: list[list[str]] = []
    hint: str | None = None
    current: list[str] | None = None
    user_seen = False
    for i, raw_line in enumerate(lines):
        line = raw_line.lstrip()
        if line.startswith("Chain "):
            m = _CHAIN_START.match(line)
            name = m.group(1) if m else ""
            is_builtin = name in ALL_BUILTIN_NAMES and "policy" in line
            new_block = current is None or hint is not None
            if not new_block and is_builtin and current is not None:
                last = _HOOK_ORDER.get(current[-1], -1) if current else -1
                order = _HOOK_ORDER.get(name, -1)
                legacy_nat = current and current[-1] == "POSTROUTING" and name == "OUTPUT"
                new_block = name in current or user_seen or (order < last and not legacy_nat)
            if new_block:
                starts.append((i, hint))
                current = []
                builtins.append(current)
                hint = None
                user_seen = False
            assert current is not None
            if is_builtin:
                current.append(name)
            else:
                user_seen = True
        elif line.startswith(("#", "*", "Table", "/", "$", "ip", "sudo")):
            found = _hint_of(line.strip())
            if found is not None:
                hint = found[0]
                if found[1] is not None:  # `-L CHAIN`: rows may follow without a Chain line
                    current = None
    plan: dict[int, str] = {}
    for k, (start, hinted) in enumerate(starts):
        if hinted is not None:
            plan[start] = hinted
            continue
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        names = builtins[k]
        sample = [] if names else lines[start:end]
        plan[start] = _infer_table(names, sample)
    return plan


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _counter(word: str) -> tuple[int, int] | None:
    """`125K` -> (125000, 1000); `1574` -> (1574, 1); None when not a counter."""
    if word.isdigit() and word.isascii():  # (`'²'.isdigit()` is True)
        return int(word), 1
    m = _COUNTER.match(word)
    if m is None:
        return None
    unit = _UNITS[m.group(2)]
    return int(m.group(1)) * unit, unit


def _is_protocol(word: str) -> bool:
    word = word[1:] if word.startswith("!") else word
    return (word.isdigit() and word.isascii()) or word.lower() in _PROTOCOL_WORDS


def _split(line: str, n: int) -> list[str]:
    """The first n words and the rest of the line (inner spacing of the rest kept)."""
    if "<" in line:  # redacted pastes: `<my ipv6 block>::/120` is one word
        return _split_bracketed(line, n)
    return line.split(None, n)


def _split_bracketed(line: str, n: int) -> list[str]:
    words: list[str] = []
    pos = 0
    pattern = re.compile(r"\s*(<[^>]*>\S*|\S+)")
    while len(words) < n:
        m = pattern.match(line, pos)
        if m is None:
            return words
        words.append(m.group(1))
        pos = m.end()
    rest = line[pos:].strip()
    if rest:
        words.append(rest)
    return words


def _parse_row(line: str, layout: _Layout) -> _Row:
    n = layout.fixed
    parts = _split(line, n)
    i = 0
    num: int | None = None
    if layout.num:
        if not parts or not (parts[0].isdigit() and parts[0].isascii()):
            raise _RowError(1, "expected a rule number in the `num` column")
        num = int(parts[0])
        i = 1
    counters: Counters | None = None
    if layout.counters:
        if len(parts) < i + 2:
            raise _RowError(len(line.rstrip()) + 1, "row has too few columns")
        packets = _counter(parts[i])
        byte_count = _counter(parts[i + 1])
        if packets is None or byte_count is None:
            bad = parts[i] if packets is None else parts[i + 1]
            raise _RowError(line.find(bad) + 1, f"bad counter {bad!r}")
        exact = packets[1] == 1 and byte_count[1] == 1
        counters = Counters(packets[0], byte_count[0], exact, packets[1], byte_count[1])
        i += 2
    rest_needed = (2 if layout.ifaces else 0) + 2
    if len(parts) < i + 1 + rest_needed:
        raise _RowError(len(line.rstrip()) + 1,
                        f"row has too few columns: expected {n}, found {len(parts)}")
    a = parts[i]
    b = parts[i + 1] if len(parts) > i + 1 else ""
    c = parts[i + 2] if len(parts) > i + 2 else ""
    target: str | None
    missing_opt = False
    if c in _OPT_WORDS and b not in _OPT_WORDS:
        target, prot, opt, used = a, b, c, 3
    elif b in _OPT_WORDS and _is_protocol(a):
        target, prot, opt, used = None, a, b, 2
    elif _is_protocol(b) and not _is_protocol(a):  # ip6tables: no opt column
        target, prot, opt, used, missing_opt = a, b, "", 2, True
    elif _is_protocol(a):
        target, prot, opt, used, missing_opt = None, a, "", 1, True
    elif _is_protocol(b):
        target, prot, opt, used, missing_opt = a, b, "", 2, True
    else:
        raise _RowError(line.find(a) + 1 if a else 1,
                        f"cannot find the protocol column in {' '.join(parts[i:i + 3])!r}")
    if used < 3:
        parts = _split(line, n - (3 - used))
    j = i + used
    if len(parts) < j + rest_needed:
        raise _RowError(len(line.rstrip()) + 1, "row has too few columns: expected "
                        f"{n - (3 - used)}, found {min(len(parts), n - (3 - used) - 1)}")
    if layout.ifaces:
        iface_in, iface_out = parts[j], parts[j + 1]
        j += 2
    else:
        iface_in = iface_out = "*"
    source, destination = parts[j], parts[j + 1]
    extra = parts[j + 2] if len(parts) > j + 2 else ""
    goto = extra.startswith("[goto]")
    if target == "CT" and extra.endswith("NOTRACK"):  # `-j NOTRACK` lists as target CT
        target = "NOTRACK"
    return _Row(num, counters, target, goto,
                (prot, opt, iface_in, iface_out, source, destination, extra), missing_opt)


# --------------------------------------------------------------------------------------------
# Lazy resolution
# --------------------------------------------------------------------------------------------


def _address(flag: str, value: str, family: Family) -> Option | None:
    negated = value.startswith("!")
    if negated:
        value = value[1:]
    if value in _ANY_ADDRESS and not negated:
        return None
    host, slash, bits = value.partition("/")
    hosts = HOSTS_V6 if family is Family.IPV6 else HOSTS_V4
    mapped = hosts.get(host)
    if mapped is not None:
        value = mapped + slash + bits
    return Option(flag, (value,), negated)


def _iface(flag: str, value: str) -> Option | None:
    negated = value.startswith("!")
    if negated:
        value = value[1:]
    if value in _ANY_IFACE and not negated:
        return None
    return Option(flag, (value,), negated)


def _protocol(value: str) -> Option | None:
    negated = value.startswith("!")
    if negated:
        value = value[1:]
    if is_count(value):
        value = PROTOCOL_NAMES.get(int(value), value)
    value = value.lower()
    if value in ("all", "0") and not negated:
        return None
    value = _PROTOCOL_ALIASES.get(value, value)
    return Option("-p", (value,), negated)


def resolve_row(raw: tuple[str, ...], target_name: str | None, family: Family) -> RuleSpec:
    """The RuleSpec of one `-L` row from its unresolved columns (see `_Raw`)."""
    prot, opt, iface_in, iface_out, source, destination, extra_text = raw
    generic: list[Option] = []
    for item in (
        _address("-s", source, family),
        _address("-d", destination, family),
        _iface("-i", iface_in),
        _iface("-o", iface_out),
        _protocol(prot),
    ):
        if item is not None:
            generic.append(item)
    if opt in ("-f", "!f", "!-f"):
        generic.append(Option("-f", (), opt != "-f"))
    extra = parse_extra(extra_text, target=target_name, family=family)
    target = (
        Target(target_name, extra.target_options, goto=extra.goto)
        if target_name is not None else None
    )
    opaque = extra.opaque
    if target is None and extra.target_options:
        opaque += tuple(o.name for o in extra.target_options)
    return RuleSpec(generic=tuple(generic), matches=extra.matches, target=target, opaque=opaque)


class _Resolver:
    __slots__ = ("context",)

    def __init__(self, context: _Context) -> None:
        self.context = context

    def __call__(self, rule: Rule) -> RuleSpec:
        raw = rule.raw
        assert isinstance(raw, tuple)
        family = self.context.family
        table = rule.chain.table if rule.chain is not None else None
        if table is not None and table.ruleset is not None:
            family = table.ruleset.family  # the loader may have set it after parse_listing
        return resolve_row(raw, rule.target_name, family)


# --------------------------------------------------------------------------------------------
# Pass 2: build the ruleset
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Loader:
    path: str
    strict: bool
    ruleset: Ruleset = field(default_factory=Ruleset)
    context: _Context = field(default_factory=_Context)
    table: Table | None = None
    chain: Chain | None = None
    layout: _Layout | None = None
    num: bool = False
    counters: bool = False
    exact: bool = False
    names: bool = False
    ipv6: bool = False
    resolver: _Resolver = field(init=False)

    def __post_init__(self) -> None:
        self.resolver = _Resolver(self.context)

    def report(self, diagnostic: Diagnostic) -> None:
        if self.strict and diagnostic.severity.value == "error":
            raise ParseError(diagnostic)
        self.ruleset.diagnostics.append(diagnostic)

    def ensure_table(self, name: str, lineno: int) -> Table:
        self.table = self.ruleset.ensure_table(name, line=lineno)
        return self.table

    def chain_line(self, text: str, lineno: int) -> None:
        table = self.table or self.ensure_table("filter", lineno)
        m = _CHAIN.match(text)
        if m is None:
            start = _CHAIN_START.match(text)
            col = text.find("(") + 1 if "(" in text else len(text) + 1
            self.report(error(self.path, lineno, col,
                              "malformed chain header: expected `Chain NAME (policy P ...)` "
                              "or `Chain NAME (N references)`", text))
            self.chain = self._open_chain(table, start.group(1), lineno) if start else None
            return
        name, inside = m.group(1), m.group(2).strip()
        policy_m = _POLICY.match(inside)
        refs_m = _REFS.match(inside)
        chain = self._open_chain(table, name, lineno)
        self.chain = chain
        self.layout = None
        if policy_m:
            chain.builtin = True
            chain.policy = policy_m.group(1)
            if policy_m.group(2) is not None:
                packets = _counter(policy_m.group(2))
                byte_count = _counter(policy_m.group(3))
                if packets is None or byte_count is None:
                    self.report(error(self.path, lineno, text.find("(") + 2,
                                      "bad policy counters", text))
                else:
                    exact = packets[1] == 1 and byte_count[1] == 1
                    chain.policy_counters = Counters(packets[0], byte_count[0], exact,
                                                     packets[1], byte_count[1])
        elif refs_m:
            chain.builtin = False
            chain.policy = None
            chain.references = int(refs_m.group(1))
        else:
            self.report(error(self.path, lineno, text.find("(") + 2,
                              f"malformed chain header: unexpected {inside!r} in parentheses",
                              text))

    def _open_chain(self, table: Table, name: str, lineno: int) -> Chain:
        existing = table.chains.get(name)
        if existing is not None:
            self.report(warning(self.path, lineno, 1,
                                f"chain {name} listed again in table {table.name}; "
                                "its rows are appended", ""))
            return existing
        builtin = name in ALL_BUILTIN_NAMES
        return table.add_chain(Chain(name, builtin=builtin,
                                     policy="ACCEPT" if builtin else None, line=lineno))

    def header_line(self, text: str) -> None:
        words = text.split()
        self.layout = _Layout(
            num=words[0] == "num",
            counters="pkts" in words,
            ifaces="in" in words and "out" in words,
            wide=re.search(r"pkts\s{2,}bytes", text) is not None,
        )
        self.num |= self.layout.num
        self.counters |= self.layout.counters
        self.exact |= self.layout.wide

    def guess_layout(self, text: str) -> _Layout:
        words = text.split(None, 4)
        if len(words) >= 3 and is_count(words[0]) and _counter(words[1]) and _counter(words[2]):
            return _Layout(num=True, counters=True, ifaces=True)
        if len(words) >= 2 and _counter(words[0]) and _counter(words[1]):
            return _Layout(counters=True, ifaces=True)
        return _Layout()

    def row_line(self, line: str, text: str, lineno: int) -> None:
        if self.chain is None:
            self.report(error(self.path, lineno, 1, "rule row before any `Chain` header",
                              line.rstrip()))
            return
        layout = self.layout or self.guess_layout(text)
        try:
            row = _parse_row(line, layout)
        except _RowError as exc:
            self.report(error(self.path, lineno, exc.col, exc.message, line.rstrip()))
            return
        if row.missing_opt:
            self.ipv6 = True
        _prot, _opt, iface_in, iface_out, source, destination, _extra = row.raw
        if not self.ipv6 and (":" in source or ":" in destination):
            self.ipv6 = True
        if not self.names and (
            (not source[:1].isdigit() and _is_name(source))
            or (not destination[:1].isdigit() and _is_name(destination))
            or iface_in == "any" or iface_out == "any"
        ):
            self.names = True
        if row.counters is not None and row.counters.exact and (
            row.counters.packets > 99999 or row.counters.bytes > 99999
        ):
            self.exact = True
        rule = Rule(
            target_name=row.target,
            goto=row.goto,
            counters=row.counters,
            text=line,
            line=lineno,
            raw=row.raw,
            resolver=self.resolver,
        )
        self.chain.append(rule)

    def hint_line(self, hint: tuple[str, str | None, _Layout | None, bool], lineno: int) -> None:
        table_name, chain_name, layout, ipv6 = hint
        table = self.ensure_table(table_name, lineno)
        self.ipv6 |= ipv6
        if chain_name is not None:
            self.chain = table.chains.get(chain_name) or table.add_chain(
                Chain(chain_name, builtin=chain_name in ALL_BUILTIN_NAMES,
                      policy="ACCEPT" if chain_name in ALL_BUILTIN_NAMES else None,
                      line=lineno))
            self.layout = layout
        else:
            self.chain = None

    def finish(self) -> Ruleset:
        family = Family.IPV6 if self.ipv6 else Family.IPV4
        self.context.family = family
        self.ruleset.family = family
        words = ["iptables", "-L"]
        if self.counters:
            words.append("-v")
        if not self.names:
            words.append("-n")
        if self.exact:
            words.append("-x")
        if self.num:
            words.append("--line-numbers")
        self.ruleset.format = " ".join(words)
        self.ruleset.path = self.path
        return self.ruleset


def _is_name(address: str) -> bool:
    value = address[1:] if address.startswith("!") else address
    return bool(value) and not value[0].isdigit() and ":" not in value


def parse_listing(lines: list[str], path: str, *, strict: bool) -> Ruleset:
    """Build a Ruleset from the lines of an `iptables -L ...` / `ip6tables -L ...` dump.

    Lenient (`strict=False`): malformed chain headers and rows become error Diagnostics
    (`FILE:LINE:COL`) and every good row is kept; strict: `ParseError` at the first error.
    Rules are resolved lazily (`Rule.spec`); `Ruleset.resolve_all()` resolves them all.
    """
    clean = [line.rstrip("\r\n").rstrip("\r") for line in lines]
    plan = _plan_tables(clean)
    loader = _Loader(path, strict)
    for index, line in enumerate(clean):
        text = line.strip()
        if not text:
            continue
        lineno = index + 1
        try:  # (free in CPython 3.11 unless raised)
            table_name = plan.get(index)
            if table_name is not None:
                loader.ensure_table(table_name, lineno)
            first = text[0]
            if first == "C" and text.startswith("Chain "):
                loader.chain_line(text, lineno)
                continue
            if first in "tnp" and text.startswith(("target", "num", "pkts")):
                words = text.split()
                if _is_header(words):
                    loader.header_line(text)
                    continue
            if first in "#*T/$is":
                hint = _hint_of(text)
                if hint is not None:
                    loader.hint_line(hint, lineno)
                    continue
                if first == "#":
                    continue
            loader.row_line(line, text, lineno)
        except ParseError:
            raise
        except Exception as exc:  # never a traceback, never the whole file: this line only
            loader.report(error(path, lineno, 1,
                                f"internal error while reading this line: {exc!r}", line))
    return loader.finish()

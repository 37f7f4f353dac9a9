"""The ruleset model: what a dump says, independent of the format it came in.

Stdlib only. The parser builds these objects; the stepper, the counter deltas and the UI read them.

A rule is loaded in two stages so that a 50,000-rule dump is browsable quickly:
the *browsable* fields (chain, position, counters, target name, text, line) are set when the
rule is created; the *spec* (addresses, protocol, interfaces, matches, target options) is
resolved on first access by the resolver the parser attached (`Rule.spec`), or at once by
`Ruleset.resolve_all()`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
TABLE_ORDER: tuple[str, ...] = ("raw", "mangle", "nat", "filter", "security")
ALL_BUILTIN_NAMES = frozenset(n for names in BUILTIN_CHAINS.values() for n in names)


class Family(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Error(Exception):
    """Base class of the ruleset package's errors."""


class RuleSpecError(Error):
    """A rule spec that cannot be resolved (raised only by strict resolvers)."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found while loading: `FILE:LINE:COL: message` plus the offending line."""

    path: str
    line: int
    col: int
    severity: Severity
    message: str
    text: str = ""

    def __str__(self) -> str:
        head = f"{self.path}:{self.line}:{self.col}: {self.severity.value}: {self.message}"
        return f"{head}\n    {self.text}" if self.text else head

    @property
    def one_line(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity.value}: {self.message}"


def _rounded_bounds(value: int, unit: int) -> tuple[int, int]:
    """The true counter behind a `-L` figure printed as value/unit with a K/M/G/T/P suffix.

    iptables rounds to nearest at each step of 1000 (`(n + 500) / 1000`, cascaded), so a figure
    of V with unit 1000**k stands for any count in [V*1000**k - 500*(1000**k - 1)/999, ...].
    """
    if unit <= 1:
        return value, value
    lo = hi = value // unit
    step = 1
    while step < unit:
        lo, hi = lo * 1000 - 500, hi * 1000 + 499
        step *= 1000
    return max(lo, 0), hi


@dataclass(frozen=True, slots=True)
class Counters:
    """Packet and byte counters. `exact` is False for `-L` figures rounded to K/M/G/T/P.

    For rounded figures `packets`/`bytes` are the printed value times the unit (1000**k) and
    the true value lies in [`packets_min`, `packets_max`] (same for bytes).
    """

    packets: int
    bytes: int
    exact: bool = True
    packets_unit: int = 1
    bytes_unit: int = 1

    @property
    def packets_min(self) -> int:
        return _rounded_bounds(self.packets, self.packets_unit)[0]

    @property
    def packets_max(self) -> int:
        return _rounded_bounds(self.packets, self.packets_unit)[1]

    @property
    def bytes_min(self) -> int:
        return _rounded_bounds(self.bytes, self.bytes_unit)[0]

    @property
    def bytes_max(self) -> int:
        return _rounded_bounds(self.bytes, self.bytes_unit)[1]


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a match or target: `--dport 80`, `! --syn`, `--match-set S src,dst`.

    `name` keeps its dashes (`--dport`, `-s`); `values` are the words after it (unquoted).
    """

    name: str
    values: tuple[str, ...] = ()
    negated: bool = False

    @property
    def value(self) -> str:
        return " ".join(self.values)


@dataclass(frozen=True, slots=True)
class Match:
    """A match module and its options (`-m tcp --dport 80`). Unknown modules are kept whole."""

    module: str
    options: tuple[Option, ...] = ()

    def get(self, name: str) -> Option | None:
        for opt in self.options:
            if opt.name == name:
                return opt
        return None


@dataclass(frozen=True, slots=True)
class Target:
    """What a rule does when it matches. `goto` is True for `-g CHAIN`."""

    name: str
    options: tuple[Option, ...] = ()
    goto: bool = False

    def get(self, name: str) -> Option | None:
        for opt in self.options:
            if opt.name == name:
                return opt
        return None


GENERIC_OPTIONS = ("-s", "-d", "-i", "-o", "-p", "-f")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """Everything a rule matches on and does.

    `generic` holds the built-in options (`-s -d -i -o -p -f`) as Options, `matches` the
    `-m` modules in order, `target` the `-j`/`-g` target (None for a counters-only rule),
    `opaque` any text the parser kept but could not structure (never dropped).
    """

    generic: tuple[Option, ...] = ()
    matches: tuple[Match, ...] = ()
    target: Target | None = None
    opaque: tuple[str, ...] = ()

    def option(self, name: str) -> Option | None:
        for opt in self.generic:
            if opt.name == name:
                return opt
        return None

    @property
    def source(self) -> Option | None:
        return self.option("-s")

    @property
    def destination(self) -> Option | None:
        return self.option("-d")

    @property
    def in_iface(self) -> Option | None:
        return self.option("-i")

    @property
    def out_iface(self) -> Option | None:
        return self.option("-o")

    @property
    def protocol(self) -> Option | None:
        return self.option("-p")

    @property
    def fragment(self) -> Option | None:
        return self.option("-f")

    def match(self, module: str) -> Match | None:
        for m in self.matches:
            if m.module == module:
                return m
        return None

    @property
    def comment(self) -> str | None:
        parts = [o.value for m in self.matches if m.module == "comment" for o in m.options]
        return " ".join(parts) if parts else None


SpecResolver = Callable[["Rule"], RuleSpec]


class Rule:
    """A rule in a chain. `position` is 1-based and kept up to date by its Chain."""

    __slots__ = (
        "_raw",
        "_resolver",
        "_spec",
        "chain",
        "counters",
        "edited",
        "goto",
        "line",
        "position",
        "target_name",
        "text",
    )

    def __init__(
        self,
        *,
        target_name: str | None,
        goto: bool = False,
        counters: Counters | None = None,
        text: str = "",
        line: int = 0,
        spec: RuleSpec | None = None,
        raw: object = None,
        resolver: SpecResolver | None = None,
    ) -> None:
        self.chain: Chain | None = None
        self.position = 0
        self.target_name = target_name
        self.goto = goto
        self.counters = counters
        self.text = text
        self.line = line
        self.edited = False
        self._spec = spec
        self._raw = raw
        self._resolver = resolver

    @classmethod
    def from_spec(
        cls,
        spec: RuleSpec,
        *,
        counters: Counters | None = None,
        text: str = "",
        line: int = 0,
    ) -> Rule:
        target = spec.target
        return cls(
            target_name=target.name if target else None,
            goto=bool(target and target.goto),
            counters=counters,
            text=text,
            line=line,
            spec=spec,
        )

    @property
    def raw(self) -> object:
        """Whatever the parser kept to resolve the spec later (format specific)."""
        return self._raw

    @property
    def resolved(self) -> bool:
        return self._spec is not None

    @property
    def spec(self) -> RuleSpec:
        if self._spec is None:
            if self._resolver is None:
                self._spec = RuleSpec(target=self._target_guess())
            else:
                self._spec = self._resolver(self)
            self._resolver = None
        return self._spec

    def set_spec(self, spec: RuleSpec) -> None:
        self._spec = spec
        self._resolver = None
        self.target_name = spec.target.name if spec.target else None
        self.goto = bool(spec.target and spec.target.goto)

    def _target_guess(self) -> Target | None:
        return Target(self.target_name, goto=self.goto) if self.target_name else None

    @property
    def target(self) -> Target | None:
        return self.spec.target

    @property
    def matches(self) -> tuple[Match, ...]:
        return self.spec.matches

    @property
    def comment(self) -> str | None:
        return self.spec.comment

    @property
    def chain_name(self) -> str:
        return self.chain.name if self.chain else ""

    @property
    def table_name(self) -> str:
        return self.chain.table.name if self.chain and self.chain.table else ""

    def copy(self) -> Rule:
        """A detached copy with the same spec and counters (for what-if edits)."""
        rule = Rule(
            target_name=self.target_name,
            goto=self.goto,
            counters=self.counters,
            text=self.text,
            line=self.line,
            spec=self.spec,
        )
        rule.edited = self.edited
        return rule

    def __repr__(self) -> str:
        where = f"{self.table_name}:{self.chain_name}#{self.position}"
        return f"<Rule {where} -> {self.target_name}>"


class Chain:
    """A chain: built-in (with a policy) or user-defined (policy None)."""

    __slots__ = ("builtin", "line", "name", "policy", "policy_counters", "references", "rules",
                 "table")

    def __init__(
        self,
        name: str,
        *,
        builtin: bool | None = None,
        policy: str | None = None,
        policy_counters: Counters | None = None,
        references: int | None = None,
        line: int = 0,
    ) -> None:
        self.name = name
        self.table: Table | None = None
        self.builtin = (policy is not None) if builtin is None else builtin
        self.policy = policy
        self.policy_counters = policy_counters
        self.references = references  # as printed by `-L` "(N references)", else None
        self.rules: list[Rule] = []
        self.line = line

    def append(self, rule: Rule) -> Rule:
        rule.chain = self
        self.rules.append(rule)
        rule.position = len(self.rules)
        return rule

    def insert(self, position: int, rule: Rule) -> Rule:
        """Insert before 1-based `position` (len+1 appends)."""
        if not 1 <= position <= len(self.rules) + 1:
            raise IndexError(f"index of insertion too big: {position}")
        rule.chain = self
        self.rules.insert(position - 1, rule)
        self.renumber(position - 1)
        return rule

    def delete(self, position: int) -> Rule:
        if not 1 <= position <= len(self.rules):
            raise IndexError(f"index of deletion too big: {position}")
        rule = self.rules.pop(position - 1)
        rule.chain = None
        self.renumber(position - 1)
        return rule

    def renumber(self, start: int = 0) -> None:
        for i in range(start, len(self.rules)):
            self.rules[i].position = i + 1

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __repr__(self) -> str:
        return f"<Chain {self.name} rules={len(self.rules)} policy={self.policy}>"


class Table:
    __slots__ = ("chains", "line", "name", "ruleset")

    def __init__(self, name: str, *, line: int = 0) -> None:
        self.name = name
        self.ruleset: Ruleset | None = None
        self.chains: dict[str, Chain] = {}
        self.line = line

    def add_chain(self, chain: Chain) -> Chain:
        chain.table = self
        self.chains[chain.name] = chain
        return chain

    def chain(self, name: str) -> Chain:
        return self.chains[name]

    def ensure_chain(self, name: str, *, line: int = 0) -> Chain:
        """The chain called `name`, created (built-in with policy ACCEPT when its name says so)."""
        found = self.chains.get(name)
        if found is not None:
            return found
        builtin = name in BUILTIN_CHAINS.get(self.name, ALL_BUILTIN_NAMES)
        return self.add_chain(
            Chain(name, builtin=builtin, policy="ACCEPT" if builtin else None, line=line)
        )

    def ordered_chains(self) -> list[Chain]:
        """Built-in chains first (in netfilter order), then user chains in dump order."""
        order = BUILTIN_CHAINS.get(self.name, ())
        builtins = sorted(
            (c for c in self.chains.values() if c.builtin),
            key=lambda c: order.index(c.name) if c.name in order else len(order),
        )
        return builtins + [c for c in self.chains.values() if not c.builtin]

    def rules(self) -> Iterator[Rule]:
        for chain in self.chains.values():
            yield from chain.rules

    @property
    def rule_count(self) -> int:
        return sum(len(c.rules) for c in self.chains.values())

    def __repr__(self) -> str:
        return f"<Table {self.name} chains={len(self.chains)}>"


@dataclass(slots=True)
class Ruleset:
    """A whole dump: one address family, one or more tables."""

    family: Family = Family.IPV4
    format: str = "unknown"
    path: str = "-"
    tables: dict[str, Table] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    generated: str | None = None  # the `# Generated by ... on DATE` header, if any
    variant: str | None = None  # e.g. "nf_tables" or "legacy" from the header

    def add_table(self, table: Table) -> Table:
        table.ruleset = self
        self.tables[table.name] = table
        return table

    def ensure_table(self, name: str, *, line: int = 0) -> Table:
        found = self.tables.get(name)
        return found if found is not None else self.add_table(Table(name, line=line))

    def table(self, name: str) -> Table:
        return self.tables[name]

    def ordered_tables(self) -> list[Table]:
        known = [self.tables[n] for n in TABLE_ORDER if n in self.tables]
        return known + [t for n, t in self.tables.items() if n not in TABLE_ORDER]

    def chains(self) -> Iterator[Chain]:
        for table in self.ordered_tables():
            yield from table.ordered_chains()

    def rules(self) -> Iterator[Rule]:
        for table in self.ordered_tables():
            yield from table.rules()

    @property
    def rule_count(self) -> int:
        return sum(t.rule_count for t in self.tables.values())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def resolve_all(self) -> None:
        """Resolve every rule's spec now (the fully parsed model).

        The cyclic GC is paused meanwhile: resolving creates many small objects and no garbage
        cycles, and generation scans of the growing heap would cost about a third of the time.
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            for rule in self.rules():
                _ = rule.spec
        finally:
            if paused:
                gc.enable()

    def unknown_modules(self, known: Iterable[str]) -> list[str]:
        known_set = set(known)
        found = {m.module for r in self.rules() for m in r.matches}
        return sorted(found - known_set)

    def find_rule(self, table: str, chain: str, position: int) -> Rule:
        return self.tables[table].chains[chain].rules[position - 1]


def with_target(spec: RuleSpec, target: Target | None) -> RuleSpec:
    return replace(spec, target=target)

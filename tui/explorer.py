"""What the app is looking at: the loaded ruleset(s), their jump graphs, and the per-rule heat of
the delta or live views. Built outside the App (tests and the CLI make one and pass it in).

No Textual here: this is the app's model layer over `ruleset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruleset.graph import JumpGraph
from ruleset.model import Chain, Rule, Ruleset
from tui.widgets.rule_view import RowHeat


class LazyGraphs(dict[str, JumpGraph]):
    """Jump graphs built on first use, per table (a 20,000-chain nat table costs only if shown)."""

    def __init__(self, ruleset: Ruleset) -> None:
        super().__init__()
        self.ruleset = ruleset

    def __missing__(self, table: str) -> JumpGraph:
        graph = JumpGraph.build(self.ruleset.tables[table])
        self[table] = graph
        return graph


@dataclass
class Explorer:
    """The ruleset shown (the newest snapshot when there are several) and what goes with it."""

    ruleset: Ruleset
    snapshots: list[Ruleset] = field(default_factory=list)  # oldest first; [] or one: no delta
    paths: list[str] = field(default_factory=list)
    graphs: dict[str, JumpGraph] = field(default_factory=dict)
    chain_names: dict[str, frozenset[str]] = field(default_factory=dict)
    heat: dict[int, RowHeat] | None = None  # id(rule) -> heat in delta/live views
    delta_summary: str = ""
    load_errors: list[str] = field(default_factory=list)
    timed: list[Any] = field(default_factory=list)  # ruleset.snapshot.Snapshot per ruleset
    baseline: int = 0  # which snapshot the delta counts from (the newest is always shown)

    def __post_init__(self) -> None:
        self.rebuild_graphs()

    def rebuild_graphs(self) -> None:
        self.graphs = LazyGraphs(self.ruleset)
        self.chain_names = {
            name: frozenset(t.chains) for name, t in self.ruleset.tables.items()
        }

    @property
    def is_delta(self) -> bool:
        return self.heat is not None

    def chain(self, table: str, chain: str) -> Chain | None:
        t = self.ruleset.tables.get(table)
        return t.chains.get(chain) if t is not None else None

    def first_chain(self) -> tuple[str, str] | None:
        tables = self.ruleset.ordered_tables()
        preferred = [t for t in tables if t.name == "filter"] + tables
        for table in preferred:
            chains = table.ordered_chains()
            if chains:
                return table.name, chains[0].name
        return None

    def jump_target(self, rule: Rule) -> str | None:
        """The chain a rule jumps or goes to, when it is a chain of the same table."""
        name = rule.target_name
        if name is None:
            return None
        if name in self.chain_names.get(rule.table_name, frozenset()):
            return name
        return None

    def hottest(self, limit: int = 200) -> list[tuple[Rule, RowHeat]]:
        """The rules that grew most, across all chains, largest first."""
        if self.heat is None:
            return []
        found: list[tuple[Rule, RowHeat]] = []
        for rule in self.ruleset.rules():
            heat = self.heat.get(id(rule))
            if heat is not None and (heat.packets > 0 or heat.bytes > 0):
                found.append((rule, heat))
        found.sort(key=lambda rh: (rh[1].packets, rh[1].bytes), reverse=True)
        return found[:limit]

    def rule_at(self, path: str, line: int) -> Rule | None:
        """The rule shown that was read from `path` at `line` (a diagnostic's place), if any."""
        if line <= 0 or self.ruleset.path != path:
            return None
        for rule in self.ruleset.rules():
            if rule.line == line:
                return rule
        return None

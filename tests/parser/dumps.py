"""The real dumps the damage tests start from, and what a damaged copy must keep."""

from __future__ import annotations

import re
from pathlib import Path

from ruleset.model import Ruleset
from ruleset.spec import spec_key

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLES = REPO / "samples"

Snapshot = list[tuple[object, ...]]


def dumps(*, catalog: bool = False) -> list[Path]:
    """The corpus (when ../shared is there, without other/) and our samples; with `catalog`,
    also the seed lab dumps and the 197-rule catalogs."""
    found: list[Path] = []
    if CORPUS.is_dir():
        found += sorted(p for p in CORPUS.glob("*/*")
                        if p.is_file() and p.parent.name != "other" and p.suffix == ".txt")
    found += sorted(SAMPLES.glob("neutron/*.txt"))
    if catalog:
        found += sorted(SAMPLES.glob("neutron/lab-seed*.save"))
    found += sorted(p for p in SAMPLES.glob("neutron/lab/*") if p.is_file())
    if catalog:
        found += sorted(SAMPLES.glob("catalog/*.rules"))
    found += sorted(p for p in SAMPLES.glob("deltas/*") if p.suffix == ".txt")
    return found


def dump_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def snapshot(rs: Ruleset, *, collapse_specs: bool = False) -> Snapshot:
    """Everything a damaged copy must keep: tables, chains, policies, rules in order."""
    out: Snapshot = [("family", rs.family.value)]
    for table in rs.ordered_tables():
        out.append(("table", table.name))
        for chain in table.ordered_chains():
            pc = chain.policy_counters
            out.append(("chain", table.name, chain.name, chain.builtin, chain.policy,
                        (pc.packets, pc.bytes) if pc else None))
            for rule in chain.rules:
                key = spec_key(rule.spec, rs.family)
                if collapse_specs:
                    key = re.sub(r"\s+", " ", key)
                c = rule.counters
                out.append(("rule", table.name, chain.name, rule.position, rule.target_name,
                            rule.goto, (c.packets, c.bytes) if c else None, key))
    return out

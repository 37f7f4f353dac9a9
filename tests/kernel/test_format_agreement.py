"""Format agreement on the real kernel (issue 2).

The rule catalog (`samples/catalog/catalog-v4.rules`, `catalog-v6.rules`: >= 80 rules, >= 30
match modules, >= 15 targets, every table) is loaded with counters into a fresh network
namespace under each backend (iptables-nft, iptables-legacy), dumped with `iptables-save -c`,
`iptables -S -v` and `iptables -L -v -n -x --line-numbers` (each table: `-t T`), and every dump
is parsed with `parser.load.load_text` (format auto-detected). The three models must describe
the same ruleset:

- save and -S -v: same tables, chains, built-in policies and their counters, rule order, the
  same canonical spec (`ruleset.spec.spec_key`) per rule, the same counters;
- -L: the same, except what -L cannot express. The exact allowances are `LISTING_CANNOT_EXPRESS`
  (options -L does not print or prints ambiguously) and `LISTING_ALIASES`; for match modules
  and targets the -L parser is not required to structure (issue 2 lists the required ones in
  `REQUIRED_MATCHES`/`REQUIRED_TARGETS`), the -L model must keep the printed text as opaque
  text on the rule, never drop it.

The listing formats do not name their table; each table's block is preceded by a
`# Table: NAME` hint line (a form the parsers document). `test_every_format_loads` also loads
all eight formats (save, save -c, -S, -S -v, -L -v -n -x --line-numbers, -L -v -n
--line-numbers, -L -n, -L with names) as a terminal paste with the command lines
(`# iptables -t nat -L -n`) between the tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kernel import lab as L

CATALOG = Path(__file__).resolve().parents[2] / "samples" / "catalog"
FORMATS = ("save-c", "S-v", "L-v-n-x-line-numbers")
IPSETS = (("iptscope-allow", "hash:ip"), ("iptscope-block", "hash:ip,port"))

# Issue 2: the -L "extra" column must be parsed back into structured matches for these...
REQUIRED_MATCHES = frozenset({
    "tcp", "udp", "multiport", "icmp", "icmp6", "state", "conntrack", "mac", "physdev", "set",
    "comment", "mark", "connmark", "addrtype", "iprange", "length", "limit", "recent", "owner",
    "statistic",
})
# ... and the printed options of these targets.
REQUIRED_TARGETS = frozenset({
    "REJECT", "LOG", "MARK", "CONNMARK", "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "CT", "NFLOG",
})

# What `iptables -L` cannot express or prints ambiguously, as (kind, module/target, option):
# the -L model may lack that option (or carry it with the value -L printed). Each entry says
# why; `test_allowances_are_all_needed` fails when one is no longer used.
LISTING_CANNOT_EXPRESS: dict[tuple[str, str, str], str] = {
    ("match", "hashlimit", "*"):
        "-L prints hashlimit as `limit: up to 10/sec burst 20 mode srcip`: no --hashlimit-name, "
        "and the `limit:` prefix is the limit module's",
    ("match", "eui64", "*"): "-L prints nothing for `-m eui64`",
}
# -L prints another name for the same thing.
LISTING_ALIASES: dict[tuple[str, str], str] = {
    ("target", "NOTRACK"): "CT",  # -L shows target CT with `NOTRACK` in the extra column
}


@dataclass
class Dumps:
    family: int
    backend: str
    texts: dict[str, str]


def _catalog_text(family: int) -> str:
    return (CATALOG / f"catalog-v{family}.rules").read_text()


def _with_table_hints(text: str) -> str:
    """`# iptables -t nat -L ...` prompt lines -> `# Table: nat` hints."""
    return re.sub(r"^# ip6?tables -t (\w+) .*$", r"# Table: \1", text, flags=re.M)


@pytest.fixture(scope="module")
def dumps(request: pytest.FixtureRequest) -> Iterator[dict[tuple[int, str], Dumps]]:
    reason = L.unavailable_reason()
    if reason:
        pytest.skip(reason)
    out: dict[tuple[int, str], Dumps] = {}
    lab = L.Lab("catalog")
    try:
        for family in (4, 6):
            for backend in L.BACKENDS:
                ns = lab.netns(f"{backend}{family}")
                for name, kind in IPSETS:
                    ns.run("ipset", "create", name, kind,
                           *(["family", "inet6"] if family == 6 else []))
                ns.restore(_catalog_text(family), backend=backend, family=family,
                           counters=True)
                texts = L.dump_formats(ns, backend=backend, family=family)
                out[(family, backend)] = Dumps(family, backend, texts)
        yield out
    finally:
        lab.destroy()


CASES = [(f, b) for f in (4, 6) for b in L.BACKENDS]
IDS = [f"ipv{f}-{b}" for f, b in CASES]


def _load(text: str, fmt: str):  # type: ignore[no-untyped-def]
    load = pytest.importorskip("parser.load")
    # iptables 1.8.9 -L prints a NUL byte after the bpf bytecode; a paste would not keep it
    rs = load.load_text(_with_table_hints(text.replace("\0", "")), f"<{fmt}>")
    rs.resolve_all()
    return rs


# --------------------------------------------------------------------------------------------
# the catalog itself


def test_catalog_coverage() -> None:
    texts = [_catalog_text(4), _catalog_text(6)]
    rules = [ln for t in texts for ln in t.splitlines() if re.match(r"^\[\d+:\d+\] -A ", ln)]
    modules = {m for t in texts for m in re.findall(r"(?:^|\s)-m (\S+)", t, re.M)}
    targets = {m for t in texts for m in re.findall(r"\s-[jg] (\S+)", t)}
    chains = {m for t in texts for m in re.findall(r"^:(\S+) -", t, re.M)}
    builtin_targets = targets - chains
    tables = {m for t in texts for m in re.findall(r"^\*(\w+)", t, re.M)}
    assert len(rules) >= 80, len(rules)
    assert len(modules) >= 30, sorted(modules)
    assert len(builtin_targets) >= 15, sorted(builtin_targets)
    assert tables == {"raw", "mangle", "nat", "filter", "security"}
    assert any(" -g " in r for r in rules)
    print(f"catalog: {len(rules)} rules, {len(modules)} match modules, "
          f"{len(builtin_targets)} targets (+ jumps/gotos to user chains)")


# --------------------------------------------------------------------------------------------
# save vs -S -v


def _chain_summary(rs) -> list[tuple[str, str, str | None, object]]:  # type: ignore[no-untyped-def]
    out = []
    for table in rs.ordered_tables():
        for chain in table.ordered_chains():
            counters = chain.policy_counters if chain.builtin else None
            out.append((table.name, chain.name, chain.policy if chain.builtin else None,
                        counters))
    return sorted(out, key=lambda x: (x[0], x[1]))


@pytest.mark.parametrize(("family", "backend"), CASES, ids=IDS)
def test_save_and_S_agree(dumps: dict[tuple[int, str], Dumps], family: int,
                          backend: str) -> None:
    d = dumps[(family, backend)]
    save = _load(d.texts["save-c"], "save-c")
    spec = _load(d.texts["S-v"], "S-v")
    assert save.format == "iptables-save -c"
    assert spec.format == "iptables -S -v"
    assert save.family.value == spec.family.value == f"ipv{family}"
    assert not save.errors and not spec.errors, [str(x) for x in save.errors + spec.errors]
    assert _chain_summary(save) == _chain_summary(spec)
    problems = []
    for table in save.ordered_tables():
        for chain in table.ordered_chains():
            other = spec.tables[table.name].chains[chain.name]
            if len(chain.rules) != len(other.rules):
                problems.append(f"{table.name}:{chain.name}: {len(chain.rules)} rules in save, "
                                f"{len(other.rules)} in -S")
            for a, b in zip(chain.rules, other.rules, strict=False):
                where = f"{table.name}:{chain.name}#{a.position}"
                ka, kb = _key(a, save.family), _key(b, spec.family)
                if ka != kb:
                    problems.append(f"{where}: save `{ka}` != -S `{kb}`")
                if a.counters != b.counters:
                    problems.append(f"{where}: counters {a.counters} != {b.counters}")
    assert not problems, "\n".join(problems)


def _key(rule, family) -> str:  # type: ignore[no-untyped-def]
    from ruleset.spec import spec_key

    return spec_key(rule.spec, family)


# --------------------------------------------------------------------------------------------
# save vs -L -v -n -x --line-numbers


@dataclass
class Usage:
    used: set[tuple[str, ...]]


_USED: set[tuple[str, ...]] = set()


def _allowed(kind: str, name: str, option: str) -> bool:
    for key in ((kind, name, option), (kind, name, "*")):
        if key in LISTING_CANNOT_EXPRESS:
            _USED.add(key)
            return True
    return False


def _options_diff(kind: str, name: str, want: tuple, got: tuple) -> list[str]:  # type: ignore[type-arg]
    """Options of one match/target that differ, minus the allowed ones."""
    out = []
    want_map = {(o.name, o.negated): o.values for o in want}
    got_map = {(o.name, o.negated): o.values for o in got}
    for key in sorted(set(want_map) | set(got_map)):
        if want_map.get(key) == got_map.get(key):
            continue
        if _allowed(kind, name, key[0]):
            continue
        neg = "! " if key[1] else ""
        out.append(f"{kind} {name} {neg}{key[0]}: save {want_map.get(key)} != -L "
                   f"{got_map.get(key)}")
    return out


def compare_listing_rule(a, b, family) -> list[str]:  # type: ignore[no-untyped-def]
    """Differences between a rule from iptables-save (a) and from -L (b) that -L could have
    expressed."""
    from ruleset.spec import canonical

    problems: list[str] = []
    ca, cb = canonical(a.spec, family), canonical(b.spec, family)
    if ca.generic != cb.generic:
        problems.append(f"generic options: save {ca.generic} != -L {cb.generic}")
    opaque = " ".join(cb.opaque)
    # matches
    got_modules = {m.module: m for m in cb.matches}
    for m in ca.matches:
        other = got_modules.pop(m.module, None)
        if other is not None:
            if m.options != other.options:
                diffs = _options_diff("match", m.module, m.options, other.options)
                if m.module not in REQUIRED_MATCHES and opaque:
                    # partly structured: what the -L parser left out must be in the opaque
                    # text, and what it did structure must agree
                    names = {o.name for o in other.options}
                    diffs = [x for x in diffs if x.split(":")[0].split()[-1] in names]
                problems += diffs
            continue
        if _allowed("match", m.module, "*"):
            continue
        if m.module in REQUIRED_MATCHES:
            problems.append(f"match {m.module} {m.options} missing from the -L model")
        elif not opaque:
            problems.append(f"match {m.module} neither structured nor kept as opaque text")
    for extra in got_modules.values():
        problems.append(f"-L model has a match save has not: {extra}")
    # target
    ta, tb = ca.target, cb.target
    name_a = ta.name if ta else None
    name_b = tb.name if tb else None
    if name_a is not None and LISTING_ALIASES.get(("target", name_a)) == name_b:
        return problems
    if name_a != name_b:
        problems.append(f"target: save {name_a} != -L {name_b}")
    elif ta is not None and tb is not None:
        if ta.goto != tb.goto:
            problems.append(f"goto: save {ta.goto} != -L {tb.goto}")
        if ta.options != tb.options:
            if ta.name in REQUIRED_TARGETS or tb.options:
                problems += _options_diff("target", ta.name, ta.options, tb.options)
            elif not opaque:
                problems.append(f"target {ta.name} options neither structured nor opaque")
    return problems


@pytest.mark.parametrize(("family", "backend"), CASES, ids=IDS)
def test_save_and_listing_agree(dumps: dict[tuple[int, str], Dumps], family: int,
                                backend: str) -> None:
    d = dumps[(family, backend)]
    save = _load(d.texts["save-c"], "save-c")
    listing = _load(d.texts["L-v-n-x-line-numbers"], "L")
    assert listing.format.startswith("iptables -L")
    assert listing.family.value == f"ipv{family}"
    assert not listing.errors, [str(x) for x in listing.errors]
    assert _chain_summary(save) == _chain_summary(listing)
    problems = []
    for table in save.ordered_tables():
        for chain in table.ordered_chains():
            other = listing.tables[table.name].chains[chain.name]
            if len(chain.rules) != len(other.rules):
                problems.append(f"{table.name}:{chain.name}: {len(chain.rules)} rules in save, "
                                f"{len(other.rules)} in -L")
            for a, b in zip(chain.rules, other.rules, strict=False):
                where = f"{table.name}:{chain.name}#{a.position}"
                if a.counters != b.counters:
                    problems.append(f"{where}: counters {a.counters} != {b.counters}")
                problems += [f"{where}: {p}\n    save: {a.text}\n    -L:   {b.text}"
                             for p in compare_listing_rule(a, b, save.family)]
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems)


@pytest.mark.parametrize(("family", "backend"), CASES, ids=IDS)
def test_every_format_loads(dumps: dict[tuple[int, str], Dumps], family: int,
                            backend: str) -> None:
    """Every dump format, prompts included, loads without errors into the same tables, chains
    and rule counts, with the right format name and family."""
    load = pytest.importorskip("parser.load")
    d = dumps[(family, backend)]
    names = {"save": "iptables-save", "save-c": "iptables-save -c", "S": "iptables -S",
             "S-v": "iptables -S -v"}
    shapes = {}
    for fmt, text in d.texts.items():
        rs = load.load_text(text.replace("\0", ""), f"<{fmt}>")
        rs.resolve_all()
        assert not rs.errors, (fmt, [str(e) for e in rs.errors[:5]])
        assert rs.format == names.get(fmt, rs.format), (fmt, rs.format)
        if fmt.startswith("L"):
            assert rs.format.startswith("iptables -L"), (fmt, rs.format)
        assert rs.family.value == f"ipv{family}", fmt
        shapes[fmt] = {(t.name, c.name): len(c.rules) for t in rs.ordered_tables()
                       for c in t.chains.values()}
    reference = shapes["save-c"]
    for fmt, shape in shapes.items():
        assert shape == reference, (fmt, set(shape.items()) ^ set(reference.items()))


def test_allowances_are_all_needed(dumps: dict[tuple[int, str], Dumps]) -> None:
    """Every LISTING_CANNOT_EXPRESS entry is used by some rule (run after the -L tests)."""
    for family, backend in CASES:
        d = dumps[(family, backend)]
        save = _load(d.texts["save-c"], "save-c")
        listing = _load(d.texts["L-v-n-x-line-numbers"], "L")
        for table in save.ordered_tables():
            for chain in table.ordered_chains():
                other = listing.tables[table.name].chains[chain.name]
                for a, b in zip(chain.rules, other.rules, strict=False):
                    compare_listing_rule(a, b, save.family)
    unused = sorted(set(LISTING_CANNOT_EXPRESS) - _USED)
    assert not unused, f"allowances no rule needs: {unused}"

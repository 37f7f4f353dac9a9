"""Counter deltas on rulesets built in the test (no parser): pairing, bounds, resets, JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruleset.delta import (
    CounterDelta,
    DeltaError,
    Status,
    counter_delta,
    delta_json,
    diff_rulesets,
    text_key,
    weak_key,
)
from ruleset.model import Chain, Counters, Match, Option, Rule, Ruleset, RuleSpec, Table, Target
from ruleset.spec import render_spec

SAVE_C = "iptables-save -c"


def udp(port: int, target: str = "ACCEPT", **extra: str) -> RuleSpec:
    return RuleSpec(
        generic=(Option("-p", ("udp",)),),
        matches=(Match("udp", (Option("--dport", (str(port),)),)),),
        target=Target(target, tuple(Option(k, (v,)) for k, v in extra.items())),
    )


def make(
    chains: dict[str, list[tuple[RuleSpec, int, int]]],
    *,
    fmt: str = SAVE_C,
    table: str = "filter",
    policies: dict[str, tuple[str, int, int]] | None = None,
    text: bool = True,
) -> Ruleset:
    """A ruleset with one table; each rule is (spec, packets, bytes); text as iptables-save -c
    prints it (or none)."""
    rs = Ruleset(format=fmt, path=f"<{fmt}>")
    t = rs.add_table(Table(table))
    policies = policies or {}
    for name, rules in chains.items():
        pol = policies.get(name)
        chain = t.add_chain(Chain(
            name, builtin=name.isupper() and name in ("INPUT", "FORWARD", "OUTPUT"),
            policy=pol[0] if pol else None,
            policy_counters=Counters(pol[1], pol[2]) if pol else None,
        ))
        for spec, p, b in rules:
            line = f"[{p}:{b}] -A {name} {render_spec(spec)}" if text else ""
            chain.append(Rule.from_spec(spec, counters=Counters(p, b), text=line))
    return rs


def test_same_ruleset_is_all_unchanged() -> None:
    rs = make({"INPUT": [(udp(53), 5, 500), (udp(54), 0, 0)]})
    d = diff_rulesets(rs, rs)
    assert [r.status for r in d.rules] == [Status.UNCHANGED, Status.UNCHANGED]
    assert all(r.delta.zero for r in d.rules)
    assert d.changes() == []
    assert delta_json(d) == {"changes": [], "policies": []}


def test_grown_rules_exact_deltas_largest_first() -> None:
    a = make({"INPUT": [(udp(53), 5, 500), (udp(54), 0, 0), (udp(55), 1, 100)]})
    b = make({"INPUT": [(udp(53), 7, 700), (udp(54), 0, 0), (udp(55), 11, 1100)]})
    d = diff_rulesets(a, b)
    grown = d.changes()
    assert [(r.rule_after, r.delta.packets, r.delta.bytes) for r in grown] == [
        (3, 10, 1000), (1, 2, 200)]
    assert all(r.status is Status.CHANGED and not r.delta.approximate for r in grown)
    assert d.changes(top=1)[0].rule_after == 3


def test_insert_pairs_by_identity_not_position() -> None:
    a = make({"INPUT": [(udp(53), 5, 500), (udp(54), 3, 300)]})
    b = make({"INPUT": [(udp(99, "DROP"), 2, 200), (udp(53), 5, 500), (udp(54), 9, 900)]})
    d = diff_rulesets(a, b)
    by_status = {r.status: r for r in d.rules}
    added = by_status[Status.ADDED]
    assert (added.rule_before, added.rule_after, added.delta.packets) == (None, 1, 2)
    changed = by_status[Status.CHANGED]
    assert (changed.rule_before, changed.rule_after, changed.delta.packets) == (2, 3, 6)
    assert by_status[Status.UNCHANGED].rule_before == 1
    assert by_status[Status.UNCHANGED].rule_after == 2
    assert d.count(Status.MOVED) == 0


def test_delete_is_removed() -> None:
    a = make({"INPUT": [(udp(53), 5, 500), (udp(54), 3, 300), (udp(55), 1, 1)]})
    b = make({"INPUT": [(udp(53), 6, 600), (udp(55), 1, 1)]})
    d = diff_rulesets(a, b)
    assert [(r.status, r.rule_before, r.rule_after) for r in d.rules] == [
        (Status.CHANGED, 1, 1), (Status.REMOVED, 2, None), (Status.UNCHANGED, 3, 2)]
    removed = d.rules[1]
    assert removed.delta.packets is None
    assert delta_json(d)["changes"][1]["status"] == "removed"


def test_swapped_rules_are_moved() -> None:
    a = make({"INPUT": [(udp(1), 0, 0), (udp(2), 0, 0), (udp(3), 0, 0), (udp(4), 0, 0)]})
    b = make({"INPUT": [(udp(1), 0, 0), (udp(4), 0, 0), (udp(2), 0, 0), (udp(3), 4, 40)]})
    d = diff_rulesets(a, b)
    moved = [r for r in d.rules if r.moved]
    assert [(r.rule_before, r.rule_after) for r in moved] == [(4, 2)]
    assert moved[0].status is Status.MOVED
    grown = [r for r in d.rules if r.grew]
    assert [(r.rule_before, r.rule_after, r.status) for r in grown] == [(3, 4, Status.CHANGED)]


def test_duplicates_pair_by_occurrence() -> None:
    a = make({"X": [(udp(1), 1, 10), (udp(1), 2, 20), (udp(2), 0, 0)]})
    b = make({"X": [(udp(2), 0, 0), (udp(1), 3, 30), (udp(1), 2, 20)]})
    d = diff_rulesets(a, b)
    pairs = {(r.rule_before, r.rule_after): r.delta.packets for r in d.rules}
    assert pairs[(1, 2)] == 2
    assert pairs[(2, 3)] == 0


def test_reset_is_not_a_number() -> None:
    a = make({"INPUT": [(udp(53), 500, 50000), (udp(54), 3, 300)]})
    b = make({"INPUT": [(udp(53), 4, 400), (udp(54), 0, 0)]})
    d = diff_rulesets(a, b)
    assert [r.status for r in d.rules] == [Status.RESET, Status.RESET]
    assert d.rules[0].delta.packets is None
    assert d.rules[0].since_reset == Counters(4, 400)
    js = delta_json(d)["changes"]
    assert {c["status"] for c in js} == {"reset"}
    assert js[0]["delta_packets"] is None


def test_rounded_counters_give_bounds() -> None:
    before = Counters(123_000, 45_000_000, exact=False, packets_unit=1000, bytes_unit=1_000_000)
    after = Counters(130_000, 47_000_000, exact=False, packets_unit=1000, bytes_unit=1_000_000)
    d = counter_delta(before, after)
    assert d.approximate and not d.reset
    assert d.packets == 7000 and d.bytes == 2_000_000
    assert d.packets_min == after.packets_min - before.packets_max
    assert d.packets_max == after.packets_max - before.packets_min
    assert d.packets_min <= 7000 <= d.packets_max
    # Same rounded figure: nothing certain, bounds clamp at zero.
    same = counter_delta(before, before)
    assert same.approximate and same.packets == 0 and same.packets_min == 0
    assert same.packets_max > 0
    # Certainly smaller: a reset.
    small = Counters(5, 500)
    assert counter_delta(before, small).reset


def test_exact_mixed_with_rounded_is_approximate() -> None:
    d = counter_delta(Counters(10, 1000), Counters(120_000, 9_000_000, exact=False,
                                                   packets_unit=1000, bytes_unit=1_000_000))
    assert d.approximate and d.packets == 119_990


def test_policy_deltas() -> None:
    a = make({"INPUT": [], "FORWARD": []},
             policies={"INPUT": ("ACCEPT", 10, 1000), "FORWARD": ("DROP", 5, 50)})
    b = make({"INPUT": [], "FORWARD": []},
             policies={"INPUT": ("ACCEPT", 15, 1500), "FORWARD": ("ACCEPT", 5, 50)})
    d = diff_rulesets(a, b)
    pol = {p.chain: p for p in d.policies}
    assert pol["INPUT"].status is Status.CHANGED and pol["INPUT"].delta.packets == 5
    assert pol["FORWARD"].status is Status.CHANGED
    assert (pol["FORWARD"].policy_before, pol["FORWARD"].policy_after) == ("DROP", "ACCEPT")
    js = delta_json(d)["policies"]
    assert set(js[0]) == {"table", "chain", "policy_before", "policy_after", "delta_packets",
                          "delta_bytes", "approximate", "status"}


def test_json_shape_is_exact() -> None:
    a = make({"INPUT": [(udp(53), 5, 500)]})
    b = make({"INPUT": [(udp(53), 6, 628)]})
    out = json.loads(json.dumps(delta_json(diff_rulesets(a, b))))
    assert out == {
        "changes": [{
            "table": "filter", "chain": "INPUT", "rule_before": 1, "rule_after": 1,
            "rule": "-p udp -m udp --dport 53 -j ACCEPT", "delta_packets": 1,
            "delta_bytes": 128, "approximate": False, "status": "changed",
        }],
        "policies": [],
    }


def test_only_changed_and_include_unchanged() -> None:
    a = make({"INPUT": [(udp(1), 0, 0), (udp(2), 1, 1)]})
    b = make({"INPUT": [(udp(3), 0, 0), (udp(1), 0, 0), (udp(2), 2, 2)]})
    d = diff_rulesets(a, b)
    assert {r.status for r in d.changes()} == {Status.ADDED, Status.CHANGED}
    assert {r.status for r in d.changes(only_changed=True)} == {Status.CHANGED}
    assert len(d.changes(include_unchanged=True)) == 3


def test_cross_format_pairs_by_spec() -> None:
    a = make({"INPUT": [(udp(53), 5, 500), (udp(54), 1, 100)]})
    b = make({"INPUT": [(udp(54), 3, 300), (udp(53), 5, 500)]}, fmt="iptables -L -v -n -x",
             text=False)
    d = diff_rulesets(a, b)
    got = {(r.rule_before, r.rule_after, r.status) for r in d.rules}
    assert (2, 1, Status.CHANGED) in got or (2, 1, Status.MOVED) in got
    assert not any(r.status in (Status.ADDED, Status.REMOVED) for r in d.rules)


def test_weak_key_pairs_rules_listed_differently() -> None:
    save = RuleSpec(target=Target("MARK", (Option("--set-xmark", ("0x4000/0x4000",)),)))
    listed = RuleSpec(target=Target("MARK", (Option("--or-mark", ("0x4000",)),)))
    assert weak_key(save) == weak_key(listed)
    a = make({"KUBE-MARK-MASQ": [(save, 1, 60)]})
    b = make({"KUBE-MARK-MASQ": [(listed, 4, 240)]}, fmt="iptables -L -v -n -x", text=False)
    d = diff_rulesets(a, b)
    assert [(r.status, r.delta.packets) for r in d.rules] == [(Status.CHANGED, 3)]


def test_text_keys_strip_counters() -> None:
    assert text_key("[1:2] -A X -j ACCEPT", "save") == "-A X -j ACCEPT"
    assert text_key("-A X -p udp -c 10 840 -j ACCEPT", "spec") == "-A X -p udp -j ACCEPT"
    row = "1        3705  4468230 KUBE-SERVICES  0    --  *      *       0.0.0.0/0    0.0.0.0/0"
    assert text_key(row, "list").startswith("KUBE-SERVICES 0 --")
    assert text_key("   12K  1.5M ACCEPT  all  --  *  *  0.0.0.0/0  0.0.0.0/0", "list") == (
        "ACCEPT all -- * * 0.0.0.0/0 0.0.0.0/0")


def test_dump_without_counters_is_refused() -> None:
    a = make({"INPUT": [(udp(53), 0, 0)]}, fmt="iptables-save")
    for rule in a.rules():
        rule.counters = None
    with pytest.raises(DeltaError, match="no counters"):
        diff_rulesets(a, a)


def test_chain_added_and_removed() -> None:
    a = make({"INPUT": [(udp(1), 0, 0)], "OLD": [(udp(2), 1, 1)]})
    b = make({"INPUT": [(udp(1), 0, 0)], "NEW": [(udp(3), 4, 4)]})
    d = diff_rulesets(a, b)
    assert {(r.chain, r.status) for r in d.rules if r.status is not Status.UNCHANGED} == {
        ("OLD", Status.REMOVED), ("NEW", Status.ADDED)}


def test_for_after_and_rates() -> None:
    a = make({"INPUT": [(udp(1), 0, 0)]})
    b = make({"INPUT": [(udp(1), 10, 1000)]})
    d = diff_rulesets(a, b, seconds=2.0)
    rule = next(b.rules())
    found = d.for_after(rule)
    assert found is not None and found.delta.packets == 10
    [(rd, rate)] = d.rates()
    assert rd is found and rate.packets_per_s == 5.0 and rate.bytes_per_s == 500.0


def test_zero_delta_constant() -> None:
    assert CounterDelta.exact(0, 0).zero


ports = st.lists(st.integers(1, 60), min_size=1, max_size=12, unique=True)


@settings(max_examples=60, deadline=None)
@given(before=ports, after=ports, data=st.data())
def test_pairing_property(before: list[int], after: list[int], data: st.DataObject) -> None:
    """Distinct rules: every rule present in both is paired with itself, the rest are
    added/removed; counters that grew give exactly their growth."""
    growth = {p: data.draw(st.integers(0, 5)) for p in after}
    a = make({"X": [(udp(p), p, p * 10) for p in before]})
    b = make({"X": [(udp(p), p + growth[p], (p + growth[p]) * 10) for p in after]})
    d = diff_rulesets(a, b)
    for r in d.rules:
        port = int(r.rule.spec.matches[0].options[0].values[0])
        if port in before and port in after:
            assert r.before is not None and r.after is not None
            assert r.rule_before == before.index(port) + 1
            assert r.rule_after == after.index(port) + 1
            assert r.delta.packets == growth[port]
            assert r.status in (Status.MOVED, Status.CHANGED, Status.UNCHANGED)
        elif port in after:
            assert r.status is Status.ADDED
        else:
            assert r.status is Status.REMOVED
    assert len(d.rules) == len(set(before) | set(after))
    same = diff_rulesets(a, a)
    assert all(r.delta.zero and r.status is Status.UNCHANGED for r in same.rules)


def iptables_rounded(n: int) -> tuple[int, int]:
    """(value * unit, unit) as `iptables -L -v` without -x prints n (xtables_print_num)."""
    if n <= 99999:
        return n, 1
    unit = 1
    while True:
        n = (n + 500) // 1000
        unit *= 1000
        if n <= 9999 or unit == 1000**5:
            return n * unit, unit


def rounded(packets: int, nbytes: int) -> Counters:
    p, pu = iptables_rounded(packets)
    b, bu = iptables_rounded(nbytes)
    return Counters(p, b, exact=pu == 1 and bu == 1, packets_unit=pu, bytes_unit=bu)


counts = st.integers(0, 10**13)


@settings(max_examples=300, deadline=None)
@given(p0=counts, b0=counts, dp=counts, db=counts)
def test_rounded_bounds_hold_the_true_delta(p0: int, b0: int, dp: int, db: int) -> None:
    """Whatever the true counters, the bounds of a delta between two rounded figures hold the
    true growth, and growth is never mistaken for a reset."""
    before, after = rounded(p0, b0), rounded(p0 + dp, b0 + db)
    d = counter_delta(before, after)
    assert not d.reset
    assert d.packets_min <= dp <= d.packets_max
    assert d.bytes_min <= db <= d.bytes_max
    assert d.approximate == (not (before.exact and after.exact))


def test_spec_identity_agrees_with_spec_key() -> None:
    from ruleset.delta import spec_identity
    from ruleset.spec import spec_key

    specs = [
        RuleSpec(generic=(Option("-s", ("10.0.0.1",)), Option("-p", ("6",))),
                 target=Target("ACCEPT")),
        RuleSpec(generic=(Option("-p", ("tcp",)), Option("-s", ("10.0.0.1/32",))),
                 target=Target("ACCEPT")),
        RuleSpec(generic=(Option("-s", ("10.0.0.1/32",)), Option("-p", ("tcp",)),
                          Option("-i", ("+",))), target=Target("ACCEPT")),
        RuleSpec(generic=(Option("-s", ("0.0.0.0/0",)), Option("-p", ("all",))),
                 target=Target("DROP")),
        RuleSpec(target=Target("DROP")),
        RuleSpec(generic=(Option("-s", ("0.0.0.0/0",), negated=True),), target=Target("DROP")),
        RuleSpec(generic=(Option("-d", ("10.0.0.0/255.255.255.0",)),), target=Target("DROP")),
        RuleSpec(generic=(Option("-d", ("10.0.0.0/24",)),), target=Target("DROP")),
        udp(53), udp(53, "DROP"), udp(54),
        RuleSpec(target=Target("MARK", (Option("--set-xmark", ("0x1/0x1",)),))),
    ]
    for a in specs:
        for b in specs:
            assert (spec_identity(a) == spec_identity(b)) == (spec_key(a) == spec_key(b)), (a, b)

"""The model, spec rendering/normalisation and the jump graph, built by hand (no parser)."""

from __future__ import annotations

import pytest

from ruleset.graph import JumpGraph
from ruleset.model import Chain, Counters, Family, Match, Option, Rule, RuleSpec, Table, Target
from ruleset.spec import TargetKind, canonical, quote, render_spec, spec_key, target_kind


def rule(target: str | None, *generic: Option, matches: tuple[Match, ...] = (),
         goto: bool = False) -> Rule:
    spec = RuleSpec(generic=generic, matches=matches,
                    target=Target(target, goto=goto) if target else None)
    return Rule.from_spec(spec)


def make_table() -> Table:
    table = Table("filter")
    fwd = table.add_chain(Chain("FORWARD", policy="DROP"))
    a = table.add_chain(Chain("A"))
    table.add_chain(Chain("B"))
    table.add_chain(Chain("ORPHAN"))
    c1 = table.add_chain(Chain("C1"))
    c2 = table.add_chain(Chain("C2"))
    fwd.append(rule("A"))
    fwd.append(rule("B", goto=True))
    a.append(rule("B"))
    a.append(rule("ACCEPT"))
    c1.append(rule("C2"))
    c2.append(rule("C1"))
    return table


def test_positions_follow_inserts_and_deletes() -> None:
    chain = Chain("X")
    for name in ("ACCEPT", "DROP", "RETURN"):
        chain.append(rule(name))
    chain.insert(1, rule("LOG"))
    assert [(r.position, r.target_name) for r in chain] == [
        (1, "LOG"), (2, "ACCEPT"), (3, "DROP"), (4, "RETURN")]
    removed = chain.delete(2)
    assert removed.target_name == "ACCEPT" and removed.chain is None
    assert [r.position for r in chain] == [1, 2, 3]
    with pytest.raises(IndexError):
        chain.insert(9, rule("ACCEPT"))


def test_builtin_chain_detection_and_order() -> None:
    table = Table("nat")
    table.ensure_chain("KUBE-SERVICES")
    table.ensure_chain("POSTROUTING")
    table.ensure_chain("PREROUTING")
    assert [c.name for c in table.ordered_chains()] == ["PREROUTING", "POSTROUTING",
                                                         "KUBE-SERVICES"]
    assert table.chains["PREROUTING"].policy == "ACCEPT"
    assert table.chains["KUBE-SERVICES"].policy is None


def test_references_unreachable_and_cycles() -> None:
    graph = JumpGraph.build(make_table())
    assert [r.chain_name for r in graph.references("B")] == ["FORWARD", "A"]
    assert graph.references("B")[0].goto
    assert sorted(c.name for c in graph.unreachable()) == ["C1", "C2", "ORPHAN"]
    assert [sorted(c) for c in graph.cycles()] == [["C1", "C2"]]


def test_self_loop_is_a_cycle() -> None:
    table = Table("filter")
    table.add_chain(Chain("LOOP")).append(rule("LOOP"))
    assert JumpGraph.build(table).cycles() == [["LOOP"]]


def test_render_and_canonical_form() -> None:
    spec = RuleSpec(
        generic=(Option("-p", ("6",)), Option("-s", ("10.0.0.1",), negated=True),
                 Option("-d", ("0.0.0.0/0",))),
        matches=(Match("comment", (Option("--comment", ("a \"quoted\" word",)),)),),
        target=Target("ACCEPT"),
    )
    assert render_spec(spec) == (
        '-p 6 ! -s 10.0.0.1 -d 0.0.0.0/0 -m comment --comment "a \\"quoted\\" word" -j ACCEPT')
    assert render_spec(canonical(spec)) == (
        '! -s 10.0.0.1/32 -p tcp -m comment --comment "a \\"quoted\\" word" -j ACCEPT')
    six = RuleSpec(generic=(Option("-d", ("2001:db8::1",)),), target=Target("DROP"))
    assert spec_key(six, Family.IPV6) == "-d 2001:db8::1/128 -j DROP"


def test_quote() -> None:
    assert quote("KUBE-SVC-X") == "KUBE-SVC-X"
    assert quote("two words") == '"two words"'
    assert quote("") == '""'


@pytest.mark.parametrize(
    ("name", "goto", "kind"),
    [("ACCEPT", False, TargetKind.ACCEPT), ("REJECT", False, TargetKind.REJECT),
     ("MARK", False, TargetKind.MODIFY), ("NFLOG", False, TargetKind.LOG),
     ("A", True, TargetKind.GOTO), ("A", False, TargetKind.JUMP), (None, False, TargetKind.NONE)],
)
def test_target_kind(name: str | None, goto: bool, kind: TargetKind) -> None:
    assert target_kind(name, goto) is kind


def test_unknown_target_when_chain_set_given() -> None:
    assert target_kind("FOO", chains=frozenset({"A"})) is TargetKind.UNKNOWN


def test_lazy_spec_resolution_runs_once() -> None:
    calls: list[int] = []

    def resolver(r: Rule) -> RuleSpec:
        calls.append(1)
        return RuleSpec(target=Target("ACCEPT"))

    r = Rule(target_name="ACCEPT", raw="-j ACCEPT", resolver=resolver,
             counters=Counters(1, 2))
    assert not r.resolved
    assert r.target == Target("ACCEPT")
    _ = r.spec
    assert calls == [1] and r.resolved


def test_approximate_counter_bounds() -> None:
    c = Counters(125_000, 18_000_000, exact=False, packets_unit=1000, bytes_unit=1_000_000)
    # iptables prints round-to-nearest at each step of 1000: 125K is 124500..125499.
    assert (c.packets_min, c.packets_max) == (124_500, 125_499)
    assert (c.bytes_min, c.bytes_max) == (17_499_500, 18_499_499)
    assert Counters(7, 8).packets_min == Counters(7, 8).packets_max == 7

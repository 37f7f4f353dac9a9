"""Property tests: every walk ends in exactly one verdict; a rule that cannot match changes
nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_stepper_kit import spec

from ruleset.commands import Command
from ruleset.model import Chain, Rule, Ruleset
from ruleset.packet import CtState, Packet
from ruleset.stepper import StepKind, Verdict, explore, matched_policies, matched_rules, simulate
from ruleset.whatif import apply_commands

USER = ("u0", "u1", "u2", "u3")
MATCHES = (
    "", "-s 10.0.0.0/24", "! -s 10.0.0.0/24", "-d 10.0.1.5", "-p tcp", "-p udp",
    "-p tcp -m tcp --dport 80", "-p udp -m udp --dport 53", "-m state --state NEW",
    "-m conntrack --ctstate ESTABLISHED", "-m mark --mark 0x1", "-i eth+", "-o eth1",
    "-m statistic --mode random --probability 0.5", "-m limit --limit 1/sec",
)
BASE_TARGETS = ("ACCEPT", "DROP", "REJECT", "RETURN", "LOG", "MARK --set-mark 0x1", "")


@st.composite
def rulesets(draw: st.DrawFn) -> Ruleset:
    rs = Ruleset()
    for table, hooks in (("mangle", ("PREROUTING", "FORWARD", "INPUT", "OUTPUT",
                                     "POSTROUTING")),
                         ("filter", ("INPUT", "FORWARD", "OUTPUT"))):
        if table == "mangle" and not draw(st.booleans()):
            continue
        t = rs.ensure_table(table)
        chains: list[str] = list(hooks) + list(USER[: draw(st.integers(0, len(USER)))])
        for name in chains:
            if name in hooks:
                t.add_chain(Chain(name, builtin=True,
                                  policy=draw(st.sampled_from(("ACCEPT", "DROP")))))
            else:
                t.add_chain(Chain(name, builtin=False))
        users = [c for c in chains if c not in hooks]
        for name in chains:
            # jumps only to later user chains: no loops
            later = [u for u in users if name not in users or users.index(u) > users.index(name)]
            for _ in range(draw(st.integers(0, 5))):
                match = draw(st.sampled_from(MATCHES))
                options = list(BASE_TARGETS) + later
                target = draw(st.sampled_from(options))
                goto = target in later and draw(st.booleans())
                text = match + (f" {'-g' if goto else '-j'} {target}" if target else "")
                t.chains[name].append(Rule.from_spec(spec(text.strip())))
    return rs


packets = st.builds(
    lambda src, dst, proto, dport, state, mark: Packet.make(
        src, dst, proto, 40000, dport, state=state, mark=mark, in_iface="eth0",
        out_iface="eth1"),
    st.sampled_from(("10.0.0.7", "192.0.2.1")),
    st.sampled_from(("10.0.1.5", "10.0.2.9")),
    st.sampled_from(("tcp", "udp")),
    st.sampled_from((80, 53, 443)),
    st.sampled_from((CtState.NEW, CtState.ESTABLISHED, CtState.INVALID)),
    st.sampled_from((0, 1)),
)
paths = st.sampled_from(("input", "forward", "output"))
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(rulesets(), packets, paths, st.sampled_from(("match", "nomatch")))
def test_every_walk_ends_in_exactly_one_verdict(rs: Ruleset, pkt: Packet, path: str,
                                                 assume: str) -> None:
    trace = simulate(rs, pkt, path, assume=assume)
    assert trace.verdict in (Verdict.ACCEPT, Verdict.DROP, Verdict.REJECT)
    deciding = [s for s in trace.steps
                if (s.kind is StepKind.RULE and s.action.value in ("drop", "reject"))
                or (s.kind is StepKind.POLICY and s.action.value == "drop")]
    if trace.verdict is Verdict.ACCEPT:
        assert deciding == []
    else:
        assert deciding == [trace.decided_by]
        assert trace.steps[-1] is trace.decided_by
    assert [s.index for s in trace.steps] == list(range(len(trace.steps)))


@SETTINGS
@given(rulesets(), packets, paths)
def test_explore_branches_all_end_in_a_verdict(rs: Ruleset, pkt: Packet, path: str) -> None:
    ex = explore(rs, pkt, path)
    assert ex.branches
    for branch in ex.branches:
        assert branch.verdict in (Verdict.ACCEPT, Verdict.DROP, Verdict.REJECT)


@SETTINGS
@given(rulesets(), packets, paths, st.data())
def test_a_rule_that_cannot_match_changes_nothing(rs: Ruleset, pkt: Packet, path: str,
                                                  data: st.DataObject) -> None:
    before = simulate(rs, pkt, path, assume="nomatch")
    table = data.draw(st.sampled_from(sorted(rs.tables)))
    chain = data.draw(st.sampled_from(sorted(rs.tables[table].chains)))
    position = data.draw(st.integers(1, len(rs.tables[table].chains[chain].rules) + 1))
    never = data.draw(st.sampled_from(("-s 203.0.113.0/24", "-p sctp", "-d 198.51.100.1",
                                       "-m mark --mark 0x77")))
    target = data.draw(st.sampled_from(("ACCEPT", "DROP", "RETURN", "MARK --set-mark 0x9")))
    cmd = Command("-I", table, chain, position, spec(f"{never} -j {target}"))
    after = simulate(apply_commands(rs, [cmd]).ruleset, pkt, path, assume="nomatch")
    assert after.verdict is before.verdict

    def shifted(refs: set[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
        return {(t, c, p + 1 if (t, c) == (table, chain) and p >= position else p)
                for t, c, p in refs}

    assert matched_rules(after) == shifted(matched_rules(before))
    assert matched_policies(after) == matched_policies(before)

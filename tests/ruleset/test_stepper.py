"""Chain flow, hook order, nat and the Stepper API."""

from __future__ import annotations

import ipaddress

import pytest
from test_stepper_kit import build, pkt

from ruleset.matches import MATCH, NO_MATCH, UNKNOWN
from ruleset.packet import CtState, Host
from ruleset.stepper import (
    StepKind,
    Stepper,
    Verdict,
    explore,
    matched_policies,
    matched_rules,
    simulate,
)
from ruleset.targets import Action


def test_goto_returns_to_the_callers_caller() -> None:
    rs = build("""
        *filter
        :FORWARD DROP
        :a -
        :b -
        -A FORWARD -j a
        -A FORWARD -j ACCEPT
        -A a -g b
        -A a -j DROP
        -A b -j RETURN
    """)
    trace = simulate(rs, pkt(), "forward")
    # b returns to FORWARD (after the rule that called a), never to a's rule 2.
    assert trace.verdict is Verdict.ACCEPT
    assert trace.decided_by is not None and trace.decided_by.where == "filter:FORWARD:rule:2"
    assert ("filter", "a", 2) not in {s.ref for s in trace.steps}
    assert matched_rules(trace) == {("filter", "FORWARD", 1), ("filter", "a", 1),
                                    ("filter", "b", 1), ("filter", "FORWARD", 2)}


def test_goto_falling_off_the_end_also_returns_to_the_callers_caller() -> None:
    rs = build("""
        *filter
        :INPUT ACCEPT
        :a -
        :b -
        -A INPUT -j a
        -A INPUT -j DROP
        -A a -g b
        -A a -j ACCEPT
    """)
    trace = simulate(rs, pkt(), "input")
    assert trace.verdict is Verdict.DROP
    assert trace.decided_by is not None and trace.decided_by.where == "filter:INPUT:rule:2"


def test_goto_from_builtin_chain_then_return_applies_policy() -> None:
    rs = build("""
        *filter
        :FORWARD DROP
        :b -
        -A FORWARD -g b
        -A FORWARD -j ACCEPT
        -A b -j RETURN
    """)
    trace = simulate(rs, pkt(), "forward")
    assert trace.verdict is Verdict.DROP
    assert trace.decided_by is not None and trace.decided_by.kind is StepKind.POLICY
    assert matched_policies(trace) == {("filter", "FORWARD")}


def test_return_in_builtin_chain_applies_policy() -> None:
    rs = build("""
        *filter
        :INPUT DROP
        -A INPUT -p tcp -j RETURN
        -A INPUT -j ACCEPT
    """)
    trace = simulate(rs, pkt(), "input")
    assert trace.verdict is Verdict.DROP
    assert trace.decided_by is not None and trace.decided_by.where == "filter:INPUT:policy"
    assert ("filter", "INPUT", 2) not in {s.ref for s in trace.steps}


def test_falling_off_a_user_chain_resumes_the_caller() -> None:
    rs = build("""
        *filter
        :FORWARD ACCEPT
        :u -
        -A FORWARD -j u
        -A FORWARD -j DROP
        -A u -s 192.0.2.1 -j ACCEPT
    """)
    trace = simulate(rs, pkt(), "forward")
    assert trace.verdict is Verdict.DROP
    kinds = [s.kind for s in trace.steps]
    assert StepKind.RETURN in kinds


def test_mark_set_in_mangle_is_seen_by_filter() -> None:
    rs = build("""
        *mangle
        :FORWARD ACCEPT
        -A FORWARD -p tcp -j MARK --set-xmark 0x4000/0x4000
        *filter
        :FORWARD DROP
        -A FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
    """)
    trace = simulate(rs, pkt(), "forward")
    assert trace.verdict is Verdict.ACCEPT
    assert trace.final_packet.mark == 0x4000
    assert matched_rules(trace) == {("mangle", "FORWARD", 1), ("filter", "FORWARD", 1)}


def test_connmark_save_and_restore() -> None:
    rs = build("""
        *mangle
        :PREROUTING ACCEPT
        -A PREROUTING -j MARK --set-mark 0x7
        -A PREROUTING -j CONNMARK --save-mark
        -A PREROUTING -j MARK --set-mark 0x0
        -A PREROUTING -j CONNMARK --restore-mark
        *filter
        :INPUT DROP
        -A INPUT -m connmark --mark 0x7 -m mark --mark 0x7 -j ACCEPT
    """)
    trace = simulate(rs, pkt(), "input")
    assert trace.verdict is Verdict.ACCEPT


def test_table_order_on_each_path() -> None:
    tables = (("raw", ("PREROUTING", "OUTPUT")),
              ("mangle", ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")),
              ("nat", ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")),
              ("filter", ("INPUT", "FORWARD", "OUTPUT")),
              ("security", ("INPUT", "FORWARD", "OUTPUT")))
    text = []
    for t, chains in tables:
        text.append(f"*{t}")
        text += [f":{c} ACCEPT" for c in chains]
        text += [f"-A {c} -j LOG" for c in chains]
    rs = build("\n".join(text))

    def order(path: str) -> list[str]:
        trace = simulate(rs, pkt(), path)
        return [f"{s.table}:{s.chain}" for s in trace.steps if s.kind is StepKind.RULE]

    assert order("input") == ["raw:PREROUTING", "mangle:PREROUTING", "nat:PREROUTING",
                              "mangle:INPUT", "filter:INPUT", "security:INPUT", "nat:INPUT"]
    assert order("forward") == ["raw:PREROUTING", "mangle:PREROUTING", "nat:PREROUTING",
                                "mangle:FORWARD", "filter:FORWARD", "security:FORWARD",
                                "mangle:POSTROUTING", "nat:POSTROUTING"]
    assert order("output") == ["raw:OUTPUT", "mangle:OUTPUT", "nat:OUTPUT", "filter:OUTPUT",
                               "security:OUTPUT", "mangle:POSTROUTING", "nat:POSTROUTING"]
    # iptables-nft: security's base chains sit at priority 150, after nat INPUT (100).
    rs.variant = "nf_tables"
    assert order("input")[-2:] == ["nat:INPUT", "security:INPUT"]
    assert order("forward")[3:6] == ["mangle:FORWARD", "filter:FORWARD", "security:FORWARD"]


NAT = """
    *nat
    :PREROUTING ACCEPT
    :POSTROUTING ACCEPT
    -A PREROUTING -d 10.96.0.10 -p tcp -m tcp --dport 80 -j DNAT --to-destination 192.168.1.5:8080
    -A POSTROUTING -j MASQUERADE
    *filter
    :INPUT DROP
    :FORWARD DROP
    -A INPUT -d 192.168.1.5 -p tcp -m tcp --dport 8080 -j ACCEPT
    -A FORWARD -d 192.168.1.5 -j ACCEPT
"""


def test_nat_only_for_new_packets() -> None:
    rs = build(NAT)
    est = simulate(rs, pkt(dst="10.96.0.10", state=CtState.ESTABLISHED), "forward")
    assert all(s.table != "nat" or s.kind is StepKind.NOTE for s in est.steps)
    assert any(s.kind is StepKind.NOTE and "nat PREROUTING not walked" in s.note
               for s in est.steps)
    invalid = simulate(rs, pkt(dst="10.96.0.10", state=CtState.INVALID), "forward")
    assert not any(s.table == "nat" and s.kind is StepKind.RULE for s in invalid.steps)


def test_dnat_rewrites_and_later_rules_see_it() -> None:
    rs = build(NAT)
    trace = simulate(rs, pkt(dst="10.96.0.10", dport=80), "forward")
    assert trace.verdict is Verdict.ACCEPT
    assert trace.final_packet.dst == ipaddress.ip_address("192.168.1.5")
    assert trace.final_packet.dport == 8080
    assert trace.final_packet.orig_dst == ipaddress.ip_address("10.96.0.10")
    assert "DNAT" in trace.final_packet.ct_nat
    assert ("filter", "FORWARD", 1) in matched_rules(trace)


def test_dnat_to_a_local_address_goes_to_input() -> None:
    rs = build(NAT)
    host = Host.make(["192.168.1.5/24"])
    trace = simulate(rs, pkt(dst="10.96.0.10", dport=80), "forward", host=host)
    assert trace.final_path.value == "input"
    assert trace.verdict is Verdict.ACCEPT
    assert trace.decided_by is not None and trace.decided_by.where == "filter:INPUT:rule:1"
    assert any(s.kind is StepKind.ROUTE for s in trace.steps)


def test_notrack_skips_nat() -> None:
    rs = build("""
        *raw
        :PREROUTING ACCEPT
        -A PREROUTING -j CT --notrack
        *nat
        :PREROUTING ACCEPT
        -A PREROUTING -j DNAT --to-destination 10.0.0.9
        *filter
        :FORWARD DROP
        -A FORWARD -m state --state UNTRACKED -j ACCEPT
    """)
    trace = simulate(rs, pkt(), "forward")
    assert trace.verdict is Verdict.ACCEPT
    assert not any(s.table == "nat" and s.kind is StepKind.RULE for s in trace.steps)


def test_raw_sees_invalid_before_conntrack() -> None:
    rs = build("""
        *raw
        :PREROUTING ACCEPT
        -A PREROUTING -m state --state INVALID -j DROP
    """)
    assert simulate(rs, pkt(), "forward").verdict is Verdict.DROP


def test_ttl_expires_when_forwarded() -> None:
    rs = build("*filter\n:FORWARD ACCEPT\n-A FORWARD -m ttl --ttl-eq 63 -j DROP")
    assert simulate(rs, pkt(ttl=64), "forward").verdict is Verdict.DROP  # decremented first
    assert simulate(rs, pkt(ttl=1), "forward").verdict is Verdict.DROP


def test_unknown_target_is_unknown() -> None:
    rs = build("*mangle\n:PREROUTING ACCEPT\n-A PREROUTING -j TPROXY --on-port 1")
    trace = simulate(rs, pkt(), "input")
    assert trace.verdict is Verdict.UNKNOWN
    assert trace.decided_by is not None and trace.decided_by.action is Action.UNKNOWN


def test_non_terminating_targets_continue() -> None:
    rs = build("""
        *filter
        :INPUT DROP
        -A INPUT -j LOG --log-prefix x
        -A INPUT -j NFLOG
        -A INPUT
        -A INPUT -j ACCEPT
    """)
    trace = simulate(rs, pkt(), "input")
    assert trace.verdict is Verdict.ACCEPT
    assert len(matched_rules(trace)) == 4


def test_reject_and_queue() -> None:
    rs = build("*filter\n:INPUT ACCEPT\n-A INPUT -p udp -j REJECT --reject-with "
               "icmp-port-unreachable\n-A INPUT -j NFQUEUE --queue-num 1")
    assert simulate(rs, pkt(proto="udp"), "input").verdict is Verdict.REJECT
    assert simulate(rs, pkt(), "input").verdict is Verdict.QUEUE


def test_accept_ends_only_this_table() -> None:
    rs = build("""
        *mangle
        :FORWARD ACCEPT
        -A FORWARD -j ACCEPT
        -A FORWARD -j DROP
        *filter
        :FORWARD ACCEPT
        -A FORWARD -j DROP
    """)
    trace = simulate(rs, pkt(), "forward")
    assert trace.verdict is Verdict.DROP
    assert trace.decided_by is not None and trace.decided_by.table == "filter"


UNKNOWNS = """
    *filter
    :FORWARD DROP
    :svc -
    -A FORWARD -m limit --limit 1/sec -j svc
    -A svc -m statistic --mode random --probability 0.25 -j ACCEPT
    -A svc -j DROP
"""


def test_assume_match_and_nomatch() -> None:
    rs = build(UNKNOWNS)
    assert simulate(rs, pkt(), "forward", assume="nomatch").verdict is Verdict.DROP
    yes = simulate(rs, pkt(), "forward", assume="match")
    assert yes.verdict is Verdict.ACCEPT
    assert [a.result for a in yes.assumptions] == [MATCH, MATCH]


def test_explore_both_outcomes_with_probabilities() -> None:
    ex = explore(build(UNKNOWNS), pkt(), "forward")
    assert len(ex.branches) == 3
    outcomes = {tuple(a.result for a in b.assumptions): b for b in ex.branches}
    accepted = outcomes[(MATCH, MATCH)]
    assert accepted.verdict is Verdict.ACCEPT
    assert accepted.assumptions[1].probability == pytest.approx(0.25)
    assert accepted.probability is None  # the limit's outcome has no known probability
    assert outcomes[(MATCH, NO_MATCH)].verdict is Verdict.DROP
    assert outcomes[(NO_MATCH,)].verdict is Verdict.DROP
    assert not ex.decided


def test_explore_statistic_branch_probabilities_sum_to_one() -> None:
    rs = build("""
        *nat
        :PREROUTING ACCEPT
        :svc -
        -A PREROUTING -j svc
        -A svc -m statistic --mode random --probability 0.33333 -j DNAT --to-destination 10.1.0.1
        -A svc -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.1.0.2
        -A svc -j DNAT --to-destination 10.1.0.3
    """)
    ex = explore(rs, pkt(), "forward")
    assert len(ex.branches) == 3
    assert sum(b.probability or 0 for b in ex.branches) == pytest.approx(1.0)
    assert {str(b.final_packet.dst) for b in ex.branches} == {"10.1.0.1", "10.1.0.2",
                                                               "10.1.0.3"}


def test_overrides_decide_one_rule() -> None:
    rs = build(UNKNOWNS)
    trace = simulate(rs, pkt(), "forward", assume="nomatch",
                     overrides={("filter", "FORWARD", 1): MATCH})
    assert [a.result for a in trace.assumptions] == [MATCH, NO_MATCH]


def test_stepper_forward_back_and_breakpoints() -> None:
    rs = build("""
        *filter
        :FORWARD DROP
        :u -
        -A FORWARD -s 192.0.2.1 -j ACCEPT
        -A FORWARD -j u
        -A u -p udp -j ACCEPT
        -A u -p tcp -j ACCEPT
    """)
    stepper = Stepper(rs, pkt(), "forward", breakpoints=[("filter", "u", 2)])
    first = stepper.step()
    assert first is not None and first.where == "filter:FORWARD:rule:1"
    assert first.result is NO_MATCH
    assert first.reasons == ["src 10.0.0.1 not in 192.0.2.1/32"]
    second = stepper.step()
    assert second is not None and second.action is Action.JUMP
    assert second.stack == ("FORWARD",)
    assert stepper.back() is first
    assert stepper.step() is second  # replayed from history
    hit = stepper.run()
    assert hit is not None and hit.where == "filter:u:rule:2"
    assert hit.stack == ("FORWARD", "u")
    assert stepper.run() is None
    trace = stepper.trace()
    assert trace.verdict is Verdict.ACCEPT
    assert [s.index for s in stepper.history] == list(range(len(stepper.history)))
    assert list(Stepper(rs, pkt(), "forward")) == [
        s for s in Stepper(rs, pkt(), "forward")]


def test_stepper_is_a_generator_of_steps() -> None:
    rs = build("*filter\n:INPUT DROP\n-A INPUT -p tcp -j ACCEPT")
    steps = list(Stepper(rs, pkt(), "input"))
    assert [s.kind for s in steps] == [StepKind.RULE]
    assert steps[0].checks[0].result is MATCH


def test_step_packet_is_the_packet_after_the_step() -> None:
    rs = build("*mangle\n:PREROUTING ACCEPT\n-A PREROUTING -j MARK --set-mark 0x5")
    trace = simulate(rs, pkt(), "input")
    assert trace.steps[0].packet.mark == 5
    assert trace.packet.mark == 0


def test_determinism() -> None:
    rs = build(UNKNOWNS)
    one = [(b.verdict, [s.where for s in b.steps]) for b in explore(rs, pkt()).branches]
    two = [(b.verdict, [s.where for s in b.steps]) for b in explore(rs, pkt()).branches]
    assert one == two


def test_empty_ruleset_accepts() -> None:
    rs = build("")
    trace = simulate(rs, pkt(), "forward")
    assert trace.verdict is Verdict.ACCEPT and trace.decided_by is None


def test_unknown_rule_reason_recorded() -> None:
    rs = build("*filter\n:INPUT ACCEPT\n-A INPUT -m set --match-set s src -j DROP")
    trace = simulate(rs, pkt(), "input")
    assert trace.steps[0].result is UNKNOWN
    assert "not known" in trace.assumptions[0].why


def test_connmark_target_without_conntrack_does_nothing() -> None:
    rs = build("""
        *mangle
        :PREROUTING ACCEPT
        -A PREROUTING -j CONNMARK --set-mark 0x5
        *filter
        :INPUT ACCEPT
        -A INPUT -m connmark --mark 0x5 -j DROP
    """)
    assert simulate(rs, pkt(), "input").verdict is Verdict.DROP
    assert simulate(rs, pkt(tcp_flags="RST", state=CtState.INVALID), "input").verdict is (
        Verdict.ACCEPT)


LOOP = """
    *raw
    :PREROUTING ACCEPT
    :OUTPUT ACCEPT
    -A PREROUTING -m state --state INVALID -j DROP
    *nat
    :PREROUTING ACCEPT
    :OUTPUT ACCEPT
    :INPUT ACCEPT
    -A OUTPUT -d 10.96.0.10 -p tcp -j DNAT --to-destination 127.0.0.1:8080
    -A PREROUTING -j DROP
    -A INPUT -j DROP
    *filter
    :OUTPUT DROP
    :INPUT DROP
    -A OUTPUT -o eth1 -j ACCEPT
    -A INPUT -i lo -p tcp -m tcp --dport 8080 -j ACCEPT
    *mangle
    :POSTROUTING ACCEPT
    -A POSTROUTING -o lo
"""


def test_dnat_in_output_to_a_local_address_comes_back_through_input() -> None:
    # Checked on the kernel (nft, a namespace): after DNAT in nat OUTPUT to a local address,
    # filter OUTPUT still sees the old output device, POSTROUTING sees lo; the packet comes
    # back through raw PREROUTING as NEW and INPUT on lo; nat PREROUTING/INPUT are not walked.
    rs = build(LOOP)
    trace = simulate(rs, pkt(dst="10.96.0.10", dport=80, out_iface="eth1"), "output")
    assert trace.verdict is Verdict.ACCEPT
    assert trace.final_path.value == "input"
    assert trace.decided_by is not None and trace.decided_by.where == "filter:INPUT:rule:1"
    refs = matched_rules(trace)
    assert ("filter", "OUTPUT", 1) in refs  # still the old device in OUTPUT
    assert ("mangle", "POSTROUTING", 1) in refs  # lo from POSTROUTING on
    assert ("raw", "PREROUTING", 1) not in refs  # conntrack entry attached: not INVALID
    assert not any(s.table == "nat" and s.hook in ("PREROUTING", "INPUT")
                   and s.kind is StepKind.RULE for s in trace.steps)


def test_output_to_a_remote_address_does_not_loop() -> None:
    rs = build(LOOP)
    trace = simulate(rs, pkt(dst="10.9.9.9"), "output")
    assert trace.final_path.value == "output"
    assert trace.verdict is Verdict.DROP  # filter OUTPUT policy (out is not lo)


def test_stepping_through_a_run_of_non_matching_rules_never_repeats_a_step() -> None:
    # Rules that do not match are stored as one run; stepping must hand each out once, in
    # order, also after going back into the run and forward past its end.
    lines = ["*filter", ":FORWARD DROP"]
    lines += [f"-A FORWARD -s 192.0.2.{i} -j ACCEPT" for i in range(1, 40)]
    lines += ["-A FORWARD -p tcp -j ACCEPT"]
    rs = build("\n".join(lines))
    stepper = Stepper(rs, pkt(), "forward")
    seen = [stepper.step() for _ in range(3)]
    assert [s.position for s in seen if s is not None] == [1, 2, 3]
    assert stepper.back() is seen[1]
    positions = []
    while (step := stepper.step()) is not None:
        positions.append(step.position)
    assert positions == list(range(3, 41))
    assert stepper.trace().verdict is Verdict.ACCEPT


def test_run_without_breakpoints_goes_straight_to_the_verdict() -> None:
    lines = ["*filter", ":FORWARD DROP"]
    lines += [f"-A FORWARD -s 192.0.2.{i} -j ACCEPT" for i in range(1, 200)]
    rs = build("\n".join(lines))
    stepper = Stepper(rs, pkt(), "forward")
    assert stepper.step() is not None
    assert stepper.run() is None
    assert stepper.done
    assert stepper.current is stepper.history[-1]
    assert stepper.trace().verdict is Verdict.DROP
    assert stepper.back() is stepper.history[-2]

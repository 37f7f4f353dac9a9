"""Fix suggestions, proven by re-stepping."""

from __future__ import annotations

from test_stepper_kit import build, pkt

from ruleset.matches import NO_MATCH
from ruleset.stepper import Verdict, simulate
from ruleset.suggest import suggest_fix
from ruleset.whatif import apply_commands


def test_policy_drop_gets_an_insert_at_the_top() -> None:
    rs = build("*filter\n:INPUT DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
    trace = simulate(rs, pkt(dport=80), "input")
    fix = suggest_fix(rs, trace)
    assert fix is not None and fix.proven and fix.verdict_after is Verdict.ACCEPT
    assert fix.text == "iptables -I INPUT 1 -s 10.0.0.1 -d 10.0.0.2 -p tcp -j ACCEPT"
    again = simulate(apply_commands(rs, fix.commands).ruleset, pkt(dport=80), "input")
    assert again.verdict is Verdict.ACCEPT


def test_drop_in_two_tables_needs_two_commands() -> None:
    rs = build("""
        *mangle
        :PREROUTING ACCEPT
        -A PREROUTING -p udp -j DROP
        *filter
        :INPUT DROP
    """)
    trace = simulate(rs, pkt(proto="udp", dport=53), "input")
    fix = suggest_fix(rs, trace)
    assert fix is not None and fix.proven
    assert [c.table for c in fix.commands] == ["mangle", "filter"]
    assert fix.text.startswith("iptables -t mangle -I PREROUTING 1 ")


def test_narrower_rule_in_the_calling_chain() -> None:
    rs = build("""
        *filter
        :FORWARD ACCEPT
        :port -
        :fallback -
        -A FORWARD -j port
        -A port -m state --state ESTABLISHED -j RETURN
        -A port -j fallback
        -A fallback -j DROP
    """)
    trace = simulate(rs, pkt(), "forward")
    fix = suggest_fix(rs, trace, assume=NO_MATCH)
    assert fix is not None
    narrow = [c.render() for alt in fix.alternatives for c in alt]
    assert narrow == ["iptables -I port 2 -s 10.0.0.1 -d 10.0.0.2 -p tcp -m tcp --dport 80 "
                      "-j RETURN"]


def test_accepted_packet_needs_no_fix() -> None:
    rs = build("*filter\n:INPUT ACCEPT")
    assert suggest_fix(rs, simulate(rs, pkt(), "input")) is None

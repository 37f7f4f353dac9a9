"""The seed story, from the pasted `iptables -L -vn --line-numbers` listing in samples/neutron.

A TFTP reply 14.52.45.2:40000 -> 14.52.45.10:50000 (udp), bridged towards the VM's tap port
tap6746373c-01, is dropped on the compute node."""

from __future__ import annotations

from pathlib import Path

import pytest

from ruleset.ipsets import load_ipsets
from ruleset.matches import MATCH, NO_MATCH, UNKNOWN
from ruleset.model import Ruleset
from ruleset.packet import Host, Packet
from ruleset.stepper import StepKind, Verdict, explore, matched_rules, simulate
from ruleset.suggest import suggest_fix
from ruleset.whatif import apply_commands

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "neutron"
LISTING = SAMPLES / "iptables-L-vn-line-numbers.txt"
SET = "NIPv4b3a1256e-07fe-4e6b-bfc5-"
PORT_CHAIN = "neutron-openvswi-i6746373c-0"
FALLBACK = "neutron-openvswi-sg-fallback"


@pytest.fixture(scope="module")
def seed() -> Ruleset:
    load = pytest.importorskip("parser.load")
    return load.load_path(str(LISTING))


@pytest.fixture
def packet() -> Packet:
    return Packet.make("14.52.45.2", "14.52.45.10", "udp", 40000, 50000,
                       physdev_out="tap6746373c-01", bridged=True, state="NEW",
                       in_iface="brq1", out_iface="brq1")


def test_set_rule_is_unknown_and_both_outcomes_are_shown(seed: Ruleset, packet: Packet) -> None:
    ex = explore(seed, packet, "forward")
    assert len(ex.branches) == 2
    unknown = [s for s in ex.branches[0].steps if s.result is UNKNOWN]
    assert [s.where for s in unknown] == [f"filter:{PORT_CHAIN}:rule:3"]
    by_outcome = {b.assumptions[0].result: b for b in ex.branches}
    assert by_outcome[MATCH].verdict is Verdict.ACCEPT
    assert by_outcome[NO_MATCH].verdict is Verdict.DROP


def _assert_seed_drop(trace: object) -> None:
    from ruleset.stepper import Trace

    assert isinstance(trace, Trace)
    assert trace.verdict is Verdict.DROP
    assert trace.decided_by is not None
    assert (trace.decided_by.chain, trace.decided_by.position) == (FALLBACK, 1)
    assert ("filter", PORT_CHAIN, 5) in matched_rules(trace)
    assert trace.decided_by.stack[-2:] == (PORT_CHAIN, FALLBACK)


def test_assume_nomatch_drops_in_the_fallback(seed: Ruleset, packet: Packet) -> None:
    _assert_seed_drop(simulate(seed, packet, "forward", assume="nomatch"))


def test_ipsets_file_decides(seed: Ruleset, packet: Packet) -> None:
    host = Host(ipsets=load_ipsets(str(SAMPLES / "ipsets.save")))
    ex = explore(seed, packet, "forward", host=host)
    assert len(ex.branches) == 1
    trace = ex.first
    _assert_seed_drop(trace)
    set_step = next(s for s in trace.steps if s.ref == ("filter", PORT_CHAIN, 3))
    assert set_step.result is NO_MATCH
    assert set_step.reasons == [f"14.52.45.2 not in set {SET}"]
    # A VM of the group is in the set: its packet returns and is accepted.
    member = Packet.make("14.52.45.12", "14.52.45.10", "udp", 40000, 50000,
                         physdev_out="tap6746373c-01", bridged=True)
    assert simulate(seed, member, "forward", host=host).verdict is Verdict.ACCEPT


def test_apply_insert_accepts(seed: Ruleset, packet: Packet) -> None:
    rulespec = pytest.importorskip("parser.rulespec")
    cmd = rulespec.parse_command("-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT")
    edited = apply_commands(seed, [cmd])
    trace = simulate(edited.ruleset, packet, "forward", assume="nomatch")
    assert trace.verdict is Verdict.ACCEPT
    assert trace.decided_by is not None and trace.decided_by.where == "filter:FORWARD:rule:1"
    assert edited.edits == ["iptables -I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"]
    # the original is untouched
    _assert_seed_drop(simulate(seed, packet, "forward", assume="nomatch"))


def test_suggestion_is_the_issue_command_and_proven(seed: Ruleset, packet: Packet) -> None:
    trace = simulate(seed, packet, "forward", assume="nomatch")
    fix = suggest_fix(seed, trace, assume=NO_MATCH)
    assert fix is not None and fix.proven
    assert fix.text == "iptables -I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"
    narrow = [c.render() for alt in fix.alternatives for c in alt]
    assert narrow == [f"iptables -I {PORT_CHAIN} 5 -s 14.52.45.2 -d 14.52.45.10 -p udp "
                      "-m udp --dport 50000 -j RETURN"]


def test_input_rule_with_physdev_is_bridged_never_matches(seed: Ruleset) -> None:
    # Frames from the VM to the bridge's own address: physdev-in set, no output port.
    pkt = Packet.make("14.52.45.10", "14.52.45.1", "udp", 68, 67, physdev_in="tap6746373c-01",
                      bridged=True)
    trace = simulate(seed, pkt, "input")
    steps = {s.ref: s for s in trace.steps if s.kind is StepKind.RULE}
    assert steps[("filter", "neutron-openvswi-INPUT", 2)].result is NO_MATCH
    assert trace.verdict is Verdict.ACCEPT

"""The lab itself: topologies, counters, arrival and the kernel trace behave as documented."""

from __future__ import annotations

import pytest

from tests.kernel import lab as L
from tests.kernel.lab import CounterKey as K


def _only(keys: list[K], tables: tuple[str, ...] = ("filter", "nat")) -> list[K]:
    """Legacy tables cannot be unloaded: the lab empties absent ones, whose policies count."""
    return [k for k in keys if k.table in tables]


FILTER = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:allow - [0:0]
-A INPUT -p udp -m udp --dport 53 -j DROP
-A FORWARD -p udp -j allow
-A allow -d 10.0.2.2/32 -j ACCEPT
-A OUTPUT -p udp -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth2 -j ACCEPT
COMMIT
"""


@pytest.mark.parametrize("backend", L.BACKENDS)
def test_router_paths(lab: L.Lab, backend: str) -> None:
    r = L.RouterLab(lab, backend=backend)
    try:
        r.load(FILTER)
        d = r.send(L.Packet("203.0.113.5", "10.0.2.2", ident=101), "forward")
        assert _only(d.grown) == [K("filter", "FORWARD", 1), K("filter", "allow", 1),
                           K("nat", "POSTROUTING", 1), K("nat", "PREROUTING", 0)]
        assert d.arrived == ["h2"]
        d = r.send(L.Packet("203.0.113.5", "198.51.100.9", ident=102), "forward")
        assert _only(d.grown) == [K("filter", "FORWARD", 0), K("filter", "FORWARD", 1),
                           K("nat", "PREROUTING", 0)]
        assert d.arrived == []
        d = r.send(L.Packet("203.0.113.5", "10.0.1.1", ident=103, dport=53), "input")
        assert _only(d.grown) == [K("filter", "INPUT", 1), K("nat", "PREROUTING", 0)]
        assert not d.delivered
        d = r.send(L.Packet("203.0.113.5", "10.0.1.1", ident=104, dport=54), "input")
        assert _only(d.grown) == [K("filter", "INPUT", 0), K("nat", "INPUT", 0),
                           K("nat", "PREROUTING", 0)]
        assert d.arrived == ["r:udp"]
        d = r.send(L.Packet("10.0.2.1", "10.0.2.2", ident=105), "output")
        assert _only(d.grown) == [K("filter", "OUTPUT", 1), K("nat", "OUTPUT", 0),
                           K("nat", "POSTROUTING", 1)]
        assert d.arrived == ["h2"]
    finally:
        r.close()


def test_tcp_and_icmp_packets(lab: L.Lab) -> None:
    r = L.RouterLab(lab)
    try:
        r.load("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
               "-A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK SYN -j ACCEPT\n"
               "-A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK,FIN,RST ACK -j DROP\n"
               "-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT\n"
               "-A FORWARD -p icmp -j DROP\nCOMMIT\n")
        syn = r.send(L.Packet("203.0.113.5", "10.0.2.2", "tcp", flags="SYN", ident=1), "forward")
        assert _only(syn.grown) == [K("filter", "FORWARD", 1)] and syn.delivered
        ack = r.send(L.Packet("203.0.113.5", "10.0.2.2", "tcp", flags="ACK", ident=2), "forward")
        assert _only(ack.grown) == [K("filter", "FORWARD", 2)] and not ack.delivered
        echo = r.send(L.Packet("203.0.113.5", "10.0.2.2", "icmp", icmp_type=8, ident=3),
                      "forward")
        assert _only(echo.grown) == [K("filter", "FORWARD", 3)] and echo.delivered
        reply = r.send(L.Packet("203.0.113.5", "10.0.2.2", "icmp", icmp_type=0, ident=4),
                       "forward")
        assert _only(reply.grown) == [K("filter", "FORWARD", 4)] and not reply.delivered
    finally:
        r.close()


def test_bridge_walks_forward_with_physdev(lab: L.Lab, bridge: None) -> None:
    b = L.BridgeLab(lab)
    try:
        b.load("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
               f"-A FORWARD -i {b.BRIDGE} -o {b.BRIDGE} -m physdev --physdev-in eth1 "
               "--physdev-out tap6746373c-01 --physdev-is-bridged\n"
               "-A FORWARD -m physdev --physdev-out tap2c6951d5-e6 -j DROP\n"
               "-A INPUT -m physdev --physdev-in eth1\nCOMMIT\n")
        d = b.send(L.Packet("14.52.45.2", "14.52.45.10", ident=7), to_port="tap6746373c-01")
        assert _only(d.grown) == [K("filter", "FORWARD", 0), K("filter", "FORWARD", 1)]
        assert d.arrived == ["tap6746373c-01"]
        d = b.send(L.Packet("14.52.45.2", "14.52.45.12", ident=8), to_port="tap2c6951d5-e6")
        assert _only(d.grown) == [K("filter", "FORWARD", 2)]
        assert d.arrived == []
        d = b.send(L.Packet("203.0.113.5", b.NODE, ident=9), to_port=None)
        assert _only(d.grown) == [K("filter", "INPUT", 0), K("filter", "INPUT", 1)]
        assert d.arrived == ["node:udp"]
    finally:
        b.close()


def test_kernel_trace_is_ordered(lab: L.Lab) -> None:
    r = L.RouterLab(lab)
    try:
        r.load(L.with_trace_rules(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            ":a - [0:0]\n:b - [0:0]\n-A FORWARD -j a\n-A FORWARD -j DROP\n-A a -g b\n"
            "-A b -j RETURN\nCOMMIT\n", "-p udp"))
        d = r.send(L.Packet("203.0.113.5", "10.0.2.2", ident=11), "forward", trace=True)
        assert d.trace is not None
        walk = [(e.table, e.chain, e.kind, e.verdict) for e in d.trace]
        assert walk == [
            ("raw", "PREROUTING", "rule", "CONTINUE"),
            ("raw", "PREROUTING", "policy", "ACCEPT"),
            ("filter", "FORWARD", "rule", "JUMP:a"),
            ("filter", "a", "rule", "GOTO:b"),
            ("filter", "b", "rule", "RETURN"),
            ("filter", "FORWARD", "rule", "DROP"),
        ]
        assert not d.delivered
    finally:
        r.close()


def test_read_counters_and_grown() -> None:
    before = L.read_counters("*filter\n:INPUT ACCEPT [1:2]\n:x - [0:0]\n[3:4] -A INPUT -j x\n"
                             "[0:0] -A x -j RETURN\nCOMMIT\n")
    after = L.read_counters("*filter\n:INPUT ACCEPT [2:4]\n:x - [0:0]\n[3:4] -A INPUT -j x\n"
                            "[1:9] -A x -j RETURN\nCOMMIT\n")
    assert L.grown(before, after) == [K("filter", "INPUT", 0), K("filter", "x", 1)]
    assert after.rules[K("filter", "x", 1)] == "-j RETURN"


def test_parse_trace_lines() -> None:
    text = (
        "PACKET: 2 fc475095 IN=eth1 OUT=eth2 SRC=203.0.113.5 DST=10.0.2.2\n"
        " TRACE: 2 fc475095 filter:FORWARD:rule:0x4:JUMP:neutron-filter-top  -4 -t filter "
        "-A FORWARD -j neutron-filter-top\n"
        " TRACE: 2 fc475095 filter:neutron-filter-top:return:\n"
        " TRACE: 2 fc475095 filter:FORWARD:policy:ACCEPT \n"
        " TRACE: 1 fc475095 iptscope_lab:keepct:policy:ACCEPT \n"
    )
    events = L.parse_trace(text)
    assert [(e.chain, e.kind, e.verdict) for e in events] == [
        ("FORWARD", "rule", "JUMP:neutron-filter-top"),
        ("neutron-filter-top", "return", ""),
        ("FORWARD", "policy", "ACCEPT"),
    ]
    assert events[0].rule == "-4 -t filter -A FORWARD -j neutron-filter-top"

"""Packet-changing targets: what later rules and the final packet see."""

from __future__ import annotations

import ipaddress

from test_stepper_kit import build, pkt

from ruleset.packet import Host
from ruleset.stepper import Verdict, matched_rules, simulate


def test_snat_and_masquerade_rewrite_the_source() -> None:
    rs = build("""
        *nat
        :POSTROUTING ACCEPT
        -A POSTROUTING -s 10.0.0.0/24 -o eth1 -j SNAT --to-source 192.0.2.1:1000-2000
        -A POSTROUTING -j MASQUERADE
    """)
    trace = simulate(rs, pkt(out_iface="eth1"), "forward")
    assert trace.final_packet.src == ipaddress.ip_address("192.0.2.1")
    assert trace.final_packet.sport == 1000
    assert trace.final_packet.orig_src == ipaddress.ip_address("10.0.0.1")
    assert "SNAT" in trace.final_packet.ct_nat
    host = Host.make(["198.51.100.7/24@eth2"])
    masq = simulate(rs, pkt(src="10.9.0.1", out_iface="eth2"), "forward", host=host)
    assert masq.final_packet.src == ipaddress.ip_address("198.51.100.7")


def test_redirect_in_prerouting_delivers_locally() -> None:
    rs = build("""
        *nat
        :PREROUTING ACCEPT
        -A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 3128
        *filter
        :INPUT DROP
        :FORWARD DROP
        -A INPUT -p tcp -m tcp --dport 3128 -j ACCEPT
    """)
    host = Host.make(["10.0.0.254/24@eth0"])
    trace = simulate(rs, pkt(dst="93.184.216.34", in_iface="eth0"), "forward", host=host)
    assert trace.final_path.value == "input"
    assert trace.final_packet.dst == ipaddress.ip_address("10.0.0.254")
    assert trace.final_packet.dport == 3128
    assert trace.verdict is Verdict.ACCEPT


def test_netmap_maps_the_host_part() -> None:
    rs = build("""
        *nat
        :PREROUTING ACCEPT
        -A PREROUTING -d 10.0.0.0/24 -j NETMAP --to 172.16.5.0/24
    """)
    trace = simulate(rs, pkt(dst="10.0.0.42"), "forward")
    assert trace.final_packet.dst == ipaddress.ip_address("172.16.5.42")


def test_tos_dscp_ttl_targets_feed_later_matches() -> None:
    rs = build("""
        *mangle
        :PREROUTING ACCEPT
        :FORWARD ACCEPT
        -A PREROUTING -j DSCP --set-dscp-class EF
        -A PREROUTING -j TTL --ttl-dec 10
        -A FORWARD -m dscp --dscp 46 -m ttl --ttl-eq 53
        -A FORWARD -j TOS --set-tos 0x10/0x3f
        -A FORWARD -m tos --tos 0x10/0x3f
    """)
    trace = simulate(rs, pkt(), "forward")
    assert ("mangle", "FORWARD", 1) in matched_rules(trace)  # 64 - 10, then -1 when routed
    assert ("mangle", "FORWARD", 3) in matched_rules(trace)


def test_mark_arithmetic() -> None:
    rs = build("""
        *mangle
        :PREROUTING ACCEPT
        -A PREROUTING -j MARK --set-mark 0xf0
        -A PREROUTING -j MARK --and-mark 0x30
        -A PREROUTING -j MARK --or-mark 0x1
        -A PREROUTING -j MARK --xor-mark 0x3
        -A PREROUTING -j MARK --set-xmark 0x100/0x0
    """)
    trace = simulate(rs, pkt(), "input")
    assert trace.final_packet.mark == ((((0xF0 & 0x30) | 0x1) ^ 0x3) ^ 0x100)


def test_dnat_port_range_and_address_range_take_the_first() -> None:
    rs = build("""
        *nat
        :PREROUTING ACCEPT
        -A PREROUTING -j DNAT --to-destination 10.1.0.5-10.1.0.9:8000-8010
    """)
    trace = simulate(rs, pkt(), "forward")
    assert str(trace.final_packet.dst) == "10.1.0.5" and trace.final_packet.dport == 8000
    assert "first address" in (trace.steps[0].note or "")

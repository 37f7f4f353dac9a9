"""The packet model and the compact packet syntax."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from ruleset.model import Family
from ruleset.packet import CtState, Host, Packet, PacketError, default_state, parse_compact


def test_packet_is_frozen_and_derives_fast_fields() -> None:
    p = Packet.make("14.52.45.2", "14.52.45.10", "udp", 40000, 50000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.sport = 1  # type: ignore[misc]
    assert p.src_int == int(ipaddress.ip_address("14.52.45.2"))
    assert p.proto_num == 17 and p.family is Family.IPV4
    assert p.tcp_flags == frozenset()
    assert p.summary() == "udp 14.52.45.2:40000 > 14.52.45.10:50000"
    assert p.with_changes(mark=4).mark == 4 and p.mark == 0


def test_ipv6_and_mixed_families() -> None:
    p = Packet.make("2001:db8::1", "2001:db8::2", "icmpv6", icmp_type=128)
    assert p.family is Family.IPV6 and p.proto == "ipv6-icmp"
    with pytest.raises(PacketError):
        Packet.make("10.0.0.1", "2001:db8::2")


def test_compact_syntax() -> None:
    p = parse_compact("udp 14.52.45.2:40000 > 14.52.45.10:50000")
    assert (str(p.src), p.sport, str(p.dst), p.dport, p.proto) == (
        "14.52.45.2", 40000, "14.52.45.10", 50000, "udp")
    t = parse_compact("10.0.0.1:1234 -> 10.0.0.2:443 flags SYN,ACK")
    assert t.proto == "tcp" and t.tcp_flags == frozenset({"SYN", "ACK"})
    i = parse_compact("10.0.0.1 > 10.0.0.2 type 8/0")
    assert i.proto == "icmp" and i.icmp_type == 8 and i.icmp_code == 0
    v6 = parse_compact("tcp [2001:db8::1]:5000 > [2001:db8::2]:443")
    assert v6.dport == 443 and v6.family is Family.IPV6
    for bad in ("", "udp 1.2.3.4", "udp 1.2.3.4 > nothere", "tcp 1.1.1.1 > 2.2.2.2 bogus 1"):
        with pytest.raises(PacketError):
            parse_compact(bad)


def test_default_state_follows_conntrack() -> None:
    assert default_state("tcp", frozenset({"SYN"})) is CtState.NEW
    assert default_state("tcp", frozenset({"ACK"})) is CtState.NEW  # tcp_loose
    assert default_state("tcp", frozenset({"SYN", "ACK"})) is CtState.INVALID
    assert default_state("tcp", frozenset({"RST"})) is CtState.INVALID
    assert default_state("udp", frozenset()) is CtState.NEW


def test_host_local_addresses() -> None:
    h = Host.make(["10.0.0.1/24@eth0", "192.168.1.1"])
    assert h.is_local(ipaddress.ip_address("10.0.0.1"))
    assert h.is_local(ipaddress.ip_address("127.0.0.2"))
    assert h.is_local(ipaddress.ip_address("10.0.0.2")) is False
    assert h.address_of("eth0") == ipaddress.ip_address("10.0.0.1")
    assert Host().is_local(ipaddress.ip_address("10.0.0.2")) is None
    with pytest.raises(PacketError):
        Host.make(["nonsense"])

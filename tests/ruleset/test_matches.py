"""Each match module's semantics, as /work/shared/NETFILTER.md and the kernel describe them."""

from __future__ import annotations

import pytest
from test_stepper_kit import env, pkt, spec

from ruleset.ipsets import parse_ipset_save
from ruleset.matches import (
    MATCH,
    NO_MATCH,
    UNKNOWN,
    Result,
    address_type,
    compile_spec,
    evaluate,
    iface_matches,
)
from ruleset.model import Family
from ruleset.packet import CtState, Host, Packet


def run(rule: str, packet: Packet, e=None, family: Family = Family.IPV4) -> Result:  # type: ignore[no-untyped-def]
    result, _ = evaluate(compile_spec(spec(rule), family), packet, e or env())
    return result


def reasons(rule: str, packet: Packet, e=None) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.reason for c in evaluate(compile_spec(spec(rule), Family.IPV4), packet,
                                       e or env())[1]]


# -- addresses, protocol, fragments ------------------------------------------------------------

def test_address_with_prefix_mask_and_negation() -> None:
    p = pkt("14.52.45.2", "14.52.45.10")
    assert run("-s 14.52.45.0/24", p) is MATCH
    assert run("-s 14.52.45.12", p) is NO_MATCH
    assert run("! -s 14.52.45.12", p) is MATCH
    assert run("-s 14.52.0.0/255.255.0.0", p) is MATCH
    assert run("-d 14.52.45.10/32", p) is MATCH
    assert reasons("-s 14.52.45.12", p) == ["src 14.52.45.2 not in 14.52.45.12/32"]


def test_non_contiguous_mask() -> None:
    assert run("-s 10.0.0.5/255.0.255.255", pkt("10.9.0.5")) is MATCH
    assert run("-s 10.0.0.5/255.0.255.255", pkt("10.9.1.5")) is NO_MATCH


def test_host_name_is_unknown() -> None:
    assert run("-s example.org", pkt()) is UNKNOWN


def test_protocol() -> None:
    assert run("-p udp", pkt(proto="udp")) is MATCH
    assert run("-p tcp", pkt(proto="udp")) is NO_MATCH
    assert run("! -p tcp", pkt(proto="udp")) is MATCH
    assert run("-p all", pkt(proto="udp")) is MATCH
    assert run("-p 17", pkt(proto="udp")) is MATCH


def test_ipv6_p_icmp_never_matches_icmpv6() -> None:
    p = Packet.make("2001:db8::1", "2001:db8::2", "ipv6-icmp", icmp_type=128)
    assert run("-p icmp", p, family=Family.IPV6) is NO_MATCH
    assert run("-p ipv6-icmp", p, family=Family.IPV6) is MATCH
    assert run("-p icmpv6", p, family=Family.IPV6) is MATCH
    why = [c.reason for c in evaluate(compile_spec(spec("-p icmp"), Family.IPV6), p, env())[1]]
    assert "never matches ICMPv6" in why[0]


def test_fragment() -> None:
    assert run("-f", pkt(fragment=True)) is MATCH
    assert run("-f", pkt()) is NO_MATCH
    assert run("! -f", pkt()) is MATCH
    # A non-first fragment has no ports.
    assert run("-p tcp -m tcp --dport 80", pkt(fragment=True)) is NO_MATCH


# -- interfaces ---------------------------------------------------------------------------------

def test_interface_wildcards() -> None:
    assert iface_matches("eth+", "eth0")
    assert iface_matches("eth+", "eth")
    assert not iface_matches("eth+", "veth0")
    assert iface_matches("+", "anything")
    assert iface_matches("eth0", "eth0")
    assert not iface_matches("eth0", "eth01")
    assert run("-i eth+", pkt(), env(indev="eth3")) is MATCH
    assert run("-i eth+", pkt(), env(indev="wlan0")) is NO_MATCH
    assert run("! -i eth+", pkt(), env(indev="wlan0")) is MATCH
    assert run("-o br+", pkt(), env(outdev="brq1")) is MATCH


def test_interface_missing_at_hook() -> None:
    # OUTPUT has no input device: `-i X` fails, `! -i X` and `-i +` match.
    e = env("OUTPUT", indev="")
    assert run("-i eth0", pkt(), e) is NO_MATCH
    assert run("! -i eth0", pkt(), e) is MATCH
    assert run("-i +", pkt(), e) is MATCH


def test_interface_not_given_is_unknown() -> None:
    assert run("-i eth0", pkt(), env(indev=None)) is UNKNOWN


# -- ports, flags, icmp ------------------------------------------------------------------------

def test_ports_and_ranges() -> None:
    p = pkt(proto="udp", sport=40000, dport=50000)
    assert run("-p udp -m udp --dport 50000", p) is MATCH
    assert run("-p udp -m udp --dport 49000:51000", p) is MATCH
    assert run("-p udp -m udp --sport 67 --dport 68", p) is NO_MATCH
    assert run("-p udp -m udp ! --sport 67", p) is MATCH
    assert run("-p udp -m udp --dport 1024:", p) is MATCH
    assert run("-p tcp -m tcp --dport 50000", p) is NO_MATCH
    assert reasons("-p udp -m udp --sport 67", p)[-1] == "sport 40000 not in 67"


def test_ports_not_given_are_unknown() -> None:
    assert run("-p tcp -m tcp --dport 80", pkt(dport=None)) is UNKNOWN


def test_multiport() -> None:
    p = pkt(dport=443)
    assert run("-p tcp -m multiport --dports 80,443,8000:8100", p) is MATCH
    assert run("-p tcp -m multiport --dports 80,8443", p) is NO_MATCH
    assert run("-p tcp -m multiport ! --dports 80,8443", p) is MATCH
    assert run("-p tcp -m multiport --ports 40000", p) is MATCH


def test_tcp_flags_and_syn() -> None:
    syn = pkt(tcp_flags="SYN")
    synack = pkt(tcp_flags="SYN,ACK")
    assert run("-p tcp -m tcp --syn", syn) is MATCH
    assert run("-p tcp -m tcp --syn", synack) is NO_MATCH
    assert run("-p tcp -m tcp ! --syn", synack) is MATCH
    assert run("-p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK", synack) is MATCH
    assert run("-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN", syn) is MATCH
    assert run("-p tcp -m tcp --tcp-flags ALL NONE", pkt(tcp_flags="")) is MATCH


def test_icmp_types() -> None:
    ping = pkt(proto="icmp", sport=None, dport=None, icmp_type=8, icmp_code=0)
    assert run("-p icmp -m icmp --icmp-type 8", ping) is MATCH
    assert run("-p icmp -m icmp --icmp-type echo-request", ping) is MATCH
    assert run("-p icmp -m icmp --icmp-type echo-reply", ping) is NO_MATCH
    assert run("-p icmp -m icmp --icmp-type any", ping) is MATCH
    unreach = pkt(proto="icmp", sport=None, dport=None, icmp_type=3, icmp_code=3)
    assert run("-p icmp -m icmp --icmp-type port-unreachable", unreach) is MATCH
    assert run("-p icmp -m icmp --icmp-type 3/1", unreach) is NO_MATCH
    assert run("-p icmp -m icmp --icmp-type destination-unreachable", unreach) is MATCH


def test_icmpv6_types() -> None:
    p = Packet.make("2001:db8::1", "2001:db8::2", "ipv6-icmp", icmp_type=135)
    result, _ = evaluate(compile_spec(spec("-p ipv6-icmp -m icmp6 --icmpv6-type "
                                           "neighbour-solicitation"), Family.IPV6), p, env())
    assert result is MATCH


# -- conntrack ----------------------------------------------------------------------------------

def test_state_and_conntrack() -> None:
    assert run("-m state --state RELATED,ESTABLISHED", pkt()) is NO_MATCH
    assert run("-m state --state NEW", pkt()) is MATCH
    est = env(state=CtState.ESTABLISHED)
    assert run("-m conntrack --ctstate RELATED,ESTABLISHED", pkt(), est) is MATCH
    assert run("-m conntrack ! --ctstate RELATED,ESTABLISHED", pkt(), est) is NO_MATCH
    assert run("-m conntrack --ctstate INVALID", pkt(), env(state=CtState.INVALID)) is MATCH
    assert run("-m state --state UNTRACKED", pkt(), env(state=CtState.UNTRACKED)) is MATCH


def test_ctstate_dnat() -> None:
    p = pkt(ct_nat=frozenset({"DNAT"}))
    assert run("-m conntrack --ctstate DNAT", p) is MATCH
    assert run("-m conntrack --ctstate SNAT", p) is NO_MATCH
    assert run("-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT", p) is NO_MATCH


def test_conntrack_original_destination() -> None:
    import ipaddress

    p = pkt(dst="10.244.1.9", orig_dst=ipaddress.ip_address("10.96.0.10"), orig_dport=53)
    assert run("-m conntrack --ctorigdst 10.96.0.10", p) is MATCH
    assert run("-m conntrack --ctorigdstport 53", p) is MATCH
    assert run("-m conntrack --ctexpire 10:20", p) is UNKNOWN


def test_state_in_raw_is_invalid() -> None:
    assert run("-m state --state INVALID", pkt(), env("PREROUTING", "raw",
                                                      state=CtState.INVALID)) is MATCH


# -- layer 2 ------------------------------------------------------------------------------------

def test_mac_source() -> None:
    p = pkt(mac_src="fa:16:3e:a8:97:6f")
    assert run("-m mac --mac-source FA:16:3E:A8:97:6F", p) is MATCH
    assert run("-m mac --mac-source FA:16:3E:CB:06:23", p) is NO_MATCH
    assert run("-m mac --mac-source FA:16:3E:CB:06:23", pkt()) is UNKNOWN
    assert run("-m mac --mac-source FA:16:3E:A8:97:6F", p, env("OUTPUT")) is NO_MATCH


def test_physdev_on_routed_packet_matches_only_when_negated() -> None:
    e = env(bridged=False)
    assert run("-m physdev --physdev-out tap1", pkt(), e) is NO_MATCH
    assert run("-m physdev ! --physdev-out tap1", pkt(), e) is MATCH
    assert run("-m physdev --physdev-is-bridged", pkt(), e) is NO_MATCH
    assert run("-m physdev ! --physdev-is-bridged", pkt(), e) is MATCH
    assert run("-m physdev --physdev-in tap1 ! --physdev-is-bridged", pkt(), e) is NO_MATCH


def test_physdev_before_the_output_port_is_known() -> None:
    # PREROUTING / INPUT of a bridged frame: no output port yet.
    e = env("INPUT", bridged=True, physin="tap1", physout=None)
    assert run("-m physdev --physdev-out tap1", pkt(), e) is NO_MATCH
    assert run("-m physdev ! --physdev-out tap1", pkt(), e) is NO_MATCH
    assert run("-m physdev --physdev-is-bridged", pkt(), e) is NO_MATCH
    assert run("-m physdev --physdev-is-out", pkt(), e) is NO_MATCH
    # neutron's INPUT rule never matches
    assert run("-m physdev --physdev-in tap1 --physdev-is-bridged", pkt(), e) is NO_MATCH
    assert run("-m physdev --physdev-in tap1", pkt(), e) is MATCH
    assert run("-m physdev --physdev-is-in", pkt(), e) is MATCH


def test_physdev_bridged_forward() -> None:
    e = env(bridged=True, physin="eth1", physout="tap6746373c-01")
    assert run("-m physdev --physdev-out tap6746373c-01 --physdev-is-bridged", pkt(), e) is MATCH
    assert run("-m physdev --physdev-out tap+ --physdev-is-bridged", pkt(), e) is MATCH
    assert run("-m physdev --physdev-in tap6746373c-01 --physdev-is-bridged", pkt(),
               e) is NO_MATCH
    assert run("-m physdev ! --physdev-in tap6746373c-01", pkt(), e) is MATCH


# -- ipset ----------------------------------------------------------------------------------------

SETS = parse_ipset_save("""
create allow hash:net family inet hashsize 1024 maxelem 65536
add allow 10.0.0.0/8
add allow 10.1.0.0/16 nomatch
add allow 10.1.2.0/24
create svc hash:ip,port family inet
add svc 10.96.0.10,udp:53
add svc 10.96.0.10,tcp:53
create both list:set
add both allow
""", "sets.save")


def test_set_unknown_without_contents() -> None:
    r = "-m set --match-set allow src"
    assert run(r, pkt()) is UNKNOWN
    assert "not known" in reasons(r, pkt())[0]


def test_set_hash_net_most_specific_and_nomatch() -> None:
    e = env(host=Host(ipsets=SETS))
    assert run("-m set --match-set allow src", pkt("10.9.9.9"), e) is MATCH
    assert run("-m set --match-set allow src", pkt("10.1.9.9"), e) is NO_MATCH  # nomatch
    assert run("-m set --match-set allow src", pkt("10.1.2.3"), e) is MATCH  # more specific
    assert run("-m set ! --match-set allow src", pkt("10.1.9.9"), e) is MATCH
    assert run("-m set --match-set allow src", pkt("192.168.0.1"), e) is NO_MATCH
    assert run("-m set --match-set both src", pkt("10.9.9.9"), e) is MATCH


def test_set_dimensions() -> None:
    e = env(host=Host(ipsets=SETS))
    p = pkt("10.0.0.1", "10.96.0.10", "udp", 40000, 53)
    assert run("-m set --match-set svc dst,dst", p, e) is MATCH
    # Fewer flags than dimensions never match (so match when negated).
    assert run("-m set --match-set svc dst", p, e) is NO_MATCH
    assert run("-m set ! --match-set svc dst", p, e) is MATCH
    # Extra flags are ignored.
    assert run("-m set --match-set allow src,dst", p, e) is MATCH
    assert run("-m set --match-set svc dst,dst", pkt("10.0.0.1", "10.96.0.10", "udp", 1, 54),
               e) is NO_MATCH


def test_set_missing_from_file_is_unknown() -> None:
    assert run("-m set --match-set nosuch src", pkt(), env(host=Host(ipsets=SETS))) is UNKNOWN


# -- marks, addrtype, ranges, misc -----------------------------------------------------------------

def test_mark_and_connmark() -> None:
    assert run("-m mark --mark 0x4000/0x4000", pkt(mark=0x4001)) is MATCH
    assert run("-m mark --mark 0x4000/0x4000", pkt(mark=0x1)) is NO_MATCH
    assert run("-m mark ! --mark 0x1", pkt(mark=0x1)) is NO_MATCH
    assert run("-m connmark --mark 0x2", pkt(connmark=2)) is MATCH
    assert run("-m mark --mark 0x2", pkt(mark=None)) is UNKNOWN


def test_addrtype_fixed_kinds() -> None:
    host = Host()
    import ipaddress

    assert address_type(ipaddress.ip_address("0.0.0.0"), host) == "BROADCAST"
    assert address_type(ipaddress.ip_address("255.255.255.255"), host) == "BROADCAST"
    assert address_type(ipaddress.ip_address("127.3.4.5"), host) == "LOCAL"
    assert address_type(ipaddress.ip_address("224.0.0.1"), host) == "MULTICAST"
    assert address_type(ipaddress.ip_address("10.0.0.9"), host) is None


def test_addrtype_subnet_broadcast_and_network_address() -> None:
    import ipaddress

    host = Host.make(["192.168.1.5/24"])
    assert address_type(ipaddress.ip_address("192.168.1.255"), host) == "BROADCAST"
    assert address_type(ipaddress.ip_address("192.168.1.0"), host) == "UNICAST"
    assert address_type(ipaddress.ip_address("192.168.1.5"), host) == "LOCAL"
    assert address_type(ipaddress.ip_address("8.8.8.8"), host) == "UNICAST"
    e = env(host=host)
    assert run("-m addrtype --dst-type LOCAL", pkt(dst="192.168.1.5"), e) is MATCH
    assert run("-m addrtype --dst-type LOCAL", pkt(dst="8.8.8.8"), e) is NO_MATCH
    assert run("-m addrtype ! --dst-type LOCAL", pkt(dst="8.8.8.8"), e) is MATCH
    assert run("-m addrtype --dst-type BROADCAST", pkt(dst="192.168.1.255"), e) is MATCH


def test_addrtype_without_local_addresses_is_unknown() -> None:
    assert run("-m addrtype --dst-type LOCAL", pkt(dst="10.0.0.9")) is UNKNOWN
    assert run("-m addrtype --dst-type LOCAL", pkt(dst="127.0.0.1")) is MATCH


def test_iprange_length_ttl_tos() -> None:
    assert run("-m iprange --src-range 10.0.0.0-10.0.0.5", pkt("10.0.0.1")) is MATCH
    assert run("-m iprange ! --dst-range 10.0.0.0-10.0.0.5", pkt(dst="10.0.0.9")) is MATCH
    assert run("-m length --length 0:100", pkt(length=60)) is MATCH
    assert run("-m length --length 0:100", pkt()) is UNKNOWN
    assert run("-m ttl --ttl-lt 10", pkt(ttl=5)) is MATCH
    assert run("-m ttl --ttl-eq 64", pkt()) is MATCH
    assert run("-m tos --tos 0x10", pkt(tos=0x10)) is MATCH
    assert run("-m dscp --dscp 0x2e", pkt(tos=0xB8)) is MATCH
    assert run("-m dscp --dscp-class EF", pkt(tos=0)) is NO_MATCH


def test_pkttype() -> None:
    assert run("-m pkttype --pkt-type multicast", pkt(dst="224.0.0.5")) is MATCH
    assert run("-m pkttype --pkt-type broadcast", pkt(dst="255.255.255.255")) is MATCH


def test_owner_only_on_local_packets() -> None:
    assert run("-m owner --uid-owner 0", pkt(uid=0), env("OUTPUT", local=True)) is MATCH
    assert run("-m owner --uid-owner 0", pkt(uid=33), env("OUTPUT", local=True)) is NO_MATCH
    assert run("-m owner --uid-owner 0", pkt(), env("OUTPUT", local=True)) is UNKNOWN
    assert run("-m owner --uid-owner 0", pkt(uid=0), env("FORWARD")) is NO_MATCH
    assert run("-m owner ! --uid-owner 0", pkt(uid=0), env("FORWARD")) is MATCH


def test_statistic_has_probability() -> None:
    checks = compile_spec(spec("-m statistic --mode random --probability 0.25"), Family.IPV4)
    assert checks[0].probability == pytest.approx(0.25)
    assert evaluate(checks, pkt(), env())[0] is UNKNOWN


@pytest.mark.parametrize("module", ["limit --limit 5/sec", "recent --rcheck --name x",
                                    "hashlimit --hashlimit-upto 1/sec", "string --algo bm",
                                    "rpfilter", "policy --dir in --pol ipsec", "frobnicate"])
def test_undecidable_and_unknown_modules_are_unknown(module: str) -> None:
    assert run(f"-m {module}", pkt()) is UNKNOWN


def test_unknown_before_no_match_is_no_match() -> None:
    assert run("-m limit --limit 1/sec -m iprange --src-range 192.0.2.1-192.0.2.9",
               pkt()) is NO_MATCH


def test_comment_matches() -> None:
    assert run('-m comment --comment "hello"', pkt()) is MATCH


def test_connmark_and_conntrack_without_an_entry_never_match() -> None:
    # Seen on the kernel (differential test): an INVALID packet has no conntrack entry, so
    # `-m connmark` fails even negated, and conntrack options other than --ctstate fail too.
    for state in (CtState.INVALID, CtState.UNTRACKED):
        e = env(state=state)
        assert run("-m connmark --mark 0x0", pkt(), e) is NO_MATCH
        assert run("-m connmark ! --mark 0x1", pkt(), e) is NO_MATCH
        assert run("-m conntrack --ctproto tcp", pkt(), e) is NO_MATCH
        assert run("-m conntrack ! --ctproto udp", pkt(), e) is NO_MATCH
    assert run("-m conntrack --ctstate INVALID", pkt(), env(state=CtState.INVALID)) is MATCH
    assert run("-m connmark --mark 0x0", pkt(), env("PREROUTING", "raw",
                                                    state=CtState.INVALID)) is NO_MATCH


def test_addrtype_ipv6_local_address_is_unicast_too() -> None:
    # Seen on the kernel (differential test): ip6tables `--src-type UNICAST` matches an
    # address of the host; types asked together must all hold.
    host = Host.make(["fd00:1::1/64"])
    p = Packet.make("fd00:1::1", "2001:db8::7", "udp", 1, 2)
    e = env("OUTPUT", host=host, local=True)

    def run6(rule: str) -> Result:
        return evaluate(compile_spec(spec(rule), Family.IPV6), p, e)[0]

    assert run6("-m addrtype --src-type UNICAST") is MATCH
    assert run6("-m addrtype --src-type LOCAL") is MATCH
    assert run6("-m addrtype --src-type MULTICAST") is NO_MATCH
    assert run6("-m addrtype --dst-type LOCAL") is NO_MATCH
    assert run6("-m addrtype ! --dst-type LOCAL") is MATCH
    assert run6("-m addrtype --dst-type UNICAST") is MATCH


def test_addrtype_ipv4_local_or_unicast_decided_without_addresses() -> None:
    assert run("-m addrtype --dst-type LOCAL,UNICAST", pkt(dst="10.0.0.9")) is MATCH
    assert run("-m addrtype --dst-type MULTICAST", pkt(dst="10.0.0.9")) is NO_MATCH

"""`iptables -L` listings: layouts, counters, tables, IPv6, names, diagnostics, the seed sample."""

# ruff: noqa: E501  (listing fixtures keep iptables' real column layout)

from __future__ import annotations

import contextlib
from pathlib import Path

import pyparsing as pp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parser.errors import ParseError
from parser.listing import looks_like_listing, parse_listing
from ruleset.model import Counters, Family, Match, Option, Rule, Ruleset, Severity, Target
from ruleset.spec import spec_key

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "samples" / "neutron" / "iptables-L-vn-line-numbers.txt"


def parse(text: str, *, strict: bool = False) -> Ruleset:
    try:
        return parse_listing(text.splitlines(), "dump.txt", strict=strict)
    except ParseError as exc:
        pytest.fail(f"{exc.diagnostic}\n{pp.testing.with_line_numbers(text)}")


def errors(rs: Ruleset) -> list[str]:
    return [d.one_line for d in rs.diagnostics if d.severity is Severity.ERROR]


def rule(rs: Ruleset, chain: str, position: int, table: str = "filter") -> Rule:
    return rs.find_rule(table, chain, position)


def opt(name: str, *values: str, neg: bool = False) -> Option:
    return Option(name, tuple(values), neg)


# ------------------------------------------------------------------------------------------
# The seed sample (whitespace collapsed, no blank lines between chains)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Ruleset:
    return parse_listing(SEED.read_text().splitlines(), str(SEED), strict=True)


def test_seed_shape(seed: Ruleset) -> None:
    assert seed.format == "iptables -L -v -n --line-numbers"
    assert seed.family is Family.IPV4
    assert list(seed.tables) == ["filter"]
    table = seed.tables["filter"]
    assert len(table.chains) == 16
    assert seed.rule_count == 48
    assert seed.diagnostics == []
    assert table.chains["INPUT"].policy == "ACCEPT"
    assert table.chains["INPUT"].builtin
    assert table.chains["neutron-openvswi-sg-chain"].references == 4
    assert not table.chains["neutron-openvswi-sg-chain"].builtin
    assert len(table.chains["neutron-openvswi-OUTPUT"]) == 0


def test_seed_policy_and_rule_counters(seed: Ruleset) -> None:
    chain = seed.tables["filter"].chains["INPUT"]
    assert chain.policy_counters == Counters(125_000, 18_000_000, False, 1000, 1_000_000)
    assert chain.policy_counters.packets_min == 124_500
    assert chain.policy_counters.packets_max == 125_499
    first = rule(seed, "INPUT", 1)
    assert first.counters == Counters(550_000, 80_000_000, False, 1000, 1_000_000)
    mixed = rule(seed, "FORWARD", 1)  # `1574 111K`: packets exact, bytes rounded
    assert mixed.counters == Counters(1574, 111_000, False, 1, 1000)
    assert (mixed.counters.packets_min, mixed.counters.packets_max) == (1574, 1574)
    assert (mixed.counters.bytes_min, mixed.counters.bytes_max) == (110_500, 111_499)
    exact = rule(seed, "neutron-openvswi-sg-fallback", 1)
    assert exact.counters == Counters(865, 44002)


def test_seed_browsable_before_resolution(seed: Ruleset) -> None:
    fresh = parse_listing(SEED.read_text().splitlines(), "seed", strict=False)
    r = fresh.find_rule("filter", "neutron-openvswi-sg-fallback", 1)
    assert not r.resolved
    assert r.target_name == "DROP"
    assert not r.goto
    assert r.line == 80
    assert r.text.startswith("1 865 44002 DROP")
    assert r.spec.target == Target("DROP")
    assert r.resolved


def test_seed_physdev_and_comment(seed: Ruleset) -> None:
    r = rule(seed, "neutron-openvswi-FORWARD", 1)
    assert r.spec.generic == ()
    assert r.spec.matches == (
        Match("physdev", (opt("--physdev-out", "tap2c6951d5-e6"), opt("--physdev-is-bridged"))),
        Match("comment", (opt("--comment", "Direct traffic from the VM interface to the security "
                                           "group chain."),)),
    )
    assert r.spec.target == Target("neutron-openvswi-sg-chain")


def test_seed_state_match_set_udp_mac(seed: Ruleset) -> None:
    chain = "neutron-openvswi-i6746373c-0"
    assert rule(seed, chain, 1).spec.matches[0] == Match(
        "state", (opt("--state", "RELATED,ESTABLISHED"),))
    udp = rule(seed, chain, 2).spec
    assert udp.generic == (opt("-s", "14.52.45.2"), opt("-p", "udp"))
    assert udp.matches == (Match("udp", (opt("--sport", "67"),)),
                           Match("udp", (opt("--dport", "68"),)))
    assert rule(seed, chain, 3).spec.matches == (
        Match("set", (opt("--match-set", "NIPv4b3a1256e-07fe-4e6b-bfc5-", "src"),)),)
    dhcp = rule(seed, "neutron-openvswi-o6746373c-0", 1).spec
    assert dhcp.generic == (opt("-s", "0.0.0.0"), opt("-d", "255.255.255.255"), opt("-p", "udp"))
    assert dhcp.matches[0] == Match("udp", (opt("--sport", "68"), opt("--dport", "67")))
    mac = rule(seed, "neutron-openvswi-s6746373c-0", 1).spec
    assert mac.generic == (opt("-s", "14.52.45.10"),)
    assert mac.matches[0] == Match("mac", (opt("--mac-source", "FA:16:3E:A8:97:6F"),))
    assert mac.comment == "Allow traffic from defined IP/MAC pairs."
    assert mac.opaque == ()


# ------------------------------------------------------------------------------------------
# Layouts
# ------------------------------------------------------------------------------------------

PLAIN = """\
Chain INPUT (policy DROP)
target     prot opt source               destination
ACCEPT     all  --  0.0.0.0/0            0.0.0.0/0            state RELATED,ESTABLISHED
ACCEPT     tcp  --  10.0.0.0/8           0.0.0.0/0            tcp dpt:22
DROP       all  -f  0.0.0.0/0            0.0.0.0/0
ACCEPT     !tcp !f  !10.244.0.0/16       192.168.1.1
           all  --  0.0.0.0/0            172.16.2.22
"""


def test_plain_listing() -> None:
    rs = parse(PLAIN)
    assert rs.format == "iptables -L -n"
    chain = rs.tables["filter"].chains["INPUT"]
    assert chain.policy == "DROP"
    assert chain.policy_counters is None
    assert [r.counters for r in chain] == [None] * 5
    assert rule(rs, "INPUT", 2).spec.generic == (opt("-s", "10.0.0.0/8"), opt("-p", "tcp"))
    assert rule(rs, "INPUT", 3).spec.generic == (opt("-f"),)
    negated = rule(rs, "INPUT", 4).spec.generic
    assert negated == (opt("-s", "10.244.0.0/16", neg=True), opt("-d", "192.168.1.1"),
                       opt("-p", "tcp", neg=True), opt("-f", neg=True))
    empty = rule(rs, "INPUT", 5)
    assert empty.target_name is None
    assert empty.spec.target is None
    assert empty.spec.generic == (opt("-d", "172.16.2.22"),)


VERBOSE_X = """\
Chain PREROUTING (policy ACCEPT 0 packets, 0 bytes)
num      pkts      bytes target     prot opt in     out     source               destination
1        3705  4468230 KUBE-SERVICES  0    --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes service portals */

Chain POSTROUTING (policy ACCEPT 10 packets, 600 bytes)
num      pkts      bytes target     prot opt in     out     source               destination
1     1234567 987654321 MASQUERADE  6    --  *      !docker0  172.17.0.0/16        0.0.0.0/0            masq ports: 1024-65535 random-fully
2           0        0 SNAT       17   --  eth0   *       10.0.0.0/8           0.0.0.0/0            to:1.2.3.4 random-fully

Chain KUBE-SERVICES (2 references)
num      pkts      bytes target     prot opt in     out     source               destination
1           0        0 KUBE-MARK-MASQ  0    --  *      *      !10.244.0.0/16        10.96.0.1            /* default/kubernetes:https cluster IP */ tcp dpt:443
"""


def test_verbose_exact_line_numbers_numeric_protocols() -> None:
    rs = parse(VERBOSE_X)
    assert rs.format == "iptables -L -v -n -x --line-numbers"
    assert list(rs.tables) == ["nat"]
    masq = rule(rs, "POSTROUTING", 1, "nat")
    assert masq.counters == Counters(1234567, 987654321)
    assert masq.counters.exact
    spec = masq.spec
    assert spec.generic == (opt("-s", "172.17.0.0/16"), opt("-o", "docker0", neg=True),
                            opt("-p", "tcp"))
    assert spec.target == Target("MASQUERADE", (opt("--to-ports", "1024-65535"),
                                                opt("--random-fully")))
    snat = rule(rs, "POSTROUTING", 2, "nat").spec
    assert snat.generic == (opt("-s", "10.0.0.0/8"), opt("-i", "eth0"), opt("-p", "udp"))
    assert snat.target == Target("SNAT", (opt("--to-source", "1.2.3.4"), opt("--random-fully")))
    svc = rule(rs, "KUBE-SERVICES", 1, "nat").spec
    assert svc.generic == (opt("-s", "10.244.0.0/16", neg=True), opt("-d", "10.96.0.1"))
    assert svc.matches == (
        Match("comment", (opt("--comment", "default/kubernetes:https cluster IP"),)),
        Match("tcp", (opt("--dport", "443"),)),
    )
    chain = rs.tables["nat"].chains["POSTROUTING"]
    assert chain.policy_counters == Counters(10, 600)


def test_suffixed_counters_bounds() -> None:
    text = ("Chain INPUT (policy ACCEPT 5255M packets, 24T bytes)\n"
            " pkts bytes target     prot opt in     out     source               destination\n"
            " 290K   97M DROP       all  --  *      *       0.0.0.0/0            0.0.0.0/0\n"
            "   18G  27P ACCEPT     all  --  lo     *       0.0.0.0/0            0.0.0.0/0\n")
    rs = parse(text)
    assert rs.format == "iptables -L -v -n"
    policy = rs.tables["filter"].chains["INPUT"].policy_counters
    assert policy == Counters(5_255_000_000, 24 * 10**12, False, 10**6, 10**12)
    drop = rule(rs, "INPUT", 1).counters
    assert drop is not None and not drop.exact
    assert (drop.packets_min, drop.packets_max) == (289_500, 290_499)
    assert (drop.bytes_min, drop.bytes_max) == (96_499_500, 97_499_499)
    big = rule(rs, "INPUT", 2).counters
    assert big == Counters(18 * 10**9, 27 * 10**15, False, 10**9, 10**15)


def test_goto_and_empty_target_with_counters() -> None:
    text = ("Chain FORWARD (policy DROP 0 packets, 0 bytes)\n"
            " pkts bytes target     prot opt in     out     source               destination\n"
            "   12   720 net-fw     all  --  eth0   *       0.0.0.0/0            0.0.0.0/0           [goto] \n"
            "  340 20400            all  --  *      *       0.0.0.0/0            172.16.2.22\n")
    rs = parse(text)
    goto = rule(rs, "FORWARD", 1)
    assert goto.goto
    assert goto.target_name == "net-fw"
    assert goto.spec.target == Target("net-fw", goto=True)
    counting = rule(rs, "FORWARD", 2)
    assert counting.target_name is None
    assert counting.counters == Counters(340, 20400)
    assert counting.spec.generic == (opt("-d", "172.16.2.22"),)


IP6 = """\
Chain INPUT (policy DROP 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination
  18T   27T ACCEPT     all      lo     *       ::/0                 ::/0
    0     0 ACCEPT     ipv6-icmp    *      *       fe80::/10            ::/0                 ipv6-icmptype 135
    0     0            all      *      *       2001:4ca0:2001:42:225:90ff:fe6b:d60/128  ::/0
    0     0 DROP       tcp      eth0   *       ::/0                 2001:db8::/32        tcp dpt:22
"""


def test_ip6tables_blank_opt_column() -> None:
    rs = parse(IP6)
    assert rs.family is Family.IPV6
    assert rs.rule_count == 4
    assert rule(rs, "INPUT", 1).spec.generic == (opt("-i", "lo"),)
    icmp = rule(rs, "INPUT", 2).spec
    assert icmp.generic == (opt("-s", "fe80::/10"), opt("-p", "ipv6-icmp"))
    assert icmp.matches == (Match("icmp6", (opt("--icmpv6-type", "135"),)),)
    overflow = rule(rs, "INPUT", 3)
    assert overflow.target_name is None
    assert overflow.spec.generic == (opt("-s", "2001:4ca0:2001:42:225:90ff:fe6b:d60/128"),)
    tcp = rule(rs, "INPUT", 4).spec
    assert tcp.generic == (opt("-d", "2001:db8::/32"), opt("-i", "eth0"), opt("-p", "tcp"))


# ------------------------------------------------------------------------------------------
# Names (no -n) versus numbers (-n)
# ------------------------------------------------------------------------------------------

NAMES = """\
Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination
    0     0 ACCEPT     all  --  any    lo      anywhere             anywhere
    0     0 ACCEPT     udp  --  any    any     anywhere             anywhere             udp spt:bootps dpt:bootpc
    0     0 ACCEPT     tcp  --  any    any     localhost            anywhere             tcp dpt:http
    0     0 RETURN     all  --  any    any     anywhere            !localhost/8
    0     0 ACCEPT     icmp --  any    any     anywhere             anywhere             icmp echo-request
    0     0 ACCEPT     tcp  --  any    any     anywhere             anywhere             multiport dports http,https
"""

NUMBERS = """\
Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination
    0     0 ACCEPT     all  --  *      lo      0.0.0.0/0            0.0.0.0/0
    0     0 ACCEPT     udp  --  *      *       0.0.0.0/0            0.0.0.0/0            udp spt:67 dpt:68
    0     0 ACCEPT     tcp  --  *      *       127.0.0.1            0.0.0.0/0            tcp dpt:80
    0     0 RETURN     all  --  *      *       0.0.0.0/0           !127.0.0.1/8
    0     0 ACCEPT     icmp --  *      *       0.0.0.0/0            0.0.0.0/0            icmptype 8
    0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            multiport dports 80,443
"""


def test_names_and_numbers_give_the_same_specs() -> None:
    named, numeric = parse(NAMES), parse(NUMBERS)
    assert named.format == "iptables -L -v"
    assert numeric.format == "iptables -L -v -n"
    assert [spec_key(r.spec) for r in named.rules()] == [spec_key(r.spec) for r in numeric.rules()]


def test_unknown_host_names_are_kept() -> None:
    text = ("Chain POSTROUTING (policy ACCEPT)\n"
            "target     prot opt source               destination\n"
            "RETURN     all  --  k8s-cp/24            !base-address.mcast.net/4\n")
    rs = parse(text)
    assert rs.tables["nat"].chains["POSTROUTING"].rules[0].spec.generic == (
        opt("-s", "k8s-cp/24"), opt("-d", "224.0.0.0/4", neg=True))


# ------------------------------------------------------------------------------------------
# Tables and pastes
# ------------------------------------------------------------------------------------------


def test_several_tables_inferred_from_builtin_chains() -> None:
    text = """\
Chain INPUT (policy ACCEPT)
target     prot opt source               destination
Chain FORWARD (policy DROP)
target     prot opt source               destination
Chain OUTPUT (policy ACCEPT)
target     prot opt source               destination
Chain PREROUTING (policy ACCEPT)
target     prot opt source               destination
DNAT       tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:8080 to:10.0.0.2:80
Chain INPUT (policy ACCEPT)
target     prot opt source               destination
Chain OUTPUT (policy ACCEPT)
target     prot opt source               destination
Chain POSTROUTING (policy ACCEPT)
target     prot opt source               destination
MASQUERADE  all  --  10.0.0.0/8           0.0.0.0/0
Chain PREROUTING (policy ACCEPT)
target     prot opt source               destination
CT         tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:21 CT helper ftp
Chain OUTPUT (policy ACCEPT)
target     prot opt source               destination
"""
    rs = parse(text)
    assert sorted(rs.tables) == ["filter", "nat", "raw"]
    assert list(rs.tables["filter"].chains) == ["INPUT", "FORWARD", "OUTPUT"]
    assert list(rs.tables["nat"].chains) == ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]
    dnat = rs.find_rule("nat", "PREROUTING", 1).spec
    assert dnat.target == Target("DNAT", (opt("--to-destination", "10.0.0.2:80"),))
    ct = rs.find_rule("raw", "PREROUTING", 1).spec
    assert ct.target == Target("CT", (opt("--helper", "ftp"),))
    assert errors(rs) == []


@pytest.mark.parametrize("hint", ["# Table: mangle", "*mangle", "# iptables -t mangle -L -n"])
def test_table_hint_lines(hint: str) -> None:
    text = (f"{hint}\nChain OUTPUT (policy ACCEPT)\n"
            "target     prot opt source               destination\n"
            "MARK       all  --  0.0.0.0/0            0.0.0.0/0            MARK set 0x1\n")
    rs = parse(text)
    assert list(rs.tables) == ["mangle"]
    assert rs.find_rule("mangle", "OUTPUT", 1).spec.target == Target(
        "MARK", (opt("--set-xmark", "0x1/0xffffffff"),))


def test_user_chains_only_default_to_filter_or_nat_by_targets() -> None:
    user = "Chain FOO (0 references)\ntarget     prot opt source               destination\n"
    assert list(parse(user + "ACCEPT     all  --  0.0.0.0/0            0.0.0.0/0\n").tables) == [
        "filter"]
    nat = user + "DNAT       tcp  --  0.0.0.0/0            0.0.0.0/0            to:1.1.1.1\n"
    assert list(parse(nat).tables) == ["nat"]


def test_crlf_trailing_spaces_and_collapsed_whitespace() -> None:
    text = ("Chain INPUT (policy ACCEPT 0 packets, 0 bytes) \r\n"
            "num pkts bytes target prot opt in out source destination \r\n"
            "1 0 0 ACCEPT tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:22 \r\n"
            "\r\n")
    rs = parse(text)
    r = rule(rs, "INPUT", 1)
    assert r.text == "1 0 0 ACCEPT tcp -- * * 0.0.0.0/0 0.0.0.0/0 tcp dpt:22 "
    assert r.spec.matches == (Match("tcp", (opt("--dport", "22"),)),)
    assert errors(rs) == []


def test_long_interface_names_overflowing_columns() -> None:
    text = ("Chain DOCKER-INGRESS (1 references)\n"
            " pkts bytes target     prot opt in     out     source               destination\n"
            "    0     0 ACCEPT     6    --  *      docker_gwbridge  0.0.0.0/0            "
            "172.18.0.2           tcp dpt:8080\n")
    spec = parse(text).tables["filter"].chains["DOCKER-INGRESS"].rules[0].spec
    assert spec.generic == (opt("-d", "172.18.0.2"), opt("-o", "docker_gwbridge"),
                            opt("-p", "tcp"))


def test_command_hint_names_the_chain_of_headerless_rows() -> None:
    text = ('#iptables -L libvirt-in -n | grep vnet0 | tr -s " "\n'
            "FI-vnet0 all -- 0.0.0.0/0 0.0.0.0/0 [goto] PHYSDEV match --physdev-in vnet0 \n")
    rs = parse(text)
    r = rs.find_rule("filter", "libvirt-in", 1)
    assert r.goto
    assert r.spec.target == Target("FI-vnet0", goto=True)


# ------------------------------------------------------------------------------------------
# Diagnostics
# ------------------------------------------------------------------------------------------

BAD = """\
Chain INPUT (policy ACCEPT 0 packets, 0 bytes)
 pkts bytes target     prot opt in     out     source               destination
    0     0 ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0
    0     0 ACCEPT     all  --  *
   1X     0 ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0
Chain BROKEN (policy
    5   300 DROP       all  --  *      *       0.0.0.0/0            0.0.0.0/0
"""


def test_lenient_keeps_good_rows_and_reports_file_line_col() -> None:
    rs = parse(BAD)
    assert errors(rs) == [
        "dump.txt:4:34: error: row has too few columns: expected 9, found 6",
        "dump.txt:5:4: error: bad counter '1X'",
        "dump.txt:6:14: error: malformed chain header: expected `Chain NAME (policy P ...)` "
        "or `Chain NAME (N references)`",
    ]
    assert rs.diagnostics[0].text == "    0     0 ACCEPT     all  --  *"
    assert rs.rule_count == 2
    assert rs.tables["filter"].chains["BROKEN"].rules[0].target_name == "DROP"


def test_strict_raises_at_the_first_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_listing(BAD.splitlines(), "dump.txt", strict=True)
    assert info.value.diagnostic.line == 4
    assert info.value.diagnostic.col == 34


def test_rows_before_any_chain_header() -> None:
    rs = parse("ACCEPT     all  --  0.0.0.0/0            0.0.0.0/0\n")
    assert errors(rs) == ["dump.txt:1:1: error: rule row before any `Chain` header"]


def test_malformed_chain_parentheses() -> None:
    rs = parse("Chain X (policy ACCEPT 12 packets)\n")
    assert len(errors(rs)) == 1
    assert errors(rs)[0].startswith("dump.txt:1:10: error: malformed chain header")


# ------------------------------------------------------------------------------------------
# Detection
# ------------------------------------------------------------------------------------------


def test_looks_like_listing() -> None:
    assert looks_like_listing(PLAIN.splitlines())
    assert looks_like_listing(["", "Chain FOO (3 references)"])
    assert looks_like_listing(["num pkts bytes target prot opt in out source destination"])
    assert not looks_like_listing(["*filter", ":INPUT ACCEPT [0:0]", "-A INPUT -j ACCEPT"])
    assert not looks_like_listing(["-P INPUT ACCEPT", "-A INPUT -j DROP"])
    assert not looks_like_listing([])


# ------------------------------------------------------------------------------------------
# Robustness: arbitrary text never raises anything but ParseError (strict) and always resolves
# ------------------------------------------------------------------------------------------

_WORDS = st.sampled_from([
    "Chain", "INPUT", "FOO", "(policy", "ACCEPT", "DROP)", "(3", "references)", "packets,",
    "bytes)", "12K", "0", "num", "pkts", "bytes", "target", "prot", "opt", "in", "out",
    "source", "destination", "all", "tcp", "!tcp", "--", "-f", "*", "eth0", "0.0.0.0/0",
    "!10.0.0.0/8", "::/0", "anywhere", "/*", "*/", "tcp", "dpt:80", "[goto]", "MARK", "or",
    "0x4000", "to:1.2.3.4", "!", "match-set", "recent:", "limit:", "\"", "#", "*nat", "<x",
])
_LINES = st.lists(st.lists(_WORDS | st.text(max_size=6), max_size=14).map(" ".join),
                  max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_LINES)
def test_arbitrary_text_never_crashes(lines: list[str]) -> None:
    rs = parse_listing(lines, "fuzz.txt", strict=False)
    rs.resolve_all()
    with contextlib.suppress(ParseError):
        parse_listing(lines, "fuzz.txt", strict=True).resolve_all()

"""The `-L` extra column back to iptables-save options: one case per printed form."""

from __future__ import annotations

import pytest

from parser.extra import (
    KNOWN_MATCH_MODULES,
    MATCH_ELEMENTS,
    TARGET_ELEMENTS,
    Extra,
    parse_extra,
)
from ruleset.model import Family, Match, Option


def opt(name: str, *values: str, neg: bool = False) -> Option:
    return Option(name, tuple(values), neg)


def m(module: str, *options: Option) -> Match:
    return Match(module, tuple(options))


MATCH_CASES: list[tuple[str, tuple[Match, ...]]] = [
    ("tcp dpt:80", (m("tcp", opt("--dport", "80")),)),
    ("udp spt:67 dpt:68", (m("udp", opt("--sport", "67"), opt("--dport", "68")),)),
    ("udp spt:67 udp dpt:68", (m("udp", opt("--sport", "67")), m("udp", opt("--dport", "68")))),
    ("tcp spts:1024:65535 dpt:!22",
     (m("tcp", opt("--sport", "1024:65535"), opt("--dport", "22", neg=True)),)),
    ("tcp dpts:http:https", (m("tcp", opt("--dport", "80:443")),)),
    ("multiport dports 80,443", (m("multiport", opt("--dports", "80,443")),)),
    ("multiport sports  !http,1000:2000",
     (m("multiport", opt("--sports", "80,1000:2000", neg=True)),)),
    ("tcp flags:0x17/0x02", (m("tcp", opt("--tcp-flags", "FIN,SYN,RST,ACK", "SYN")),)),
    ("tcp flags:!0x17/0x02",
     (m("tcp", opt("--tcp-flags", "FIN,SYN,RST,ACK", "SYN", neg=True)),)),
    ("tcpflags: FIN,SYN,RST,ACK/SYN", (m("tcp", opt("--tcp-flags", "FIN,SYN,RST,ACK", "SYN")),)),
    ("tcpflags:! 0x17/0x02", (m("tcp", opt("--tcp-flags", "FIN,SYN,RST,ACK", "SYN", neg=True)),)),
    ("tcp dpt:22flags: 0x17/0x02",
     (m("tcp", opt("--dport", "22"), opt("--tcp-flags", "FIN,SYN,RST,ACK", "SYN")),)),
    ("tcp flags:0x3F/0x00", (m("tcp", opt("--tcp-flags", "FIN,SYN,RST,PSH,ACK,URG", "NONE")),)),
    ("tcp option=!5", (m("tcp", opt("--tcp-option", "5", neg=True)),)),
    ("icmptype 8", (m("icmp", opt("--icmp-type", "8")),)),
    ("icmptype 3 code 3", (m("icmp", opt("--icmp-type", "3/3")),)),
    ("icmp !type 8", (m("icmp", opt("--icmp-type", "8", neg=True)),)),
    ("icmp echo-request", (m("icmp", opt("--icmp-type", "8")),)),
    ("icmp port-unreachable", (m("icmp", opt("--icmp-type", "3/3")),)),
    ("icmp any", (m("icmp", opt("--icmp-type", "any")),)),
    ("ipv6-icmptype 135", (m("icmp6", opt("--icmpv6-type", "135")),)),
    ("ipv6-icmp neighbour-solicitation", (m("icmp6", opt("--icmpv6-type", "135")),)),
    ("state RELATED,ESTABLISHED", (m("state", opt("--state", "RELATED,ESTABLISHED")),)),
    ("ctstate NEW", (m("conntrack", opt("--ctstate", "NEW")),)),
    ("! ctstate DNAT", (m("conntrack", opt("--ctstate", "DNAT", neg=True)),)),
    ("ctstate NEW ! ctproto 6 ctorigdstport 53",
     (m("conntrack", opt("--ctstate", "NEW"), opt("--ctproto", "6", neg=True),
        opt("--ctorigdstport", "53")),)),
    ("ctstate RELATED,ESTABLISHED ctdir REPLY",
     (m("conntrack", opt("--ctstate", "RELATED,ESTABLISHED"), opt("--ctdir", "REPLY")),)),
    ("MAC FA:16:3E:A8:97:6F", (m("mac", opt("--mac-source", "FA:16:3E:A8:97:6F")),)),
    ("MAC ! fa:16:3e:a8:97:6f", (m("mac", opt("--mac-source", "fa:16:3e:a8:97:6f", neg=True)),)),
    ("PHYSDEV match --physdev-out tapX --physdev-is-bridged",
     (m("physdev", opt("--physdev-out", "tapX"), opt("--physdev-is-bridged")),)),
    ("PHYSDEV match ! --physdev-in vnet0 ! --physdev-is-bridged",
     (m("physdev", opt("--physdev-in", "vnet0", neg=True),
        opt("--physdev-is-bridged", neg=True)),)),
    ("match-set NAME src,dst", (m("set", opt("--match-set", "NAME", "src,dst")),)),
    ("! match-set docker-ext-bridges-v4 dst",
     (m("set", opt("--match-set", "docker-ext-bridges-v4", "dst", neg=True)),)),
    ("match-set s src return-nomatch ! update-counters",
     (m("set", opt("--match-set", "s", "src"), opt("--return-nomatch"),
        opt("--update-counters", neg=True)),)),
    ("mark match 0x4000/0x4000", (m("mark", opt("--mark", "0x4000/0x4000")),)),
    ("mark match ! 0x2/0xffff", (m("mark", opt("--mark", "0x2/0xffff", neg=True)),)),
    ("connmark match 0x1", (m("connmark", opt("--mark", "0x1")),)),
    ("ADDRTYPE match dst-type LOCAL", (m("addrtype", opt("--dst-type", "LOCAL")),)),
    ("ADDRTYPE match src-type !LOCAL limit-out",
     (m("addrtype", opt("--src-type", "LOCAL", neg=True), opt("--limit-iface-out")),)),
    ("source IP range 1.1.1.1-1.1.1.9", (m("iprange", opt("--src-range", "1.1.1.1-1.1.1.9")),)),
    ("destination IP range ! 10.0.0.1-10.0.0.5",
     (m("iprange", opt("--dst-range", "10.0.0.1-10.0.0.5", neg=True)),)),
    ("length 0:100", (m("length", opt("--length", "0:100")),)),
    ("length !1400:65535", (m("length", opt("--length", "1400:65535", neg=True)),)),
    ("limit: avg 10/sec burst 5", (m("limit", opt("--limit", "10/sec")),)),
    ("limit: avg 3/hour burst 10",
     (m("limit", opt("--limit", "3/hour"), opt("--limit-burst", "10")),)),
    ("recent: UPDATE seconds: 60 hit_count: 41 name: ratessh side: source mask: 255.255.255.255",
     (m("recent", opt("--update"), opt("--seconds", "60"), opt("--hitcount", "41"),
        opt("--name", "ratessh"), opt("--mask", "255.255.255.255"), opt("--rsource")),)),
    ("recent: SET name: SSHA side: source",
     (m("recent", opt("--set"), opt("--name", "SSHA"), opt("--rsource")),)),
    ("! recent: CHECK TTL-Match name: x side: dest",
     (m("recent", opt("--rcheck", neg=True), opt("--rttl"), opt("--name", "x"), opt("--rdest")),)),
    ("owner UID match 1337", (m("owner", opt("--uid-owner", "1337")),)),
    ("! owner UID match amnesia", (m("owner", opt("--uid-owner", "amnesia", neg=True)),)),
    ("owner GID match 0", (m("owner", opt("--gid-owner", "0")),)),
    ("owner socket exists", (m("owner", opt("--socket-exists")),)),
    ("statistic mode random probability 0.50000000000",
     (m("statistic", opt("--mode", "random"), opt("--probability", "0.50000000000")),)),
    ("statistic mode nth every 2 packet 1",
     (m("statistic", opt("--mode", "nth"), opt("--every", "2"), opt("--packet", "1")),)),
    ("statistic mode nth every 2",
     (m("statistic", opt("--mode", "nth"), opt("--every", "2"), opt("--packet", "0")),)),
    ("/* kubernetes service portals */",
     (m("comment", opt("--comment", "kubernetes service portals")),)),
    ("/* default/svc:http */ tcp dpt:30080",
     (m("comment", opt("--comment", "default/svc:http")), m("tcp", opt("--dport", "30080")))),
    ("tcpmss match 1400:1536", (m("tcpmss", opt("--mss", "1400:1536")),)),
    ("PKTTYPE = broadcast", (m("pkttype", opt("--pkt-type", "broadcast")),)),
    ("PKTTYPE != multicast", (m("pkttype", opt("--pkt-type", "multicast", neg=True)),)),
    ("DSCP match 0x2e", (m("dscp", opt("--dscp", "0x2e")),)),
    ('helper match "ftp"', (m("helper", opt("--helper", "ftp")),)),
    ("TTL match TTL == 64", (m("ttl", opt("--ttl-eq", "64")),)),
    ("HL match HL < 2", (m("hl", opt("--hl-lt", "2")),)),
    ("policy match dir in pol ipsec", (m("policy", opt("--dir", "in"), opt("--pol", "ipsec")),)),
    ("rpfilter loose", (m("rpfilter", opt("--loose")),)),
    ("nfacct-name  ct_state_invalid", (m("nfacct", opt("--nfacct-name", "ct_state_invalid")),)),
]


@pytest.mark.parametrize(("text", "expected"), MATCH_CASES, ids=[c[0] for c in MATCH_CASES])
def test_match_forms(text: str, expected: tuple[Match, ...]) -> None:
    extra = parse_extra(text)
    assert extra.matches == expected
    assert extra.opaque == ()
    assert extra.target_options == ()


TARGET_CASES: list[tuple[str, str, tuple[Option, ...]]] = [
    ("REJECT", "reject-with icmp-port-unreachable",
     (opt("--reject-with", "icmp-port-unreachable"),)),
    ("REJECT", "reject-with icmp6-port-unreachable",
     (opt("--reject-with", "icmp6-port-unreachable"),)),
    ("LOG", 'LOG flags 0 level 4 prefix "x "', (opt("--log-prefix", "x "),)),
    ("LOG", 'LOG flags 4 level 6 prefix "Shorewall:logflags:DROP:"',
     (opt("--log-prefix", "Shorewall:logflags:DROP:"), opt("--log-level", "6"),
      opt("--log-ip-options"))),
    ("LOG", 'LOG level debug uid prefix "Dropped outbound packet: "',
     (opt("--log-prefix", "Dropped outbound packet: "), opt("--log-level", "7"), opt("--log-uid"))),
    ("LOG", "LOG flags 0 level 4", ()),
    ("MARK", "MARK set 0x1", (opt("--set-xmark", "0x1/0xffffffff"),)),
    ("MARK", "MARK or 0x4000", (opt("--set-xmark", "0x4000/0x4000"),)),
    ("MARK", "MARK xor 0x4000", (opt("--set-xmark", "0x4000/0x0"),)),
    ("MARK", "MARK xset 0x4000/0x0", (opt("--set-xmark", "0x4000/0x0"),)),
    ("MARK", "MARK and 0xffff7fff", (opt("--set-xmark", "0x0/0x8000"),)),
    ("CONNMARK", "CONNMARK set 0x2", (opt("--set-xmark", "0x2/0xffffffff"),)),
    ("CONNMARK", "CONNMARK save",
     (opt("--save-mark"), opt("--nfmask", "0xffffffff"), opt("--ctmask", "0xffffffff"))),
    ("CONNMARK", "CONNMARK restore mask 0xff",
     (opt("--restore-mark"), opt("--nfmask", "0xff"), opt("--ctmask", "0xff"))),
    ("DNAT", "to:192.0.2.2:80", (opt("--to-destination", "192.0.2.2:80"),)),
    ("DNAT", "to:[2001:db8::1]:80 persistent",
     (opt("--to-destination", "[2001:db8::1]:80"), opt("--persistent"))),
    ("SNAT", "to:1.2.3.4 random-fully", (opt("--to-source", "1.2.3.4"), opt("--random-fully"))),
    ("MASQUERADE", "masq ports: 1024-65535", (opt("--to-ports", "1024-65535"),)),
    ("MASQUERADE", "random-fully", (opt("--random-fully"),)),
    ("REDIRECT", "redir ports 15006", (opt("--to-ports", "15006"),)),
    ("CT", "CT notrack", (opt("--notrack"),)),
    ("CT", "CT helper ftp", (opt("--helper", "ftp"),)),
    ("CT", "CT zone 1", (opt("--zone", "1"),)),
    ("NFLOG", "nflog-prefix x nflog-group 2",
     (opt("--nflog-prefix", "x"), opt("--nflog-group", "2"))),
    ("NFLOG", 'nflog-prefix "a b" nflog-threshold 10',
     (opt("--nflog-prefix", "a b"), opt("--nflog-threshold", "10"))),
    ("TCPMSS", "TCPMSS clamp to PMTU", (opt("--clamp-mss-to-pmtu"),)),
    ("TCPMSS", "TCPMSS set 1400", (opt("--set-mss", "1400"),)),
    ("NFQUEUE", "NFQUEUE num 3 bypass", (opt("--queue-num", "3"), opt("--queue-bypass"))),
    ("CHECKSUM", "CHECKSUM fill", (opt("--checksum-fill"),)),
]


@pytest.mark.parametrize(("target", "text", "expected"), TARGET_CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in TARGET_CASES])
def test_target_forms(target: str, text: str, expected: tuple[Option, ...]) -> None:
    extra = parse_extra(text, target=target)
    assert extra.target_options == expected
    assert extra.matches == ()
    assert extra.opaque == ()


def test_matches_then_target_options() -> None:
    extra = parse_extra("/* web */ tcp dpt:8080 to:192.0.2.2:80", target="DNAT")
    assert extra.matches == (m("comment", opt("--comment", "web")),
                             m("tcp", opt("--dport", "8080")))
    assert extra.target_options == (opt("--to-destination", "192.0.2.2:80"),)


def test_goto_marker() -> None:
    extra = parse_extra("[goto] PHYSDEV match --physdev-in vnet0")
    assert extra.goto
    assert extra.matches == (m("physdev", opt("--physdev-in", "vnet0")),)


@pytest.mark.parametrize(("text", "comment", "after"), [
    ("/* Allow traffic from defined IP/MAC pairs. */", "Allow traffic from defined IP/MAC pairs.",
     ()),
    ("/* a */ b */ MARK or 0x4000", "a */ b", (opt("--set-xmark", "0x4000/0x4000"),)),
    ("/* spaced   text  */", "spaced   text ", ()),
    ("/* x /* y */", "x /* y", ()),
])
def test_comments(text: str, comment: str, after: tuple[Option, ...]) -> None:
    extra = parse_extra(text, target="MARK")
    assert extra.matches[0] == m("comment", opt("--comment", comment))
    assert extra.target_options == after
    assert extra.opaque == ()


def test_target_options_only_for_their_target() -> None:
    # `MARK or 0x4000` after a jump to a user chain is not MARK's options: kept opaque.
    extra = parse_extra("MARK or 0x4000", target="KUBE-MARK-MASQ")
    assert extra.target_options == ()
    assert extra.opaque == ("MARK or 0x4000",)


def test_unknown_text_is_kept_and_known_items_still_parse() -> None:
    extra = parse_extra("foo bar baz tcp dpt:http u32 0x0>>0x16&0x3c", target="ACCEPT")
    assert extra.matches == (m("tcp", opt("--dport", "80")),)
    assert extra.opaque == ("foo bar baz", "u32 0x0>>0x16&0x3c")


def test_glued_items_from_libvirt_golden_files() -> None:
    extra = parse_extra("MAC 01:02:03:04:05:06 DSCP match 0x02state NEW,ESTABLISHED ctdir REPLY")
    assert [x.module for x in extra.matches] == ["mac", "dscp", "state", "conntrack"]
    assert extra.opaque == ()


def test_service_names_map_to_numbers_unknown_kept() -> None:
    extra = parse_extra("udp spt:bootps dpt:bootpc udp dpt:domain tcp dpt:no-such-service")
    ports = [o.values[0] for x in extra.matches for o in x.options]
    assert ports == ["67", "68", "53", "no-such-service"]


def test_ipv6_family_is_accepted() -> None:
    extra = parse_extra("ipv6-icmptype 128", family=Family.IPV6)
    assert extra.matches == (m("icmp6", opt("--icmpv6-type", "128")),)


@pytest.mark.parametrize("text", [
    "", "!", "! !", "/*", "*/ */", "tcp", "tcp dpt:", "MARK", "to:", "recent:", "limit: avg",
    "match-set", "\x00\x01", "LOG prefix \"unterminated", "multiport dports", "[goto]",
])
def test_never_raises(text: str) -> None:
    for target in (None, "MARK", "LOG", "DNAT", "REJECT"):
        parse_extra(text, target=target)


def test_tables_cover_the_brief() -> None:
    for word in ("tcp", "udp", "multiport", "icmp", "ipv6-icmptype", "state", "ctstate", "MAC",
                 "PHYSDEV", "match-set", "mark", "connmark", "ADDRTYPE", "source", "length",
                 "limit:", "recent:", "owner", "statistic"):
        assert word in MATCH_ELEMENTS
    for target in ("REJECT", "LOG", "MARK", "CONNMARK", "DNAT", "SNAT", "MASQUERADE", "REDIRECT",
                   "CT", "NFLOG", "TCPMSS"):
        assert target in TARGET_ELEMENTS
    assert {"comment", "icmp6", "set", "conntrack"} <= KNOWN_MATCH_MODULES


def _first_word(text: str) -> str:
    return text.split()[1] if text.startswith("! ") else text.split()[0]


# Comments and glued tcp flags are split off by the dispatcher (tested above), not by an element.
ELEMENT_CASES = [c for c in MATCH_CASES[:12] + MATCH_CASES[-12:]
                 if not _first_word(c[0]).startswith(("/*", "tcpflags:"))]


@pytest.mark.parametrize(("text", "expected"), ELEMENT_CASES, ids=[c[0] for c in ELEMENT_CASES])
def test_elements_are_pyparsing_grammar(text: str, expected: tuple[Match, ...]) -> None:
    """Each element parses its item on its own through pyparsing (the dispatcher's fast path
    runs the same pattern)."""
    first = _first_word(text)
    element, _builder = MATCH_ELEMENTS[first]
    body = text[2:] if text.startswith("! ") else text
    result = element.parse_string(body)
    assert result[0].strip()
    assert element.name


# Less common modules and targets, as iptables 1.8.9 prints them (from the kernel catalog).
MORE_MATCHES: list[tuple[str, tuple[Match, ...]]] = [
    ("limit: up to 10/sec burst 20 mode srcip",
     (m("hashlimit", opt("--hashlimit-upto", "10/sec"), opt("--hashlimit-burst", "20"),
        opt("--hashlimit-mode", "srcip")),)),
    ("limit: above 100/sec burst 5 mode srcip-dstport htable-expire 30000",
     (m("hashlimit", opt("--hashlimit-above", "100/sec"), opt("--hashlimit-burst", "5"),
        opt("--hashlimit-mode", "srcip,dstport"), opt("--hashlimit-htable-expire", "30000")),)),
    ("owner GID match 1000 incl. suppl. groups",
     (m("owner", opt("--gid-owner", "1000"), opt("--suppl-groups")),)),
    ("socket --transparent", (m("socket", opt("--transparent")),)),
    ("tos match0x10/0x3f", (m("tos", opt("--tos", "0x10/0x3f")),)),
    ("#conn src/32 > 20", (m("connlimit", opt("--connlimit-above", "20"),
                             opt("--connlimit-mask", "32"), opt("--connlimit-saddr")),)),
    ("esp spis:256:512", (m("esp", opt("--espspi", "256:512")),)),
    ("ah spi:500", (m("ah", opt("--ahspi", "500")),)),
    ("quota: 1000000 bytes", (m("quota", opt("--quota", "1000000")),)),
    ("cpu 0", (m("cpu", opt("--cpu", "0")),)),
    ("cgroup 1", (m("cgroup", opt("--cgroup", "1")),)),
    ("connlabel 1", (m("connlabel", opt("--label", "1")),)),
    ("realm 0x1", (m("realm", opt("--realm", "0x1")),)),
    ("src-group 0x1", (m("devgroup", opt("--src-group", "0x1")),)),
    ("ECN match CWR", (m("ecn", opt("--ecn-tcp-cwr")),)),
    ("connbytes 10000 connbytes mode bytes connbytes direction both",
     (m("connbytes", opt("--connbytes", "10000"), opt("--connbytes-mode", "bytes"),
        opt("--connbytes-dir", "both")),)),
    ("cluster node_mask=0x00000001 total_nodes=2 hash_seed=0xdeadbeef",
     (m("cluster", opt("--cluster-local-nodemask", "0x00000001"),
        opt("--cluster-total-nodes", "2"), opt("--cluster-hash-seed", "0xdeadbeef")),)),
    ('u32 "0x0>>0x16&0x3c@0x0>>0x10=0x50"',
     (m("u32", opt("--u32", "0x0>>0x16&0x3c@0x0>>0x10=0x50")),)),
    ("TIME from 09:00:00 to 17:00:00 on Mon,Tue,Wed,Thu,Fri UTC",
     (m("time", opt("--timestart", "09:00:00"), opt("--timestop", "17:00:00"),
        opt("--weekdays", "Mon,Tue,Wed,Thu,Fri"), opt("--datestop", "2038-01-19T03:14:07")),)),
    ('STRING match  "GET /admin" ALGO name bm',
     (m("string", opt("--string", "GET /admin"), opt("--algo", "bm")),)),
    ('STRING match  "|deadbeef|" ALGO name kmp FROM 20 TO 200',
     (m("string", opt("--hex-string", "|deadbeef|"), opt("--algo", "kmp"), opt("--from", "20"),
        opt("--to", "200")),)),
    ("policy match dir in pol ipsec proto 50",
     (m("policy", opt("--dir", "in"), opt("--pol", "ipsec"), opt("--proto", "esp")),)),
    ("frag ids:100:200 first", (m("frag", opt("--fragid", "100:200"), opt("--fragfirst")),)),
    ("rt type:0 segslefts:0:10", (m("rt", opt("--rt-type", "0"), opt("--rt-segsleft", "0:10")),)),
    ("hbh length:8", (m("hbh", opt("--hbh-len", "8")),)),
    ("mh binding-update", (m("mh", opt("--mh-type", "5")),)),
    ("ipv6header flags:0x90 soft",
     (m("ipv6header", opt("--header", "hop-by-hop,ipv6-frag"), opt("--soft")),)),
]


@pytest.mark.parametrize(("text", "expected"), MORE_MATCHES, ids=[c[0] for c in MORE_MATCHES])
def test_less_common_match_forms(text: str, expected: tuple[Match, ...]) -> None:
    extra = parse_extra(text)
    assert extra.matches == expected
    assert extra.opaque == ()


MORE_TARGETS: list[tuple[str, str, tuple[Option, ...]]] = [
    ("NOTRACK", "udp dpt:123 NOTRACK", ()),
    ("TTL", "TTL set to 64", (opt("--ttl-set", "64"),)),
    ("TTL", "TTL decrement by 1", (opt("--ttl-dec", "1"),)),
    ("CLASSIFY", "CLASSIFY set 1:10", (opt("--set-class", "0001:0010"),)),
    ("CONNSECMARK", "CONNSECMARK restore", (opt("--restore"),)),
    ("TOS", "TOS set 0x10/0x3f", (opt("--set-tos", "0x10/0x3f"),)),
    ("DSCP", "DSCP set 0x0a", (opt("--set-dscp", "0x0a"),)),
    ("ECN", "ECN TCP remove", (opt("--ecn-tcp-remove"),)),
    ("TEE", "TEE gw:10.0.0.99", (opt("--gateway", "10.0.0.99"),)),
    ("TPROXY", "tcp dpt:80 TPROXY redirect 127.0.0.1:3128 mark 0x1/0x1",
     (opt("--on-port", "3128"), opt("--on-ip", "127.0.0.1"), opt("--tproxy-mark", "0x1/0x1"))),
    ("AUDIT", "AUDIT drop", (opt("--type", "drop"),)),
    ("SET", "add-set iptscope-allow src exist timeout 60",
     (opt("--add-set", "iptscope-allow", "src"), opt("--exist"), opt("--timeout", "60"))),
    ("NETMAP", "to:10.10.0.0/24", (opt("--to", "10.10.0.0/24"),)),
    ("RATEEST", "name eth0 interval 250.0ms ewmalog 1.0s",
     (opt("--rateest-name", "eth0"), opt("--rateest-interval", "250.0ms"),
      opt("--rateest-ewmalog", "1.0s"))),
]


@pytest.mark.parametrize(("target", "text", "expected"), MORE_TARGETS,
                         ids=[f"{c[0]}: {c[1]}" for c in MORE_TARGETS])
def test_less_common_target_forms(target: str, text: str, expected: tuple[Option, ...]) -> None:
    extra = parse_extra(text, target=target)
    assert extra.target_options == expected
    assert extra.opaque == ()


def test_dscp_match_and_target_share_a_first_word() -> None:
    assert parse_extra("DSCP match 0x0a DSCP set 0x22", target="DSCP") == Extra(
        matches=(m("dscp", opt("--dscp", "0x0a")),), target_options=(opt("--set-dscp", "0x22"),))

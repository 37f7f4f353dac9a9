"""The trailing "extra" column of `iptables -L`: match and target text back to save options.

iptables prints each match with its extension's `print` function and then the target's, all in
one free-text column (`tcp dpt:80 /* web */ MARK or 0x4000`). This module turns that text back
into the options `iptables-save` would print for the same rule (the extension's `save`
function), so that a `-L` dump and a save dump of one ruleset compare equal:

    tcp spt:67 dpt:68                 -> -m tcp --sport 67 --dport 68
    multiport dports 80,443           -> -m multiport --dports 80,443
    state RELATED,ESTABLISHED         -> -m state --state RELATED,ESTABLISHED
    ! ctstate DNAT                    -> -m conntrack ! --ctstate DNAT
    MARK or 0x4000                    -> -j MARK --set-xmark 0x4000/0x4000

There is one pyparsing element per match module and per target (`MATCH_ELEMENTS`,
`TARGET_ELEMENTS`), each a `pp.Regex` with named groups, chosen by the first word of each item,
so a line costs a dictionary look-up and one regular-expression match per item (the dispatcher
runs the element's compiled pattern in place; `element.parse_string(item)` gives the same
groups and is what the grammar tests use). The elements only recognise text; the `_build_*`
functions make model objects from their named groups. Text that no element recognises is
kept, word runs joined, in `Extra.opaque`: an unknown module is never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import pyparsing as pp

from parser.listing_names import (
    ICMP6_TYPES,
    ICMP_TYPES,
    LOG_FLAG_BITS,
    LOG_FLAG_WORDS,
    LOG_LEVELS,
    service_port,
    tcp_flag_names,
)
from parser.tokens import is_count
from ruleset.model import Family, Match, Option
from ruleset.spec import PROTOCOL_NAMES

__all__ = ["Extra", "parse_extra"]


@dataclass(frozen=True, slots=True)
class Extra:
    """What the extra column says: matches in order, the target's options, `[goto]`, and the
    words no element recognised (kept verbatim, never dropped)."""

    matches: tuple[Match, ...] = ()
    target_options: tuple[Option, ...] = ()
    goto: bool = False
    opaque: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Grammar: one element per module / target, each a single `pp.Regex` with named groups (one
# regex per item keeps a 55,000-rule listing cheap to resolve). Elements start at the item's
# keyword; a standalone `!` before the keyword is consumed by the dispatcher and passed on.
# Repeated options inside an item are split by the builders with the `_*_OPTS` patterns.
# --------------------------------------------------------------------------------------------


def _element(pattern: str, name: str) -> pp.Regex:
    element = pp.Regex(pattern)
    element.set_name(name)
    return element


_CT_NAMES = (r"ct(?:state|proto|origsrcport|origdstport|replsrcport|repldstport"
             r"|origsrc|origdst|replsrc|repldst|status|expire|dir)")

# Old iptables glue `flags:` to what precedes it: `tcp dpt:22flags: 0x17/0x02`, `tcpflags: ...`.
tcp_element = _element(
    r"(?P<module>tcp|udp|sctp|dccp|udplite)(?=\s|flags:|$)(?P<opts>(?:\s+[sd]pts?:!?"
    r"(?:(?!flags:)\S)+|\s*flags:\s*!?\s*[0-9A-Za-z,]+/[0-9A-Za-z,]+|\s+option=!?\d+)*)",
    "tcp/udp match")
_TCP_OPTS = re.compile(
    r"(?P<dir>[sd])pts?:(?P<neg>!)?(?P<val>(?:(?!flags:)\S)+)"
    r"|flags:\s*(?P<fneg>!)?\s*(?P<mask>[0-9A-Za-z,]+)/(?P<cmp>[0-9A-Za-z,]+)"
    r"|option=(?P<oneg>!)?(?P<oval>\d+)")

multiport_element = _element(
    r"multiport\s+(?P<kind>sports|dports|ports)\s+(?P<neg>!\s*)?(?P<ports>\S+)",
    "multiport match")
state_element = _element(r"state\s+(?P<neg>!\s*)?(?P<states>\S+)", "state match")
conntrack_element = _element(
    rf"(?P<opts>{_CT_NAMES}(?!\S)\s+\S+(?:\s+(?:!\s+)?{_CT_NAMES}(?!\S)\s+\S+)*)",
    "conntrack match")
_CT_OPTS = re.compile(rf"(?P<neg>!\s+)?(?P<name>{_CT_NAMES})\s+(?P<val>\S+)")
mac_element = _element(
    r"MAC\s+(?P<neg>!\s*)?(?P<mac>[0-9A-Za-z]{2}(?::[0-9A-Za-z]{2}){5})(?!\S)", "mac match")
physdev_element = _element(
    r"PHYSDEV\s+match(?P<opts>(?:\s+(?:!\s+)?(?:--physdev-is-(?:in|out|bridged)(?!\S)"
    r"|--physdev-(?:in|out)\s+\S+))*)",
    "physdev match")
_PHYSDEV_OPTS = re.compile(
    r"(?P<neg>!\s+)?(?:(?P<flag>--physdev-is-(?:in|out|bridged))(?!\S)"
    r"|(?P<name>--physdev-(?:in|out))\s+(?P<val>\S+))")
_SET_FLAGS = r"return-nomatch|update-counters|update-subcounters|(?:packets|bytes)-(?:eq|lt|gt)"
set_element = _element(
    r"match-set\s+(?P<name>\S+)\s+(?P<dims>(?:src|dst)(?:,(?:src|dst))*)(?!\S)"
    rf"(?P<opts>(?:\s+(?:!\s+)?(?:{_SET_FLAGS})(?!\S)(?:\s+\d+)?)*)",
    "set match")
_SET_OPTS = re.compile(rf"(?P<neg>!\s+)?(?P<flag>{_SET_FLAGS})(?!\S)(?:\s+(?P<val>\d+))?")
mark_element = _element(
    r"(?P<module>mark|connmark)\s+match\s+(?P<neg>!\s*)?(?P<val>\S+)", "mark match")
addrtype_element = _element(
    r"ADDRTYPE\s+match(?P<opts>(?:\s+(?:src-type|dst-type)\s+!?[A-Z_,]+(?!\S)"
    r"|\s+limit-(?:in|out)(?!\S))*)",
    "addrtype match")
_ADDRTYPE_OPTS = re.compile(
    r"(?P<name>src-type|dst-type)\s+(?P<neg>!)?(?P<val>[A-Z_,]+)|(?P<limit>limit-(?:in|out))")
iprange_element = _element(
    r"(?P<opts>(?:source|destination) IP range\s+(?:!\s*)?\S+"
    r"(?:\s+(?:source|destination) IP range\s+(?:!\s*)?\S+)?)",
    "iprange match")
_IPRANGE_OPTS = re.compile(r"(?P<dir>source|destination) IP range\s+(?P<neg>!\s*)?(?P<val>\S+)")
length_element = _element(r"length\s+(?P<neg>!\s*)?(?P<val>\S+)", "length match")
# `limit:` starts both the limit match (`limit: avg 10/sec burst 5`) and hashlimit
# (`limit: up to 10/sec burst 20 mode srcip htable-expire 30000`; -L never prints its name).
_HASHLIMIT_KEYS = (r"htable-size|htable-max|htable-gcinterval|htable-expire|srcmask|dstmask"
                   r"|rate-interval")
limit_element = _element(
    r"limit:\s+(?:avg\s+(?P<rate>\S+)\s+burst\s+(?P<burst>\d+)"
    r"|(?P<hash>up to|above)\s+(?P<hrate>\S+)(?:\s+burst\s+(?P<hburst>\d+))?"
    rf"(?:\s+mode\s+(?P<mode>\S+))?(?P<opts>(?:\s+(?:{_HASHLIMIT_KEYS})\s+\S+)*))",
    "limit / hashlimit match")
_HASHLIMIT_OPTS = re.compile(rf"(?P<key>{_HASHLIMIT_KEYS})\s+(?P<val>\S+)")
recent_element = _element(
    r"recent:(?P<opts>(?:\s+(?:SET|CHECK|UPDATE|REMOVE|reap|TTL-Match)(?!\S)"
    r"|\s+(?:seconds|hit_count|name|side|mask):\s+\S+)*)",
    "recent match")
_RECENT_OPTS = re.compile(
    r"(?P<op>SET|CHECK|UPDATE|REMOVE)(?!\S)|(?P<flag>reap|TTL-Match)(?!\S)"
    r"|(?P<key>seconds|hit_count|name|side|mask):\s+(?P<val>\S+)")
owner_element = _element(
    r"owner\s+(?:(?P<what>UID|GID|PID|SID|CMD)\s+match\s+(?P<val>\S+)"
    r"(?P<suppl>\s+incl\.\s+suppl\.\s+groups)?|(?P<socket>socket)\s+exists(?!\S))",
    "owner match")
statistic_element = _element(
    r"statistic\s+mode\s+(?:(?P<random>random)\s+(?P<rneg>!\s+)?probability\s+(?P<prob>\S+)"
    r"|nth\s+(?P<nneg>!\s+)?every\s+(?P<every>\d+)(?:\s+packet\s+(?P<packet>\d+))?)",
    "statistic match")
icmp_element = _element(
    r"(?P<module>ipv6-icmp|icmp)(?:\s*(?P<neg>!)?type\s+(?P<type>\d+)"
    r"(?:\s+code\s+(?P<code>\d+)|\s+codes\s+(?P<codes>\S+))?"
    r"|\s+(?P<nneg>!)?(?P<name>[A-Za-z][\w-]*))(?!\S)",
    "icmp match")
tcpmss_element = _element(r"tcpmss\s+match\s+(?P<neg>!\s*)?(?P<val>\S+)", "tcpmss match")
pkttype_element = _element(r"PKTTYPE\s+(?P<op>!?=)\s+(?P<val>\S+)", "pkttype match")
# (libvirt's golden files show `DSCP match 0x02state NEW`: the value may run into the next item)
dscp_element = _element(
    r"DSCP\s+match\s+(?P<neg>!\s*)?(?P<val>0x[0-9A-Fa-f]{1,2})", "dscp match")
helper_element = _element(r'helper\s+match\s+(?P<neg>!\s*)?"(?P<val>[^"]*)"', "helper match")
ttl_element = _element(
    r"(?P<module>TTL|HL)\s+match\s+(?P=module)\s+(?P<op>==|!=|<|>)\s+(?P<val>\d+)",
    "ttl/hl match")
policy_element = _element(
    r"policy\s+match(?P<opts>(?:\s+(?:dir|pol|reqid|spi|proto|mode|tunnel-src|tunnel-dst)"
    r"\s+\S+|\s+(?:strict|\[\d+\])(?!\S))*)",
    "policy match")
_POLICY_OPTS = re.compile(
    r"(?P<key>dir|pol|reqid|spi|proto|mode|tunnel-src|tunnel-dst)\s+(?P<val>\S+)"
    r"|(?P<flag>strict|\[\d+\])(?!\S)")
rpfilter_element = _element(
    r"rpfilter(?P<opts>(?:\s+(?:loose|validmark|accept-local|invert)(?!\S))*)",
    "rpfilter match")
nfacct_element = _element(r"nfacct-name\s+(?P<val>\S+)", "nfacct match")

# Less common modules (not required by the brief; structured where -L prints enough).
socket_element = _element(
    r"socket(?P<opts>(?:\s+--(?:transparent|nowildcard|restore-skmark))*)(?!\S)", "socket match")
tos_element = _element(r"tos\s+match\s*(?P<neg>!)?(?P<val>\S+)", "tos match")
connlimit_element = _element(
    r"#conn\s+(?P<dir>src|dst)/(?P<mask>\d+)\s+(?P<op><=|>)\s+(?P<val>\d+)", "connlimit match")
esp_element = _element(r"(?P<module>esp|ah)\s+spis?:(?P<neg>!)?(?P<val>\S+)", "esp/ah match")
quota_element = _element(r"quota:\s+(?P<val>\d+)\s+bytes", "quota match")
cpu_element = _element(r"cpu\s+(?P<neg>!\s*)?(?P<val>\d+)(?!\S)", "cpu match")
cgroup_element = _element(r"cgroup\s+(?P<neg>!\s*)?(?P<val>\S+)", "cgroup match")
connlabel_element = _element(r"connlabel\s+(?P<neg>!\s*)?(?P<val>\S+)", "connlabel match")
realm_element = _element(r"realm\s+(?P<neg>!\s*)?(?P<val>\S+)", "realm match")
devgroup_element = _element(
    r"(?P<opts>(?:!\s*)?(?:src|dst)-group\s+\S+(?:\s+(?:!\s*)?(?:src|dst)-group\s+\S+)?)",
    "devgroup match")
_DEVGROUP_OPTS = re.compile(r"(?P<neg>!\s*)?(?P<name>src|dst)-group\s+(?P<val>\S+)")
ecn_element = _element(
    r"ECN\s+match(?P<opts>(?:\s+!?(?:CWR|ECE|ECT=\d+))*)(?!\S)", "ecn match")
_ECN_OPTS = re.compile(r"(?P<neg>!)?(?:(?P<flag>CWR|ECE)|ECT=(?P<ect>\d+))")
connbytes_element = _element(
    r"connbytes\s+(?P<neg>!\s*)?(?P<val>\S+)\s+connbytes\s+mode\s+(?P<mode>\S+)"
    r"\s+connbytes\s+direction\s+(?P<dir>\S+)",
    "connbytes match")
cluster_element = _element(
    r"cluster\s+(?P<neg>!\s*)?node_mask=(?P<mask>\S+)\s+total_nodes=(?P<total>\d+)"
    r"\s+hash_seed=(?P<seed>\S+)",
    "cluster match")
u32_element = _element(r'u32\s+(?P<neg>!\s*)?"(?P<val>[^"]*)"', "u32 match")
frag_element = _element(
    r"frag(?P<opts>(?:\s+(?:ids?:!?\S+|length:!?\d+|reserved|first|more|last))*)(?!\S)",
    "frag match")
_FRAG_OPTS = re.compile(
    r"ids?:(?P<ineg>!)?(?P<id>\S+)|length:(?P<lneg>!)?(?P<len>\d+)"
    r"|(?P<flag>reserved|first|more|last)")
rt_element = _element(
    r"rt(?P<opts>(?:\s+(?:type:!?\d+|segslefts?:!?\S+|length:!?\d+|reserved"
    r"|0-addrs\s+\S+|0-not-strict))*)(?!\S)",
    "rt match")
_RT_OPTS = re.compile(
    r"type:(?P<tneg>!)?(?P<type>\d+)|segslefts?:(?P<sneg>!)?(?P<segs>\S+)"
    r"|length:(?P<lneg>!)?(?P<len>\d+)|(?P<flag>reserved|0-not-strict)|0-addrs\s+(?P<addrs>\S+)")
hbh_element = _element(r"(?P<module>hbh|dst)\s+length:(?P<neg>!)?(?P<val>\d+)", "hbh/dst match")
mh_element = _element(r"mh\s+(?P<neg>!)?(?P<val>\S+)", "mh match")
ipv6header_element = _element(
    r"ipv6header\s+flags:(?P<neg>!)?(?P<val>\S+)(?P<soft>\s+soft)?(?!\S)", "ipv6header match")
string_element = _element(
    r'STRING\s+match\s+(?P<neg>!)?\s*"(?P<val>.*?)"(?=\s|$)\s+ALGO\s+name\s+(?P<algo>\S+)'
    r"(?:\s+FROM\s+(?P<from>\d+))?(?:\s+TO\s+(?P<to>\d+))?(?P<icase>\s+ICASE)?",
    "string match")
time_element = _element(
    r"TIME(?:\s+from\s+(?P<start>\S+)\s+to\s+(?P<stop>\S+))?(?:\s+on\s+(?P<days>\S+))?"
    r"(?:\s+on\s+(?P<monthdays>\S+)\s+day\s+of\s+month)?"
    r"(?:\s+starting\s+from\s+(?P<datestart>\S+))?(?:\s+until\s+(?P<datestop>\S+))?"
    r"(?P<contiguous>\s+contiguous)?(?P<utc>\s+UTC)?(?!\S)",
    "time match")

# Targets -------------------------------------------------------------------------------------

reject_element = _element(r"reject-with\s+(?P<val>\S+)", "REJECT options")
_LOG_FLAG_WORDS = r"tcp-sequence|tcp-options|ip-options|uid|macdecode|unknown-flags"
log_element = _element(
    r'LOG(?P<opts>(?:\s+flags\s+\d+|\s+level\s+\S+|\s+prefix\s+".*?"(?=\s|$)'
    rf"|\s+(?:{_LOG_FLAG_WORDS})(?!\S))*)",
    "LOG options")
_LOG_OPTS = re.compile(
    r'flags\s+(?P<flags>\d+)|level\s+(?P<level>\S+)|prefix\s+"(?P<prefix>.*?)"(?=\s|$)'
    rf"|(?P<flag>{_LOG_FLAG_WORDS})(?!\S)")
mark_target_element = _element(
    r"MARK\s+(?P<op>set|xset|or|xor|and)\s+(?P<val>\S+)", "MARK options")
connmark_target_element = _element(
    r"CONNMARK\s+(?:(?P<op>set|xset|or|xor|and)\s+(?P<val>\S+)"
    r"|(?P<mode>save|restore)(?!\S)(?P<opts>(?:\s+(?:mask|nfmask|ctmask)\s+\S+)*))",
    "CONNMARK options")
_CONNMARK_OPTS = re.compile(r"(?P<key>mask|nfmask|ctmask)\s+~?(?P<val>\S+)")
_NAT_FLAGS = r"random-fully|random|persistent"
nat_element = _element(
    rf"(?P<opts>(?:to:\S+|(?:{_NAT_FLAGS})(?!\S))(?:\s+(?:to:\S+|(?:{_NAT_FLAGS})(?!\S)))*)",
    "DNAT/SNAT options")
masquerade_element = _element(
    rf"(?P<opts>(?:masq ports:\s+\S+|(?:{_NAT_FLAGS})(?!\S))"
    rf"(?:\s+(?:masq ports:\s+\S+|(?:{_NAT_FLAGS})(?!\S)))*)",
    "MASQUERADE options")
redirect_element = _element(
    rf"(?P<opts>(?:redir ports\s+\S+|(?:{_NAT_FLAGS})(?!\S))"
    rf"(?:\s+(?:redir ports\s+\S+|(?:{_NAT_FLAGS})(?!\S)))*)",
    "REDIRECT options")
_NAT_OPTS = re.compile(
    rf"to:(?P<to>\S+)|(?:masq ports:|redir ports)\s+(?P<ports>\S+)|(?P<flag>{_NAT_FLAGS})(?!\S)")
_CT_TARGET_KEYS = r"helper|timeout|ctevents|expevents|zone-orig|zone-reply|zone"
ct_target_element = _element(
    rf"CT(?P<opts>(?:\s+notrack(?!\S)|\s+(?:{_CT_TARGET_KEYS})\s+\S+)*)", "CT options")
_CT_TARGET_OPTS = re.compile(
    rf"(?P<flag>notrack)(?!\S)|(?P<key>{_CT_TARGET_KEYS})\s+(?P<val>\S+)")
_NFLOG_ITEM = r'nflog-(?:prefix|group|range|size|threshold)\s+(?:"(?:[^"\\]|\\.)*"|\S+)'
nflog_element = _element(rf"(?P<opts>{_NFLOG_ITEM}(?:\s+{_NFLOG_ITEM})*)", "NFLOG options")
_NFLOG_OPTS = re.compile(
    r'nflog-(?P<key>prefix|group|range|size|threshold)\s+(?:"(?P<quoted>(?:[^"\\]|\\.)*)"'
    r"|(?P<val>\S+))")
tcpmss_target_element = _element(
    r"TCPMSS\s+(?:(?P<clamp>clamp to PMTU)|set\s+(?P<mss>\d+))", "TCPMSS options")
nfqueue_element = _element(
    r"NFQUEUE(?P<opts>(?:\s+(?:num|balance)\s+\S+|\s+(?:bypass|cpu-fanout)(?!\S))*)",
    "NFQUEUE options")
_NFQUEUE_OPTS = re.compile(r"(?P<key>num|balance)\s+(?P<val>\S+)|(?P<flag>bypass|cpu-fanout)")
checksum_element = _element(r"CHECKSUM\s+fill", "CHECKSUM options")
notrack_element = _element(r"NOTRACK(?!\S)", "NOTRACK (as -L shows -j NOTRACK: target CT)")
ttl_target_element = _element(
    r"(?P<kind>TTL|HL)\s+(?P<op>set to|decrement by|increment by)\s+(?P<val>\d+)",
    "TTL/HL options")
classify_element = _element(
    r"CLASSIFY\s+set\s+(?P<major>[0-9A-Fa-f]+):(?P<minor>[0-9A-Fa-f]+)", "CLASSIFY options")
connsecmark_element = _element(r"CONNSECMARK\s+(?P<op>save|restore)(?!\S)",
                               "CONNSECMARK options")
tos_target_element = _element(r"(?P<kind>TOS|DSCP)\s+set\s+(?P<val>\S+)", "TOS/DSCP options")
ecn_target_element = _element(r"ECN\s+TCP\s+remove", "ECN options")
tee_element = _element(r"TEE\s+gw:(?P<gw>\S+)(?:\s+oif=(?P<oif>\S+))?", "TEE options")
tproxy_element = _element(
    r"TPROXY\s+redirect\s+(?P<ip>\S+):(?P<port>\d+)(?:\s+mark\s+(?P<mark>\S+))?",
    "TPROXY options")
audit_element = _element(r"AUDIT\s+(?P<type>accept|drop|reject)(?!\S)", "AUDIT options")
set_target_element = _element(
    r"(?P<opts>(?:add-set|del-set)\s+\S+\s+\S+(?:\s+(?:exist|timeout\s+\d+))*"
    r"(?:\s+(?:add-set|del-set)\s+\S+\s+\S+(?:\s+(?:exist|timeout\s+\d+))*)*)",
    "SET options")
_SET_TARGET_OPTS = re.compile(
    r"(?P<op>add-set|del-set)\s+(?P<name>\S+)\s+(?P<dims>\S+)|(?P<exist>exist)(?!\S)"
    r"|timeout\s+(?P<timeout>\d+)")
netmap_element = _element(r"to:(?P<to>\S+)", "NETMAP options")
rateest_element = _element(
    r"name\s+(?P<name>\S+)\s+interval\s+(?P<interval>\S+)\s+ewmalog\s+(?P<ewmalog>\S+)",
    "RATEEST options")


# --------------------------------------------------------------------------------------------
# Builders: parse results (the element's named groups) -> model objects
# --------------------------------------------------------------------------------------------

Groups = dict[str, str | None]  # an element's named groups
Builder = Callable[[Groups, bool, "_Ctx"], list[Match] | tuple[Option, ...]]


@dataclass(frozen=True, slots=True)
class _Ctx:
    target: str | None
    family: Family


def _ports(value: str) -> str:
    """`domain` -> `53`, `1024:65535` kept, `http:https` -> `80:443`."""
    if value.isdigit():
        return value
    if ":" in value:
        return ":".join(service_port(p) if p else p for p in value.split(":"))
    return service_port(value)


def _flag_value(text: str) -> str:
    """A tcp flags mask printed as `0x17` (-n) or `FIN,SYN,RST,ACK` -> save spelling."""
    if text.lower().startswith("0x"):
        try:
            return tcp_flag_names(int(text, 16))
        except ValueError:
            return text
    return text


def _value(res: Groups, name: str, neg: bool = False) -> tuple[str, bool]:
    """A value group, with a `!` written before it (in its `neg` group or glued) folded in."""
    value = str(res.get(name) or "")
    negated = neg or bool(res.get("neg"))
    if value.startswith("!"):
        return value[1:], True
    return value, negated


def _opts(res: Groups, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    return list(pattern.finditer(str(res.get("opts") or "")))


def _build_tcp(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for m in _opts(res, _TCP_OPTS):
        if m.group("dir"):
            name = "--sport" if m.group("dir") == "s" else "--dport"
            options.append(Option(name, (_ports(m.group("val")),), bool(m.group("neg"))))
        elif m.group("mask"):
            values = (_flag_value(m.group("mask")), _flag_value(m.group("cmp")))
            options.append(Option("--tcp-flags", values, bool(m.group("fneg"))))
        else:
            options.append(Option("--tcp-option", (m.group("oval"),), bool(m.group("oneg"))))
    return [Match(str(res["module"]), tuple(options))]


def _build_multiport(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    ports, negated = _value(res, "ports", neg)
    value = ",".join(_ports(p) for p in ports.split(","))
    return [Match("multiport", (Option("--" + str(res["kind"]), (value,), negated),))]


def _build_state(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    states, negated = _value(res, "states", neg)
    return [Match("state", (Option("--state", (states,), negated),))]


def _build_conntrack(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for i, m in enumerate(_opts(res, _CT_OPTS)):
        name, value = m.group("name"), m.group("val")
        if name.endswith("port"):
            value = _ports(value)
        options.append(Option("--" + name, (value,), bool(m.group("neg")) or (neg and i == 0)))
    return [Match("conntrack", tuple(options))]


def _build_mac(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    mac, negated = _value(res, "mac", neg)
    return [Match("mac", (Option("--mac-source", (mac,), negated),))]


def _build_physdev(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for m in _opts(res, _PHYSDEV_OPTS):
        if m.group("flag"):
            options.append(Option(m.group("flag"), (), bool(m.group("neg"))))
        else:
            options.append(Option(m.group("name"), (m.group("val"),), bool(m.group("neg"))))
    return [Match("physdev", tuple(options))]


def _build_set(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options = [Option("--match-set", (str(res["name"]), str(res["dims"])), neg)]
    for m in _opts(res, _SET_OPTS):
        values = (m.group("val"),) if m.group("val") else ()
        options.append(Option("--" + m.group("flag"), values, bool(m.group("neg"))))
    return [Match("set", tuple(options))]


def _build_mark(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    return [Match(str(res["module"]), (Option("--mark", (value,), negated),))]


def _build_addrtype(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for m in _opts(res, _ADDRTYPE_OPTS):
        if m.group("limit"):
            options.append(Option("--limit-iface-" + m.group("limit")[len("limit-"):]))
        else:
            options.append(Option("--" + m.group("name"), (m.group("val"),),
                                  bool(m.group("neg"))))
    return [Match("addrtype", tuple(options))]


def _build_iprange(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for i, m in enumerate(_opts(res, _IPRANGE_OPTS)):
        name = "--src-range" if m.group("dir") == "source" else "--dst-range"
        options.append(Option(name, (m.group("val"),), bool(m.group("neg")) or (neg and i == 0)))
    return [Match("iprange", tuple(options))]


def _build_length(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    return [Match("length", (Option("--length", (value,), negated),))]


def _build_limit(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    if res.get("hash"):
        return _build_hashlimit(res)
    options = [Option("--limit", (str(res["rate"]),))]
    if res["burst"] != "5":  # iptables-save omits the default burst
        options.append(Option("--limit-burst", (str(res["burst"]),)))
    return [Match("limit", tuple(options))]


def _build_hashlimit(res: Groups) -> list[Match]:
    kind = "--hashlimit-upto" if res["hash"] == "up to" else "--hashlimit-above"
    options = [Option(kind, (str(res["hrate"]),))]
    if res.get("hburst"):
        options.append(Option("--hashlimit-burst", (str(res["hburst"]),)))
    if res.get("mode"):
        options.append(Option("--hashlimit-mode", (str(res["mode"]).replace("-", ","),)))
    for m in _opts(res, _HASHLIMIT_OPTS):
        options.append(Option(f"--hashlimit-{m.group('key')}", (m.group("val"),)))
    return [Match("hashlimit", tuple(options))]


_RECENT_OPS = {"SET": "--set", "CHECK": "--rcheck", "UPDATE": "--update", "REMOVE": "--remove"}


def _build_recent(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    ops: list[Option] = []
    values: dict[str, str] = {}
    flags: set[str] = set()
    for m in _opts(res, _RECENT_OPTS):
        if m.group("op"):
            ops.append(Option(_RECENT_OPS[m.group("op")], (), neg and not ops))
        elif m.group("flag"):
            flags.add("--reap" if m.group("flag") == "reap" else "--rttl")
        else:
            values[m.group("key")] = m.group("val")
    # iptables-save order: op, --seconds, --reap, --hitcount, --rttl, --name, --mask, side
    options = list(ops)
    if "seconds" in values:
        options.append(Option("--seconds", (values["seconds"],)))
    if "--reap" in flags:
        options.append(Option("--reap"))
    if "hit_count" in values:
        options.append(Option("--hitcount", (values["hit_count"],)))
    if "--rttl" in flags:
        options.append(Option("--rttl"))
    options.append(Option("--name", (values.get("name", "DEFAULT"),)))
    if "mask" in values:
        options.append(Option("--mask", (values["mask"],)))
    options.append(Option("--rdest" if values.get("side") == "dest" else "--rsource"))
    return [Match("recent", tuple(options))]


def _build_owner(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    if res.get("socket"):
        return [Match("owner", (Option("--socket-exists", (), neg),))]
    value, negated = _value(res, "val", neg)
    options = [Option(f"--{str(res['what']).lower()}-owner", (value,), negated)]
    if res.get("suppl"):
        options.append(Option("--suppl-groups"))
    return [Match("owner", tuple(options))]


def _build_statistic(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    if res.get("random"):
        return [Match("statistic", (
            Option("--mode", ("random",)),
            Option("--probability", (str(res["prob"]),), bool(res.get("rneg"))),
        ))]
    return [Match("statistic", (
        Option("--mode", ("nth",)),
        Option("--every", (str(res["every"]),), bool(res.get("nneg"))),
        Option("--packet", (str(res.get("packet") or "0"),)),
    ))]


def _build_icmp(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    v6 = res["module"] == "ipv6-icmp"
    module, option = ("icmp6", "--icmpv6-type") if v6 else ("icmp", "--icmp-type")
    negated = neg or bool(res.get("neg")) or bool(res.get("nneg"))
    if res.get("type"):
        value = str(res["type"])
        if res.get("code"):
            value += "/" + str(res["code"])
        elif res.get("codes"):
            value += "/" + str(res["codes"]).split("-")[0]
        return [Match(module, (Option(option, (value,), negated),))]
    name = str(res["name"])
    known = (ICMP6_TYPES if v6 else ICMP_TYPES).get(name)
    if known is None or name == "any":
        value = name
    else:
        value = str(known[0]) if known[1] is None else f"{known[0]}/{known[1]}"
    return [Match(module, (Option(option, (value,), negated),))]


def _build_tcpmss(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    return [Match("tcpmss", (Option("--mss", (value,), negated),))]


def _build_pkttype(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    negated = neg or res["op"] == "!="
    return [Match("pkttype", (Option("--pkt-type", (str(res["val"]),), negated),))]


def _build_dscp(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    return [Match("dscp", (Option("--dscp", (value,), negated),))]


def _build_helper(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    return [Match("helper", (Option("--helper", (value,), negated),))]


def _build_ttl(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    module = str(res["module"]).lower()
    op = str(res["op"])
    suffix = {"==": "eq", "!=": "eq", "<": "lt", ">": "gt"}[op]
    option = Option(f"--{module}-{suffix}", (str(res["val"]),), neg or op == "!=")
    return [Match(module, (option,))]


def _build_policy(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for m in _opts(res, _POLICY_OPTS):
        if m.group("key"):
            value = m.group("val")
            if m.group("key") == "proto" and is_count(value):  # -L prints `proto 50`
                value = PROTOCOL_NAMES.get(int(value), value)
            options.append(Option("--" + m.group("key"), (value,)))
        elif m.group("flag") == "strict":
            options.append(Option("--strict"))
        else:
            options.append(Option("--next"))
    return [Match("policy", tuple(options))]


def _build_rpfilter(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    words = str(res.get("opts") or "").split()
    return [Match("rpfilter", tuple(Option("--" + w) for w in words))]


def _build_nfacct(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    return [Match("nfacct", (Option("--nfacct-name", (str(res["val"]),)),))]


def _single(module: str, option: str) -> Builder:
    """Builder of a one-option match whose element has `val` (and maybe `neg`) groups."""

    def build(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
        value, negated = _value(res, "val", neg)
        return [Match(module, (Option(option, (value,), negated),))]

    return build


def _build_socket(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    return [Match("socket", tuple(Option(w) for w in str(res.get("opts") or "").split()))]


def _build_connlimit(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    above = "--connlimit-upto" if res["op"] == "<=" else "--connlimit-above"
    side = "--connlimit-daddr" if res["dir"] == "dst" else "--connlimit-saddr"
    return [Match("connlimit", (
        Option(above, (str(res["val"]),)),
        Option("--connlimit-mask", (str(res["mask"]),)),
        Option(side),
    ))]


def _build_esp(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    module = str(res["module"])
    value, negated = _value(res, "val", neg)
    return [Match(module, (Option(f"--{module}spi", (value,), negated),))]


def _build_devgroup(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options = [Option(f"--{m.group('name')}-group", (m.group("val"),), bool(m.group("neg")))
               for m in _opts(res, _DEVGROUP_OPTS)]
    return [Match("devgroup", tuple(options))]


def _build_ecn(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for m in _opts(res, _ECN_OPTS):
        if m.group("flag"):
            options.append(Option(f"--ecn-tcp-{m.group('flag').lower()}", (),
                                  bool(m.group("neg"))))
        else:
            options.append(Option("--ecn-ip-ect", (m.group("ect"),), bool(m.group("neg"))))
    return [Match("ecn", tuple(options))]


def _build_connbytes(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    return [Match("connbytes", (
        Option("--connbytes", (value,), negated),
        Option("--connbytes-mode", (str(res["mode"]),)),
        Option("--connbytes-dir", (str(res["dir"]),)),
    ))]


def _build_cluster(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    return [Match("cluster", (
        Option("--cluster-local-nodemask", (str(res["mask"]),), neg or bool(res.get("neg"))),
        Option("--cluster-total-nodes", (str(res["total"]),)),
        Option("--cluster-hash-seed", (str(res["seed"]),)),
    ))]


def _build_u32(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    return [Match("u32", (Option("--u32", (str(res["val"]),), neg or bool(res.get("neg"))),))]


def _build_frag(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for m in _opts(res, _FRAG_OPTS):
        if m.group("id"):
            options.append(Option("--fragid", (m.group("id"),), bool(m.group("ineg"))))
        elif m.group("len"):
            options.append(Option("--fraglen", (m.group("len"),), bool(m.group("lneg"))))
        else:
            flag = m.group("flag")
            options.append(Option("--fragres" if flag == "reserved" else f"--frag{flag}"))
    return [Match("frag", tuple(options))]


def _build_rt(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for m in _opts(res, _RT_OPTS):
        if m.group("type"):
            options.append(Option("--rt-type", (m.group("type"),), bool(m.group("tneg"))))
        elif m.group("segs"):
            options.append(Option("--rt-segsleft", (m.group("segs"),), bool(m.group("sneg"))))
        elif m.group("len"):
            options.append(Option("--rt-len", (m.group("len"),), bool(m.group("lneg"))))
        elif m.group("addrs"):
            options.append(Option("--rt-0-addrs", (m.group("addrs"),)))
        else:
            flag = m.group("flag")
            options.append(Option("--rt-0-res" if flag == "reserved" else "--rt-0-not-strict"))
    return [Match("rt", tuple(options))]


def _build_hbh(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    module = str(res["module"])
    value, negated = _value(res, "val", neg)
    return [Match(module, (Option(f"--{module}-len", (value,), negated),))]


_MH_TYPES = {
    "binding-refresh-request": 0, "brr": 0, "home-test-init": 1, "hoti": 1,
    "careof-test-init": 2, "coti": 2, "home-test": 3, "hot": 3, "careof-test": 4, "cot": 4,
    "binding-update": 5, "bu": 5, "binding-acknowledgement": 6, "ba": 6, "binding-error": 7,
    "be": 7,
}
_IPV6_HEADERS = (("hop-by-hop", 0x80), ("ipv6-opts", 0x40), ("ipv6-route", 0x20),
                 ("ipv6-frag", 0x10), ("ah", 0x08), ("esp", 0x04), ("ipv6-nonxt", 0x02),
                 ("protocol", 0x01))


def _build_mh(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    value = ":".join(str(_MH_TYPES.get(part, part)) for part in value.split(":"))
    return [Match("mh", (Option("--mh-type", (value,), negated),))]


def _build_ipv6header(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _value(res, "val", neg)
    if value.lower().startswith("0x"):
        try:
            bits = int(value, 16)
        except ValueError:
            bits = -1
        if bits >= 0:
            value = ",".join(name for name, bit in _IPV6_HEADERS if bits & bit)
    options = [Option("--header", (value,), negated)]
    if res.get("soft"):
        options.append(Option("--soft"))
    return [Match("ipv6header", tuple(options))]


def _build_string(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    value = str(res["val"])
    kind = "--hex-string" if re.fullmatch(r"\|[0-9A-Fa-f ]+\|", value) else "--string"
    options = [Option(kind, (value,), neg or bool(res.get("neg"))),
               Option("--algo", (str(res["algo"]),))]
    if res.get("from"):
        options.append(Option("--from", (str(res["from"]),)))
    if res.get("to"):
        options.append(Option("--to", (str(res["to"]),)))
    if res.get("icase"):
        options.append(Option("--icase"))
    return [Match("string", tuple(options))]


_TIME_DATESTOP_DEFAULT = "2038-01-19T03:14:07"  # iptables-save prints it when -L shows no `until`


def _build_time(res: Groups, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    if res.get("start"):
        options.append(Option("--timestart", (str(res["start"]),)))
        options.append(Option("--timestop", (str(res["stop"]),)))
    if res.get("monthdays"):
        options.append(Option("--monthdays", (str(res["monthdays"]),)))
    if res.get("days"):
        options.append(Option("--weekdays", (str(res["days"]),)))
    if res.get("datestart"):
        options.append(Option("--datestart", (str(res["datestart"]),)))
    options.append(Option("--datestop", (str(res.get("datestop") or _TIME_DATESTOP_DEFAULT),)))
    if not res.get("utc"):
        options.append(Option("--kerneltz"))
    if res.get("contiguous"):
        options.append(Option("--contiguous"))
    return [Match("time", tuple(options))]


# Targets ---------------------------------------------------------------------------------


def _build_reject(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--reject-with", (str(res["val"]),)),)


def _build_log(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    prefix: str | None = None
    level = 4
    flags = 0
    flag_words: list[str] = []
    for m in _opts(res, _LOG_OPTS):
        if m.group("flags"):
            flags = int(m.group("flags"))
        elif m.group("level"):
            text = m.group("level")
            level = int(text) if is_count(text) else LOG_LEVELS.get(text, 4)
        elif m.group("flag"):
            if m.group("flag") in LOG_FLAG_WORDS:
                flag_words.append(LOG_FLAG_WORDS[m.group("flag")])
        else:
            prefix = m.group("prefix")
    options: list[Option] = []
    if prefix:
        options.append(Option("--log-prefix", (prefix,)))
    if level != 4:  # iptables-save omits the default level (warning)
        options.append(Option("--log-level", (str(level),)))
    names = [name for bit, name in LOG_FLAG_BITS if flags & bit or name in flag_words]
    options += [Option(name) for name in names]
    return tuple(options)


def _xmark(op: str, value: str) -> str:
    """`or 0x4000` -> `0x4000/0x4000` (the --set-xmark value/mask iptables-save prints)."""
    if op == "xset":
        return value
    try:
        number = int(value, 0)
    except ValueError:
        return value
    if op == "set":
        return f"0x{number:x}/0xffffffff"
    if op == "or":
        return f"0x{number:x}/0x{number:x}"
    if op == "xor":
        return f"0x{number:x}/0x0"
    return f"0x0/0x{(~number) & 0xFFFFFFFF:x}"  # and


def _build_mark_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--set-xmark", (_xmark(str(res["op"]), str(res["val"])),)),)


def _build_connmark_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    if res.get("op"):
        return (Option("--set-xmark", (_xmark(str(res["op"]), str(res["val"])),)),)
    nfmask = ctmask = "0xffffffff"
    for m in _opts(res, _CONNMARK_OPTS):
        if m.group("key") == "mask":
            nfmask = ctmask = m.group("val")
        elif m.group("key") == "nfmask":
            nfmask = m.group("val")
        else:
            ctmask = m.group("val")
    return (
        Option(f"--{res['mode']}-mark"),
        Option("--nfmask", (nfmask,)),
        Option("--ctmask", (ctmask,)),
    )


def _build_nat(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    to_option = "--to-source" if ctx.target == "SNAT" else "--to-destination"
    options: list[Option] = []
    for m in _opts(res, _NAT_OPTS):
        if m.group("to"):
            options.append(Option(to_option, (m.group("to"),)))
        elif m.group("ports"):
            options.append(Option("--to-ports", (m.group("ports"),)))
        else:
            options.append(Option("--" + m.group("flag")))
    return tuple(options)


def _build_ct_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options: list[Option] = []
    for m in _opts(res, _CT_TARGET_OPTS):
        if m.group("flag"):
            options.append(Option("--notrack"))
        else:
            options.append(Option("--" + m.group("key"), (m.group("val"),)))
    return tuple(options)


def _build_nflog(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options: list[Option] = []
    for m in _opts(res, _NFLOG_OPTS):
        quoted = m.group("quoted")
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else m.group("val")
        options.append(Option("--nflog-" + m.group("key"), (value,)))
    return tuple(options)


def _build_tcpmss_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    if res.get("clamp"):
        return (Option("--clamp-mss-to-pmtu"),)
    return (Option("--set-mss", (str(res["mss"]),)),)


def _build_nfqueue(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options: list[Option] = []
    for m in _opts(res, _NFQUEUE_OPTS):
        if m.group("key"):
            options.append(Option(f"--queue-{m.group('key')}", (m.group("val"),)))
        else:
            options.append(Option(f"--queue-{m.group('flag')}"))
    return tuple(options)


def _build_checksum(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--checksum-fill"),)


def _build_nothing(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return ()


_TTL_OPS = {"set to": "set", "decrement by": "dec", "increment by": "inc"}


def _build_ttl_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    kind = str(res["kind"]).lower()
    return (Option(f"--{kind}-{_TTL_OPS[str(res['op'])]}", (str(res["val"]),)),)


def _build_classify(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    value = f"{int(str(res['major']), 16):04x}:{int(str(res['minor']), 16):04x}"
    return (Option("--set-class", (value,)),)


def _build_connsecmark(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option(f"--{res['op']}"),)


def _build_tos_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option(f"--set-{str(res['kind']).lower()}", (str(res["val"]),)),)


def _build_ecn_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--ecn-tcp-remove"),)


def _build_tee(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options = [Option("--gateway", (str(res["gw"]),))]
    if res.get("oif"):
        options.append(Option("--oif", (str(res["oif"]),)))
    return tuple(options)


def _build_tproxy(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options = [Option("--on-port", (str(res["port"]),)), Option("--on-ip", (str(res["ip"]),))]
    if res.get("mark"):
        options.append(Option("--tproxy-mark", (str(res["mark"]),)))
    return tuple(options)


def _build_audit(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--type", (str(res["type"]),)),)


def _build_set_target(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options: list[Option] = []
    for m in _opts(res, _SET_TARGET_OPTS):
        if m.group("op"):
            options.append(Option("--" + m.group("op"), (m.group("name"), m.group("dims"))))
        elif m.group("exist"):
            options.append(Option("--exist"))
        else:
            options.append(Option("--timeout", (m.group("timeout"),)))
    return tuple(options)


def _build_netmap(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--to", (str(res["to"]),)),)


def _build_rateest(res: Groups, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (
        Option("--rateest-name", (str(res["name"]),)),
        Option("--rateest-interval", (str(res["interval"]),)),
        Option("--rateest-ewmalog", (str(res["ewmalog"]),)),
    )


# --------------------------------------------------------------------------------------------
# Dispatch tables: first word of an item -> (element, builder)
# --------------------------------------------------------------------------------------------

Entry = tuple[pp.Regex, Builder]

_tcp: Entry = (tcp_element, _build_tcp)
_ct: Entry = (conntrack_element, _build_conntrack)
_mark: Entry = (mark_element, _build_mark)
_iprange: Entry = (iprange_element, _build_iprange)
_icmp: Entry = (icmp_element, _build_icmp)
_ttl: Entry = (ttl_element, _build_ttl)

MATCH_ELEMENTS: dict[str, Entry] = {
    "tcp": _tcp, "udp": _tcp, "sctp": _tcp, "dccp": _tcp, "udplite": _tcp,
    "multiport": (multiport_element, _build_multiport),
    "state": (state_element, _build_state),
    **{name: _ct for name in (
        "ctstate", "ctproto", "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst",
        "ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport", "ctstatus",
        "ctexpire", "ctdir")},
    "MAC": (mac_element, _build_mac),
    "PHYSDEV": (physdev_element, _build_physdev),
    "match-set": (set_element, _build_set),
    "mark": _mark, "connmark": _mark,
    "ADDRTYPE": (addrtype_element, _build_addrtype),
    "source": _iprange, "destination": _iprange,
    "length": (length_element, _build_length),
    "limit:": (limit_element, _build_limit),
    "recent:": (recent_element, _build_recent),
    "owner": (owner_element, _build_owner),
    "statistic": (statistic_element, _build_statistic),
    "icmp": _icmp, "icmptype": _icmp, "ipv6-icmp": _icmp, "ipv6-icmptype": _icmp,
    "tcpmss": (tcpmss_element, _build_tcpmss),
    "PKTTYPE": (pkttype_element, _build_pkttype),
    "DSCP": (dscp_element, _build_dscp),
    "helper": (helper_element, _build_helper),
    "TTL": _ttl, "HL": _ttl,
    "policy": (policy_element, _build_policy),
    "rpfilter": (rpfilter_element, _build_rpfilter),
    "nfacct-name": (nfacct_element, _build_nfacct),
    "socket": (socket_element, _build_socket),
    "tos": (tos_element, _single("tos", "--tos")),
    "#conn": (connlimit_element, _build_connlimit),
    "esp": (esp_element, _build_esp), "ah": (esp_element, _build_esp),
    "quota:": (quota_element, _single("quota", "--quota")),
    "cpu": (cpu_element, _single("cpu", "--cpu")),
    "cgroup": (cgroup_element, _single("cgroup", "--cgroup")),
    "connlabel": (connlabel_element, _single("connlabel", "--label")),
    "realm": (realm_element, _single("realm", "--realm")),
    "src-group": (devgroup_element, _build_devgroup),
    "dst-group": (devgroup_element, _build_devgroup),
    "ECN": (ecn_element, _build_ecn),
    "connbytes": (connbytes_element, _build_connbytes),
    "cluster": (cluster_element, _build_cluster),
    "u32": (u32_element, _build_u32),
    "TIME": (time_element, _build_time),
    "frag": (frag_element, _build_frag),
    "rt": (rt_element, _build_rt),
    "hbh": (hbh_element, _build_hbh), "dst": (hbh_element, _build_hbh),
    "mh": (mh_element, _build_mh),
    "ipv6header": (ipv6header_element, _build_ipv6header),
    "STRING": (string_element, _build_string),
}

_nat: Entry = (nat_element, _build_nat)
_masq: Entry = (masquerade_element, _build_nat)
_redir: Entry = (redirect_element, _build_nat)
_NAT_FLAG_WORDS = ("random", "random-fully", "persistent")

# Target name -> {first word -> (element, builder)}
TARGET_ELEMENTS: dict[str, dict[str, Entry]] = {
    "REJECT": {"reject-with": (reject_element, _build_reject)},
    "LOG": {"LOG": (log_element, _build_log)},
    "MARK": {"MARK": (mark_target_element, _build_mark_target)},
    "CONNMARK": {"CONNMARK": (connmark_target_element, _build_connmark_target)},
    "DNAT": {"to:": _nat, **{k: _nat for k in _NAT_FLAG_WORDS}},
    "SNAT": {"to:": _nat, **{k: _nat for k in _NAT_FLAG_WORDS}},
    "MASQUERADE": {"masq": _masq, **{k: _masq for k in _NAT_FLAG_WORDS}},
    "REDIRECT": {"redir": _redir, **{k: _redir for k in _NAT_FLAG_WORDS}},
    "CT": {"CT": (ct_target_element, _build_ct_target)},
    "NFLOG": {f"nflog-{k}": (nflog_element, _build_nflog)
              for k in ("prefix", "group", "range", "size", "threshold")},
    "TCPMSS": {"TCPMSS": (tcpmss_target_element, _build_tcpmss_target)},
    "NFQUEUE": {"NFQUEUE": (nfqueue_element, _build_nfqueue)},
    "CHECKSUM": {"CHECKSUM": (checksum_element, _build_checksum)},
    "NOTRACK": {"NOTRACK": (notrack_element, _build_nothing)},
    "TTL": {"TTL": (ttl_target_element, _build_ttl_target)},
    "HL": {"HL": (ttl_target_element, _build_ttl_target)},
    "CLASSIFY": {"CLASSIFY": (classify_element, _build_classify)},
    "CONNSECMARK": {"CONNSECMARK": (connsecmark_element, _build_connsecmark)},
    "TOS": {"TOS": (tos_target_element, _build_tos_target)},
    "DSCP": {"DSCP": (tos_target_element, _build_tos_target)},
    "ECN": {"ECN": (ecn_target_element, _build_ecn_target)},
    "TEE": {"TEE": (tee_element, _build_tee)},
    "TPROXY": {"TPROXY": (tproxy_element, _build_tproxy)},
    "AUDIT": {"AUDIT": (audit_element, _build_audit)},
    "SET": {"add-set": (set_target_element, _build_set_target),
            "del-set": (set_target_element, _build_set_target)},
    "NETMAP": {"to:": (netmap_element, _build_netmap)},
    "RATEEST": {"name": (rateest_element, _build_rateest)},
}

KNOWN_MATCH_MODULES = frozenset({
    "tcp", "udp", "sctp", "dccp", "udplite", "multiport", "state", "conntrack", "mac",
    "physdev", "set", "comment", "mark", "connmark", "addrtype", "iprange", "length", "limit",
    "recent", "owner", "statistic", "icmp", "icmp6", "tcpmss", "pkttype", "dscp", "helper",
    "ttl", "hl", "policy", "rpfilter", "nfacct", "socket", "tos", "connlimit", "esp", "ah",
    "quota", "cpu", "cgroup", "connlabel", "realm", "devgroup", "ecn", "connbytes", "cluster",
    "u32", "time", "hashlimit", "frag", "rt", "hbh", "dst", "mh", "string",
    "ipv6header",
})


# --------------------------------------------------------------------------------------------
# The dispatcher
# --------------------------------------------------------------------------------------------

_WORD_AT = re.compile(r"\s*(\S+)")


def _lookup(word: str, table: dict[str, Entry]) -> Entry | None:
    found = table.get(word)
    if found is None:
        if word.startswith("to:"):
            found = table.get("to:")
        elif "flags:" in word:  # `tcpflags:`
            found = table.get(word.partition("flags:")[0])
    return found


@dataclass(slots=True)
class _Result:
    matches: list[Match]
    target_options: list[Option]
    opaque: list[str]


def _parse_items(text: str, pos: int, ctx: _Ctx) -> _Result:
    out = _Result([], [], [])
    unknown: list[str] = []
    target_table = TARGET_ELEMENTS.get(ctx.target or "", {})

    def flush() -> None:
        if unknown:
            out.opaque.append(" ".join(unknown))
            unknown.clear()

    while True:
        m = _WORD_AT.match(text, pos)
        if m is None:
            break
        word, word_start, after = m.group(1), m.start(1), m.end()
        if word.startswith("/*"):
            flush()
            pos = _parse_comment(text, word_start, ctx, out)
            continue
        neg = False
        key_word, key_start = word, word_start
        if word == "!":
            nxt = _WORD_AT.match(text, after)
            if nxt is not None:
                neg, key_word, key_start = True, nxt.group(1), nxt.start(1)
        # A word may start a match and a target's options (`DSCP match 0x02` / `DSCP set 0x0a`).
        for kind, table in (("match", MATCH_ELEMENTS), ("target", target_table)):
            entry = _lookup(key_word, table)
            if entry is None:
                continue
            element, builder = entry
            # The element's compiled pattern, run in place: the same match `parse_string` makes
            # at this position, without its per-call set-up (a 55,000-rule dump has ~100,000
            # items).
            found = element.re.match(text, key_start)
            if found is None:
                continue
            flush()
            built = builder(found.groupdict(), neg, ctx)
            if kind == "match":
                out.matches.extend(built)  # type: ignore[arg-type]
            else:
                out.target_options.extend(built)  # type: ignore[arg-type]
            pos = found.end()
            break
        else:
            unknown.append(word)
            pos = after
    flush()
    return out


def _parse_comment(text: str, start: int, ctx: _Ctx, out: _Result) -> int:
    """Parse `/* ... */` at `start`, then the rest of the line; returns the end position.

    A comment may itself hold `*/`; of the candidate ends, take the first after which the rest
    of the column parses without leftovers (else the one leaving the fewest unknown words)."""
    body_start = start + 2
    ends = [m.start() for m in re.finditer(r"\*/", text[body_start:])]
    if not ends:
        out.opaque.append(text[start:].strip())
        return len(text)
    best: tuple[int, int, _Result] | None = None
    for rel in ends:
        close = body_start + rel
        rest = _parse_items(text, close + 2, ctx)
        score = sum(len(o.split()) for o in rest.opaque)
        if best is None or score < best[0]:
            best = (score, close, rest)
        if score == 0:
            break
    assert best is not None
    _, close, rest = best
    body = text[body_start:close]
    if body.startswith(" "):
        body = body[1:]
    if body.endswith(" "):
        body = body[:-1]
    out.matches.append(Match("comment", (Option("--comment", (body,)),)))
    out.matches.extend(rest.matches)
    out.target_options.extend(rest.target_options)
    out.opaque.extend(rest.opaque)
    return len(text)


@lru_cache(maxsize=16384)
def parse_extra(text: str, *, target: str | None = None, family: Family = Family.IPV4) -> Extra:
    """Parse the extra column of one `-L` row (everything after the destination column).

    `target` is the row's target name (its printed options are parsed with its element);
    unknown text goes to `Extra.opaque`. Never raises on any input text.
    """
    text = text.strip()
    goto = False
    if text.startswith("[goto]"):
        goto = True
        text = text[len("[goto]"):].lstrip()
    if not text:
        return Extra(goto=goto)
    result = _parse_items(text, 0, _Ctx(target, family))
    return Extra(
        matches=tuple(result.matches),
        target_options=tuple(result.target_options),
        goto=goto,
        opaque=tuple(result.opaque),
    )

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
`TARGET_ELEMENTS`), chosen by the first word of each item, so a line costs a dictionary look-up
and one short parse per item. The elements only recognise text; the `_build_*` functions make
model objects from their named results. Text that no element recognises is kept, word runs
joined, in `Extra.opaque`: an unknown module is never an error.
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
from ruleset.model import Family, Match, Option

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
# Grammar: one element per module / target. Elements start at the item's keyword; a standalone
# `!` before the keyword is consumed by the dispatcher and passed to the builder.
# --------------------------------------------------------------------------------------------

BANG = pp.Literal("!").set_name("!")
WORD = pp.Regex(r"\S+").set_name("word")
NUMBER = pp.Regex(r"\d+").set_name("number")
NEG = pp.Opt(BANG)("neg")


def _kw(word: str) -> pp.ParserElement:
    """A keyword that ends at whitespace (iptables words hold `-`, `:` and `.`)."""
    return pp.Regex(re.escape(word) + r"(?!\S)").set_name(repr(word))


# tcp / udp / sctp / dccp: `tcp spt:22 dpts:1024:65535 option=!5 flags:0x17/0x02`
port_opt = pp.Group(pp.Regex(r"(?P<dir>[sd])pts?:(?P<neg>!)?(?P<val>\S+)")).set_name("port")
flags_opt = pp.Group(
    pp.Regex(r"flags:\s*(?P<neg>!)?\s*(?P<mask>[0-9A-Za-z,]+)/(?P<cmp>[0-9A-Za-z,]+)")
).set_name("tcp flags")
tcp_option_opt = pp.Group(pp.Regex(r"option=(?P<neg>!)?(?P<val>\d+)")).set_name("tcp option")
tcp_element = (
    pp.Regex(r"(?P<module>tcp|udp|sctp|dccp|udplite)(?!\S)")
    + pp.ZeroOrMore(port_opt | flags_opt | tcp_option_opt)
).set_name("tcp/udp match")

multiport_element = (
    _kw("multiport")
    + pp.Regex(r"(?P<kind>sports|dports|ports)(?!\S)")
    + NEG
    + WORD("ports")
).set_name("multiport match")

state_element = (_kw("state") + NEG + WORD("states")).set_name("state match")

ct_option = pp.Group(
    NEG
    + pp.Regex(
        r"(?P<name>ctstate|ctproto|ctorigsrcport|ctorigdstport|ctreplsrcport|ctrepldstport"
        r"|ctorigsrc|ctorigdst|ctreplsrc|ctrepldst|ctstatus|ctexpire|ctdir)(?!\S)"
    )
    + WORD("val")
)
conntrack_element = pp.OneOrMore(ct_option).set_name("conntrack match")

mac_element = (
    _kw("MAC") + NEG + pp.Regex(r"!?[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")("mac")
).set_name("mac match")

physdev_option = pp.Group(
    NEG + pp.Regex(r"(?P<name>--physdev-(?:in|out))(?!\S)") + WORD("val")
) | pp.Group(NEG + pp.Regex(r"(?P<name>--physdev-is-(?:in|out|bridged))(?!\S)"))
physdev_element = (
    _kw("PHYSDEV") + _kw("match") + pp.ZeroOrMore(physdev_option)
).set_name("physdev match")

set_flag = pp.Group(
    NEG
    + pp.Regex(
        r"(?P<flag>return-nomatch|update-counters|update-subcounters"
        r"|(?:packets|bytes)-(?:eq|lt|gt))(?!\S)"
    )
    + pp.Opt(NUMBER("val"))
)
set_element = (
    _kw("match-set") + WORD("name") + pp.Regex(r"(?:src|dst)(?:,(?:src|dst))*(?!\S)")("dims")
    + pp.ZeroOrMore(set_flag)
).set_name("set match")

mark_element = (
    pp.Regex(r"(?P<module>mark|connmark)(?!\S)") + _kw("match") + NEG + WORD("val")
).set_name("mark match")

addrtype_option = pp.Group(
    pp.Regex(r"(?P<name>src-type|dst-type)(?!\S)") + pp.Regex(r"!?[A-Z_,]+")("val")
) | pp.Group(pp.Regex(r"(?P<name>limit-in|limit-out)(?!\S)"))
addrtype_element = (
    _kw("ADDRTYPE") + _kw("match") + pp.ZeroOrMore(addrtype_option)
).set_name("addrtype match")

iprange_element = pp.OneOrMore(
    pp.Group(pp.Regex(r"(?P<dir>source|destination) IP range(?!\S)") + NEG + WORD("range"))
).set_name("iprange match")

length_element = (_kw("length") + NEG + WORD("val")).set_name("length match")

limit_element = (
    _kw("limit:") + _kw("avg") + WORD("rate") + _kw("burst") + NUMBER("burst")
).set_name("limit match")

recent_part = (
    pp.Group(pp.Regex(r"(?P<op>SET|CHECK|UPDATE|REMOVE)(?!\S)"))
    | pp.Group(pp.Regex(r"(?P<key>seconds|hit_count|name|side|mask):(?!\S)") + WORD("val"))
    | pp.Group(pp.Regex(r"(?P<flag>reap|TTL-Match)(?!\S)"))
)
recent_element = (_kw("recent:") + pp.ZeroOrMore(recent_part)).set_name("recent match")

owner_element = (
    _kw("owner") + pp.Regex(r"(?P<what>UID|GID|PID|SID|CMD) match(?!\S)") + WORD("val")
    | _kw("owner") + pp.Regex(r"(?P<what>socket) exists(?!\S)")
).set_name("owner match")

statistic_element = (
    _kw("statistic")
    + _kw("mode")
    + (
        _kw("random")("mode") + NEG + _kw("probability") + WORD("probability")
        | _kw("nth")("mode") + NEG + _kw("every") + NUMBER("every")
        + pp.Opt(_kw("packet") + NUMBER("packet"))
    )
).set_name("statistic match")

icmp_element = (
    pp.Regex(r"(?P<module>icmp|ipv6-icmp)\s*(?P<neg>!)?type(?!\S)") + NUMBER("type")
    + pp.Opt(_kw("code") + NUMBER("code") | _kw("codes") + WORD("codes"))
    | pp.Regex(r"(?P<module>icmp|ipv6-icmp)(?!\S)") + pp.Regex(r"(?P<neg>!)?(?P<name>[A-Za-z][\w-]*)")
).set_name("icmp match")

tcpmss_element = (_kw("tcpmss") + _kw("match") + NEG + WORD("val")).set_name("tcpmss match")
pkttype_element = (
    _kw("PKTTYPE") + pp.Regex(r"(?P<op>!?=)(?!\S)") + WORD("val")
).set_name("pkttype match")
# (libvirt's golden files show `DSCP match 0x02state NEW`: the value may run into the next item)
dscp_element = (
    _kw("DSCP") + _kw("match") + NEG + pp.Regex(r"!?0x[0-9A-Fa-f]{1,2}")("val")
).set_name("dscp match")
helper_element = (
    _kw("helper") + _kw("match") + NEG + pp.QuotedString('"')("val")
).set_name("helper match")
ttl_element = (
    pp.Regex(r"(?P<module>TTL|HL) match (?P=module)(?!\S)")
    + pp.Regex(r"(?P<op>==|!=|<|>)(?!\S)") + NUMBER("val")
).set_name("ttl/hl match")
policy_element = (
    _kw("policy") + _kw("match") + pp.ZeroOrMore(
        pp.Group(pp.Regex(r"(?P<key>dir|pol|reqid|spi|proto|mode|tunnel-src|tunnel-dst)(?!\S)")
                 + WORD("val"))
        | pp.Group(pp.Regex(r"(?P<flag>strict|\[\d+\])(?!\S)"))
    )
).set_name("policy match")
rpfilter_element = (
    _kw("rpfilter") + pp.ZeroOrMore(pp.Regex(r"(?:loose|validmark|accept-local|invert)(?!\S)"))
).set_name("rpfilter match")

# Targets -------------------------------------------------------------------------------------

reject_element = (_kw("reject-with") + WORD("val")).set_name("REJECT options")

log_prefix = pp.Regex(r'"(?P<prefix>.*?)"(?=\s|$)')
log_element = (
    _kw("LOG") + pp.ZeroOrMore(
        pp.Group(_kw("flags") + NUMBER("flags"))
        | pp.Group(_kw("level") + WORD("level"))
        | pp.Group(_kw("prefix") + log_prefix)
        | pp.Group(pp.Regex(
            r"(?P<flag>tcp-sequence|tcp-options|ip-options|uid|macdecode|unknown-flags)(?!\S)"))
    )
).set_name("LOG options")

xmark_op = pp.Regex(r"(?P<op>set|xset|or|xor|and)(?!\S)") + WORD("val")
mark_target_element = (_kw("MARK") + xmark_op).set_name("MARK options")
connmark_target_element = (
    _kw("CONNMARK")
    + (
        xmark_op
        | pp.Regex(r"(?P<op>save|restore)(?!\S)")
        + pp.ZeroOrMore(pp.Group(pp.Regex(r"(?P<key>mask|nfmask|ctmask)(?!\S)") + WORD("val")))
    )
).set_name("CONNMARK options")

nat_flag = pp.Regex(r"(?P<flag>random-fully|random|persistent)(?!\S)")
nat_element = pp.OneOrMore(
    pp.Group(pp.Regex(r"to:(?P<to>\S+)")) | pp.Group(nat_flag)
).set_name("DNAT/SNAT options")
masquerade_element = pp.OneOrMore(
    pp.Group(_kw("masq") + _kw("ports:") + WORD("ports")) | pp.Group(nat_flag)
).set_name("MASQUERADE options")
redirect_element = pp.OneOrMore(
    pp.Group(_kw("redir") + _kw("ports") + WORD("ports")) | pp.Group(nat_flag)
).set_name("REDIRECT options")

ct_target_element = (
    _kw("CT") + pp.ZeroOrMore(
        pp.Group(pp.Regex(r"(?P<flag>notrack)(?!\S)"))
        | pp.Group(pp.Regex(
            r"(?P<key>helper|timeout|ctevents|expevents|zone-orig|zone-reply|zone)(?!\S)")
            + WORD("val"))
    )
).set_name("CT options")

nflog_element = pp.OneOrMore(
    pp.Group(pp.Regex(r"nflog-(?P<key>prefix|group|range|size|threshold)(?!\S)")
             + (pp.QuotedString('"', esc_char="\\") | WORD)("val"))
).set_name("NFLOG options")

tcpmss_target_element = (
    _kw("TCPMSS") + (pp.Regex(r"(?P<clamp>clamp to PMTU)(?!\S)") | _kw("set") + NUMBER("mss"))
).set_name("TCPMSS options")

nfqueue_element = (
    _kw("NFQUEUE") + pp.ZeroOrMore(
        pp.Group(pp.Regex(r"(?P<key>num|balance)(?!\S)") + WORD("val"))
        | pp.Group(pp.Regex(r"(?P<flag>bypass|cpu-fanout)(?!\S)"))
    )
).set_name("NFQUEUE options")

checksum_element = (_kw("CHECKSUM") + _kw("fill")).set_name("CHECKSUM options")


# --------------------------------------------------------------------------------------------
# Builders: parse results -> model objects
# --------------------------------------------------------------------------------------------

Item = tuple[str, object]  # ("match", Match) or ("target", tuple[Option, ...])
Builder = Callable[[pp.ParseResults, bool, "_Ctx"], list[Match] | tuple[Option, ...]]


@dataclass(frozen=True, slots=True)
class _Ctx:
    target: str | None
    family: Family


def _groups(res: pp.ParseResults) -> list[pp.ParseResults]:
    """The grouped sub-results of an element (keywords and the end marker left out)."""
    return [tok for tok in res if isinstance(tok, pp.ParseResults)]


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


def _build_tcp(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for tok in res:
        if not isinstance(tok, pp.ParseResults):
            continue
        if "dir" in tok:
            name = "--sport" if tok["dir"] == "s" else "--dport"
            options.append(Option(name, (_ports(tok["val"]),), bool(tok.get("neg"))))
        elif "mask" in tok:
            values = (_flag_value(tok["mask"]), _flag_value(tok["cmp"]))
            options.append(Option("--tcp-flags", values, bool(tok.get("neg"))))
        elif "val" in tok:
            options.append(Option("--tcp-option", (tok["val"],), bool(tok.get("neg"))))
    return [Match(res["module"], tuple(options))]


def _strip_bang(value: str, neg: bool) -> tuple[str, bool]:
    if value.startswith("!"):
        return value[1:], True
    return value, neg


def _build_multiport(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    ports, negated = _strip_bang(res["ports"], neg or "neg" in res)
    value = ",".join(_ports(p) for p in ports.split(","))
    return [Match("multiport", (Option("--" + res["kind"], (value,), negated),))]


def _build_state(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    states, negated = _strip_bang(res["states"], neg or "neg" in res)
    return [Match("state", (Option("--state", (states,), negated),))]


def _build_conntrack(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for i, tok in enumerate(_groups(res)):
        negated = bool(tok.get("neg")) or (neg and i == 0)
        name = tok["name"]
        value = tok["val"]
        if name.endswith("port"):
            value = _ports(value)
        options.append(Option("--" + name, (value,), negated))
    return [Match("conntrack", tuple(options))]


def _build_mac(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    mac, negated = _strip_bang(res["mac"], neg or "neg" in res)
    return [Match("mac", (Option("--mac-source", (mac,), negated),))]


def _build_physdev(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for tok in res:
        if isinstance(tok, pp.ParseResults):
            values = (tok["val"],) if "val" in tok else ()
            options.append(Option(tok["name"], values, bool(tok.get("neg"))))
    return [Match("physdev", tuple(options))]


def _build_set(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options = [Option("--match-set", (res["name"], res["dims"]), neg)]
    for tok in res:
        if isinstance(tok, pp.ParseResults):
            values = (tok["val"],) if "val" in tok else ()
            options.append(Option("--" + tok["flag"], values, bool(tok.get("neg"))))
    return [Match("set", tuple(options))]


def _build_mark(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _strip_bang(res["val"], neg or "neg" in res)
    return [Match(res["module"], (Option("--mark", (value,), negated),))]


def _build_addrtype(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for tok in res:
        if not isinstance(tok, pp.ParseResults):
            continue
        name = tok["name"]
        if name.startswith("limit-"):
            options.append(Option("--limit-iface-" + name[len("limit-"):]))
        else:
            value, negated = _strip_bang(tok["val"], False)
            options.append(Option("--" + name, (value,), negated))
    return [Match("addrtype", tuple(options))]


def _build_iprange(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for i, tok in enumerate(_groups(res)):
        name = "--src-range" if tok["dir"] == "source" else "--dst-range"
        value, negated = _strip_bang(tok["range"], "neg" in tok or (neg and i == 0))
        options.append(Option(name, (value,), negated))
    return [Match("iprange", tuple(options))]


def _build_length(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _strip_bang(res["val"], neg or "neg" in res)
    return [Match("length", (Option("--length", (value,), negated),))]


def _build_limit(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options = [Option("--limit", (res["rate"],))]
    if res["burst"] != "5":  # iptables-save omits the default burst
        options.append(Option("--limit-burst", (res["burst"],)))
    return [Match("limit", tuple(options))]


def _build_recent(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    ops: list[Option] = []
    seconds: list[Option] = []
    hitcount: list[Option] = []
    flags: dict[str, Option] = {}
    name = "DEFAULT"
    mask: str | None = None
    side = "source"
    for tok in res:
        if not isinstance(tok, pp.ParseResults):
            continue
        if "op" in tok:
            op = {"SET": "--set", "CHECK": "--rcheck", "UPDATE": "--update",
                  "REMOVE": "--remove"}[tok["op"]]
            ops.append(Option(op, (), neg and not ops))
        elif "flag" in tok:
            flag = "--reap" if tok["flag"] == "reap" else "--rttl"
            flags[flag] = Option(flag)
        else:
            key, val = tok["key"], tok["val"]
            if key == "seconds":
                seconds.append(Option("--seconds", (val,)))
            elif key == "hit_count":
                hitcount.append(Option("--hitcount", (val,)))
            elif key == "name":
                name = val
            elif key == "side":
                side = val
            elif key == "mask":
                mask = val
    # iptables-save order: op, --seconds, --reap, --hitcount, --rttl, --name, --mask, side
    options = ops + seconds
    if "--reap" in flags:
        options.append(flags["--reap"])
    options += hitcount
    if "--rttl" in flags:
        options.append(flags["--rttl"])
    options.append(Option("--name", (name,)))
    if mask is not None:
        options.append(Option("--mask", (mask,)))
    options.append(Option("--rdest" if side == "dest" else "--rsource"))
    return [Match("recent", tuple(options))]


def _build_owner(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    what = res["what"]
    if what == "socket":
        return [Match("owner", (Option("--socket-exists", (), neg),))]
    value, negated = _strip_bang(res["val"], neg)
    return [Match("owner", (Option(f"--{what.lower()}-owner", (value,), negated),))]


def _build_statistic(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    negated = "neg" in res
    if res["mode"] == "random":
        return [Match("statistic", (
            Option("--mode", ("random",)),
            Option("--probability", (res["probability"],), negated),
        ))]
    return [Match("statistic", (
        Option("--mode", ("nth",)),
        Option("--every", (res["every"],), negated),
        Option("--packet", (res.get("packet", "0"),)),
    ))]


def _build_icmp(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    v6 = res["module"] == "ipv6-icmp"
    module, option = ("icmp6", "--icmpv6-type") if v6 else ("icmp", "--icmp-type")
    negated = neg or bool(res.get("neg"))
    if "type" in res:
        value = res["type"]
        if "code" in res:
            value += "/" + res["code"]
        elif "codes" in res:
            value += "/" + res["codes"].split("-")[0]
        return [Match(module, (Option(option, (value,), negated),))]
    name = res["name"]
    table = ICMP6_TYPES if v6 else ICMP_TYPES
    known = table.get(name)
    if known is None or name == "any":
        value = name
    else:
        value = str(known[0]) if known[1] is None else f"{known[0]}/{known[1]}"
    return [Match(module, (Option(option, (value,), negated),))]


def _build_tcpmss(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _strip_bang(res["val"], neg or "neg" in res)
    return [Match("tcpmss", (Option("--mss", (value,), negated),))]


def _build_pkttype(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    negated = neg or res["op"] == "!="
    return [Match("pkttype", (Option("--pkt-type", (res["val"],), negated),))]


def _build_dscp(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    value, negated = _strip_bang(res["val"], neg or "neg" in res)
    return [Match("dscp", (Option("--dscp", (value,), negated),))]


def _build_helper(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    return [Match("helper", (Option("--helper", (res["val"],), neg or "neg" in res),))]


def _build_ttl(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    module = res["module"].lower()
    op = res["op"]
    suffix = {"==": "eq", "!=": "eq", "<": "lt", ">": "gt"}[op]
    option = Option(f"--{module}-{suffix}", (res["val"],), neg or op == "!=")
    return [Match(module, (option,))]


def _build_policy(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    options: list[Option] = []
    for tok in res:
        if not isinstance(tok, pp.ParseResults):
            continue
        if "key" in tok:
            options.append(Option("--" + tok["key"], (tok["val"],)))
        elif tok["flag"] == "strict":
            options.append(Option("--strict"))
        else:
            options.append(Option("--next"))
    return [Match("policy", tuple(options))]


def _build_rpfilter(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> list[Match]:
    words = [w for w in res if isinstance(w, str) and w != "rpfilter"]
    return [Match("rpfilter", tuple(Option("--" + w) for w in words))]


# Targets ---------------------------------------------------------------------------------

def _build_reject(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--reject-with", (res["val"],)),)


def _build_log(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    prefix: str | None = None
    level = 4
    flags = 0
    flag_words: list[str] = []
    for tok in res:
        if not isinstance(tok, pp.ParseResults):
            continue
        if "flags" in tok:
            flags = int(tok["flags"])
        elif "level" in tok:
            text = tok["level"]
            level = int(text) if text.isdigit() else LOG_LEVELS.get(text, 4)
        elif "prefix" in tok:
            prefix = tok["prefix"]
        elif "flag" in tok and tok["flag"] in LOG_FLAG_WORDS:
            flag_words.append(LOG_FLAG_WORDS[tok["flag"]])
    options: list[Option] = []
    if prefix:
        options.append(Option("--log-prefix", (prefix,)))
    if level != 4:
        options.append(Option("--log-level", (str(level),)))
    options += [Option(name) for bit, name in LOG_FLAG_BITS if flags & bit]
    options += [Option(name) for name in flag_words if Option(name) not in options]
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


def _build_mark_target(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--set-xmark", (_xmark(res["op"], res["val"]),)),)


def _build_connmark_target(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    op = res["op"]
    if op not in ("save", "restore"):
        return (Option("--set-xmark", (_xmark(op, res["val"]),)),)
    nfmask = ctmask = "0xffffffff"
    for tok in res:
        if isinstance(tok, pp.ParseResults):
            value = tok["val"].lstrip("~")
            if tok["key"] == "mask":
                nfmask = ctmask = value
            elif tok["key"] == "nfmask":
                nfmask = value
            else:
                ctmask = value
    return (
        Option(f"--{op}-mark"),
        Option("--nfmask", (nfmask,)),
        Option("--ctmask", (ctmask,)),
    )


def _build_nat(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    to_option = "--to-source" if ctx.target == "SNAT" else "--to-destination"
    options: list[Option] = []
    for tok in _groups(res):
        if "to" in tok:
            options.append(Option(to_option, (tok["to"],)))
        elif "ports" in tok:
            options.append(Option("--to-ports", (tok["ports"],)))
        else:
            options.append(Option("--" + tok["flag"]))
    return tuple(options)


def _build_ct_target(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options: list[Option] = []
    for tok in res:
        if not isinstance(tok, pp.ParseResults):
            continue
        if "flag" in tok:
            options.append(Option("--notrack"))
        else:
            options.append(Option("--" + tok["key"], (tok["val"],)))
    return tuple(options)


def _build_nflog(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return tuple(Option("--nflog-" + tok["key"], (tok["val"],)) for tok in _groups(res))


def _build_tcpmss_target(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    if "clamp" in res:
        return (Option("--clamp-mss-to-pmtu"),)
    return (Option("--set-mss", (res["mss"],)),)


def _build_nfqueue(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    options: list[Option] = []
    for tok in res:
        if not isinstance(tok, pp.ParseResults):
            continue
        if "key" in tok:
            options.append(Option(f"--queue-{tok['key']}", (tok["val"],)))
        else:
            options.append(Option(f"--queue-{tok['flag']}"))
    return tuple(options)


def _build_checksum(res: pp.ParseResults, neg: bool, ctx: _Ctx) -> tuple[Option, ...]:
    return (Option("--checksum-fill"),)


# --------------------------------------------------------------------------------------------
# Dispatch tables: first word of an item -> (element, builder)
# --------------------------------------------------------------------------------------------

_END = pp.Empty().set_parse_action(lambda s, loc, toks: [loc])("__end")


def _entry(element: pp.ParserElement, builder: Builder) -> tuple[pp.ParserElement, Builder]:
    return (element + _END, builder)


_tcp = _entry(tcp_element, _build_tcp)
_ct = _entry(conntrack_element, _build_conntrack)
_mark = _entry(mark_element, _build_mark)
_iprange = _entry(iprange_element, _build_iprange)
_icmp = _entry(icmp_element, _build_icmp)
_ttl = _entry(ttl_element, _build_ttl)

MATCH_ELEMENTS: dict[str, tuple[pp.ParserElement, Builder]] = {
    "tcp": _tcp, "udp": _tcp, "sctp": _tcp, "dccp": _tcp, "udplite": _tcp,
    "multiport": _entry(multiport_element, _build_multiport),
    "state": _entry(state_element, _build_state),
    **{name: _ct for name in (
        "ctstate", "ctproto", "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst",
        "ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport", "ctstatus",
        "ctexpire", "ctdir")},
    "MAC": _entry(mac_element, _build_mac),
    "PHYSDEV": _entry(physdev_element, _build_physdev),
    "match-set": _entry(set_element, _build_set),
    "mark": _mark, "connmark": _mark,
    "ADDRTYPE": _entry(addrtype_element, _build_addrtype),
    "source": _iprange, "destination": _iprange,
    "length": _entry(length_element, _build_length),
    "limit:": _entry(limit_element, _build_limit),
    "recent:": _entry(recent_element, _build_recent),
    "owner": _entry(owner_element, _build_owner),
    "statistic": _entry(statistic_element, _build_statistic),
    "icmp": _icmp, "icmptype": _icmp, "ipv6-icmp": _icmp, "ipv6-icmptype": _icmp,
    "tcpmss": _entry(tcpmss_element, _build_tcpmss),
    "PKTTYPE": _entry(pkttype_element, _build_pkttype),
    "DSCP": _entry(dscp_element, _build_dscp),
    "helper": _entry(helper_element, _build_helper),
    "TTL": _ttl, "HL": _ttl,
    "policy": _entry(policy_element, _build_policy),
    "rpfilter": _entry(rpfilter_element, _build_rpfilter),
}

_nat = _entry(nat_element, _build_nat)
_nat_flags = {"random": _nat, "random-fully": _nat, "persistent": _nat}
_masq = _entry(masquerade_element, _build_nat)
_redir = _entry(redirect_element, _build_nat)

# Target name -> {first word -> (element, builder)}
TARGET_ELEMENTS: dict[str, dict[str, tuple[pp.ParserElement, Builder]]] = {
    "REJECT": {"reject-with": _entry(reject_element, _build_reject)},
    "LOG": {"LOG": _entry(log_element, _build_log)},
    "MARK": {"MARK": _entry(mark_target_element, _build_mark_target)},
    "CONNMARK": {"CONNMARK": _entry(connmark_target_element, _build_connmark_target)},
    "DNAT": {"to:": _nat, **_nat_flags},
    "SNAT": {"to:": _nat, **_nat_flags},
    "MASQUERADE": {"masq": _masq, **{k: _masq for k in _nat_flags}},
    "REDIRECT": {"redir": _redir, **{k: _redir for k in _nat_flags}},
    "CT": {"CT": _entry(ct_target_element, _build_ct_target)},
    "NFLOG": {f"nflog-{k}": _entry(nflog_element, _build_nflog)
              for k in ("prefix", "group", "range", "size", "threshold")},
    "TCPMSS": {"TCPMSS": _entry(tcpmss_target_element, _build_tcpmss_target)},
    "NFQUEUE": {"NFQUEUE": _entry(nfqueue_element, _build_nfqueue)},
    "CHECKSUM": {"CHECKSUM": _entry(checksum_element, _build_checksum)},
}

KNOWN_MATCH_MODULES = frozenset({
    "tcp", "udp", "sctp", "dccp", "udplite", "multiport", "state", "conntrack", "mac",
    "physdev", "set", "comment", "mark", "connmark", "addrtype", "iprange", "length", "limit",
    "recent", "owner", "statistic", "icmp", "icmp6", "tcpmss", "pkttype", "dscp", "helper",
    "ttl", "hl", "policy", "rpfilter",
})


# --------------------------------------------------------------------------------------------
# The dispatcher
# --------------------------------------------------------------------------------------------

_WORD_AT = re.compile(r"\s*(\S+)")
_GLUED_FLAGS = re.compile(r"(?<=[^\s/])(?=flags:)")


def _lookup(word: str, table: dict[str, tuple[pp.ParserElement, Builder]]) -> (
    tuple[pp.ParserElement, Builder] | None
):
    found = table.get(word)
    if found is None and word.startswith("to:"):
        found = table.get("to:")
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
    end = len(text)

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
        entry = _lookup(key_word, MATCH_ELEMENTS)
        kind = "match"
        if entry is None:
            entry = _lookup(key_word, target_table)
            kind = "target"
        if entry is not None:
            element, builder = entry
            try:
                res = element.parse_string(text[key_start:end])
            except pp.ParseException:
                res = None
            if res is not None:
                flush()
                built = builder(res, neg, ctx)
                if kind == "match":
                    out.matches.extend(built)  # type: ignore[arg-type]
                else:
                    out.target_options.extend(built)  # type: ignore[arg-type]
                pos = key_start + int(res["__end"])
                continue
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
    if "flags:" in text:
        text = _GLUED_FLAGS.sub(" ", text)
    result = _parse_items(text, 0, _Ctx(target, family))
    return Extra(
        matches=tuple(result.matches),
        target_options=tuple(result.target_options),
        goto=goto,
        opaque=tuple(result.opaque),
    )

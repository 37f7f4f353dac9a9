"""Render rule specs back to iptables words, and normalise them so that dumps of the same
ruleset in different formats (save, -S, -L) compare equal.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from enum import StrEnum
from functools import lru_cache

from ruleset.model import GENERIC_OPTIONS, Family, Match, Option, Rule, RuleSpec, Target

# /etc/protocols names iptables prints, both ways.
PROTOCOL_NUMBERS: dict[str, int] = {
    "ip": 0, "icmp": 1, "igmp": 2, "ipencap": 4, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41,
    "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
    "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ospf": 89, "pim": 103,
    "vrrp": 112, "l2tp": 115, "sctp": 132, "mh": 135, "udplite": 136, "dccp": 33,
}
PROTOCOL_NAMES: dict[int, str] = {
    0: "all", 1: "icmp", 2: "igmp", 4: "ipencap", 6: "tcp", 8: "egp", 17: "udp", 33: "dccp",
    41: "ipv6", 43: "ipv6-route", 44: "ipv6-frag", 46: "rsvp", 47: "gre", 50: "esp", 51: "ah",
    58: "ipv6-icmp", 59: "ipv6-nonxt", 60: "ipv6-opts", 89: "ospf", 103: "pim", 112: "vrrp",
    115: "l2tp", 132: "sctp", 135: "mh", 136: "udplite",
}


class TargetKind(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    RETURN = "return"
    JUMP = "jump"
    GOTO = "goto"
    QUEUE = "queue"
    LOG = "log"
    MODIFY = "modify"
    NONE = "none"
    UNKNOWN = "unknown"


LOG_TARGETS = frozenset({"LOG", "NFLOG", "ULOG", "TRACE", "AUDIT"})
MODIFY_TARGETS = frozenset({
    "MARK", "CONNMARK", "CT", "NOTRACK", "DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP",
    "TOS", "DSCP", "TCPMSS", "CHECKSUM", "TTL", "HL", "CLASSIFY", "SECMARK", "CONNSECMARK",
    "TPROXY", "TEE", "SET", "HMARK", "CLUSTERIP", "IDLETIMER", "LED", "RATEEST", "SYNPROXY",
    "ECN", "CONNLIMIT",
})


def target_kind(name: str | None, goto: bool = False, chains: frozenset[str] | None = None) -> (
    TargetKind
):
    """Classify a target name; user chains are JUMP/GOTO (all names not known as targets)."""
    if name is None:
        return TargetKind.NONE
    if name == "ACCEPT":
        return TargetKind.ACCEPT
    if name == "DROP":
        return TargetKind.DROP
    if name == "REJECT":
        return TargetKind.REJECT
    if name == "RETURN":
        return TargetKind.RETURN
    if name in ("QUEUE", "NFQUEUE"):
        return TargetKind.QUEUE
    if name in LOG_TARGETS:
        return TargetKind.LOG
    if name in MODIFY_TARGETS:
        return TargetKind.MODIFY
    if chains is not None and name not in chains:
        return TargetKind.UNKNOWN
    return TargetKind.GOTO if goto else TargetKind.JUMP


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/,+!@%^*=~[]")


def quote(word: str) -> str:
    """Quote a word the way iptables-save does when it needs to."""
    if word and all(ch in _SAFE for ch in word) and not word.startswith("!"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_option(opt: Option, out: list[str]) -> None:
    if opt.negated:
        out.append("!")
    out.append(opt.name)
    out.extend(quote(v) for v in opt.values)


def render_words(spec: RuleSpec) -> list[str]:
    """The spec as iptables-save words (without `-A CHAIN`), quoted where needed."""
    out: list[str] = []
    for opt in spec.generic:
        _render_option(opt, out)
    for match in spec.matches:
        out.extend(("-m", match.module))
        for opt in match.options:
            _render_option(opt, out)
    target = spec.target
    if target is not None:
        out.extend(("-g" if target.goto else "-j", target.name))
        for opt in target.options:
            _render_option(opt, out)
    return out


def render_spec(spec: RuleSpec) -> str:
    return " ".join(render_words(spec))


def render_rule(rule: Rule, command: str = "-A") -> str:
    """`-A CHAIN spec` (or -I/-D with position where the command takes one)."""
    parts = [command, rule.chain_name]
    if command in ("-I", "-R") and rule.position:
        parts.append(str(rule.position))
    body = render_spec(rule.spec)
    return " ".join(parts) + (" " + body if body else "")


@lru_cache(maxsize=65536)
def normalize_address(value: str, family: Family = Family.IPV4) -> str:
    """`10.0.0.1` -> `10.0.0.1/32`, `10.0.0.0/255.255.255.0` -> `10.0.0.0/24`; names kept."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        if value in ("anywhere", "0/0"):
            return "::/0" if family is Family.IPV6 else "0.0.0.0/0"
        return value
    return str(net)


def normalize_protocol(value: str) -> str:
    low = value.lower()
    if low.isdigit():
        return PROTOCOL_NAMES.get(int(low), low)
    return PROTOCOL_ALIASES.get(low, low)


# Other names /etc/protocols or iptables use for the same protocol (ip6tables-save prints
# `mobility-header` where -L prints 135, i.e. `mh`).
PROTOCOL_ALIASES: dict[str, str] = {
    "icmpv6": "ipv6-icmp", "mobility-header": "mh", "ipv6-mh": "mh",
}


def is_any_address(value: str) -> bool:
    return value in ("0.0.0.0/0", "::/0", "anywhere", "0/0")


def canonical(spec: RuleSpec, family: Family = Family.IPV4) -> RuleSpec:
    """A normal form for comparisons: addresses with prefixes, protocol names, no no-op options,
    generic options in iptables-save order, the implicit protocol match made explicit."""
    generic: dict[str, Option] = {}
    for opt in spec.generic:
        name, values = opt.name, opt.values
        if name in ("-s", "-d"):
            values = tuple(normalize_address(v, family) for v in values)
            if not opt.negated and all(is_any_address(v) for v in values):
                continue
        elif name == "-p":
            values = tuple(normalize_protocol(v) for v in values)
            if values in (("all",), ("0",)) and not opt.negated:
                continue
        elif name in ("-i", "-o") and values in (("+",), ("*",)) and not opt.negated:
            continue
        generic[name] = replace(opt, values=values)
    ordered = tuple(generic[n] for n in GENERIC_OPTIONS if n in generic)
    ordered += tuple(o for n, o in generic.items() if n not in GENERIC_OPTIONS)
    return RuleSpec(generic=ordered, matches=spec.matches, target=spec.target,
                    opaque=spec.opaque)


def spec_key(spec: RuleSpec, family: Family = Family.IPV4) -> str:
    """A string identity for a rule spec, equal across formats for the same rule."""
    return render_spec(canonical(spec, family))


def match_summary(match: Match) -> str:
    """`tcp --dport 80` style text of one match, for listings."""
    words = [match.module]
    for opt in match.options:
        if opt.negated:
            words.append("!")
        words.append(opt.name)
        words.extend(quote(v) for v in opt.values)
    return " ".join(words)


def target_summary(target: Target | None) -> str:
    if target is None:
        return ""
    words = [target.name]
    for opt in target.options:
        if opt.negated:
            words.append("!")
        words.append(opt.name)
        words.extend(quote(v) for v in opt.values)
    return " ".join(words)

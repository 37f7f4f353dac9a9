"""Plain-word descriptions of rules, for people: "source is 14.52.45.2", "UDP destination port 68".

Stdlib only; the app's detail pane and any CLI can use them. Unknown modules are described by
their words, never dropped.
"""

from __future__ import annotations

from ruleset.model import Match, Option, Rule, RuleSpec

_GENERIC = {
    "-s": "source address is {v}",
    "-d": "destination address is {v}",
    "-i": "arrives on interface {v}",
    "-o": "leaves by interface {v}",
    "-p": "protocol is {v}",
}
_NEG_GENERIC = {
    "-s": "source address is not {v}",
    "-d": "destination address is not {v}",
    "-i": "does not arrive on interface {v}",
    "-o": "does not leave by interface {v}",
    "-p": "protocol is not {v}",
}
_OPTION_WORDS = {
    "--dport": "destination port {v}",
    "--dports": "destination port in {v}",
    "--sport": "source port {v}",
    "--sports": "source port in {v}",
    "--ports": "source or destination port in {v}",
    "--destination-port": "destination port {v}",
    "--source-port": "source port {v}",
    "--state": "connection state is {v}",
    "--ctstate": "connection state is {v}",
    "--ctstatus": "conntrack status is {v}",
    "--mac-source": "source MAC is {v}",
    "--physdev-in": "bridge input port is {v}",
    "--physdev-out": "bridge output port is {v}",
    "--physdev-is-bridged": "the packet is being bridged",
    "--physdev-is-in": "it entered through a bridge port",
    "--physdev-is-out": "it will leave through a bridge port",
    "--mark": "mark is {v}",
    "--icmp-type": "ICMP type {v}",
    "--icmpv6-type": "ICMPv6 type {v}",
    "--tcp-flags": "TCP flags {v} (mask, then set)",
    "--syn": "it is a TCP SYN (connection start)",
    "--src-type": "source address type is {v}",
    "--dst-type": "destination address type is {v}",
    "--src-range": "source address in range {v}",
    "--dst-range": "destination address in range {v}",
    "--limit": "rate under {v}",
    "--limit-burst": "burst of {v}",
    "--probability": "randomly, with probability {v}",
    "--mode": "statistic mode {v}",
    "--every": "every {v}th packet",
    "--uid-owner": "sent by user {v}",
    "--gid-owner": "sent by group {v}",
    "--length": "packet length {v}",
    "--ttl-eq": "TTL equals {v}",
    "--ttl-lt": "TTL under {v}",
    "--ttl-gt": "TTL over {v}",
    "--pkt-type": "link-layer packet type is {v}",
    "--tos": "TOS is {v}",
    "--dscp": "DSCP is {v}",
}


def _neg(opt: Option, text: str) -> str:
    return f"NOT ({text})" if opt.negated else text


def describe_option(module: str, opt: Option) -> str:
    """One option of a match in plain words."""
    value = opt.value
    if module == "set" and opt.name == "--match-set" and opt.values:
        name = opt.values[0]
        flags = " ".join(opt.values[1:]) or "src"
        where = " and ".join(
            {"src": "source", "dst": "destination"}.get(f, f) for f in flags.split(",")
        )
        text = f"the {where} is in ipset {name} (contents not in the dump)"
        return _neg(opt, text)
    if module == "comment":
        return f'comment "{value}"'
    words = _OPTION_WORDS.get(opt.name)
    if words is not None:
        text = words.format(v=value)
        if module in ("tcp", "udp", "sctp", "dccp", "udplite") and "port" in words:
            text = f"{module.upper()} {text}"
        return _neg(opt, text)
    return _neg(opt, f"{module} {opt.name} {value}".strip())


def describe_match(match: Match) -> list[str]:
    """Each option of a match module in plain words (a bare module gets one line)."""
    if not match.options:
        return [f"module {match.module} (no options)"]
    return [describe_option(match.module, opt) for opt in match.options]


def describe_spec(spec: RuleSpec) -> list[str]:
    """Every condition of a rule in plain words, in the order iptables checks them."""
    out: list[str] = []
    for opt in spec.generic:
        if opt.name == "-f":
            out.append("it is NOT a later fragment" if opt.negated else "it is a later fragment")
            continue
        table = _NEG_GENERIC if opt.negated else _GENERIC
        pattern = table.get(opt.name)
        out.append(pattern.format(v=opt.value) if pattern else f"{opt.name} {opt.value}")
    for match in spec.matches:
        if match.module == "comment":
            continue
        out.extend(describe_match(match))
    out.extend(f"(unparsed) {text}" for text in spec.opaque)
    return out or ["every packet (no conditions)"]


def describe_target(rule: Rule, chain_names: frozenset[str] | set[str] | None = None) -> str:
    """What the rule does when everything matches."""
    target = rule.spec.target
    if target is None:
        return "nothing (it only counts packets), then the next rule"
    name = target.name
    options = " ".join(
        ("! " if o.negated else "") + o.name + (" " + o.value if o.values else "")
        for o in target.options
    )
    if name == "ACCEPT":
        return "ACCEPT: the packet leaves this table's chain, accepted"
    if name == "DROP":
        return "DROP: the packet is discarded silently"
    if name == "REJECT":
        return f"REJECT: the packet is discarded and an error is sent back {options}".rstrip()
    if name == "RETURN":
        return "RETURN: back to the calling chain (or the policy in a built-in chain)"
    if chain_names is not None and name in chain_names:
        if target.goto:
            return f"GOTO {name}: continue there, and do not come back here"
        return f"JUMP to {name}: walk it, and come back here if it returns"
    return f"{name} {options}".rstrip()

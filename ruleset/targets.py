"""What a target does when its rule matches: verdicts, chain flow, packet changes.

`apply_target` returns an `Effect`: the flow action (continue, jump, goto, return, accept the
table, drop, reject, queue, unknown) and, for packet-changing targets, the new packet. Unknown
targets are UNKNOWN, never guessed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from enum import StrEnum

from ruleset.model import Target
from ruleset.packet import CtState, Host, IPAddress, Packet
from ruleset.spec import LOG_TARGETS


class Action(StrEnum):
    CONTINUE = "continue"  # no match, or a non-terminating target
    JUMP = "jump"
    GOTO = "goto"
    RETURN = "return"
    ACCEPT = "accept"  # ends this table's walk at this hook
    DROP = "drop"
    REJECT = "reject"
    QUEUE = "queue"
    UNKNOWN = "unknown"


TERMINAL = frozenset({Action.DROP, Action.REJECT, Action.QUEUE, Action.UNKNOWN})


@dataclass(frozen=True, slots=True)
class Effect:
    action: Action
    packet: Packet | None = None  # the changed packet, if the target changed it
    note: str = ""
    untrack: bool = False
    ct_target: bool = False
    local_dnat: bool = False  # REDIRECT: the packet is now for this host


# Targets that change nothing a later rule or the verdict depends on.
PASSIVE_TARGETS = frozenset(LOG_TARGETS | {
    "TCPMSS", "CHECKSUM", "CLASSIFY", "SECMARK", "CONNSECMARK", "TEE", "SET", "IDLETIMER",
    "LED", "RATEEST", "ECN", "TCPOPTSTRIP", "DSCP_NOOP", "NFACCT", "SYNPROXY_NOOP",
})
NAT_TARGETS = frozenset({"DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"})


def _mask_value(text: str, default_mask: int = 0xFFFFFFFF) -> tuple[int, int]:
    v, _, m = text.partition("/")
    return int(v, 0), int(m, 0) if m else default_mask


def _mark_target(target: Target, mark: int | None, what: str) -> tuple[int | None, str]:
    if mark is None:
        return None, f"{what} stays unknown"
    new = mark
    for opt in target.options:
        if not opt.values:
            continue
        if opt.name == "--set-xmark":
            v, m = _mask_value(opt.values[0])
            new = (new & ~m & 0xFFFFFFFF) ^ v
        elif opt.name == "--set-mark":
            v, m = _mask_value(opt.values[0])
            new = (new & ~m & 0xFFFFFFFF) | v
        elif opt.name == "--and-mark":
            new &= int(opt.values[0], 0)
        elif opt.name == "--or-mark":
            new |= int(opt.values[0], 0)
        elif opt.name == "--xor-mark":
            new ^= int(opt.values[0], 0)
    return new, f"{what} {mark:#x} -> {new:#x}"


def _connmark_target(target: Target, pkt: Packet, has_ct: bool) -> tuple[Packet, str]:
    mark, ctmark = pkt.mark, pkt.connmark
    if not has_ct:
        return pkt, "no conntrack entry: CONNMARK does nothing"
    get = target.get
    nfmask = ctmask = 0xFFFFFFFF
    for name in ("--nfmask", "--ctmask", "--mask"):
        o = get(name)
        if o and o.values:
            value = int(o.values[0], 0)
            if name in ("--nfmask", "--mask"):
                nfmask = value
            if name in ("--ctmask", "--mask"):
                ctmask = value
    if get("--save-mark") is not None:
        if mark is None or ctmark is None:
            return replace(pkt, connmark=None), "connmark now unknown"
        new = (ctmark & ~ctmask & 0xFFFFFFFF) ^ (mark & nfmask)
        return replace(pkt, connmark=new), f"connmark {ctmark:#x} -> {new:#x} (saved from mark)"
    if get("--restore-mark") is not None:
        if mark is None or ctmark is None:
            return replace(pkt, mark=None), "mark now unknown"
        new = (mark & ~nfmask & 0xFFFFFFFF) ^ (ctmark & ctmask)
        return replace(pkt, mark=new), f"mark {mark:#x} -> {new:#x} (restored from connmark)"
    new_ct, note = _mark_target(target, ctmark, "connmark")
    return replace(pkt, connmark=new_ct), note


def _tos_target(target: Target, pkt: Packet) -> tuple[Packet, str]:
    tos = pkt.tos
    for opt in target.options:
        if not opt.values:
            continue
        if opt.name == "--set-tos":
            v, m = _mask_value(opt.values[0], 0xFF)
            tos = (tos & ~m & 0xFF) ^ v
        elif opt.name == "--and-tos":
            tos &= int(opt.values[0], 0)
        elif opt.name == "--or-tos":
            tos |= int(opt.values[0], 0)
        elif opt.name == "--xor-tos":
            tos ^= int(opt.values[0], 0)
        elif opt.name == "--set-dscp":
            tos = (tos & 0x03) | (int(opt.values[0], 0) << 2)
        elif opt.name == "--set-dscp-class":
            from ruleset.matches import DSCP_CLASSES

            tos = (tos & 0x03) | (DSCP_CLASSES.get(opt.values[0].upper(), 0) << 2)
    return replace(pkt, tos=tos & 0xFF), f"tos {pkt.tos:#04x} -> {tos & 0xFF:#04x}"


def _ttl_target(target: Target, pkt: Packet) -> tuple[Packet, str]:
    ttl = pkt.ttl
    for opt in target.options:
        if not opt.values:
            continue
        n = int(opt.values[0])
        if opt.name.endswith("-set"):
            ttl = n
        elif opt.name.endswith("-dec"):
            ttl = max(0, ttl - n)
        elif opt.name.endswith("-inc"):
            ttl = min(255, ttl + n)
    return replace(pkt, ttl=ttl), f"ttl {pkt.ttl} -> {ttl}"


def split_nat_to(text: str) -> tuple[str, str]:
    """`10.0.0.1-10.0.0.9:80-90` -> ("10.0.0.1-10.0.0.9", "80-90"); `[2001:db8::1]:80` and a
    bare IPv6 address (several colons, no port) too."""
    if text.startswith("["):
        addr_text, _, rest = text[1:].partition("]")
        return addr_text, rest[1:] if rest.startswith(":") else ""
    if text.count(":") == 1:
        addr_text, _, port_text = text.partition(":")
        return addr_text, port_text
    return text, ""


def parse_nat_to(text: str) -> tuple[IPAddress | None, int | None, str]:
    """`10.0.0.1-10.0.0.9:80-90` -> (10.0.0.1, 80, note about ranges)."""
    note = ""
    addr_text, port_text = split_nat_to(text)
    addr: IPAddress | None = None
    if addr_text:
        first, dash, _ = addr_text.partition("-")
        addr = ipaddress.ip_address(first)
        if dash:
            note = "a range: the first address is shown"
    port: int | None = None
    if port_text:
        first_port, dash, _ = port_text.partition("-")
        port = int(first_port)
        if dash:
            note = (note + "; " if note else "") + "a port range: the first port is shown"
    return addr, port, note


def _nat_target(target: Target, pkt: Packet, hook: str, outdev: str | None,
                indev: str | None, host: Host) -> Effect:
    name = target.name
    ports = target.get("--to-ports")
    try:
        if name == "DNAT":
            to = target.get("--to-destination") or target.get("--to")
            if to is None or not to.values:
                return Effect(Action.UNKNOWN, note="DNAT without --to-destination")
            addr, port, note = parse_nat_to(to.values[0])
            new = replace(pkt, dst=addr or pkt.dst,
                          dport=port if port is not None and pkt.has_ports else pkt.dport,
                          orig_dst=pkt.orig_dst or pkt.dst,
                          orig_dport=pkt.orig_dport if pkt.orig_dst else pkt.dport,
                          ct_nat=pkt.ct_nat | {"DNAT"})
            shown = f"dst {pkt.dst}:{pkt.dport} -> {new.dst}:{new.dport}"
            return Effect(Action.ACCEPT, new, shown + (f" ({note})" if note else ""))
        if name == "SNAT":
            to = target.get("--to-source") or target.get("--to")
            if to is None or not to.values:
                return Effect(Action.UNKNOWN, note="SNAT without --to-source")
            addr, port, note = parse_nat_to(to.values[0])
            new = replace(pkt, src=addr or pkt.src,
                          sport=port if port is not None and pkt.has_ports else pkt.sport,
                          orig_src=pkt.orig_src or pkt.src,
                          orig_sport=pkt.orig_sport if pkt.orig_src else pkt.sport,
                          ct_nat=pkt.ct_nat | {"SNAT"})
            shown = f"src {pkt.src}:{pkt.sport} -> {new.src}:{new.sport}"
            return Effect(Action.ACCEPT, new, shown + (f" ({note})" if note else ""))
        if name == "MASQUERADE":
            addr = host.address_of(outdev)
            port = None
            if ports and ports.values:
                port = int(ports.values[0].partition("-")[0])
            new = replace(pkt, src=addr or pkt.src,
                          sport=port if port is not None and pkt.has_ports else pkt.sport,
                          orig_src=pkt.orig_src or pkt.src,
                          orig_sport=pkt.orig_sport if pkt.orig_src else pkt.sport,
                          ct_nat=pkt.ct_nat | {"SNAT"})
            if addr is None:
                note = (f"src becomes the address of {outdev or 'the output interface'}"
                        " (not given: give --local-addr ADDR@IFACE)")
            else:
                note = f"src {pkt.src} -> {addr}"
            return Effect(Action.ACCEPT, new, note)
        if name == "REDIRECT":
            port = None
            if ports and ports.values:
                port = int(ports.values[0].partition("-")[0])
            if hook == "OUTPUT":
                addr = ipaddress.ip_address("127.0.0.1" if pkt.family.value == "ipv4" else "::1")
            else:
                addr = host.address_of(indev)
            new = replace(pkt, dst=addr or pkt.dst,
                          dport=port if port is not None and pkt.has_ports else pkt.dport,
                          orig_dst=pkt.orig_dst or pkt.dst,
                          orig_dport=pkt.orig_dport if pkt.orig_dst else pkt.dport,
                          ct_nat=pkt.ct_nat | {"DNAT"})
            note = f"redirected to this host, port {new.dport}"
            if addr is None:
                note += f" (the address of {indev or 'the input interface'} is not given)"
            return Effect(Action.ACCEPT, new, note, local_dnat=True)
        if name == "NETMAP":
            to = target.get("--to")
            if to is None or not to.values:
                return Effect(Action.UNKNOWN, note="NETMAP without --to")
            net = ipaddress.ip_network(to.values[0], strict=False)
            mask = int(net.netmask)
            dst_side = hook in ("PREROUTING", "OUTPUT")
            old = pkt.dst if dst_side else pkt.src
            mapped = ipaddress.ip_address((int(old) & ~mask) | int(net.network_address))
            if dst_side:
                new = replace(pkt, dst=mapped, orig_dst=pkt.orig_dst or pkt.dst,
                              ct_nat=pkt.ct_nat | {"DNAT"})
            else:
                new = replace(pkt, src=mapped, orig_src=pkt.orig_src or pkt.src,
                              ct_nat=pkt.ct_nat | {"SNAT"})
            return Effect(Action.ACCEPT, new, f"{old} -> {mapped}")
    except ValueError as exc:
        return Effect(Action.UNKNOWN, note=f"cannot read {name} options: {exc}")
    return Effect(Action.UNKNOWN, note=f"{name} not modelled")


def apply_target(target: Target | None, pkt: Packet, *, hook: str, table: str,
                 chains: dict[str, object], indev: str | None, outdev: str | None,
                 host: Host, ct_target_seen: bool, has_ct: bool = True) -> Effect:
    """The effect of a matched rule's target (chain targets: JUMP/GOTO, resolved by caller)."""
    if target is None:
        return Effect(Action.CONTINUE, note="no target: counters only")
    name = target.name
    if name in chains:
        return Effect(Action.GOTO if target.goto else Action.JUMP)
    if name == "ACCEPT":
        return Effect(Action.ACCEPT)
    if name == "DROP":
        return Effect(Action.DROP)
    if name == "REJECT":
        with_ = target.get("--reject-with")
        return Effect(Action.REJECT, note=f"reply {with_.value}" if with_ else "")
    if name == "RETURN":
        return Effect(Action.RETURN)
    if name in ("QUEUE", "NFQUEUE"):
        note = "handed to user space: its verdict is not in the dump"
        if target.get("--queue-bypass") is not None:
            note += " (--queue-bypass: accepted if no program listens)"
        return Effect(Action.QUEUE, note=note)
    if name in PASSIVE_TARGETS:
        return Effect(Action.CONTINUE)
    if name == "MARK":
        try:
            mark, note = _mark_target(target, pkt.mark, "mark")
        except ValueError:
            return Effect(Action.UNKNOWN, note="cannot read MARK options")
        return Effect(Action.CONTINUE, replace(pkt, mark=mark), note)
    if name == "CONNMARK":
        try:
            new, note = _connmark_target(target, pkt, has_ct)
        except ValueError:
            return Effect(Action.UNKNOWN, note="cannot read CONNMARK options")
        return Effect(Action.CONTINUE, new, note)
    if name == "HMARK":
        return Effect(Action.CONTINUE, replace(pkt, mark=None), "mark set from a hash: unknown")
    if name in ("NOTRACK", "CT"):
        notrack = name == "NOTRACK" or target.get("--notrack") is not None
        if table != "raw":
            return Effect(Action.CONTINUE, note=f"{name} outside raw does nothing")
        if ct_target_seen:
            return Effect(Action.CONTINUE, note="an earlier CT target decided: ignored",
                          ct_target=True)
        if notrack:
            return Effect(Action.CONTINUE, replace(pkt, state=CtState.UNTRACKED),
                          "untracked: no conntrack, no nat", untrack=True, ct_target=True)
        return Effect(Action.CONTINUE, note="conntrack template attached", ct_target=True)
    if name in ("TOS", "DSCP"):
        try:
            new, note = _tos_target(target, pkt)
        except ValueError:
            return Effect(Action.UNKNOWN, note=f"cannot read {name} options")
        return Effect(Action.CONTINUE, new, note)
    if name in ("TTL", "HL"):
        try:
            new, note = _ttl_target(target, pkt)
        except ValueError:
            return Effect(Action.UNKNOWN, note=f"cannot read {name} options")
        return Effect(Action.CONTINUE, new, note)
    if name in NAT_TARGETS:
        if table != "nat":
            return Effect(Action.UNKNOWN, note=f"{name} outside the nat table")
        return _nat_target(target, pkt, hook, outdev, indev, host)
    return Effect(Action.UNKNOWN, note=f"target {name} is not modelled: its effect is unknown")

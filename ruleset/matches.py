"""Match evaluation: one evaluator per match module, each with a one-line human reason.

A rule is compiled once (lazily, cached by spec identity) into a tuple of `Check`s: one per
generic option (`-s -d -i -o -p -f`) and one per `-m` module, in the kernel's order (the ip
header part first, then the modules as written). Each check returns a three-valued `Result`
and a reason such as `src 14.52.45.2 not in 14.52.45.12/32`. What a dump cannot decide (rate
and history matches, ipsets without contents, unknown modules) is UNKNOWN, never guessed.

The semantics follow /work/shared/NETFILTER.md and the kernel's xt_* sources.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from ruleset.ipsets import Value
from ruleset.model import Family, Match, Option, RuleSpec
from ruleset.packet import (
    TCP_FLAG_NAMES,
    CtState,
    Host,
    IPAddress,
    Packet,
    parse_tcp_flags,
    proto_number,
)
from ruleset.spec import normalize_address


class Result(StrEnum):
    MATCH = "match"
    NO_MATCH = "no match"
    UNKNOWN = "unknown"

    @property
    def json(self) -> bool | None:
        return True if self is Result.MATCH else False if self is Result.NO_MATCH else None


MATCH = Result.MATCH
NO_MATCH = Result.NO_MATCH
UNKNOWN = Result.UNKNOWN

Outcome = tuple[Result, str]


@dataclass(frozen=True, slots=True)
class Env:
    """What a rule can see besides the packet, fixed for one table at one hook.

    `indev`/`outdev`: the device name, "" when the hook has none (OUTPUT has no input device),
    None when the hook has one but the caller did not say which. `physin`/`physout`: the bridge
    ports known at this hook (None if none). `state` is the conntrack state rules see here
    (INVALID in raw before conntrack ran).
    """

    hook: str
    table: str
    indev: str | None
    outdev: str | None
    bridged: bool
    physin: str | None
    physout: str | None
    physin_unknown: bool
    physout_unknown: bool
    state: CtState
    host: Host
    local_packet: bool


CheckFn = Callable[[Packet, Env], Outcome]
TestFn = Callable[[Packet, Env], Result]


@dataclass(frozen=True, slots=True)
class Check:
    """One generic option or match module of a rule, compiled. `fn` gives the result and its
    reason; `test` only the result (fast: the walk calls it, reasons are made on demand)."""

    label: str
    fn: CheckFn
    probability: float | None = None  # statistic: the chance this check matches
    test: TestFn | None = None

    def __post_init__(self) -> None:
        if self.test is None:
            fn = self.fn

            def test(pkt: Packet, env: Env) -> Result:
                return fn(pkt, env)[0]
            object.__setattr__(self, "test", test)


class CheckResult(NamedTuple):
    label: str
    result: Result
    reason: str


def flip(result: Result, negated: bool) -> Result:
    if not negated or result is UNKNOWN:
        return result
    return NO_MATCH if result is MATCH else MATCH


def _bang(negated: bool) -> str:
    return "! " if negated else ""


def _words(opt: Option) -> str:
    return f"{_bang(opt.negated)}{opt.name} {' '.join(opt.values)}".rstrip()


def _label(match: Match) -> str:
    parts = [f"-m {match.module}"]
    parts += [_words(o) for o in match.options]
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# Addresses

def parse_address(value: str, family: Family) -> tuple[int, int, int] | None:
    """(network int, mask int, version) of `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `::1`;
    None for names we cannot resolve offline. Non-contiguous masks are kept as they are."""
    addr, sep, mask = value.partition("/")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return None
    bits = 32 if ip.version == 4 else 128
    full = (1 << bits) - 1
    if not sep:
        m = full
    elif mask.isdigit():
        n = int(mask)
        if n > bits:
            return None
        m = (full << (bits - n)) & full
    else:
        try:
            m = int(ipaddress.ip_address(mask))
        except ValueError:
            return None
    return int(ip) & m, m, ip.version


def _addr_check(opt: Option, family: Family, which: str) -> Check:
    label = _words(opt)
    parsed = [(v, parse_address(v, family)) for v in ",".join(opt.values).split(",") if v]
    neg = opt.negated
    attr = "src_int" if which == "src" else "dst_int"
    shown = "src_text" if which == "src" else "dst_text"
    text = ",".join(normalize_address(v, family) if p is not None else v for v, p in parsed)
    if any(p is None for _, p in parsed):
        def unknown(pkt: Packet, env: Env) -> Outcome:
            return UNKNOWN, f"{which} {text}: a host name, not resolved offline"
        return Check(label, unknown)
    nets = [(p[0], p[1], p[2]) for _, p in parsed if p is not None]
    if len(nets) == 1:
        net, mask, version = nets[0]

        def one(pkt: Packet, env: Env) -> Outcome:
            hit = (getattr(pkt, attr) & mask) == net and pkt.src.version == version
            if hit:
                return (NO_MATCH if neg else MATCH), f"{which} {getattr(pkt, shown)} in {text}"
            return (MATCH if neg else NO_MATCH), (
                f"{which} {getattr(pkt, shown)} not in {_bang(neg)}{text}")

        # The walk only sends packets of the ruleset's family (Walker checks), so the fast
        # test need not compare versions.
        yes, no = (NO_MATCH, MATCH) if neg else (MATCH, NO_MATCH)
        if attr == "src_int":
            def fast(pkt: Packet, env: Env) -> Result:
                return yes if (pkt.src_int & mask) == net else no
        else:
            def fast(pkt: Packet, env: Env) -> Result:
                return yes if (pkt.dst_int & mask) == net else no
        return Check(label, one, test=fast)

    def many(pkt: Packet, env: Env) -> Outcome:
        value = getattr(pkt, attr)
        inside = any((value & m) == n and pkt.src.version == v for n, m, v in nets)
        res = MATCH if inside != neg else NO_MATCH
        return res, f"{which} {getattr(pkt, which)} {'in' if inside else 'not in'} {text}"
    return Check(label, many)


# ---------------------------------------------------------------------------------------------
# Interfaces

def iface_matches(pattern: str, name: str) -> bool:
    """iptables interface names: `eth+` is a prefix, `+` matches any (even no device)."""
    if pattern.endswith("+"):
        return name.startswith(pattern[:-1])
    return name == pattern


def _iface_check(opt: Option, which: str) -> Check:
    label = _words(opt)
    pattern = opt.values[0] if opt.values else "+"
    neg = opt.negated
    word = "in" if which == "indev" else "out"

    def check(pkt: Packet, env: Env) -> Outcome:
        name = env.indev if which == "indev" else env.outdev
        if name is None:
            if pattern == "+":
                return flip(MATCH, neg), f"{word} interface: `+` matches any"
            return UNKNOWN, f"{word} interface not given (rule wants {_bang(neg)}{pattern})"
        shown = name or f"none at {env.hook}"
        hit = iface_matches(pattern, name)
        return flip(MATCH if hit else NO_MATCH, neg), (
            f"{word} {shown} {'matches' if hit else 'does not match'} {_bang(neg)}{pattern}")
    return Check(label, check)


# ---------------------------------------------------------------------------------------------
# Protocol and fragments

def _proto_check(opt: Option, family: Family) -> Check:
    label = _words(opt)
    value = opt.values[0].lower() if opt.values else "all"
    num = proto_number(value)
    neg = opt.negated
    if num is None:
        def unknown(pkt: Packet, env: Env) -> Outcome:
            return UNKNOWN, f"protocol {value!r} is not known"
        return Check(label, unknown)

    yes, no = (NO_MATCH, MATCH) if neg else (MATCH, NO_MATCH)

    def fast(pkt: Packet, env: Env) -> Result:
        return yes if num == 0 or pkt.proto_num == num else no

    def check(pkt: Packet, env: Env) -> Outcome:
        hit = num == 0 or pkt.proto_num == num
        note = ""
        if not hit and family is Family.IPV6 and num == 1 and pkt.proto_num == 58:
            note = " (ip6tables -p icmp never matches ICMPv6)"
        return flip(MATCH if hit else NO_MATCH, neg), (
            f"proto {pkt.proto} {'is' if hit else 'is not'} {_bang(neg)}{value}{note}")
    return Check(label, check, test=fast)


def _fragment_check(opt: Option) -> Check:
    neg = opt.negated

    def check(pkt: Packet, env: Env) -> Outcome:
        hit = pkt.fragment
        return flip(MATCH if hit else NO_MATCH, neg), (
            "a non-first fragment" if hit else "not a non-first fragment")
    return Check(_words(opt), check)


# ---------------------------------------------------------------------------------------------
# Ports (tcp, udp, sctp, dccp, udplite, multiport)

def parse_port_ranges(text: str) -> list[tuple[int, int]] | None:
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition(":")
        if not sep:
            lo, sep, hi = part.partition("-")
        try:
            a = int(lo) if lo else 0
            b = int(hi) if sep and hi else (65535 if sep else a)
        except ValueError:
            import socket

            try:
                a = b = socket.getservbyname(part)
            except OSError:
                return None
        out.append((a, b))
    return out


def _ports_text(ranges: list[tuple[int, int]]) -> str:
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


@dataclass(frozen=True, slots=True)
class _PortTest:
    attr: str  # sport / dport / both
    ranges: tuple[tuple[int, int], ...]
    negated: bool

    def run(self, pkt: Packet) -> Outcome:
        if self.attr == "both":
            s, d = pkt.sport, pkt.dport
            if s is None or d is None:
                return UNKNOWN, "ports not given"
            hit = any(a <= s <= b or a <= d <= b for a, b in self.ranges)
            shown = f"ports {s},{d}"
        else:
            v = pkt.sport if self.attr == "sport" else pkt.dport
            if v is None:
                return UNKNOWN, f"{self.attr} not given"
            hit = any(a <= v <= b for a, b in self.ranges)
            shown = f"{self.attr} {v}"
        text = _ports_text(list(self.ranges))
        res = MATCH if hit != self.negated else NO_MATCH
        return res, f"{shown} {'in' if hit else 'not in'} {_bang(self.negated)}{text}"


def _l4_check(match: Match, family: Family) -> Check:
    module = match.module
    label = _label(match)
    tests: list[_PortTest] = []
    flags: tuple[frozenset[str], frozenset[str], bool] | None = None
    unknown: list[str] = []
    for opt in match.options:
        name = opt.name
        if name in ("--sport", "--source-port", "--dport", "--destination-port",
                    "--sports", "--source-ports", "--dports", "--destination-ports", "--ports"):
            ranges = parse_port_ranges(",".join(opt.values))
            if ranges is None:
                unknown.append(_words(opt))
                continue
            attr = ("sport" if name.startswith(("--sport", "--source")) else
                    "both" if name == "--ports" else "dport")
            tests.append(_PortTest(attr, tuple(ranges), opt.negated))
        elif name == "--tcp-flags" and len(opt.values) >= 2:
            try:
                mask = parse_tcp_flags(opt.values[0])
                comp = parse_tcp_flags(opt.values[1])
            except ValueError:
                unknown.append(_words(opt))
                continue
            flags = (mask, comp, opt.negated)
        elif name == "--syn":
            flags = (frozenset({"SYN", "RST", "ACK", "FIN"}), frozenset({"SYN"}), opt.negated)
        else:
            unknown.append(_words(opt))
    protos = (("tcp", "udp", "sctp", "dccp", "udplite") if module == "multiport"
              else (module,))

    def check(pkt: Packet, env: Env) -> Outcome:
        if pkt.proto not in protos:
            return NO_MATCH, f"not a {'/'.join(protos)} packet ({pkt.proto})"
        if pkt.fragment:
            return NO_MATCH, f"a non-first fragment has no {pkt.proto} header"
        reasons: list[str] = []
        res = MATCH
        for t in tests:
            r, why = t.run(pkt)
            reasons.append(why)
            if r is NO_MATCH:
                return NO_MATCH, why
            if r is UNKNOWN:
                res = UNKNOWN
        if flags is not None:
            mask, comp, neg = flags
            have = pkt.tcp_flags & mask
            hit = have == comp
            shown = ",".join(f for f in TCP_FLAG_NAMES if f in have) or "none"
            want = ",".join(f for f in TCP_FLAG_NAMES if f in comp) or "none"
            among = ",".join(f for f in TCP_FLAG_NAMES if f in mask)
            why = (f"flags {shown} of {among} {'==' if hit else '!='} "
                   f"{_bang(neg)}{want}")
            if hit == neg:
                return NO_MATCH, why
            reasons.append(why)
        if unknown:
            return UNKNOWN, f"cannot decide {'; '.join(unknown)} from a packet description"
        return res, "; ".join(reasons) or f"a {pkt.proto} packet"
    return Check(label, check)


# ---------------------------------------------------------------------------------------------
# ICMP

ICMP_TYPES: dict[str, tuple[int, int, int]] = {
    "any": (255, 0, 255),
    "echo-reply": (0, 0, 255), "pong": (0, 0, 255),
    "destination-unreachable": (3, 0, 255),
    "network-unreachable": (3, 0, 0), "host-unreachable": (3, 1, 1),
    "protocol-unreachable": (3, 2, 2), "port-unreachable": (3, 3, 3),
    "fragmentation-needed": (3, 4, 4), "source-route-failed": (3, 5, 5),
    "network-unknown": (3, 6, 6), "host-unknown": (3, 7, 7),
    "network-prohibited": (3, 9, 9), "host-prohibited": (3, 10, 10),
    "TOS-network-unreachable": (3, 11, 11), "TOS-host-unreachable": (3, 12, 12),
    "communication-prohibited": (3, 13, 13), "host-precedence-violation": (3, 14, 14),
    "precedence-cutoff": (3, 15, 15), "source-quench": (4, 0, 255),
    "redirect": (5, 0, 255), "network-redirect": (5, 0, 0), "host-redirect": (5, 1, 1),
    "TOS-network-redirect": (5, 2, 2), "TOS-host-redirect": (5, 3, 3),
    "echo-request": (8, 0, 255), "ping": (8, 0, 255),
    "router-advertisement": (9, 0, 255), "router-solicitation": (10, 0, 255),
    "time-exceeded": (11, 0, 255), "ttl-exceeded": (11, 0, 255),
    "ttl-zero-during-transit": (11, 0, 0), "ttl-zero-during-reassembly": (11, 1, 1),
    "parameter-problem": (12, 0, 255), "ip-header-bad": (12, 0, 0),
    "required-option-missing": (12, 1, 1), "timestamp-request": (13, 0, 255),
    "timestamp-reply": (14, 0, 255), "address-mask-request": (17, 0, 255),
    "address-mask-reply": (18, 0, 255),
}
ICMPV6_TYPES: dict[str, tuple[int, int, int]] = {
    "destination-unreachable": (1, 0, 255), "no-route": (1, 0, 0),
    "communication-prohibited": (1, 1, 1), "beyond-scope": (1, 2, 2),
    "address-unreachable": (1, 3, 3), "port-unreachable": (1, 4, 4),
    "failed-policy": (1, 5, 5), "reject-route": (1, 6, 6),
    "packet-too-big": (2, 0, 255), "time-exceeded": (3, 0, 255),
    "ttl-exceeded": (3, 0, 255), "ttl-zero-during-transit": (3, 0, 0),
    "ttl-zero-during-reassembly": (3, 1, 1), "parameter-problem": (4, 0, 255),
    "bad-header": (4, 0, 0), "unknown-header-type": (4, 1, 1), "unknown-option": (4, 2, 2),
    "echo-request": (128, 0, 255), "ping": (128, 0, 255),
    "echo-reply": (129, 0, 255), "pong": (129, 0, 255),
    "mld-listener-query": (130, 0, 255), "mld-listener-report": (131, 0, 255),
    "mld-listener-done": (132, 0, 255), "mld-listener-reduction": (132, 0, 255),
    "router-solicitation": (133, 0, 255), "router-advertisement": (134, 0, 255),
    "neighbour-solicitation": (135, 0, 255), "neighbor-solicitation": (135, 0, 255),
    "neighbour-advertisement": (136, 0, 255), "neighbor-advertisement": (136, 0, 255),
    "redirect": (137, 0, 255),
}


def parse_icmp_type(text: str, v6: bool) -> tuple[int, int, int] | None:
    table = ICMPV6_TYPES if v6 else ICMP_TYPES
    if text in table:
        return table[text]
    t, sep, c = text.partition("/")
    try:
        if sep:
            return int(t), int(c), int(c)
        return int(t), 0, 255
    except ValueError:
        return None


def _icmp_check(match: Match, family: Family) -> Check:
    v6 = match.module in ("icmp6", "icmpv6")
    proto = "ipv6-icmp" if v6 else "icmp"
    opt = match.get("--icmpv6-type" if v6 else "--icmp-type")
    label = _label(match)
    spec = parse_icmp_type(opt.values[0], v6) if opt and opt.values else (255, 0, 255)
    neg = bool(opt and opt.negated)

    def check(pkt: Packet, env: Env) -> Outcome:
        if pkt.proto != proto:
            return NO_MATCH, f"not an {proto} packet ({pkt.proto})"
        if pkt.fragment:
            return NO_MATCH, "a non-first fragment has no ICMP header"
        if spec is None:
            return UNKNOWN, f"ICMP type {opt.values[0] if opt else ''!r} not known"
        t, lo, hi = spec
        if t == 255 and not v6:
            return flip(MATCH, neg), "any ICMP type"
        if pkt.icmp_type is None:
            return UNKNOWN, "ICMP type not given"
        code = pkt.icmp_code if pkt.icmp_code is not None else 0
        hit = pkt.icmp_type == t and lo <= code <= hi
        want = f"{t}" if (lo, hi) == (0, 255) else f"{t}/{lo}"
        return flip(MATCH if hit else NO_MATCH, neg), (
            f"type {pkt.icmp_type}/{code} {'is' if hit else 'is not'} {_bang(neg)}{want}")
    return Check(label, check)


# ---------------------------------------------------------------------------------------------
# Conntrack

NO_CT = frozenset({CtState.INVALID, CtState.UNTRACKED})


def _state_bits(pkt: Packet, env: Env) -> set[str]:
    bits = {env.state.value}
    if env.state not in (CtState.INVALID, CtState.UNTRACKED):
        bits |= pkt.ct_nat
    return bits


def _state_list(opt: Option) -> list[str]:
    return [w.strip().upper() for w in ",".join(opt.values).split(",") if w.strip()]


def _state_check(match: Match, family: Family) -> Check:
    label = _label(match)
    conntrack = match.module == "conntrack"
    parts: list[Callable[[Packet, Env], Outcome]] = []
    for opt in match.options:
        name, neg = opt.name, opt.negated
        if name in ("--state", "--ctstate"):
            wanted = _state_list(opt)

            def st(pkt: Packet, env: Env, wanted: list[str] = wanted, neg: bool = neg,
                   ) -> Outcome:
                bits = _state_bits(pkt, env)
                hit = any(w in bits for w in wanted)
                shown = "+".join(sorted(bits, key=lambda b: b != env.state.value))
                where = " (raw runs before conntrack)" if env.table == "raw" else ""
                return flip(MATCH if hit else NO_MATCH, neg), (
                    f"state {shown}{where} {'in' if hit else 'not in'} "
                    f"{_bang(neg)}{','.join(wanted)}")
            parts.append(st)
        elif name == "--ctproto" and opt.values:
            num = proto_number(opt.values[0])

            def cp(pkt: Packet, env: Env, num: int | None = num, neg: bool = neg) -> Outcome:
                if num is None:
                    return UNKNOWN, "unknown --ctproto"
                hit = num == 0 or pkt.proto_num == num
                return flip(MATCH if hit else NO_MATCH, neg), (
                    f"ct proto {pkt.proto} {'is' if hit else 'is not'} {_bang(neg)}{num}")
            parts.append(cp)
        elif name in ("--ctorigsrc", "--ctorigdst", "--ctreplsrc", "--ctrepldst") and opt.values:
            parsed = parse_address(opt.values[0], family)

            def ca(pkt: Packet, env: Env, name: str = name, parsed: tuple[int, int, int] | None
                   = parsed, neg: bool = neg, text: str = opt.values[0]) -> Outcome:
                if env.state not in (CtState.NEW,) and pkt.ct_dir != "ORIGINAL":
                    return UNKNOWN, f"{name[2:]}: the connection's tuple is not known"
                addr = _ct_addr(pkt, name)
                if parsed is None:
                    return UNKNOWN, f"{name}: cannot read {text}"
                net, mask, _ = parsed
                hit = (int(addr) & mask) == net
                return flip(MATCH if hit else NO_MATCH, neg), (
                    f"{name[2:]} {addr} {'in' if hit else 'not in'} {_bang(neg)}{text}")
            parts.append(ca)
        elif name in ("--ctorigsrcport", "--ctorigdstport", "--ctreplsrcport",
                      "--ctrepldstport") and opt.values:
            ranges = parse_port_ranges(opt.values[0]) or []

            def cpo(pkt: Packet, env: Env, name: str = name, neg: bool = neg,
                    ranges: list[tuple[int, int]] = ranges) -> Outcome:
                if env.state is not CtState.NEW and pkt.ct_dir != "ORIGINAL":
                    return UNKNOWN, f"{name[2:]}: the connection's tuple is not known"
                port = _ct_port(pkt, name)
                if port is None:
                    return UNKNOWN, f"{name[2:]}: port not given"
                hit = any(a <= port <= b for a, b in ranges)
                return flip(MATCH if hit else NO_MATCH, neg), (
                    f"{name[2:]} {port} {'in' if hit else 'not in'} {_bang(neg)}"
                    f"{_ports_text(ranges)}")
            parts.append(cpo)
        elif name == "--ctdir" and opt.values:
            want = opt.values[0].upper()

            def cd(pkt: Packet, env: Env, want: str = want, neg: bool = neg) -> Outcome:
                have = "ORIGINAL" if env.state is CtState.NEW else pkt.ct_dir
                if have is None:
                    return UNKNOWN, "conntrack direction not given"
                hit = have == want
                return flip(MATCH if hit else NO_MATCH, neg), (
                    f"direction {have} {'is' if hit else 'is not'} {_bang(neg)}{want}")
            parts.append(cd)
        else:
            words = _words(opt)

            def cu(pkt: Packet, env: Env, words: str = words) -> Outcome:
                return UNKNOWN, f"{words}: conntrack detail not in a packet description"
            parts.append(cu)
    if not conntrack and not parts:
        parts.append(lambda p, e: (UNKNOWN, "state match without --state"))

    only_state = all(o.name in ("--state", "--ctstate") for o in match.options)

    def check(pkt: Packet, env: Env) -> Outcome:
        if not only_state and env.state in NO_CT:
            # conntrack_mt: without an entry only a pure state test can match.
            return NO_MATCH, (f"no conntrack entry ({env.state.value}): only --ctstate can "
                              "match")
        res = MATCH
        reasons = []
        for part in parts:
            r, why = part(pkt, env)
            if r is NO_MATCH:
                return r, why
            if r is UNKNOWN:
                res = UNKNOWN
            reasons.append(why)
        return res, "; ".join(reasons)
    return Check(label, check)


def _ct_addr(pkt: Packet, name: str) -> IPAddress:
    orig_src = pkt.orig_src or pkt.src
    orig_dst = pkt.orig_dst or pkt.dst
    if name == "--ctorigsrc":
        return orig_src
    if name == "--ctorigdst":
        return orig_dst
    if name == "--ctreplsrc":
        return pkt.dst
    return pkt.src


def _ct_port(pkt: Packet, name: str) -> int | None:
    if name == "--ctorigsrcport":
        return pkt.orig_sport if pkt.orig_sport is not None else pkt.sport
    if name == "--ctorigdstport":
        return pkt.orig_dport if pkt.orig_dport is not None else pkt.dport
    if name == "--ctreplsrcport":
        return pkt.dport
    return pkt.sport


# ---------------------------------------------------------------------------------------------
# Layer 2: mac, physdev

def _mac_check(match: Match, family: Family) -> Check:
    opt = match.get("--mac-source")
    want = opt.values[0].lower() if opt and opt.values else ""
    neg = bool(opt and opt.negated)

    def check(pkt: Packet, env: Env) -> Outcome:
        if env.hook in ("OUTPUT", "POSTROUTING"):
            return NO_MATCH, f"no source MAC at {env.hook}"
        if pkt.mac_src is None:
            return UNKNOWN, f"source MAC not given (rule wants {_bang(neg)}{want.upper()})"
        hit = pkt.mac_src.lower() == want
        return flip(MATCH if hit else NO_MATCH, neg), (
            f"MAC {pkt.mac_src.upper()} {'is' if hit else 'is not'} {_bang(neg)}{want.upper()}")
    return Check(_label(match), check)


def _physdev_check(match: Match, family: Family) -> Check:
    opts = {o.name: o for o in match.options}
    label = _label(match)

    def check(pkt: Packet, env: Env) -> Outcome:
        if not env.bridged:
            for each in opts.values():
                if not each.negated:
                    return NO_MATCH, f"not a bridged packet: {each.name} fails"
            return MATCH, "not a bridged packet: negated physdev options match"
        outdev = env.physout
        indev = env.physin
        o: Option | None = opts.get("--physdev-is-bridged")
        if o is not None and (outdev is not None) == o.negated:
            if env.physout_unknown and outdev is None:
                return UNKNOWN, "bridge output port not given"
            state = "bridged" if outdev is not None else "no output port yet"
            return NO_MATCH, (f"{state} at {env.hook}: {_bang(o.negated)}--physdev-is-bridged "
                              "fails")
        o = opts.get("--physdev-is-in")
        if o is not None and (indev is None) != o.negated:
            if env.physin_unknown:
                return UNKNOWN, "bridge input port not given"
            return NO_MATCH, f"{_bang(o.negated)}--physdev-is-in fails"
        o = opts.get("--physdev-is-out")
        if o is not None and (outdev is None) != o.negated:
            if env.physout_unknown:
                return UNKNOWN, "bridge output port not given"
            return NO_MATCH, f"{_bang(o.negated)}--physdev-is-out fails"
        reasons = []
        o = opts.get("--physdev-in")
        if o is not None and o.values:
            if indev is not None:
                hit = iface_matches(o.values[0], indev)
                why = (f"physdev-in {indev or '(a port not given)'} "
                       f"{'matches' if hit else 'does not match'} "
                       f"{_bang(o.negated)}{o.values[0]}")
                if hit == o.negated:
                    return NO_MATCH, why
                reasons.append(why)
            elif env.physin_unknown:
                return UNKNOWN, "bridge input port not given"
        o = opts.get("--physdev-out")
        if o is not None and o.values:
            if outdev is None:
                if env.physout_unknown:
                    return UNKNOWN, "bridge output port not given"
                return NO_MATCH, (f"no bridge output port at {env.hook}: "
                                  f"{_bang(o.negated)}--physdev-out fails")
            hit = iface_matches(o.values[0], outdev)
            why = (f"physdev-out {outdev or '(a port not given)'} "
                   f"{'matches' if hit else 'does not match'} "
                   f"{_bang(o.negated)}{o.values[0]}")
            if hit == o.negated:
                return NO_MATCH, why
            reasons.append(why)
        if "--physdev-is-bridged" in opts:
            reasons.append("bridged" if outdev is not None else "not bridged")
        return MATCH, "; ".join(reasons) or "bridged packet"
    return Check(label, check)


# ---------------------------------------------------------------------------------------------
# ipset

def _set_check(match: Match, family: Family) -> Check:
    opt = match.get("--match-set") or match.get("--set")
    label = _label(match)
    name = opt.values[0] if opt and opt.values else ""
    flags = opt.values[1].split(",") if opt and len(opt.values) > 1 else []
    neg = bool(opt and opt.negated)
    undecidable = [o for o in match.options
                   if o.name.startswith(("--packets-", "--bytes-"))]
    return_nomatch = match.get("--return-nomatch") is not None

    def check(pkt: Packet, env: Env) -> Outcome:
        store = env.host.ipsets
        if store is None:
            return UNKNOWN, f"contents of set {name} not known (give --ipsets FILE)"
        ipset = store.get(name)
        if ipset is None:
            return UNKNOWN, f"set {name} is not in {store.path}"
        dims = ("ip",) * len(flags) if ipset.type.startswith("list:") else ipset.dims
        values: list[Value] = []
        for flag, kind in zip(flags, dims, strict=False):
            values.append(_set_value(pkt, env, flag, kind))
        shown = ",".join(_value_text(v) for v in values)
        if len(flags) < ipset.dimension_count:
            res = NO_MATCH
            why = (f"{len(flags)} direction flag(s) for {ipset.type}: never matches")
        else:
            found = store.test(name, values)
            hit = bool(found)
            res = MATCH if hit else NO_MATCH
            why = f"{shown} {'in' if hit else 'not in'} set {name}"
        if return_nomatch:
            return UNKNOWN, why + " (--return-nomatch not modelled)"
        res = flip(res, neg)
        if undecidable and res is MATCH:
            return UNKNOWN, why + "; set counters are not in the dump"
        return res, (("! " if neg else "") + why) if neg else why
    return Check(label, check)


def _set_value(pkt: Packet, env: Env, flag: str, kind: str) -> Value:
    src = flag == "src"
    if kind == "port":
        return Value("port", port=pkt.sport if src else pkt.dport, proto=pkt.proto)
    if kind == "mac":
        return Value("mac", text=pkt.mac_src if src else None)
    if kind == "iface":
        return Value("iface", text=env.indev if src else env.outdev)
    if kind == "mark":
        return Value("mark", port=pkt.mark)
    return Value("ip", addr=pkt.src if src else pkt.dst)


def _value_text(v: Value) -> str:
    if v.addr is not None:
        return str(v.addr)
    if v.kind == "port":
        return f"{v.proto}:{v.port}"
    return str(v.text if v.text is not None else v.port)


# ---------------------------------------------------------------------------------------------
# Marks, comment, addresses by type and range, length, ttl, tos, pkttype, owner

def _parse_mark(text: str) -> tuple[int, int]:
    value, _, mask = text.partition("/")
    return int(value, 0), int(mask, 0) if mask else 0xFFFFFFFF


def _mark_check(match: Match, family: Family) -> Check:
    opt = match.get("--mark")
    label = _label(match)
    attr = "connmark" if match.module == "connmark" else "mark"
    if opt is None or not opt.values:
        return Check(label, lambda p, e: (UNKNOWN, f"{attr} match without --mark"))
    try:
        value, mask = _parse_mark(opt.values[0])
    except ValueError:
        return Check(label, lambda p, e: (UNKNOWN, f"cannot read mark {opt.values[0]!r}"))
    neg = opt.negated

    def check(pkt: Packet, env: Env) -> Outcome:
        if attr == "connmark" and env.state in NO_CT:
            return NO_MATCH, (f"no conntrack entry ({env.state.value}): connmark never matches,"
                              " even negated")
        have = getattr(pkt, attr)
        if have is None:
            return UNKNOWN, f"{attr} not known here"
        hit = (have & mask) == value
        return flip(MATCH if hit else NO_MATCH, neg), (
            f"{attr} {have:#x}&{mask:#x} {'==' if hit else '!='} {_bang(neg)}{value:#x}")
    return Check(label, check)


def _comment_check(match: Match, family: Family) -> Check:
    return Check(_label(match), lambda p, e: (MATCH, "a comment always matches"),
                 test=lambda p, e: MATCH)


ADDRTYPES = ("UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE",
             "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE")


def address_type(addr: IPAddress, host: Host) -> str | None:
    """The kernel's route type of an address on this host; None if it depends on what the
    caller did not say (local addresses)."""
    if addr.version == 4:
        value = int(addr)
        if value == 0 or value == 0xFFFFFFFF:
            return "BROADCAST"
        if addr.is_multicast:
            return "MULTICAST"
        if addr.is_loopback:
            return "LOCAL"
    else:
        if addr.is_multicast:
            return "MULTICAST"
        if addr.is_loopback:
            return "LOCAL"
        if int(addr) == 0:
            return "UNSPEC"
    if addr in host.also_local:
        return "LOCAL"
    if host.local_addrs is None:
        return None
    for itf in host.local_addrs:
        if itf.ip == addr:
            return "LOCAL"
    if addr.version == 4:
        for itf in host.local_addrs:
            net = itf.network
            if net.prefixlen < 31 and addr == net.broadcast_address:
                return "BROADCAST"
    return "UNICAST"


def _addrtype_check(match: Match, family: Family) -> Check:
    label = _label(match)
    tests: list[tuple[str, list[str], bool]] = []
    limited = False
    for opt in match.options:
        if opt.name in ("--src-type", "--dst-type"):
            wanted = [w.upper() for w in ",".join(opt.values).split(",") if w]
            tests.append(("src" if opt.name == "--src-type" else "dst", wanted, opt.negated))
        elif opt.name in ("--limit-iface-in", "--limit-iface-out"):
            limited = True

    def check(pkt: Packet, env: Env) -> Outcome:
        reasons = []
        for which, wanted, neg in tests:
            addr = pkt.src if which == "src" else pkt.dst
            if addr.version == 6:
                hit6, why = _addrtype6(addr, wanted, env.host)
                if hit6 is None:
                    return UNKNOWN, f"{which} {why}"
                hit = hit6
                why = f"{which} {why}"
            else:
                kind = address_type(addr, env.host)
                if kind is None:
                    # Not multicast, broadcast or loopback: LOCAL or UNICAST, by host.
                    if "LOCAL" in wanted and "UNICAST" in wanted:
                        kind, hit = "LOCAL or UNICAST", True
                    elif "LOCAL" not in wanted and "UNICAST" not in wanted:
                        kind, hit = "LOCAL or UNICAST", False
                    else:
                        return UNKNOWN, (f"{which} {addr}: LOCAL or UNICAST depends on the "
                                         "host's addresses (give --local-addr)")
                else:
                    hit = kind in wanted
                why = (f"{which} {addr} is {kind}, {'in' if hit else 'not in'} "
                       f"{_bang(neg)}{','.join(wanted)}")
            if hit == neg:
                return NO_MATCH, why
            reasons.append(why)
        if limited:
            return UNKNOWN, "; ".join(reasons) + " (--limit-iface-* depends on routes)"
        return MATCH, "; ".join(reasons) or "addrtype without types"
    return Check(label, check)


def _addrtype6(addr: IPAddress, wanted: list[str], host: Host) -> tuple[bool | None, str]:
    """xt_addrtype's match_type6: every one of MULTICAST/UNICAST/UNSPEC asked for must hold
    (an address of this host is UNICAST too), then any of LOCAL/ANYCAST/UNREACHABLE asked
    for must hold (the route lookup); other types are not checked for IPv6."""
    multicast = addr.is_multicast
    unspec = int(addr) == 0
    unicast = not multicast and not unspec
    if "MULTICAST" in wanted and not multicast:
        return False, f"{addr} is not MULTICAST"
    if "UNICAST" in wanted and not unicast:
        return False, f"{addr} is not UNICAST"
    if "UNSPEC" in wanted and not unspec:
        return False, f"{addr} is not UNSPEC"
    routed = [w for w in wanted if w in ("LOCAL", "ANYCAST", "UNREACHABLE")]
    if routed:
        local = host.is_local(addr)
        if "LOCAL" in routed and local:
            return True, f"{addr} is LOCAL"
        if local is None:
            return None, f"{addr}: LOCAL or not depends on the host's addresses"
        if routed != ["LOCAL"]:
            return None, f"{addr}: {','.join(routed)} depends on the routing table"
        return False, f"{addr} is not LOCAL"
    return True, f"{addr} is {','.join(wanted)}"


def _iprange_check(match: Match, family: Family) -> Check:
    label = _label(match)
    tests: list[tuple[str, int, int, bool, str]] = []
    bad = False
    for opt in match.options:
        if opt.name in ("--src-range", "--dst-range") and opt.values:
            a, _, b = opt.values[0].partition("-")
            try:
                lo, hi = int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b or a))
            except ValueError:
                bad = True
                continue
            tests.append(("src" if opt.name == "--src-range" else "dst", lo, hi, opt.negated,
                          opt.values[0]))

    def check(pkt: Packet, env: Env) -> Outcome:
        if bad:
            return UNKNOWN, "cannot read the range"
        reasons = []
        for which, lo, hi, neg, text in tests:
            v = pkt.src_int if which == "src" else pkt.dst_int
            hit = lo <= v <= hi
            why = (f"{which} {pkt.src if which == 'src' else pkt.dst} "
                   f"{'in' if hit else 'not in'} {_bang(neg)}{text}")
            if hit == neg:
                return NO_MATCH, why
            reasons.append(why)
        return MATCH, "; ".join(reasons)
    return Check(label, check)


def _length_check(match: Match, family: Family) -> Check:
    opt = match.get("--length")
    label = _label(match)
    ranges = parse_port_ranges(opt.values[0]) if opt and opt.values else None
    neg = bool(opt and opt.negated)

    def check(pkt: Packet, env: Env) -> Outcome:
        if not ranges:
            return UNKNOWN, "cannot read --length"
        if pkt.length is None:
            return UNKNOWN, "packet length not given"
        hit = any(a <= pkt.length <= b for a, b in ranges)
        return flip(MATCH if hit else NO_MATCH, neg), (
            f"length {pkt.length} {'in' if hit else 'not in'} {_bang(neg)}{_ports_text(ranges)}")
    return Check(label, check)


def _ttl_check(match: Match, family: Family) -> Check:
    label = _label(match)
    tests = []
    for opt in match.options:
        for suffix, op in (("-eq", "=="), ("-lt", "<"), ("-gt", ">")):
            if opt.name.endswith(suffix) and opt.values:
                tests.append((op, int(opt.values[0]), opt.negated))

    def check(pkt: Packet, env: Env) -> Outcome:
        word = "hop limit" if match.module == "hl" else "ttl"
        for op, n, neg in tests:
            v = pkt.ttl
            hit = v == n if op == "==" else v < n if op == "<" else v > n
            why = f"{word} {v} {'' if hit else 'not '}{op} {n}"
            if hit == neg:
                return NO_MATCH, ("! " if neg else "") + why
            return MATCH, why
        return UNKNOWN, f"{word} match without a test"
    return Check(label, check)


TOS_NAMES = {"minimize-delay": 0x10, "maximize-throughput": 0x08,
             "maximize-reliability": 0x04, "minimize-cost": 0x02, "normal-service": 0x00}
DSCP_CLASSES = {"CS0": 0, "CS1": 8, "CS2": 16, "CS3": 24, "CS4": 32, "CS5": 40, "CS6": 48,
                "CS7": 56, "BE": 0, "AF11": 10, "AF12": 12, "AF13": 14, "AF21": 18, "AF22": 20,
                "AF23": 22, "AF31": 26, "AF32": 28, "AF33": 30, "AF41": 34, "AF42": 36,
                "AF43": 38, "EF": 46}


def _tos_check(match: Match, family: Family) -> Check:
    label = _label(match)
    tests: list[tuple[int, int, bool, str]] = []
    for opt in match.options:
        if not opt.values:
            continue
        text = opt.values[0]
        try:
            if opt.name == "--tos":
                v, _, m = text.partition("/")
                if v.lower() in TOS_NAMES:
                    tests.append((TOS_NAMES[v.lower()], 0x3F, opt.negated, text))
                else:
                    tests.append((int(v, 0), int(m, 0) if m else 0xFF, opt.negated, text))
            elif opt.name == "--dscp":
                tests.append((int(text, 0) << 2, 0xFC, opt.negated, text))
            elif opt.name == "--dscp-class":
                tests.append((DSCP_CLASSES[text.upper()] << 2, 0xFC, opt.negated, text))
        except (ValueError, KeyError):
            return _fixed(label, UNKNOWN, f"cannot read {text!r}")

    def check(pkt: Packet, env: Env) -> Outcome:
        reasons = []
        for value, mask, neg, text in tests:
            hit = (pkt.tos & mask) == value
            why = f"tos {pkt.tos:#04x}&{mask:#x} {'==' if hit else '!='} {_bang(neg)}{text}"
            if hit == neg:
                return NO_MATCH, why
            reasons.append(why)
        return MATCH, "; ".join(reasons)
    return Check(label, check)


def _pkttype_check(match: Match, family: Family) -> Check:
    opt = match.get("--pkt-type")
    want = opt.values[0].lower() if opt and opt.values else "unicast"
    neg = bool(opt and opt.negated)

    def check(pkt: Packet, env: Env) -> Outcome:
        kind = address_type(pkt.dst, env.host)
        if pkt.dst.is_multicast:
            have = "multicast"
        elif kind == "BROADCAST":
            have = "broadcast"
        elif kind is None and pkt.dst.version == 4:
            return UNKNOWN, f"dst {pkt.dst}: broadcast or not depends on the host's subnets"
        else:
            have = "unicast"
        if env.local_packet and have != "unicast":
            return UNKNOWN, "link-layer type of a locally generated packet"
        hit = have == want
        return flip(MATCH if hit else NO_MATCH, neg), (
            f"packet type {have} {'is' if hit else 'is not'} {_bang(neg)}{want}")
    return Check(_label(match), check)


def _owner_check(match: Match, family: Family) -> Check:
    label = _label(match)
    opts = list(match.options)

    def check(pkt: Packet, env: Env) -> Outcome:
        if not env.local_packet or env.hook not in ("OUTPUT", "POSTROUTING"):
            ok = all(o.negated for o in opts)
            return (MATCH if ok else NO_MATCH), "no local socket: owner options fail"
        reasons = []
        for o in opts:
            if o.name == "--socket-exists":
                hit = True
                why = "the packet has a socket"
            elif o.name in ("--uid-owner", "--gid-owner") and o.values:
                have = pkt.uid if o.name == "--uid-owner" else pkt.gid
                word = "uid" if o.name == "--uid-owner" else "gid"
                if have is None:
                    return UNKNOWN, f"{word} of the sender not given"
                a, _, b = o.values[0].partition("-")
                if not a.isdigit() or (b and not b.isdigit()):
                    return UNKNOWN, f"{word} name {o.values[0]!r} not resolved offline"
                hit = int(a) <= have <= int(b or a)
                why = f"{word} {have} {'in' if hit else 'not in'} {_bang(o.negated)}{o.values[0]}"
            else:
                return UNKNOWN, f"{o.name} not modelled"
            if hit == o.negated:
                return NO_MATCH, why
            reasons.append(why)
        return MATCH, "; ".join(reasons)
    return Check(label, check)


def _statistic_check(match: Match, family: Family) -> Check:
    label = _label(match)
    mode = match.get("--mode")
    mode_name = mode.values[0] if mode and mode.values else "random"
    prob: float | None = None
    neg = False
    if mode_name == "random":
        p = match.get("--probability")
        if p and p.values:
            prob = float(p.values[0])
            neg = p.negated
            if neg:
                prob = 1.0 - prob
        why = f"random: matches with probability {prob:.4g}" if prob is not None else "random"
    else:
        every = match.get("--every")
        n = int(every.values[0]) if every and every.values else 1
        prob = 1.0 / n if n else None
        if every and every.negated and prob is not None:
            prob = 1.0 - prob
        why = f"every {n}th packet: depends on a counter the dump does not hold"

    def check(pkt: Packet, env: Env) -> Outcome:
        return UNKNOWN, why
    return Check(label, check, probability=prob)


UNDECIDABLE = {
    "limit": "a rate limit: depends on packet timing",
    "hashlimit": "a per-flow rate limit: depends on packet timing",
    "recent": "depends on the recent list's history",
    "connlimit": "depends on the number of open connections",
    "quota": "depends on bytes already counted",
    "string": "depends on the payload",
    "rpfilter": "depends on the routing table",
    "policy": "depends on IPsec policy",
    "time": "depends on the time of day",
    "u32": "depends on raw packet bytes",
    "bpf": "depends on a BPF program",
    "socket": "depends on local sockets",
    "cgroup": "depends on the sending cgroup",
    "connbytes": "depends on the connection's byte counters",
    "connlabel": "depends on conntrack labels",
    "helper": "depends on the conntrack helper",
    "realm": "depends on the routing realm",
    "devgroup": "depends on interface groups",
    "cpu": "depends on the CPU handling the packet",
    "nfacct": "depends on accounting objects",
    "cluster": "depends on cluster hashing",
    "ipvs": "depends on IPVS state",
    "osf": "depends on passive OS fingerprinting",
    "ecn": "ECN bits not in the packet description",
    "ah": "IPsec header not in the packet description",
    "esp": "IPsec header not in the packet description",
}


def _undecidable(match: Match, family: Family) -> Check:
    why = UNDECIDABLE.get(match.module, f"module {match.module} is not modelled")
    return Check(_label(match), lambda p, e: (UNKNOWN, why))


MATCHERS: dict[str, Callable[[Match, Family], Check]] = {
    "tcp": _l4_check, "udp": _l4_check, "sctp": _l4_check, "dccp": _l4_check,
    "udplite": _l4_check, "multiport": _l4_check,
    "icmp": _icmp_check, "icmp6": _icmp_check, "icmpv6": _icmp_check,
    "state": _state_check, "conntrack": _state_check,
    "mac": _mac_check, "physdev": _physdev_check, "set": _set_check,
    "comment": _comment_check, "mark": _mark_check, "connmark": _mark_check,
    "addrtype": _addrtype_check, "iprange": _iprange_check, "length": _length_check,
    "ttl": _ttl_check, "hl": _ttl_check, "pkttype": _pkttype_check, "tos": _tos_check,
    "dscp": _tos_check, "owner": _owner_check, "statistic": _statistic_check,
}
KNOWN_MODULES = frozenset(MATCHERS)


def _fixed(label: str, result: Result, why: str) -> Check:
    def check(pkt: Packet, env: Env) -> Outcome:
        return result, why
    return Check(label, check)


def compile_spec(spec: RuleSpec, family: Family) -> tuple[Check, ...]:
    """The checks of a rule in evaluation order: the ip header part, then each module."""
    checks: list[Check] = []
    generic = {o.name: o for o in spec.generic}
    for name in ("-s", "-d", "-i", "-o", "-p", "-f"):
        opt = generic.pop(name, None)
        if opt is None:
            continue
        if name == "-s":
            checks.append(_addr_check(opt, family, "src"))
        elif name == "-d":
            checks.append(_addr_check(opt, family, "dst"))
        elif name == "-i":
            checks.append(_iface_check(opt, "indev"))
        elif name == "-o":
            checks.append(_iface_check(opt, "outdev"))
        elif name == "-p":
            checks.append(_proto_check(opt, family))
        else:
            checks.append(_fragment_check(opt))
    for opt in generic.values():
        words = _words(opt)
        checks.append(_fixed(words, UNKNOWN, f"{words}: option not modelled"))
    for match in spec.matches:
        make = MATCHERS.get(match.module, _undecidable)
        checks.append(make(match, family))
    if spec.opaque:
        text = " ".join(spec.opaque)
        checks.append(Check(text, lambda p, e: (UNKNOWN, f"could not read {text!r}")))
    return tuple(checks)


def evaluate(checks: tuple[Check, ...], pkt: Packet, env: Env) -> tuple[Result, tuple[
        CheckResult, ...]]:
    """Three-valued AND in kernel order: stop at the first NO_MATCH."""
    overall = MATCH
    out: list[CheckResult] = []
    for check in checks:
        res, why = check.fn(pkt, env)
        out.append(CheckResult(check.label, res, why))
        if res is NO_MATCH:
            return NO_MATCH, tuple(out)
        if res is UNKNOWN:
            overall = UNKNOWN
    return overall, tuple(out)

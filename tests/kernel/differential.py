"""Differential testing of the stepper against the kernel (issue 3).

A seeded generator writes random rulesets (user chains, jumps, gotos, RETURN, policies, the
matches the stepper decides, mangle MARK/CONNMARK feeding later mark matches, TOS/TTL rewrites,
nat DNAT/SNAT/MASQUERADE/REDIRECT, raw NOTRACK) and random packets for the two lab topologies
(router: input, forward, output; bridge: bridged forward with physdev, input through the
bridge). Each ruleset is loaded into a lab namespace; its kernel `iptables-save` is parsed with
`parser.load.load_text` and given to `ruleset.stepper.simulate`; each packet is sent for real.

For every packet the set of rules and policies the stepper says matched must equal the set
whose kernel packet counters grew, and the verdicts must agree (ACCEPT <=> the packet arrived).

`Runner.run(n)` returns a `Report` with the case count, disagreements (each with everything
needed to replay it: the ruleset, the packet, both sides' answers) and loading refusals.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tests.kernel import lab as L

# --------------------------------------------------------------------------------------------
# what the packets can be

ROUTER_LOCAL = ("10.0.1.1/24@eth1", "10.0.2.1/24@eth2", "127.0.0.1/8@lo")
BRIDGE_LOCAL = (f"14.52.45.3/24@{L.BridgeLab.BRIDGE}", "127.0.0.1/8@lo")
EXT_SOURCES = ("203.0.113.5", "203.0.113.77", "203.0.113.200", "192.0.2.9")
FWD_DESTS = ("10.0.2.2", "198.51.100.7", "198.51.100.200")
IN_DESTS = ("10.0.1.1", "10.0.2.1")
OUT_SOURCES = ("10.0.2.1", "10.0.1.1")
OUT_DESTS = ("10.0.2.2", "198.51.100.7")
DPORTS = (22, 53, 80, 443, 8080, 50000)
SPORTS = (53, 123, 1234, 40000)
TOS_VALUES = (0, 0x10, 0xB8)
ICMP_TYPES = (8, 0, 13)
TCP_FLAG_SETS = ("SYN", "SYN", "SYN", "ACK", "SYN,ACK", "FIN,ACK", "RST")

GW_MAC = L.BridgeLab.GW_MAC
VM1, VM2 = L.BridgeLab.VMS[0], L.BridgeLab.VMS[1]
BRIDGE = L.BridgeLab.BRIDGE

IPSET_SAVE_SCRIPT = (
    "ipset create diffnet hash:net; ipset add diffnet 203.0.113.0/24; "
    "ipset add diffnet 203.0.113.64/26 nomatch; ipset add diffnet 14.52.45.2; "
    "ipset create diffport hash:ip,port; ipset add diffport 10.0.2.2,udp:53; "
    "ipset add diffport 14.52.45.10,tcp:80"
)


@dataclass
class SentPacket:
    """One packet of a scenario: where it goes in the lab and what the stepper is told."""

    path: str  # input | forward | output (stepper path)
    lab: str  # router | bridge
    src: str
    dst: str
    proto: str
    sport: int | None
    dport: int | None
    flags: str = "SYN"
    icmp_type: int | None = None
    tos: int = 0
    ttl: int = 64
    in_iface: str | None = None
    out_iface: str | None = None
    physdev_in: str | None = None
    physdev_out: str | None = None
    mac_src: str | None = None
    # bridge: which port sends, which MAC it is sent to (None: the bridge itself)
    from_port: str | None = None
    to_port: str | None = None
    ident: int = 0
    family: int = 4

    def wire(self) -> L.Packet:
        return L.Packet(self.src, self.dst, self.proto, sport=self.sport or 0,
                        dport=self.dport or 0, flags=self.flags,
                        icmp_type=self.icmp_type if self.icmp_type is not None else 8,
                        ttl=self.ttl, tos=self.tos, ident=self.ident)

    @property
    def length(self) -> int:
        return len(self.wire().ip_bytes())

    def kernel_state(self) -> str:
        """The conntrack state the kernel gives this packet (no entry exists for it)."""
        if self.proto == "tcp":
            flags = set(self.flags.split(","))
            if "RST" in flags or "FIN" in flags or {"SYN", "ACK"} <= flags:
                return "INVALID"
            return "NEW"
        if self.proto == "icmp":
            new = (128,) if self.family == 6 else (8, 13, 15, 17)
            return "NEW" if self.icmp_type in new else "INVALID"
        return "NEW"

    def describe(self) -> str:
        port = f":{self.sport}" if self.sport else ""
        dport = f":{self.dport}" if self.dport else ""
        extra = f" flags {self.flags}" if self.proto == "tcp" else (
            f" type {self.icmp_type}" if self.proto == "icmp" else "")
        where = f" {self.physdev_in}->{self.physdev_out or 'bridge'}" if self.lab == "bridge" \
            else ""
        return (f"{self.path}{where}: {self.proto} {self.src}{port} > {self.dst}{dport}{extra}"
                f" tos {self.tos:#x} ttl {self.ttl} id {self.ident}")


@dataclass
class Scenario:
    seed: int
    lab: str  # router | bridge
    backend: str
    rules: str  # iptables-restore input
    packets: list[SentPacket]


# --------------------------------------------------------------------------------------------
# the generator

HOOK_ORIGINS = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
IN_HOOKS = frozenset({"PREROUTING", "INPUT", "FORWARD"})
OUT_HOOKS = frozenset({"FORWARD", "OUTPUT", "POSTROUTING"})


class Generator:
    def __init__(self, seed: int, exclude: frozenset[str] = frozenset()) -> None:
        self.exclude = exclude  # match kinds not to generate (e.g. "connmark")
        self.rng = random.Random(seed)
        self.seed = seed
        self.ident = (seed * 7919) % 50000 + 1

    # packets ---------------------------------------------------------------------------------
    def _next_ident(self) -> int:
        self.ident = self.ident % 65000 + 1
        return self.ident

    def _l4(self, pkt: dict[str, Any]) -> None:
        rng = self.rng
        proto = rng.choice(("udp", "udp", "tcp", "tcp", "icmp"))
        pkt["proto"] = proto
        if proto == "icmp":
            pkt["sport"] = pkt["dport"] = None
            pkt["icmp_type"] = rng.choice(ICMP_TYPES)
        else:
            pkt["sport"] = rng.choice(SPORTS)
            pkt["dport"] = rng.choice(DPORTS)
        if proto == "tcp":
            pkt["flags"] = rng.choice(TCP_FLAG_SETS)
        pkt["tos"] = rng.choice(TOS_VALUES)
        pkt["ttl"] = rng.choice((64, 64, 2, 128))

    def router_packet(self) -> SentPacket:
        rng = self.rng
        path = rng.choice(("input", "forward", "forward", "output"))
        pkt: dict[str, Any] = {"path": path, "lab": "router"}
        if path == "output":
            pkt.update(src=rng.choice(OUT_SOURCES), dst=rng.choice(OUT_DESTS), in_iface=None,
                       out_iface="eth2")
        else:
            pkt.update(src=rng.choice(EXT_SOURCES),
                       dst=rng.choice(IN_DESTS if path == "input" else FWD_DESTS),
                       in_iface="eth1", out_iface="eth2", mac_src=L.RouterLab.H1_MAC)
        self._l4(pkt)
        return SentPacket(**pkt, ident=self._next_ident())

    def bridge_packet(self) -> SentPacket:
        rng = self.rng
        kind = rng.choice(("gw-vm1", "gw-vm1", "vm1-gw", "vm1-vm2", "gw-node"))
        pkt: dict[str, Any] = {"lab": "bridge", "in_iface": BRIDGE, "out_iface": BRIDGE}
        if kind == "gw-vm1":
            pkt.update(path="forward", src=rng.choice(("14.52.45.2", "203.0.113.5")),
                       dst=VM1[1], physdev_in="eth1", physdev_out=VM1[0], mac_src=GW_MAC,
                       from_port=None, to_port=VM1[0])
        elif kind == "vm1-gw":
            pkt.update(path="forward", src=VM1[1], dst="14.52.45.2", physdev_in=VM1[0],
                       physdev_out="eth1", mac_src=VM1[2], from_port=VM1[0], to_port=None)
        elif kind == "vm1-vm2":
            pkt.update(path="forward", src=VM1[1], dst=VM2[1], physdev_in=VM1[0],
                       physdev_out=VM2[0], mac_src=VM1[2], from_port=VM1[0], to_port=VM2[0])
        else:
            pkt.update(path="input", src=rng.choice(("203.0.113.5", "192.0.2.9")),
                       dst=L.BridgeLab.NODE, physdev_in="eth1", physdev_out=None,
                       mac_src=GW_MAC, from_port=None, to_port=None)
        self._l4(pkt)
        if kind == "vm1-gw":
            pkt["to_port"] = "gw"
        return SentPacket(**pkt, ident=self._next_ident())

    # rules -----------------------------------------------------------------------------------
    def _addr(self, pkts: list[SentPacket], which: str) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            p = rng.choice(pkts)
            addr = p.src if which == "s" else p.dst
            return rng.choice((addr, addr + "/32", _net(addr, 24), _net(addr, 16)))
        return rng.choice(("203.0.113.0/25", "10.0.0.0/8", "198.51.100.0/24", "14.52.45.0/24",
                           "192.0.2.0/24", "0.0.0.0/1", "10.0.2.2"))

    def _match(self, table: str, hook: str, pkts: list[SentPacket], lab: str,
               proto: str | None) -> list[str]:
        """One match (words), suitable for chains reached from `hook`."""
        rng = self.rng
        p = rng.choice(pkts)
        neg = "! " if rng.random() < 0.2 else ""
        kinds = ["s", "d", "state", "mark", "addrtype", "iprange", "length", "ttl", "tos",
                 "comment", "connmark", "set", "dscp"]
        if hook in IN_HOOKS:
            kinds += ["i", "mac"]
        if hook in OUT_HOOKS:
            kinds.append("o")
        if hook in ("OUTPUT", "POSTROUTING"):
            kinds.append("owner")
        if lab == "bridge" and hook != "OUTPUT":
            kinds += ["physdev", "physdev"]
        if proto in ("tcp", "udp"):
            kinds += ["port", "port", "multiport"]
        if proto == "tcp":
            kinds += ["tcpflags"]
        if proto == "icmp":
            kinds += ["icmptype"]
        kinds = [k for k in kinds if k not in self.exclude] or ["s"]
        kind = rng.choice(kinds)
        if kind == "s":
            return [f"{neg}-s {self._addr(pkts, 's')}"]
        if kind == "d":
            return [f"{neg}-d {self._addr(pkts, 'd')}"]
        if kind == "i":
            names = ["eth1", "eth+", "eth2", "lo", BRIDGE, "brq+"]
            if p.in_iface:
                names.append(p.in_iface)
            return [f"{neg}-i {rng.choice(names)}"]
        if kind == "o":
            names = ["eth2", "eth+", "eth1", BRIDGE]
            if p.out_iface:
                names.append(p.out_iface)
            return [f"{neg}-o {rng.choice(names)}"]
        if kind == "state":
            states = rng.choice(("NEW", "INVALID", "RELATED,ESTABLISHED", "NEW,INVALID",
                                 "UNTRACKED", "NEW,ESTABLISHED"))
            if rng.random() < 0.5:
                return [f"-m state {neg}--state {states}"]
            return [f"-m conntrack {neg}--ctstate {states}"]
        if kind == "mark":
            return [f"-m mark {neg}--mark {rng.choice(('0x1', '0x2', '0x0', '0x1/0x1', '0x3'))}"]
        if kind == "connmark":
            return [f"-m connmark {neg}--mark {rng.choice(('0x1', '0x0', '0x4/0x4'))}"]
        if kind == "addrtype":
            which = rng.choice(("--dst-type", "--src-type"))
            kinds_ = rng.choice(("LOCAL", "UNICAST", "BROADCAST", "LOCAL,UNICAST"))
            return [f"-m addrtype {neg}{which} {kinds_}"]
        if kind == "iprange":
            which, addr = rng.choice((("--src-range", p.src), ("--dst-range", p.dst)))
            base = addr.rsplit(".", 1)[0]
            lo = rng.choice((1, 5, 10))
            hi = rng.choice((9, 100, 254))
            return [f"-m iprange {neg}{which} {base}.{lo}-{base}.{hi}"]
        if kind == "length":
            spec = rng.choice(("0:40", "0:60", "29", "41:1500", f"{p.length}", "100:"))
            return [f"-m length {neg}--length {spec}"]
        if kind == "ttl":
            op = rng.choice(("--ttl-eq", "--ttl-lt", "--ttl-gt"))
            val = rng.choice((1, 2, 63, 64, 127, 128))
            if op == "--ttl-eq" and neg:
                return [f"-m ttl ! {op} {val}"]
            return [f"-m ttl {op} {val}"]
        if kind == "tos":
            return [f"-m tos {neg}--tos {rng.choice(('0x10', '0x00', '0xb8/0xfc', '0x10/0x3f'))}"]
        if kind == "dscp":
            return [f"-m dscp {neg}--dscp {rng.choice(('0x2e', '0x00', '0x04'))}"]
        if kind == "comment":
            return ['-m comment --comment "differential rule"']
        if kind == "owner":
            return [f"-m owner {neg}--uid-owner {rng.choice((0, 1000))}"]
        if kind == "set":
            name, flags = rng.choice((("diffnet", "src"), ("diffnet", "dst"),
                                      ("diffport", "dst,dst"), ("diffport", "dst")))
            return [f"-m set {neg}--match-set {name} {flags}"]
        if kind == "mac":
            macs = [L.RouterLab.H1_MAC, GW_MAC, VM1[2], "02:00:00:00:99:99"]
            return [f"-m mac {neg}--mac-source {rng.choice(macs).upper()}"]
        if kind == "physdev":
            opts = []
            if rng.random() < 0.6:
                opts.append(f"--physdev-in {rng.choice(('eth1', VM1[0], VM2[0], 'tap+'))}")
            if rng.random() < 0.5 and hook in ("FORWARD", "POSTROUTING"):
                opts.append(f"--physdev-out {rng.choice(('eth1', VM1[0], VM2[0], 'tap+'))}")
            if rng.random() < 0.5 or not opts:
                flags = ["--physdev-is-bridged", "! --physdev-is-bridged", "--physdev-is-in"]
                if hook in ("FORWARD", "POSTROUTING"):
                    flags.append("--physdev-is-out")
                opts.append(rng.choice(flags))
            return ["-m physdev " + " ".join(opts)]
        if kind == "port":
            which = rng.choice(("--dport", "--sport"))
            val = rng.choice((*DPORTS, *SPORTS, "1:1023", "1024:65535", "50000:50010"))
            return [f"-m {proto} {neg}{which} {val}"]
        if kind == "multiport":
            which = rng.choice(("--dports", "--sports", "--ports"))
            val = rng.choice(("22,80,443", "53,123", "8000:9000,50000", "40000,1234"))
            return [f"-m multiport {neg}{which} {val}"]
        if kind == "tcpflags":
            if rng.random() < 0.4:
                return [f"-m tcp {neg}--syn"]
            mask, comp = rng.choice((("SYN,ACK", "SYN"), ("SYN,ACK,FIN,RST", "ACK"),
                                     ("ALL", "NONE"), ("FIN,RST", "RST"), ("SYN,RST", "SYN")))
            return [f"-m tcp {neg}--tcp-flags {mask} {comp}"]
        if kind == "icmptype":
            return [f"-m icmp {neg}--icmp-type {rng.choice(('8', '0', 'echo-request', '13'))}"]
        raise AssertionError(kind)

    def _target(self, table: str, hook: str, lab: str, users: list[str],
                proto: str | None = None) -> str:
        rng = self.rng
        options: list[str] = ["ACCEPT", "RETURN", "", "LOG --log-prefix diff"]
        if table in ("filter", "mangle", "raw", "security"):
            options += ["DROP", "DROP"]
        if table == "filter":
            options += ["REJECT"]
        if table == "mangle":
            options += ["MARK --set-xmark 0x1/0xffffffff", "MARK --set-mark 0x2",
                        "MARK --or-mark 0x1", "CONNMARK --set-mark 0x1", "CONNMARK --save-mark",
                        "CONNMARK --restore-mark", "TOS --set-tos 0x10/0x3f",
                        "DSCP --set-dscp 0x2e", "TTL --ttl-set 63", "TTL --ttl-dec 1"] * 1
        if table == "raw":
            options += ["NOTRACK", "CT --notrack", "CT"]
        if table == "nat" and lab == "router":
            if hook == "PREROUTING":
                options += ["DNAT --to-destination 10.0.2.2", "DNAT --to-destination 10.0.1.1"]
                if proto in ("tcp", "udp"):  # ports need a port protocol
                    options += ["DNAT --to-destination 198.51.100.20:8080",
                                "REDIRECT --to-ports 53"]
            if hook == "OUTPUT":
                options += ["DNAT --to-destination 10.0.2.2",
                            "DNAT --to-destination 198.51.100.20"]
            if hook == "POSTROUTING":
                options += ["MASQUERADE", "SNAT --to-source 10.0.2.1"]
            if hook == "INPUT":
                # not a routable address: replies to it would walk OUTPUT
                options += ["SNAT --to-source 192.0.2.99"]
        if table == "nat" and lab == "bridge" and hook == "POSTROUTING":
            options += ["SNAT --to-source 14.52.45.3"]
        if users and rng.random() < 0.45:
            chain = rng.choice(users)
            return f"{'-g' if rng.random() < 0.25 else '-j'} {chain}"
        choice = rng.choice(options)
        return f"-j {choice}" if choice else ""

    def _rule(self, table: str, hook: str, pkts: list[SentPacket], lab: str,
              users: list[str]) -> str:
        rng = self.rng
        words: list[str] = []
        proto = None
        if rng.random() < 0.45:
            proto = rng.choice(("tcp", "udp", "icmp", rng.choice(pkts).proto))
            words.append(f"{'! ' if rng.random() < 0.1 else ''}-p {proto}")
            if words[0].startswith("!"):
                proto = None
        used: set[str] = set()
        counts = (0, 0, 1, 1, 2) if table == "nat" else (0, 1, 1, 1, 2, 2, 3)
        for _ in range(rng.choice(counts)):
            match = self._match(table, hook, pkts, lab, proto)
            flag = match[0].removeprefix("! ").split()[0]
            if flag in ("-s", "-d", "-i", "-o"):
                if flag in used:
                    continue
                used.add(flag)
            elif flag == "-m" and match[0].split()[1] in ("tcp", "udp", "icmp"):
                # iptables-nft-save prints one tcp/udp/icmp match for several (the kernel
                # evaluates them all): the dump would not say what the kernel does
                module = match[0].split()[1]
                if module in used:
                    continue
                used.add(module)
            words += match
        target = self._target(table, hook, lab, users, proto)
        if target:
            words.append(target)
        return " ".join(words)

    def scenario6(self, backend: str, npackets: int = 4) -> Scenario:
        """An IPv6 router scenario: an IPv4 one translated (addresses, icmp, ttl)."""
        scen = self.scenario("router", backend, npackets)
        # an IPv6 REJECT of a locally generated packet sends its ICMPv6 error to the host itself
        # (no rate limit for local destinations): a second packet would walk the chains
        scen.rules = "\n".join(
            ln.replace("-j REJECT", "-j DROP") if ln.startswith(("-A OUTPUT", "-A out-u")) else ln
            for ln in to_v6_rules(scen.rules).splitlines()) + "\n"
        for p in scen.packets:
            p.family = 6
            p.src, p.dst = v6_address(p.src), v6_address(p.dst)
            if p.proto == "icmp":
                p.icmp_type = {8: 128, 0: 129}.get(p.icmp_type or 0, 128)
            if p.mac_src is None:
                pass
        scen.lab = "router6"
        return scen

    def scenario(self, lab: str, backend: str, npackets: int = 4) -> Scenario:
        rng = self.rng
        pkts = [self.router_packet() if lab == "router" else self.bridge_packet()
                for _ in range(npackets)]
        _unique_tuples(pkts)
        tables = ["filter"] if rng.random() < 0.9 else []
        for t, p in (("mangle", 0.5), ("nat", 0.6), ("raw", 0.3), ("security", 0.15)):
            if rng.random() < p:
                tables.append(t)
        if not tables:
            tables = ["mangle"]
        lines: list[str] = []
        for table in ("raw", "mangle", "nat", "filter", "security"):
            if table not in tables:
                continue
            lines.append(f"*{table}")
            body: list[str] = []
            decl: list[str] = []
            for hook in HOOK_ORIGINS[table]:
                drop_ok = table in ("filter",) or (table in ("mangle", "raw", "security") and
                                                   rng.random() < 0.3)
                policy = "DROP" if drop_ok and rng.random() < 0.35 else "ACCEPT"
                decl.append(f":{hook} {policy} [0:0]")
                # user chains reached only from this hook (so the kernel's hook checks pass)
                users = [f"{hook[:3].lower()}-u{k}" for k in range(rng.choice((0, 1, 1, 2, 3)))]
                for k, name in enumerate(users):
                    decl.append(f":{name} - [0:0]")
                    for _ in range(rng.choice((1, 2, 3, 4))):
                        body.append(f"-A {name} " + self._rule(table, hook, pkts, lab,
                                                               users[k + 1:]))
                for _ in range(rng.choice((0, 1, 2, 3, 4, 5))):
                    body.append(f"-A {hook} " + self._rule(table, hook, pkts, lab, users))
            lines += decl + [b.rstrip() for b in body] + ["COMMIT"]
        return Scenario(self.seed, lab, backend, "\n".join(lines) + "\n", pkts)


# IPv4 networks of the generator and the IPv6 networks that stand for them in IPv6 scenarios
V6_OF = {
    "10.0.1.0": "fd00:1::", "10.0.2.0": "fd00:2::", "198.51.100.0": "2001:db8:100::",
    "203.0.113.0": "2001:db8:ff::", "192.0.2.0": "2001:db8:fe::", "14.52.45.0": "2001:db8:45::",
    "127.0.0.0": "::",
}
ROUTER6_LOCAL = ("fd00:1::1/64@eth1", "fd00:2::1/64@eth2", "::1/128@lo")
IPSET6_SAVE_SCRIPT = (
    "ipset create diffnet hash:net family inet6; ipset add diffnet 2001:db8:ff::/64; "
    "ipset add diffnet 2001:db8:ff::40/122 nomatch; ipset add diffnet 2001:db8:45::2; "
    "ipset create diffport hash:ip,port family inet6; ipset add diffport fd00:2::2,udp:53; "
    "ipset add diffport 2001:db8:45::a,tcp:80"
)


def v6_address(text: str, prefix: int | None = None) -> str:
    """10.0.1.5 -> fd00:1::5 (host octet n -> hex n), with /p -> /(p-24+64) for p >= 24."""
    import ipaddress

    addr = ipaddress.IPv4Address(text)
    base = str(ipaddress.IPv4Address(int(addr) & 0xFFFFFF00))
    host = int(addr) & 0xFF
    if base in V6_OF:
        v6 = ipaddress.IPv6Address(int(ipaddress.IPv6Address(V6_OF[base])) + host)
    elif int(addr) == 0:
        v6 = ipaddress.IPv6Address(0)
    else:  # a wider network (10.0.0.0/8): keep its leading bytes in fd00::
        v6 = ipaddress.IPv6Address((0xFD00 << 112) | (int(addr) << 64))
    if prefix is None:
        return str(v6)
    bits = 128 - (32 - prefix) if prefix >= 24 else prefix  # host octet -> last 8 bits
    if base not in V6_OF and int(addr) != 0:
        bits = min(128, prefix + 16) if prefix >= 8 else prefix
    return str(ipaddress.ip_network(f"{v6}/{bits}", strict=False))


def to_v6_rules(text: str) -> str:
    """An IPv4 ruleset of the generator as the IPv6 ruleset of the same shape."""
    import re

    def addr(m: re.Match[str]) -> str:
        a, p = m.group(1), m.group(2)
        if p:
            return v6_address(a, int(p))
        return v6_address(a)

    # DNAT to ADDR:PORT -> [ADDR]:PORT
    out = re.sub(r"--to-destination (\d+\.\d+\.\d+\.\d+):(\d+)\b",
                 lambda m: f"--to-destination [{v6_address(m.group(1))}]:{m.group(2)}", text)
    out = re.sub(r"(?<![\w.:\[])(\d+\.\d+\.\d+\.\d+)(?:/(\d+))?(?![\w.])", addr, out)
    for old, new in (("-p icmp", "-p ipv6-icmp"), ("-m icmp ", "-m icmp6 "),
                     ("--icmp-type 8", "--icmpv6-type 128"), ("--icmp-type 0", "--icmpv6-type 129"),
                     ("--icmp-type 13", "--icmpv6-type 130"),
                     ("--icmp-type echo-request", "--icmpv6-type echo-request"),
                     ("-m ttl", "-m hl"), ("--ttl-eq", "--hl-eq"), ("--ttl-lt", "--hl-lt"),
                     ("--ttl-gt", "--hl-gt"), ("-j TTL --ttl-set", "-j HL --hl-set"),
                     ("-j TTL --ttl-dec", "-j HL --hl-dec"), ("BROADCAST", "MULTICAST")):
        out = out.replace(old, new)
    return out


def _net(addr: str, bits: int) -> str:
    import ipaddress

    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


def _unique_tuples(pkts: list[SentPacket]) -> None:
    """No two packets of a scenario share a conntrack tuple (each must be a new connection)."""
    seen: set[tuple[object, ...]] = set()
    for n, p in enumerate(pkts):
        key = (p.src, p.dst, p.proto, p.sport, p.dport, p.icmp_type, p.ident)
        if p.proto != "icmp":
            key = (p.src, p.dst, p.proto, p.sport, p.dport)
        if key in seen and p.sport is not None:
            p.sport = 30000 + n
        seen.add(key)


# --------------------------------------------------------------------------------------------
# running


@dataclass
class Outcome:
    kernel_grown: list[str]
    kernel_delivered: bool
    kernel_arrived: list[str]
    stepper_matched: list[str]
    stepper_verdict: str
    stepper_decided_by: str
    assumptions: list[str]


@dataclass
class Disagreement:
    seed: int
    lab: str
    backend: str
    packet: str
    rules: str
    only_kernel: list[str]
    only_stepper: list[str]
    kernel_delivered: bool
    stepper_verdict: str
    stepper_trace: list[str]
    kernel_trace: list[str] = field(default_factory=list)

    def text(self) -> str:
        out = [f"seed {self.seed} {self.lab} {self.backend}: {self.packet}",
               f"  kernel delivered={self.kernel_delivered}, stepper verdict "
               f"{self.stepper_verdict}",
               f"  only the kernel counted: {self.only_kernel}",
               f"  only the stepper matched: {self.only_stepper}",
               "  stepper walk:"]
        out += [f"    {s}" for s in self.stepper_trace]
        if self.kernel_trace:
            out.append("  kernel trace:")
            out += [f"    {s}" for s in self.kernel_trace]
        out.append("  ruleset:")
        out += [f"    {ln}" for ln in self.rules.splitlines()]
        return "\n".join(out)


@dataclass
class Report:
    cases: int = 0
    scenarios: int = 0
    agreed: int = 0
    undecided: int = 0  # the stepper assumed an outcome (UNKNOWN match): not compared
    late: int = 0  # agreed only when the counters were read again 0.3 s later
    ordered: int = 0  # packets whose walk order was also compared with the kernel's trace
    refused: list[str] = field(default_factory=list)  # kernel load refusals (first line)
    disagreements: list[Disagreement] = field(default_factory=list)
    seconds: float = 0.0
    by_path: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    # what the compared walks exercised: targets of matched rules (user chains as
    # jump/goto), and match modules evaluated
    targets_hit: dict[str, int] = field(default_factory=dict)
    modules_seen: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"{self.cases} cases ({self.scenarios} rulesets, by path {self.by_path}, "
                f"verdicts {self.verdicts}): {self.agreed} agree, "
                f"{len(self.disagreements)} disagree, {self.undecided} undecided, "
                f"{self.ordered} also compared in order with the kernel trace, "
                f"{self.late} counted late, "
                f"{len(self.refused)} rulesets refused by the kernel, {self.seconds:.1f}s")

    def coverage(self) -> str:
        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda x: -x[1]))

        return (f"targets taken: {fmt(self.targets_hit)}\n"
                f"modules evaluated: {fmt(self.modules_seen)}")

    def count(self, trace: Any) -> None:
        from ruleset.matches import MATCH

        for step in trace.steps:
            rule = step.rule
            if rule is None:
                continue
            for m in rule.spec.matches:
                self.modules_seen[m.module] = self.modules_seen.get(m.module, 0) + 1
            if step.taken is MATCH:
                name = rule.target_name or "(none)"
                chain = rule.chain
                table = chain.table if chain is not None else None
                if table is not None and name in table.chains:
                    name = "goto" if rule.goto else "jump"
                self.targets_hit[name] = self.targets_hit.get(name, 0) + 1

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, indent=1)


def _refusal(message: str, rules: str) -> str:
    """The kernel's complaint and the rule it names (`line N`)."""
    import re

    lines = [ln for ln in message.splitlines() if ln.strip()]
    found = re.search(r"line:? (\d+)", message)
    rule = ""
    if found:
        n = int(found.group(1))
        text = rules.splitlines()
        rule = text[n - 1] if 0 < n <= len(text) else ""
    return f"{' / '.join(lines[:2])[:300]} :: {rule}"


def _key_str(table: str, chain: str, pos: int) -> str:
    return f"{table}:{chain}:{'policy' if pos == 0 else pos}"


class Runner:
    """One router lab and one bridge lab per backend, reused for every scenario."""

    def __init__(self, backends: tuple[str, ...] = ("nft",), *, trace_disagreements: bool = True,
                 exclude: frozenset[str] = frozenset(), ordered_every: int = 0,
                 ipv6: bool = False) -> None:
        """`ordered_every=k`: every k-th nft scenario is replayed under the kernel's trace
        (`xtables-monitor --trace`) and the ORDER of matched rules and policies is compared
        with the stepper's walk too."""
        self.backends = backends
        self.exclude = exclude
        self.ordered_every = ordered_every
        self.lab = L.Lab("diff")
        self.routers: dict[str, L.RouterLab] = {}
        self.bridges: dict[str, L.BridgeLab] = {}
        self.hosts: dict[str, Any] = {}
        self.trace_disagreements = trace_disagreements
        from ruleset.ipsets import parse_ipset_save
        from ruleset.packet import Host

        self.with_bridge = L.bridge_unavailable_reason() is None
        self.ipv6 = ipv6
        self.routers6: dict[str, L.RouterLab] = {}
        for backend in backends:
            r = L.RouterLab(self.lab, backend=backend)
            r.fw.sh(IPSET_SAVE_SCRIPT)
            self.routers[backend] = r
            topos: list[tuple[str, L.RouterLab | L.BridgeLab, tuple[str, ...]]] = [
                ("router", r, ROUTER_LOCAL)]
            if self.with_bridge:
                b = L.BridgeLab(self.lab, backend=backend)
                b.fw.sh(IPSET_SAVE_SCRIPT)
                self.bridges[backend] = b
                topos.append(("bridge", b, BRIDGE_LOCAL))
            if ipv6:
                r6 = L.RouterLab(self.lab, backend=backend, family=6)
                r6.fw.sh(IPSET6_SAVE_SCRIPT)
                self.routers6[backend] = r6
                topos.append(("router6", r6, ROUTER6_LOCAL))
            for name, topo, local in topos:
                store = parse_ipset_save(topo.fw.run("ipset", "save").stdout)
                host = Host.make(list(local), ipsets=store)
                self.hosts[name] = host

    def close(self) -> None:
        for t in (*self.routers.values(), *self.bridges.values(), *self.routers6.values()):
            t.close()
        self.lab.destroy()

    def run(self, n: int, seed: int = 1, packets_per_ruleset: int = 4) -> Report:
        report = Report()
        start = time.monotonic()
        k = 0
        while report.cases < n:
            k += 1
            backend = self.backends[k % len(self.backends)]
            lab = "router" if k % 3 or not self.with_bridge else "bridge"
            gen = Generator(seed * 100003 + k, self.exclude)
            if self.ipv6 and k % 4 == 1:
                scen = gen.scenario6(backend, packets_per_ruleset)
            else:
                scen = gen.scenario(lab, backend, packets_per_ruleset)
            self.run_scenario(scen, report)
        report.seconds = time.monotonic() - start
        return report

    def run_scenario(self, scen: Scenario, report: Report) -> None:
        from parser.load import load_text
        from ruleset.packet import CtState, Packet
        from ruleset.stepper import Verdict, matched_policies, matched_rules, simulate

        topo = self._topology(scen)
        try:
            topo.load(scen.rules)
        except L.LabError as exc:
            report.refused.append(_refusal(str(exc), scen.rules))
            return
        report.scenarios += 1
        walks: list[tuple[SentPacket, Any]] = []
        kernel_text = topo.fw.save(backend=scen.backend, counters=True,
                                   family=getattr(topo, "family", 4))
        before = L.read_counters(kernel_text)
        ruleset = load_text(kernel_text, f"<seed {scen.seed}>")
        host = self.hosts[scen.lab]
        disagreements: list[tuple[Disagreement, SentPacket]] = []
        for sp in scen.packets:
            proto = "ipv6-icmp" if sp.proto == "icmp" and sp.family == 6 else sp.proto
            pkt = Packet.make(
                sp.src, sp.dst, proto, sp.sport, sp.dport,
                in_iface=sp.in_iface, out_iface=sp.out_iface,
                physdev_in=sp.physdev_in, physdev_out=sp.physdev_out,
                bridged=sp.lab == "bridge", mac_src=sp.mac_src,
                state=CtState(sp.kernel_state()),
                tcp_flags=sp.flags if sp.proto == "tcp" else "",
                icmp_type=sp.icmp_type, icmp_code=0 if sp.proto == "icmp" else None,
                length=sp.length, ttl=sp.ttl, tos=sp.tos,
                uid=0 if sp.path == "output" else None, gid=0 if sp.path == "output" else None,
            )
            trace = simulate(ruleset, pkt, sp.path, host=host)
            walks.append((sp, trace))
            if isinstance(topo, L.RouterLab):
                d = topo.send(sp.wire(), sp.path, wait=0.02, before=before)
            else:
                d = topo.send(sp.wire(), to_port=sp.to_port if sp.to_port != "gw" else "gw",
                              from_port=sp.from_port, wait=0.02, before=before)
            start_counts = before
            before = d.after
            report.cases += 1
            report.by_path[f"{scen.lab}:{sp.path}"] = report.by_path.get(
                f"{scen.lab}:{sp.path}", 0) + 1
            kernel = {_key_str(k.table, k.chain, k.position) for k in d.grown}
            stepper = {_key_str(t, c, p) for t, c, p in matched_rules(trace)}
            stepper |= {_key_str(t, c, 0) for t, c in matched_policies(trace)}
            verdict = trace.verdict
            report.count(trace)
            report.verdicts[verdict.value] = report.verdicts.get(verdict.value, 0) + 1
            if trace.assumptions:
                report.undecided += 1
                continue
            accepted = verdict is Verdict.ACCEPT
            if kernel == stepper and accepted == d.delivered:
                report.agreed += 1
                continue
            # under load the packet may still be in a softirq queue: look again, later
            time.sleep(0.3)
            late = topo.counters()
            kernel = {_key_str(k.table, k.chain, k.position)
                      for k in L.grown(start_counts, late)}
            delivered = d.delivered or bool(topo._arrivals(sp.ident, 0))
            before = late
            if kernel == stepper and accepted == delivered:
                report.agreed += 1
                report.late += 1
                continue
            disagreements.append((Disagreement(
                scen.seed, scen.lab, scen.backend, sp.describe(), scen.rules,
                sorted(kernel - stepper), sorted(stepper - kernel), delivered, verdict.value,
                [_step_text(s) for s in trace.steps],
            ), sp))
        # replays reload the ruleset (with TRACE rules): only after the scenario's packets
        for dis, sp in disagreements:
            if self.trace_disagreements:
                dis.kernel_trace = self._kernel_trace(scen, sp)
            report.disagreements.append(dis)
        # IPv4 only: xtables-monitor 1.8.9 misprints some IPv6 rules (a DNAT to fd00:1::1 as
        # `253.0.0.1`, others as a bare `-6 -t raw`), so its rule text cannot be matched
        if (self.ordered_every and scen.backend == "nft" and not disagreements
                and scen.lab != "router6" and report.scenarios % self.ordered_every == 0):
            self._ordered_check(scen, topo, walks, set(ruleset.tables), report)

    def _topology(self, scen: Scenario) -> L.RouterLab | L.BridgeLab:
        labs: dict[str, Any] = {"router": self.routers, "bridge": self.bridges,
                                "router6": self.routers6}
        topo: L.RouterLab | L.BridgeLab = labs[scen.lab][scen.backend]
        return topo

    def _ordered_check(self, scen: Scenario, topo: L.RouterLab | L.BridgeLab,
                       walks: list[tuple[SentPacket, Any]], tables: set[str],
                       report: Report) -> None:
        """Replay the scenario's packets under `xtables-monitor --trace`; the kernel's ordered
        list of matched rules and policies must be the stepper's."""
        from ruleset.matches import MATCH
        from ruleset.stepper import StepKind

        try:
            topo.load(L.with_trace_rules(scen.rules))
        except L.LabError as exc:
            report.refused.append(_refusal(str(exc), scen.rules))
            return
        tracer = L.KernelTrace(topo.fw)
        sent: list[tuple[SentPacket, Any, int]] = []
        for sp, trace in walks:
            ident = (sp.ident + 32000) % 65000 + 1
            sp2 = SentPacket(**{**asdict(sp), "ident": ident})
            if isinstance(topo, L.RouterLab):
                topo.send(sp2.wire(), sp2.path, wait=0.01)
            else:
                topo.send(sp2.wire(), to_port=sp2.to_port, from_port=sp2.from_port, wait=0.01)
            sent.append((sp, trace, ident))
        tracer.stop()
        events = L.parse_trace_packets(tracer.text, tuple(tables))
        for sp, trace, ident in sent:
            kernel = [
                (e.table, e.chain, e.kind, _spec_text(e.rule))
                for e in events.get(ident, [])
                if e.kind in ("rule", "policy") and not e.rule.endswith("-j TRACE")
            ]
            stepper = [
                (s.table, s.chain, s.kind.value, _spec_text(s.rule.text) if s.rule else "")
                for s in trace.steps
                if (s.kind is StepKind.RULE and s.taken is MATCH) or s.kind is StepKind.POLICY
            ]
            report.ordered += 1
            if kernel != stepper:
                report.disagreements.append(Disagreement(
                    scen.seed, scen.lab, scen.backend, "ORDER " + sp.describe(), scen.rules,
                    [" ".join(k) for k in kernel], [" ".join(k) for k in stepper],
                    False, trace.verdict.value, [_step_text(s) for s in trace.steps],
                    [f"{e.table}:{e.chain}:{e.kind}:{e.verdict} {e.rule}"
                     for e in events.get(ident, [])]))

    def _kernel_trace(self, scen: Scenario, sp: SentPacket) -> list[str]:
        """Replay one packet with the kernel's own trace (nft only)."""
        if scen.backend != "nft":
            return []
        topo = self._topology(scen)
        try:
            topo.load(L.with_trace_rules(scen.rules, f"-s {sp.src}"))
            sp2 = SentPacket(**{**asdict(sp), "ident": (sp.ident + 30000) % 65000 + 1})
            if isinstance(topo, L.RouterLab):
                d = topo.send(sp2.wire(), sp2.path, wait=0.01, trace=True)
            else:
                d = topo.send(sp2.wire(), to_port=sp2.to_port, from_port=sp2.from_port,
                              wait=0.01, trace=True)
        except L.LabError as exc:
            return [f"(trace failed: {exc})"]
        return [f"{e.table}:{e.chain}:{e.kind}:{e.verdict} {e.rule}" for e in d.trace or []]


def _spec_text(text: str) -> str:
    """The rule words after `-A CHAIN` (of a save line or an xtables-monitor rule)."""
    words = text.split()
    if "-A" in words:
        words = words[words.index("-A") + 2:]
    return " ".join(words)


def _step_text(step: Any) -> str:
    reasons = "; ".join(step.reasons)
    return (f"{step.where} {'' if step.matched is None else ('match' if step.matched else 'no')}"
            f" -> {step.target or step.action} {reasons} {step.note}").rstrip()

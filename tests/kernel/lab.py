"""A real-kernel lab: network namespaces, veth pairs, a router, a Linux bridge with br_netfilter,
rulesets loaded with iptables-restore, one real packet, and what the kernel counted.

Everything happens inside network namespaces this module creates (`iptscope-<tag>-<pid>-<n>`)
and removes; the host's own firewall is never read or changed. Stdlib only, so that the tests,
`scripts/lab.py` and benchmarks can all import it.

Topologies (addresses are fixed so that rulesets can name them):

- `RouterLab`: `h1` (10.0.1.2, eth0) -- (eth1, 10.0.1.1) `r` (eth2, 10.0.2.1) -- (eth0,
  10.0.2.2) `h2`. `r` forwards, has connected routes plus 198.51.100.0/24 via h2, and no
  default route, so that replies to the documentation sources used by the tests
  (203.0.113.0/24, 192.0.2.0/24) are never routed (no RST / ICMP error pollutes counters).
  Paths: `input` (h1 -> r), `forward` (h1 -> h2 or 198.51.100.x through r), `output` (r -> h2).
- `BridgeLab`: the seed's OpenStack Linux-bridge compute node. `node` holds bridge
  `brq7f1a6c1d-2b` with ports `eth1` (uplink to `gw`, 14.52.45.2) and tap-named veths
  `tap6746373c-01` (VM 14.52.45.10, FA:16:3E:A8:97:6F) and `tap2c6951d5-e6` (VM 14.52.45.12,
  FA:16:3E:CB:06:23). br_netfilter is on (`bridge-nf-call-iptables=1`, per namespace);
  static FDB and neighbour entries keep frames from being flooded.

Packets are sent as whole Ethernet frames (AF_PACKET) or IP_HDRINCL raw packets from a socket
created inside the sending namespace (setns on this thread, then back), so a test can send
hundreds of packets without spawning a process per packet. Arrival is observed with AF_PACKET
sockets on the receivers' interfaces and raw IP sockets in the receiving namespace, keyed by the
IP ID (IPv4) / flow label (IPv6) each packet carries.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import itertools
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

PREFIX = "iptscope-"
NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
BACKENDS = ("nft", "legacy")
TABLES = ("raw", "mangle", "nat", "filter", "security")

_counter = itertools.count(1)
_setns_lock = threading.Lock()


# --------------------------------------------------------------------------------------------
# availability


def unavailable_reason() -> str | None:
    """Why the lab cannot run here (None when it can): not root, no `ip netns`, no iptables,
    or IPTSCOPE_NO_KERNEL set (to skip the kernel tests on purpose)."""
    if os.environ.get("IPTSCOPE_NO_KERNEL"):
        return "kernel tests disabled by IPTSCOPE_NO_KERNEL"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "kernel lab needs root"
    for tool in ("ip", "iptables-nft-restore", "iptables-legacy-restore", "iptables-nft-save",
                 "iptables-legacy-save", "ip6tables-nft-restore", "ip6tables-legacy-restore"):
        if shutil.which(tool) is None:
            return f"kernel lab needs {tool}"
    probe = f"{PREFIX}probe-{os.getpid()}-{next(_counter)}"
    res = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if res.returncode != 0:
        return f"cannot create a network namespace: {res.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def bridge_unavailable_reason() -> str | None:
    """Why bridged packets cannot walk iptables here (None when they can): br_netfilter is
    loaded with `modprobe br_netfilter` when its sysctls are missing."""
    probe = f"{PREFIX}probe-{os.getpid()}-{next(_counter)}"
    _run(["ip", "netns", "add", probe])
    try:
        check = ["ip", "netns", "exec", probe, "test", "-e",
                 "/proc/sys/net/bridge/bridge-nf-call-iptables"]
        if _run(check, check=False).returncode == 0:
            return None
        if shutil.which("modprobe"):
            _run(["modprobe", "br_netfilter"], check=False)
            if _run(check, check=False).returncode == 0:
                return None
        return "br_netfilter is not available (modprobe br_netfilter failed)"
    finally:
        _run(["ip", "netns", "del", probe], check=False)


def tool(backend: str, name: str, family: int = 4) -> str:
    """`tool("nft", "save", 6)` -> `ip6tables-nft-save`."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}: {backend!r}")
    base = "ip6tables" if family == 6 else "iptables"
    return f"{base}-{backend}" + (f"-{name}" if name else "")


# --------------------------------------------------------------------------------------------
# namespaces


class LabError(RuntimeError):
    """A lab command failed; the message holds the command and its stderr."""


def _run(argv: Sequence[str], *, input: str | None = None,  # noqa: A002
         check: bool = True,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(argv), input=input, capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise LabError(f"{' '.join(argv)} exited {res.returncode}: {res.stderr.strip()}")
    return res


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@dataclass
class Netns:
    """One network namespace (name under /run/netns)."""

    name: str

    def run(self, *argv: str, input: str | None = None,  # noqa: A002
            check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return _run(["ip", "netns", "exec", self.name, *argv], input=input, check=check,
                    timeout=timeout)

    def sh(self, script: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("sh", "-c", script, check=check)

    def ip(self, *args: str) -> None:
        _run(["ip", "-n", self.name, *args])

    def sysctl(self, key: str, value: str | int) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        self.sh(f"echo {value} > {path}")

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Switch this thread into the namespace (for creating sockets), and back."""
        with _setns_lock:
            own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
            target = os.open(f"{NETNS_DIR}/{self.name}", os.O_RDONLY)
            try:
                _setns(target)
                try:
                    yield
                finally:
                    _setns(own)
            finally:
                os.close(target)
                os.close(own)

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        with self.entered():
            return socket.socket(family, kind, proto)

    # iptables ---------------------------------------------------------------------------

    def restore(self, text: str, *, backend: str = "nft", family: int = 4,
                counters: bool = False, noflush: bool = False) -> None:
        """Load an iptables-restore text (tables it names are replaced)."""
        argv = [tool(backend, "restore", family)]
        if counters:
            argv.append("-c")
        if noflush:
            argv.append("-n")
        self.run(*argv, input=text)

    def iptables(self, *args: str, backend: str = "nft", family: int = 4,
                 check: bool = True) -> str:
        return self.run(tool(backend, "", family), "-w", *args, check=check).stdout

    def save(self, *, backend: str = "nft", family: int = 4, counters: bool = True,
             table: str | None = None) -> str:
        argv = [tool(backend, "save", family)]
        if counters:
            argv.append("-c")
        if table:
            argv += ["-t", table]
        return self.run(*argv).stdout

    def flush_all(self, *, backend: str = "nft", family: int = 4) -> None:
        """Remove every iptables table of this backend and family in the namespace."""
        if backend == "nft":
            fam = "ip6" if family == 6 else "ip"
            out = self.run("nft", "list", "tables", check=False).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] == fam and parts[2] in TABLES:
                    self.run("nft", "delete", "table", fam, parts[2], check=False)
        else:
            # legacy tables cannot be unloaded: empty them, built-in chains back to ACCEPT
            self.restore(_empty_tables(), backend=backend, family=family)

    def conntrack_flush(self) -> None:
        self.run("conntrack", "-F", check=False)


def _empty_tables() -> str:
    out = []
    for t in TABLES:
        out.append(f"*{t}")
        out.extend(f":{c} ACCEPT [0:0]" for c in BUILTIN[t])
        out.append("COMMIT")
    return "\n".join(out) + "\n"


BUILTIN: dict[str, tuple[str, ...]] = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}


V6_QUIET = (
    "for k in all default; do d=/proc/sys/net/ipv6/conf/$k; echo 0 > $d/disable_ipv6;"
    " echo 0 > $d/accept_dad; echo 0 > $d/accept_ra; echo 0 > $d/router_solicitations;"
    " echo 1 > $d/addr_gen_mode; echo 1 > $d/mldv2_unsolicited_report_interval;"
    " echo 1 > $d/mldv1_unsolicited_report_interval; done"
)


def enable_ipv6(ns: Netns) -> None:
    """IPv6 on for links created after this, quietly: no link-local addresses, no DAD, no
    router solicitations, MLD reports 1 ms apart (they are over before any test packet)."""
    ns.sh(V6_QUIET)


class Lab:
    """A set of namespaces created together and removed together (use as a context manager)."""

    def __init__(self, tag: str = "lab") -> None:
        self.tag = re.sub(r"[^a-zA-Z0-9]", "", tag)[:12] or "lab"
        self.namespaces: list[Netns] = []
        self.serial = next(_counter)

    def netns(self, role: str) -> Netns:
        name = f"{PREFIX}{self.tag}-{os.getpid()}-{self.serial}-{role}"
        taken = {ns.name for ns in self.namespaces}
        n = 1
        while name in taken:  # the same role twice in one lab (two topologies)
            n += 1
            name = f"{PREFIX}{self.tag}-{os.getpid()}-{self.serial}-{role}{n}"
        _run(["ip", "netns", "add", name])
        ns = Netns(name)
        self.namespaces.append(ns)
        ns.ip("link", "set", "lo", "up")
        # IPv6 off by default: router/neighbour solicitations and MLD reports would walk the
        # chains and grow counters. `enable_ipv6()` turns it on where a test wants it.
        ns.sysctl("net.ipv6.conf.all.disable_ipv6", 1)
        ns.sysctl("net.ipv6.conf.default.disable_ipv6", 1)
        ns.sysctl("net.ipv4.igmp_link_local_mcast_reports", 0)
        return ns

    def veth(self, a: Netns, a_name: str, b: Netns, b_name: str, *, a_mac: str | None = None,
             b_mac: str | None = None) -> None:
        tmp = f"ipt{os.getpid() % 100000}x{next(_counter)}"[:13]
        _run(["ip", "link", "add", tmp, "netns", a.name, "type", "veth", "peer", "name",
              tmp + "p", "netns", b.name])
        a.ip("link", "set", tmp, "name", a_name)
        b.ip("link", "set", tmp + "p", "name", b_name)
        if a_mac:
            a.ip("link", "set", a_name, "address", a_mac)
        if b_mac:
            b.ip("link", "set", b_name, "address", b_mac)
        # no IGMP reports: they would walk OUTPUT/POSTROUTING and grow counters
        a.ip("link", "set", a_name, "multicast", "off", "up")
        b.ip("link", "set", b_name, "multicast", "off", "up")

    def destroy(self) -> None:
        for ns in reversed(self.namespaces):
            _run(["ip", "netns", "del", ns.name], check=False)
        self.namespaces.clear()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


_LAB_NAME = re.compile(rf"^{PREFIX}[A-Za-z0-9]+-(\d+)-\d+-[A-Za-z0-9]+$")


def cleanup_stale(min_age: float = 60.0, max_age: float = 6 * 3600.0) -> list[str]:
    """Remove namespaces this module created (`iptscope-<tag>-<pid>-<n>-<role>`) whose process
    is gone and that are older than `min_age` seconds, or that are older than `max_age` (a hung
    run). A live run's namespaces younger than `max_age` are never touched, nor namespaces
    named otherwise (another tool's). Returns the names removed."""
    removed: list[str] = []
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return removed
    now = time.time()
    for name in names:
        m = _LAB_NAME.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        alive = pid == os.getpid()
        if not alive:
            try:
                os.kill(pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True
        try:
            age = now - os.stat(f"{NETNS_DIR}/{name}").st_mtime
        except OSError:
            continue
        if (not alive and age >= min_age) or age > max_age:
            _run(["ip", "netns", "del", name], check=False)
            removed.append(name)
    return removed


# --------------------------------------------------------------------------------------------
# counters from iptables-save -c (a minimal stdlib reader: the kernel's truth must not depend
# on the parser under test)

_COUNTED_RULE = re.compile(r"^\[(\d+):(\d+)\]\s+-A\s+(\S+)")
_CHAIN_LINE = re.compile(r"^:(\S+)\s+(\S+)\s+\[(\d+):(\d+)\]")


@dataclass(frozen=True, order=True)
class CounterKey:
    """A rule (position >= 1) or a built-in chain's policy (position 0)."""

    table: str
    chain: str
    position: int

    @property
    def is_policy(self) -> bool:
        return self.position == 0

    def __str__(self) -> str:
        where = "policy" if self.position == 0 else f"#{self.position}"
        return f"{self.table}:{self.chain}:{where}"


@dataclass
class CounterSnapshot:
    counters: dict[CounterKey, tuple[int, int]] = field(default_factory=dict)
    policies: dict[tuple[str, str], str] = field(default_factory=dict)
    rules: dict[CounterKey, str] = field(default_factory=dict)  # rule text (after -A CHAIN)


def read_counters(save_text: str) -> CounterSnapshot:
    snap = CounterSnapshot()
    table = ""
    positions: dict[str, int] = {}
    for raw in save_text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            table = line[1:]
            positions = {}
        elif line.startswith(":"):
            m = _CHAIN_LINE.match(line)
            if m and m.group(2) != "-":
                key = CounterKey(table, m.group(1), 0)
                snap.counters[key] = (int(m.group(3)), int(m.group(4)))
                snap.policies[(table, m.group(1))] = m.group(2)
        elif line.startswith("["):
            m = _COUNTED_RULE.match(line)
            if m:
                chain = m.group(3)
                positions[chain] = positions.get(chain, 0) + 1
                key = CounterKey(table, chain, positions[chain])
                snap.counters[key] = (int(m.group(1)), int(m.group(2)))
                snap.rules[key] = line[m.end():].strip()
    return snap


def grown(before: CounterSnapshot | None, after: CounterSnapshot) -> list[CounterKey]:
    """Rules and policies whose packet counter grew (sorted: table, chain, position)."""
    out = []
    for key, (pkts, _b) in after.counters.items():
        old = before.counters.get(key, (0, 0))[0] if before else 0
        if pkts > old:
            out.append(key)
    return sorted(out)


# --------------------------------------------------------------------------------------------
# packets


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


MARKER = b"#iptscope#"
TCP_FLAGS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20,
             "ECE": 0x40, "CWR": 0x80}
PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132}


@dataclass
class Packet:
    """A packet to put on the wire. `ident` is the IPv4 ID (or IPv6 flow label) used to find it
    again at the receiver."""

    src: str
    dst: str
    proto: str = "udp"
    sport: int = 40000
    dport: int = 50000
    flags: str = "SYN"  # TCP flags, comma separated
    icmp_type: int = 8
    icmp_code: int = 0
    ttl: int = 64
    tos: int = 0
    payload: bytes = b"iptscope"
    ident: int = 0

    @property
    def family(self) -> int:
        return 6 if ":" in self.dst else 4

    @property
    def data(self) -> bytes:
        """The payload; IPv6 packets carry their ident in it (local raw IPv6 sockets do not
        see the header's flow label)."""
        if self.family == 6:
            return self.payload + MARKER + struct.pack("!I", self.ident)
        return self.payload

    def l4(self) -> bytes:
        proto = self.proto
        src = ipaddress.ip_address(self.src).packed
        dst = ipaddress.ip_address(self.dst).packed
        if proto == "udp":
            length = 8 + len(self.data)
            hdr = struct.pack("!HHHH", self.sport, self.dport, length, 0) + self.data
            pseudo = self._pseudo(src, dst, 17, length)
            csum = _checksum(pseudo + hdr) or 0xFFFF
            return hdr[:6] + struct.pack("!H", csum) + hdr[8:]
        if proto == "tcp":
            flags = 0
            for name in filter(None, self.flags.replace(" ", "").split(",")):
                flags |= TCP_FLAGS[name.upper()]
            hdr = struct.pack("!HHIIBBHHH", self.sport, self.dport, 1000, 0 if not flags & 0x10
                              else 2000, 5 << 4, flags, 64240, 0, 0)
            if self.family == 6:
                hdr += self.data
            pseudo = self._pseudo(src, dst, 6, len(hdr))
            csum = _checksum(pseudo + hdr)
            return hdr[:16] + struct.pack("!H", csum) + hdr[18:]
        if proto in ("icmp", "icmpv6", "ipv6-icmp"):
            body = struct.pack("!HH", self.ident & 0xFFFF, 1) + self.data
            hdr = struct.pack("!BBH", self.icmp_type, self.icmp_code, 0) + body
            if self.family == 6:
                pseudo = self._pseudo(src, dst, 58, len(hdr))
                csum = _checksum(pseudo + hdr)
            else:
                csum = _checksum(hdr)
            return hdr[:2] + struct.pack("!H", csum) + hdr[4:]
        return self.data

    def _pseudo(self, src: bytes, dst: bytes, proto: int, length: int) -> bytes:
        if self.family == 6:
            return src + dst + struct.pack("!I3xB", length, proto)
        return src + dst + struct.pack("!BBH", 0, proto, length)

    @property
    def proto_number(self) -> int:
        if self.proto.isdigit():
            return int(self.proto)
        if self.family == 6 and self.proto == "icmp":
            return 58
        return PROTO_NUMBERS[self.proto]

    def ip_bytes(self) -> bytes:
        body = self.l4()
        if self.family == 6:
            first = (6 << 28) | (self.tos << 20) | (self.ident & 0xFFFFF)
            return struct.pack("!IHBB", first, len(body), self.proto_number, self.ttl) + \
                ipaddress.IPv6Address(self.src).packed + ipaddress.IPv6Address(self.dst).packed \
                + body
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, self.tos, 20 + len(body), self.ident & 0xFFFF,
                          0, self.ttl, self.proto_number, 0,
                          ipaddress.IPv4Address(self.src).packed,
                          ipaddress.IPv4Address(self.dst).packed)
        hdr = hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]
        return hdr + body

    def frame(self, src_mac: str, dst_mac: str) -> bytes:
        ethertype = ETH_P_IPV6 if self.family == 6 else ETH_P_IP
        return _mac(dst_mac) + _mac(src_mac) + struct.pack("!H", ethertype) + self.ip_bytes()


def _mac(text: str) -> bytes:
    return bytes(int(x, 16) for x in text.split(":"))


def packet_ident(data: bytes, family: int) -> int | None:
    """The IPv4 ID / IPv6 flow label of an IP packet (no Ethernet header)."""
    if family == 4 and len(data) >= 20 and data[0] >> 4 == 4:
        return int(struct.unpack("!H", data[4:6])[0])
    if family == 6 and len(data) >= 40 and data[0] >> 4 == 6:
        return int(struct.unpack("!I", data[0:4])[0]) & 0xFFFFF
    return None


class Sink:
    """Where a packet may arrive: an AF_PACKET socket on an interface (sees every frame the
    interface receives) or a raw IP socket (sees packets delivered to the local stack, after
    INPUT)."""

    def __init__(self, ns: Netns, label: str, *, iface: str | None = None, proto: int = 0,
                 family: int = 4) -> None:
        self.label = label
        self.family = family
        if iface is not None:
            self.kind = "link"
            self.sock = ns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            with ns.entered():
                self.sock.bind((iface, 0))
        else:
            self.kind = "local"
            fam = socket.AF_INET6 if family == 6 else socket.AF_INET
            self.sock = ns.socket(fam, socket.SOCK_RAW, proto)
        self.sock.setblocking(False)

    def drain(self) -> list[int]:
        """Idents of the IP packets seen since the last drain."""
        seen: list[int] = []
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return seen
            if self.kind == "link":
                # only frames coming in (not our own outgoing)
                if addr[2] == socket.PACKET_OUTGOING:
                    continue
                if len(data) < 14:
                    continue
                ethertype = struct.unpack("!H", data[12:14])[0]
                if ethertype not in (ETH_P_IP, ETH_P_IPV6):
                    continue
                ident = packet_ident(data[14:], self.family)
            elif self.family == 4:
                ident = packet_ident(data, 4)  # IPv4 raw sockets get the IP header
            else:  # IPv6 raw sockets get the payload only: the ident follows MARKER
                at = data.rfind(MARKER)  # the ident ends the payload
                ident = (int(struct.unpack("!I", data[at + len(MARKER):at + len(MARKER) + 4])[0])
                         if at >= 0 and len(data) >= at + len(MARKER) + 4 else None)
            if ident is not None:
                seen.append(ident)

    def close(self) -> None:
        self.sock.close()


def send_frame(ns: Netns, iface: str, frame: bytes) -> None:
    sock = ns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.sendto(frame, (iface, 0))
    finally:
        sock.close()


def send_local(ns: Netns, packet: Packet) -> None:
    """Send from the namespace's own stack (walks OUTPUT and POSTROUTING there)."""
    if packet.family == 6:
        # IPv6 raw sockets have no IP_HDRINCL on older kernels; IPV6_HDRINCL (36) exists since 4.5
        sock = ns.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            with contextlib.suppress(PermissionError):
                sock.sendto(packet.ip_bytes(), (packet.dst, 0))
        finally:
            sock.close()
        return
    sock = ns.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        # EPERM: netfilter dropped it in OUTPUT (what a test may want to see)
        with contextlib.suppress(PermissionError):
            sock.sendto(packet.ip_bytes(), (packet.dst, 0))
    finally:
        sock.close()


# --------------------------------------------------------------------------------------------
# kernel trace (iptables-nft only)


@dataclass(frozen=True)
class TraceEvent:
    """One line of `xtables-monitor --trace`: a rule that matched (kind "rule", with its
    verdict) or a built-in chain's policy (kind "policy")."""

    table: str
    chain: str
    kind: str  # "rule" | "policy"
    verdict: str  # ACCEPT, DROP, CONTINUE, RETURN, JUMP:chain, GOTO:chain, ...
    rule: str = ""  # the rule as xtables-monitor prints it
    family: str = ""
    raw: str = ""


_TRACE_LINE = re.compile(
    r"^\s*PACKET:|^\s*TRACE:\s*(\d+)\s+([0-9a-f]+)\s+(\S+?):(\S+?):(rule|policy|return)\S*"
)


# xtables-monitor prints some nft verdict codes as numbers
_NFT_VERDICTS = {"0xffffffff": "CONTINUE", "0xfffffffe": "BREAK", "0xfffffffd": "JUMP",
                 "0xfffffffc": "GOTO", "0xfffffffb": "RETURN"}


def parse_trace(text: str, tables: Sequence[str] = TABLES) -> list[TraceEvent]:
    """Parse `xtables-monitor --trace` output into the ordered list of rule/policy events.

    Lines look like `TRACE: 2 fc475095 filter:FORWARD:rule:0x4:JUMP:chain  -4 -t filter -A
    FORWARD ...` or `TRACE: 2 fc475095 filter:FORWARD:return:` or `... :policy:ACCEPT`.
    """
    events: list[TraceEvent] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("TRACE:"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 4:
            continue
        family = parts[1]
        rest = parts[3]
        head, _, tail = rest.partition(" ")
        bits = head.split(":")
        if len(bits) < 3:
            continue
        table, chain, kind = bits[0], bits[1], bits[2]
        if table not in tables:
            continue
        if kind == "rule":
            verdict = ":".join(bits[4:]) if len(bits) > 4 else ""
            verdict = _NFT_VERDICTS.get(verdict, verdict)
            events.append(TraceEvent(table, chain, "rule", verdict, tail.strip(), family, line))
        elif kind == "policy":
            events.append(TraceEvent(table, chain, "policy", ":".join(bits[3:]), "", family,
                                     line))
        elif kind == "return":
            events.append(TraceEvent(table, chain, "return", ":".join(bits[3:]), "", family,
                                     line))
    return events


_PACKET_ID = re.compile(r"\b(?:ID|FLOWLBL)=(\d+)")


def parse_trace_packets(text: str, tables: Sequence[str] = TABLES) -> dict[int, list[TraceEvent]]:
    """`xtables-monitor --trace` output of several packets, split by IPv4 ID: the PACKET lines
    name the ID, the TRACE lines carry the same trace id."""
    current: dict[str, int] = {}  # trace id -> the packet it now traces (ids are reused)
    out: dict[int, list[TraceEvent]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        parts = line.split()
        if len(parts) < 3:
            continue
        if line.startswith("PACKET:"):
            m = _PACKET_ID.search(line)
            if m:
                current[parts[2]] = int(m.group(1))
        elif line.startswith("TRACE:") and parts[2] in current:
            out.setdefault(current[parts[2]], []).extend(parse_trace(line, tables))
    return out


class KernelTrace:
    """`xtables-monitor --trace` running in a namespace; `stop()` returns the parsed events.

    The ruleset must carry a raw-table `-j TRACE` rule for the packets of interest (see
    `with_trace_rules`)."""

    def __init__(self, ns: Netns) -> None:
        self.ns = ns
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "xtables-monitor", "--trace"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        time.sleep(0.15)  # let it subscribe before the packet is sent
        self.text = ""

    def stop(self, settle: float = 0.15) -> list[TraceEvent]:
        time.sleep(settle)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            out, _ = self.proc.communicate()
        self.text = out or ""
        return parse_trace(self.text)


def with_trace_rules(save_text: str, match: str = "") -> str:
    """Add `-j TRACE` at the top of raw PREROUTING and OUTPUT (adding a raw table if absent)."""
    rules = [f"-I PREROUTING 1 {match} -j TRACE".replace("  ", " "),
             f"-I OUTPUT 1 {match} -j TRACE".replace("  ", " ")]
    if "*raw" in save_text:
        out: list[str] = []
        in_raw = False
        for line in save_text.splitlines():
            if line.strip() == "*raw":
                in_raw = True
            if in_raw and line.strip() == "COMMIT":
                out.extend(r.replace("-I PREROUTING 1", "-A PREROUTING")
                           .replace("-I OUTPUT 1", "-A OUTPUT") for r in rules)
                in_raw = False
            out.append(line)
        # TRACE must come first: move the added lines before the raw table's first rule
        return _hoist_trace("\n".join(out) + "\n")
    raw = ["*raw", ":PREROUTING ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    raw += [r.replace("-I PREROUTING 1", "-A PREROUTING").replace("-I OUTPUT 1", "-A OUTPUT")
            for r in rules]
    raw.append("COMMIT")
    return "\n".join(raw) + "\n" + save_text


def _hoist_trace(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "*raw":
            j = i
            block = []
            while j < len(lines) and lines[j].strip() != "COMMIT":
                block.append(lines[j])
                j += 1
            heads = [b for b in block if not b.lstrip().startswith(("-A", "["))]
            trace = [b for b in block if b.rstrip().endswith("-j TRACE")]
            others = [b for b in block if b not in heads and b not in trace]
            out.extend(heads + trace + others)
            i = j
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# topologies


@dataclass
class Delivery:
    """What happened to one packet: which counters grew, where it arrived."""

    grown: list[CounterKey]
    arrived: list[str]  # sink labels
    after: CounterSnapshot
    trace: list[TraceEvent] | None = None

    @property
    def delivered(self) -> bool:
        return bool(self.arrived)


KEEP_CONNTRACK = """table inet iptscope_lab {
  chain keepct {
    type filter hook output priority 500;
    ct state new
  }
}
"""


def keep_conntrack(ns: Netns) -> None:
    """Make conntrack active in the namespace, as on any real host with nat rules.

    The kernel loads conntrack per namespace only when something needs it; without this a nat
    table whose rules use no conntrack match may never be walked. A separate nft `inet` table
    (invisible to iptables-save of either backend) holds one `ct state` expression."""
    ns.run("nft", "-f", "-", input=KEEP_CONNTRACK)


# No ICMP errors from the firewall namespace (port unreachable, time exceeded...): they would
# walk its OUTPUT chains. Sources of test packets are also chosen so that no reply is routable.
QUIET_ICMP = ("echo 0 > /proc/sys/net/ipv4/icmp_msgs_per_sec;"
              "echo 0 > /proc/sys/net/ipv4/icmp_msgs_burst")


class _Topology:
    lab: Lab
    fw: Netns  # the namespace whose ruleset is under test
    backend: str = "nft"
    sinks: list[Sink]

    def load(self, save_text: str, *, flush_conntrack: bool = True) -> None:
        """Replace the firewall namespace's ruleset (tables absent from the text are removed)."""
        present = set(re.findall(r"^\*(\S+)", save_text, re.M))
        family = getattr(self, "family", 4)
        script = []
        if flush_conntrack:
            script.append("conntrack -F >/dev/null 2>&1")
        if self.backend == "nft":
            fam = "ip6" if family == 6 else "ip"
            for t in TABLES:
                if t not in present:
                    script.append(f"nft delete table {fam} {t} >/dev/null 2>&1")
        else:
            missing = [t for t in TABLES if t not in present]
            if missing:
                empty = "".join(f"*{t}\n" + "".join(f":{c} ACCEPT [0:0]\n" for c in BUILTIN[t])
                                + "COMMIT\n" for t in missing)
                save_text = empty + save_text
        script.append(f"{tool(self.backend, 'restore', family)}")
        self.fw.run("sh", "-c", "; ".join(script), input=save_text)

    def counters(self) -> CounterSnapshot:
        return read_counters(self.fw.save(backend=self.backend,
                                          family=getattr(self, "family", 4)))

    def _drain(self) -> None:
        for s in self.sinks:
            s.drain()

    def _arrivals(self, ident: int, wait: float) -> list[str]:
        deadline = time.monotonic() + wait
        found: list[str] = []
        while True:
            for s in self.sinks:
                if ident in s.drain() and s.label not in found:
                    found.append(s.label)
            if found or time.monotonic() >= deadline:
                return found
            select.select([s.sock for s in self.sinks], [], [], max(0.0, deadline -
                                                                     time.monotonic()))

    def close(self) -> None:
        for s in self.sinks:
            s.close()
        self.sinks = []


class RouterLab(_Topology):
    """h1 -- r -- h2; the ruleset under test lives in r. `family=6` builds the same with IPv6
    (fd00:1::/64, fd00:2::/64, 2001:db8:100::/64 routed via h2) and loads ip6tables rules."""

    H1_MAC = "02:00:00:00:01:02"
    R1_MAC = "02:00:00:00:01:01"
    R2_MAC = "02:00:00:00:02:01"
    H2_MAC = "02:00:00:00:02:02"
    H1 = "10.0.1.2"
    R1 = "10.0.1.1"
    R2 = "10.0.2.1"
    H2 = "10.0.2.2"
    REMOTE = "198.51.100.0/24"  # routed by r via h2
    LOCAL_ADDRS = ("10.0.1.1", "10.0.2.1", "127.0.0.1")
    V6: ClassVar[dict[str, str]] = {
        "H1": "fd00:1::2", "R1": "fd00:1::1", "R2": "fd00:2::1", "H2": "fd00:2::2",
        "REMOTE": "2001:db8:100::/64"}

    def __init__(self, lab: Lab, *, backend: str = "nft", family: int = 4) -> None:
        self.lab = lab
        self.backend = backend
        self.family = family
        if family == 6:
            self.H1, self.R1, self.R2, self.H2 = (self.V6[k] for k in ("H1", "R1", "R2", "H2"))
            self.REMOTE = self.V6["REMOTE"]
        plen = 64 if family == 6 else 24
        self.h1 = lab.netns("h1")
        self.r = lab.netns("r")
        self.h2 = lab.netns("h2")
        self.fw = self.r
        if family == 6:
            for ns in (self.h1, self.r, self.h2):
                enable_ipv6(ns)
        keep_conntrack(self.r)
        lab.veth(self.h1, "eth0", self.r, "eth1", a_mac=self.H1_MAC, b_mac=self.R1_MAC)
        lab.veth(self.r, "eth2", self.h2, "eth0", a_mac=self.R2_MAC, b_mac=self.H2_MAC)
        extra = ["nodad"] if family == 6 else []
        self.h1.ip("addr", "add", f"{self.H1}/{plen}", "dev", "eth0", *extra)
        self.r.ip("addr", "add", f"{self.R1}/{plen}", "dev", "eth1", *extra)
        self.r.ip("addr", "add", f"{self.R2}/{plen}", "dev", "eth2", *extra)
        self.h2.ip("addr", "add", f"{self.H2}/{plen}", "dev", "eth0", *extra)
        self.r.sh(
            "echo 1 > /proc/sys/net/ipv4/ip_forward;"
            "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done;"
            "for f in /proc/sys/net/ipv4/conf/*/send_redirects; do echo 0 > $f; done;"
            "for f in /proc/sys/net/ipv4/conf/*/accept_local; do echo 1 > $f; done;"
            + QUIET_ICMP
            + (";echo 1 > /proc/sys/net/ipv6/conf/all/forwarding" if family == 6 else "")
        )
        self.r.ip("route", "add", self.REMOTE, "via", self.H2)
        self.r.ip("neigh", "replace", self.H1, "lladdr", self.H1_MAC, "dev", "eth1", "nud",
                  "permanent")
        self.r.ip("neigh", "replace", self.H2, "lladdr", self.H2_MAC, "dev", "eth2", "nud",
                  "permanent")
        self.h1.ip("neigh", "replace", self.R1, "lladdr", self.R1_MAC, "dev", "eth0", "nud",
                   "permanent")
        self.h2.ip("neigh", "replace", self.R2, "lladdr", self.R2_MAC, "dev", "eth0", "nud",
                   "permanent")
        # endpoints never answer (their replies would walk r's chains)
        for host in (self.h1, self.h2):
            host.restore("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n"
                         ":OUTPUT DROP [0:0]\nCOMMIT\n", backend="nft", family=family)
        icmp = 58 if family == 6 else 1
        self.sinks = [
            Sink(self.h2, "h2", iface="eth0", family=family),
            Sink(self.r, "r:tcp", proto=6, family=family),
            Sink(self.r, "r:udp", proto=17, family=family),
            Sink(self.r, "r:icmp", proto=icmp, family=family),
            Sink(self.h1, "h1", iface="eth0", family=family),
        ]
        if family == 6:
            time.sleep(0.05)  # the MLD reports of the new links are over

    def send(self, packet: Packet, path: str, *, wait: float = 0.05,
             trace: bool = False, before: CounterSnapshot | None = None) -> Delivery:
        """Send one packet on `path` (input/forward: from h1 to r; output: from r's stack).

        `before` is the counter snapshot to compare with (read now when not given)."""
        self._drain()
        if before is None:
            before = self.counters()
        tracer = KernelTrace(self.r) if trace else None
        if path in ("input", "forward"):
            send_frame(self.h1, "eth0", packet.frame(self.H1_MAC, self.R1_MAC))
        elif path == "output":
            send_local(self.r, packet)
        else:
            raise ValueError(f"unknown path {path!r}")
        arrived = self._arrivals(packet.ident, wait)
        events = tracer.stop() if tracer else None
        after = self.counters()
        if not arrived:  # maybe late (softirq deferred to ksoftirqd under load)
            arrived = self._arrivals(packet.ident, 0)
        # h1 seeing its own packet come back is not an arrival
        return Delivery(grown(before, after), arrived, after, events)


class BridgeLab(_Topology):
    """The seed's compute node: gw -- eth1 [brq bridge] tap6746373c-01 -- vm1,
    tap2c6951d5-e6 -- vm2; the ruleset under test lives in `node`."""

    BRIDGE = "brq7f1a6c1d-2b"
    GW = "14.52.45.2"
    GW_MAC = "fa:16:3e:00:00:02"
    NODE = "14.52.45.3"  # the bridge's own address (for INPUT through the bridge)
    VMS = (
        # (port name, address, MAC)
        ("tap6746373c-01", "14.52.45.10", "fa:16:3e:a8:97:6f"),
        ("tap2c6951d5-e6", "14.52.45.12", "fa:16:3e:cb:06:23"),
    )
    UPLINK = "eth1"

    def __init__(self, lab: Lab, *, backend: str = "nft", bridge_address: bool = True) -> None:
        self.lab = lab
        self.backend = backend
        self.node = lab.netns("node")
        self.gw = lab.netns("gw")
        self.fw = self.node
        keep_conntrack(self.node)
        self.vms: dict[str, Netns] = {}
        self.node.ip("link", "add", self.BRIDGE, "type", "bridge")
        self.node.ip("link", "set", self.BRIDGE, "address", "fa:16:3e:00:00:01", "multicast",
                     "off")
        lab.veth(self.gw, "eth0", self.node, self.UPLINK, a_mac=self.GW_MAC)
        self.node.ip("link", "set", self.UPLINK, "master", self.BRIDGE)
        self.gw.ip("addr", "add", f"{self.GW}/24", "dev", "eth0")
        for i, (port, addr, mac) in enumerate(self.VMS, 1):
            vm = lab.netns(f"vm{i}")
            self.vms[port] = vm
            lab.veth(vm, "eth0", self.node, port, a_mac=mac)
            self.node.ip("link", "set", port, "master", self.BRIDGE)
            vm.ip("addr", "add", f"{addr}/24", "dev", "eth0")
            vm.restore("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n"
                       ":OUTPUT DROP [0:0]\nCOMMIT\n", backend="nft")
            self.gw.ip("neigh", "replace", addr, "lladdr", mac, "dev", "eth0", "nud",
                       "permanent")
            self.node.sh(f"bridge fdb replace {mac} dev {port} master static")
        self.gw.restore("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n"
                        ":OUTPUT DROP [0:0]\nCOMMIT\n", backend="nft")
        self.node.sh(f"bridge fdb replace {self.GW_MAC} dev {self.UPLINK} master static")
        self.node.ip("link", "set", self.BRIDGE, "up")
        if bridge_address:
            self.node.ip("addr", "add", f"{self.NODE}/24", "dev", self.BRIDGE)
            self.node.ip("neigh", "replace", self.GW, "lladdr", self.GW_MAC, "dev",
                         self.BRIDGE, "nud", "permanent")
        self.node.sh(
            "echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables;"
            "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done;"
            + QUIET_ICMP
        )
        self.sinks = [Sink(vm, port, iface="eth0") for port, vm in self.vms.items()]
        self.sinks.append(Sink(self.node, "node:udp", proto=17))
        self.sinks.append(Sink(self.node, "node:tcp", proto=6))
        self.sinks.append(Sink(self.node, "node:icmp", proto=1))
        self.sinks.append(Sink(self.gw, "gw", iface="eth0"))

    def vm_mac(self, port: str) -> str:
        return next(mac for p, _a, mac in self.VMS if p == port)

    def send(self, packet: Packet, *, to_port: str | None = "tap6746373c-01",
             from_port: str | None = None, wait: float = 0.05,
             trace: bool = False, before: CounterSnapshot | None = None) -> Delivery:
        """Send a frame into the bridge: from gw (through the uplink) or from a VM port, to a
        VM's MAC (`to_port`), to the gateway (`to_port="gw"`) or to the bridge's own MAC
        (`to_port=None`: INPUT)."""
        self._drain()
        if before is None:
            before = self.counters()
        tracer = KernelTrace(self.node) if trace else None
        if to_port == "gw":
            dst_mac = self.GW_MAC
        else:
            dst_mac = self.vm_mac(to_port) if to_port else "fa:16:3e:00:00:01"
        if from_port is None:
            send_frame(self.gw, "eth0", packet.frame(self.GW_MAC, dst_mac))
        else:
            send_frame(self.vms[from_port], "eth0", packet.frame(self.vm_mac(from_port),
                                                                 dst_mac))
        arrived = self._arrivals(packet.ident, wait)
        events = tracer.stop() if tracer else None
        after = self.counters()
        if not arrived:  # maybe late (softirq deferred to ksoftirqd under load)
            arrived = self._arrivals(packet.ident, 0)
        return Delivery(grown(before, after), arrived, after, events)


# --------------------------------------------------------------------------------------------
# dumps in every format

LIST_FORMATS: dict[str, tuple[str, ...]] = {
    # name -> arguments after `iptables -t TABLE`
    "S": ("-S",),
    "S-v": ("-S", "-v"),
    "L-v-n-x-line-numbers": ("-L", "-v", "-n", "-x", "--line-numbers"),
    "L-v-n-line-numbers": ("-L", "-v", "-n", "--line-numbers"),
    "L-n": ("-L", "-n"),
    "L": ("-L",),
}


def tables_in(save_text: str) -> list[str]:
    return re.findall(r"^\*(\S+)", save_text, re.M)


def dump_formats(ns: Netns, *, backend: str = "nft", family: int = 4,
                 formats: Sequence[str] | None = None, prompts: bool = True) -> dict[str, str]:
    """Every dump format of the namespace's ruleset: `save`, `save-c`, and the LIST_FORMATS,
    the listing ones concatenated over every table present (`iptables -t T ...` per table).

    The listing formats do not name their table, so with `prompts` each table's block is
    preceded by the command line that printed it (`# iptables -t nat -S -v`), as in a pasted
    terminal session."""
    out: dict[str, str] = {}
    wanted = list(formats) if formats is not None else ["save", "save-c", *LIST_FORMATS]
    save_c = ns.save(backend=backend, family=family, counters=True)
    tables = tables_in(save_c)
    if "save" in wanted:
        out["save"] = ns.save(backend=backend, family=family, counters=False)
    if "save-c" in wanted:
        out["save-c"] = save_c
    base = "ip6tables" if family == 6 else "iptables"
    for name, args in LIST_FORMATS.items():
        if name not in wanted:
            continue
        parts = []
        for t in tables:
            if prompts:
                parts.append(f"# {base} -t {t} {' '.join(args)}\n")
            parts.append(ns.iptables("-t", t, *args, backend=backend, family=family))
        out[name] = "".join(parts)
    return out

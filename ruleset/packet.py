"""The test packet and the host it meets, as immutable values.

`Packet` holds what a rule can look at in one packet (addresses, ports, interfaces, bridge
ports, conntrack state, TCP flags, ICMP type, marks, length, TTL, owner). `Host` holds what is
true of the machine rather than the packet: its local addresses (for `-m addrtype` and for
deciding whether a DNAT'ed packet is delivered locally) and the ipset contents.

Both are frozen: targets that change a packet (MARK, DNAT, ...) return a new Packet via
`dataclasses.replace`, so every step of a trace keeps the packet as it was then.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from ruleset.model import Family
from ruleset.spec import PROTOCOL_NUMBERS

if TYPE_CHECKING:
    from ruleset.ipsets import IpsetStore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class Error(Exception):
    """Base class of the packet module's errors."""


class PacketError(Error, ValueError):
    """A packet description that cannot be understood."""


class CtState(StrEnum):
    """Conntrack states as `-m state`/`-m conntrack --ctstate` name them."""

    NEW = "NEW"
    ESTABLISHED = "ESTABLISHED"
    RELATED = "RELATED"
    INVALID = "INVALID"
    UNTRACKED = "UNTRACKED"


TCP_FLAG_NAMES = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")

PROTO_PORTS = frozenset({"tcp", "udp", "sctp", "dccp", "udplite"})


def proto_number(name: str) -> int | None:
    """`tcp` -> 6, `17` -> 17, `all` -> 0; None for a name we do not know."""
    low = name.lower()
    if low.isdigit():
        return int(low)
    if low == "all":
        return 0
    return PROTOCOL_NUMBERS.get(low)


def parse_tcp_flags(text: str | None) -> frozenset[str]:
    """`SYN,ACK` -> {"SYN", "ACK"}; `NONE` -> {}; `ALL` -> every flag."""
    if not text:
        return frozenset()
    out: set[str] = set()
    for word in text.upper().replace("+", ",").split(","):
        word = word.strip()
        if not word or word == "NONE":
            continue
        if word == "ALL":
            out.update(TCP_FLAG_NAMES)
        elif word in TCP_FLAG_NAMES:
            out.add(word)
        else:
            raise PacketError(f"unknown TCP flag {word!r}")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet as the first rule sees it.

    `in_iface`/`out_iface` are the devices the packet arrived on / will leave by (for a bridged
    frame: the bridge); the hook decides which of them a rule can see. `physdev_in`/`physdev_out`
    are the bridge ports and `bridged` says br_netfilter handles the packet. `state` is the
    conntrack state after conntrack ran (the raw table sees INVALID before that); `ct_nat` holds
    "DNAT"/"SNAT" for `--ctstate DNAT|SNAT`. `mark`/`connmark` None means unknown (HMARK...).
    `uid`/`gid` are those of the sending socket (locally generated packets only).
    """

    src: IPAddress
    dst: IPAddress
    proto: str = "tcp"
    sport: int | None = None
    dport: int | None = None
    family: Family = Family.IPV4
    in_iface: str | None = None
    out_iface: str | None = None
    physdev_in: str | None = None
    physdev_out: str | None = None
    bridged: bool = False
    mac_src: str | None = None
    state: CtState = CtState.NEW
    ct_nat: frozenset[str] = frozenset()
    ct_dir: str | None = None
    tcp_flags: frozenset[str] = frozenset({"SYN"})
    icmp_type: int | None = None
    icmp_code: int | None = None
    mark: int | None = 0
    connmark: int | None = 0
    length: int | None = None
    ttl: int = 64
    tos: int = 0
    fragment: bool = False
    uid: int | None = None
    gid: int | None = None
    orig_src: IPAddress | None = None
    orig_dst: IPAddress | None = None
    orig_sport: int | None = None
    orig_dport: int | None = None
    # Derived once, for fast matching (not part of the identity).
    src_int: int = field(init=False, repr=False, compare=False, hash=False)
    dst_int: int = field(init=False, repr=False, compare=False, hash=False)
    proto_num: int | None = field(init=False, repr=False, compare=False, hash=False)
    src_text: str = field(init=False, repr=False, compare=False, hash=False)
    dst_text: str = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.src.version != self.dst.version:
            raise PacketError("source and destination are of different address families")
        family = Family.IPV6 if self.src.version == 6 else Family.IPV4
        if family is not self.family:
            object.__setattr__(self, "family", family)
        object.__setattr__(self, "src_int", int(self.src))
        object.__setattr__(self, "dst_int", int(self.dst))
        object.__setattr__(self, "src_text", str(self.src))
        object.__setattr__(self, "dst_text", str(self.dst))
        proto = self.proto.lower()
        if proto == "icmpv6":
            proto = "ipv6-icmp"
        if proto != self.proto:
            object.__setattr__(self, "proto", proto)
        object.__setattr__(self, "proto_num", proto_number(proto))

    @classmethod
    def make(
        cls,
        src: str,
        dst: str,
        proto: str = "tcp",
        sport: int | None = None,
        dport: int | None = None,
        **kwargs: object,
    ) -> Packet:
        """Build from strings: `Packet.make("10.0.0.1", "10.0.0.2", "udp", 40000, 53)`."""
        try:
            s = ipaddress.ip_address(src)
            d = ipaddress.ip_address(dst)
        except ValueError as exc:
            raise PacketError(str(exc)) from None
        if "state" in kwargs and isinstance(kwargs["state"], str):
            kwargs["state"] = CtState(str(kwargs["state"]).upper())
        if "tcp_flags" in kwargs and isinstance(kwargs["tcp_flags"], str):
            kwargs["tcp_flags"] = parse_tcp_flags(str(kwargs["tcp_flags"]))
        if proto.lower() not in ("tcp",) and "tcp_flags" not in kwargs:
            kwargs["tcp_flags"] = frozenset()
        return cls(s, d, proto, sport, dport, **kwargs)  # type: ignore[arg-type]

    @property
    def has_ports(self) -> bool:
        return self.proto in PROTO_PORTS and not self.fragment

    def with_changes(self, **changes: object) -> Packet:
        return replace(self, **changes)  # type: ignore[arg-type]

    def summary(self) -> str:
        """`udp 14.52.45.2:40000 > 14.52.45.10:50000` (the compact syntax, see parse_compact)."""
        def end(addr: IPAddress, port: int | None) -> str:
            text = f"[{addr}]" if addr.version == 6 and port is not None else str(addr)
            return f"{text}:{port}" if port is not None else text

        words = [self.proto, end(self.src, self.sport), ">", end(self.dst, self.dport)]
        if self.proto == "tcp" and self.tcp_flags != frozenset({"SYN"}):
            words.append("flags " + (",".join(f for f in TCP_FLAG_NAMES if f in self.tcp_flags)
                                     or "NONE"))
        if self.icmp_type is not None:
            words.append(f"type {self.icmp_type}" + (
                f"/{self.icmp_code}" if self.icmp_code is not None else ""))
        return " ".join(words)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready description (stable key order)."""
        out: dict[str, object] = {
            "family": self.family.value,
            "proto": self.proto,
            "src": str(self.src),
            "dst": str(self.dst),
            "sport": self.sport,
            "dport": self.dport,
            "in_iface": self.in_iface,
            "out_iface": self.out_iface,
            "physdev_in": self.physdev_in,
            "physdev_out": self.physdev_out,
            "bridged": self.bridged,
            "mac_src": self.mac_src,
            "state": self.state.value,
            "ct_nat": sorted(self.ct_nat),
            "tcp_flags": [f for f in TCP_FLAG_NAMES if f in self.tcp_flags],
            "icmp_type": self.icmp_type,
            "icmp_code": self.icmp_code,
            "mark": None if self.mark is None else hex(self.mark),
            "connmark": None if self.connmark is None else hex(self.connmark),
            "length": self.length,
            "ttl": self.ttl,
            "tos": self.tos,
            "fragment": self.fragment,
            "uid": self.uid,
            "gid": self.gid,
        }
        if self.orig_dst is not None:
            out["orig_dst"] = str(self.orig_dst)
            out["orig_dport"] = self.orig_dport
        if self.orig_src is not None:
            out["orig_src"] = str(self.orig_src)
            out["orig_sport"] = self.orig_sport
        return out


def default_state(proto: str, tcp_flags: frozenset[str]) -> CtState:
    """The state conntrack gives a packet with no entry: NEW, except a TCP SYN,ACK/FIN/RST
    without an entry is INVALID (a lone ACK is picked up as NEW: nf_conntrack_tcp_loose=1)."""
    if proto != "tcp":
        return CtState.NEW
    if "RST" in tcp_flags or "FIN" in tcp_flags:
        return CtState.INVALID
    if "SYN" in tcp_flags and "ACK" in tcp_flags:
        return CtState.INVALID
    return CtState.NEW


def _split_endpoint(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        addr, _, rest = text[1:].partition("]")
        return addr, int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        addr, port = text.split(":")
        return addr, int(port)
    return text, None


def parse_compact(text: str, **kwargs: object) -> Packet:
    """`udp 14.52.45.2:40000 > 14.52.45.10:50000 [flags SYN,ACK] [type 8/0]`.

    The protocol word is optional (tcp when ports are given, else icmp for `type`).
    IPv6 endpoints with ports are written `[2001:db8::1]:443`.
    """
    words = text.replace("->", ">").split()
    if not words:
        raise PacketError("empty packet description")
    proto: str | None = None
    if ">" not in words[0] and proto_number(words[0]) is not None and not words[0].isdigit():
        proto = words.pop(0).lower()
    try:
        arrow = words.index(">")
    except ValueError:
        raise PacketError(f"packet {text!r}: expected `SRC > DST`") from None
    if arrow != 1 or len(words) < 3:
        raise PacketError(f"packet {text!r}: expected `[PROTO] SRC[:PORT] > DST[:PORT]`")
    try:
        src, sport = _split_endpoint(words[0])
        dst, dport = _split_endpoint(words[2])
    except ValueError:
        raise PacketError(f"packet {text!r}: bad port") from None
    rest = words[3:]
    extra: dict[str, object] = dict(kwargs)
    while rest:
        key = rest.pop(0).lower()
        if not rest:
            raise PacketError(f"packet {text!r}: `{key}` needs a value")
        value = rest.pop(0)
        if key == "flags":
            extra["tcp_flags"] = parse_tcp_flags(value)
        elif key == "type":
            t, _, c = value.partition("/")
            extra["icmp_type"] = int(t)
            if c:
                extra["icmp_code"] = int(c)
        else:
            raise PacketError(f"packet {text!r}: unknown word {key!r}")
    if proto is None:
        proto = "icmp" if "icmp_type" in extra else "tcp"
    return Packet.make(src, dst, proto, sport, dport, **extra)


@dataclass(frozen=True, slots=True)
class Host:
    """The machine the packet crosses.

    `local_addrs` are its addresses with their prefixes (`10.0.0.1/24`), each optionally bound
    to an interface (`iface_addrs`); None means "not told" (addrtype answers UNKNOWN for
    addresses it cannot classify by themselves). `ipsets` holds `ipset save` contents, None when
    not given (set matches are then UNKNOWN).
    """

    local_addrs: tuple[IPInterface, ...] | None = None
    iface_addrs: tuple[tuple[str, IPInterface], ...] = ()
    ipsets: IpsetStore | None = None
    also_local: frozenset[IPAddress] = frozenset()

    @classmethod
    def make(cls, addrs: list[str] | None = None, ipsets: IpsetStore | None = None) -> Host:
        """`Host.make(["10.0.0.1/24", "192.168.1.5@eth0"])`."""
        if addrs is None:
            return cls(None, (), ipsets)
        out: list[IPInterface] = []
        bound: list[tuple[str, IPInterface]] = []
        for text in addrs:
            addr, _, iface = text.partition("@")
            try:
                itf = ipaddress.ip_interface(addr)
            except ValueError as exc:
                raise PacketError(f"local address {text!r}: {exc}") from None
            out.append(itf)
            if iface:
                bound.append((iface, itf))
        return cls(tuple(out), tuple(bound), ipsets)

    def address_of(self, iface: str | None) -> IPAddress | None:
        for name, itf in self.iface_addrs:
            if name == iface:
                return itf.ip
        return None

    def is_local(self, addr: IPAddress) -> bool | None:
        """True/False when known; None when local addresses were not given."""
        if addr.is_loopback or addr in self.also_local:
            return True
        if self.local_addrs is None:
            return None
        return any(itf.ip == addr for itf in self.local_addrs)

    def with_local(self, addrs: list[IPAddress]) -> Host:
        """A copy that knows these addresses are local too (other addresses stay as known)."""
        return replace(self, also_local=self.also_local | frozenset(addrs))

"""ipset contents from `ipset save` output, and membership tests as the kernel does them.

    create NAME hash:net family inet hashsize 1024 maxelem 65536
    add NAME 10.0.0.0/24
    add NAME 10.0.0.5 nomatch

Supported types: bitmap:ip, bitmap:port, bitmap:ip,mac, hash:ip, hash:mac, hash:net, hash:ip,port,
hash:net,port, hash:ip,port,ip, hash:ip,port,net, hash:ip,mark, hash:net,iface, hash:net,net,
hash:net,port,net, hash:ip,mac, list:set. In net types the most specific entry decides and a
`nomatch` entry means no match.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Words after the element that carry a value in `add` lines (skipped).
_VALUED = frozenset({"timeout", "packets", "bytes", "comment", "skbmark", "skbprio", "skbqueue"})


class Error(Exception):
    """Base class of the ipsets module's errors."""


class IpsetParseError(Error, ValueError):
    """A line of `ipset save` output that cannot be understood."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class Value:
    """One dimension's value in a packet: an address, a (proto, port), a MAC, a name, a mark."""

    kind: str
    addr: IPAddress | None = None
    port: int | None = None
    proto: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class _Dim:
    """One dimension of an entry: a network (ip/net), a port range with protocol, or text."""

    lo: int = 0
    hi: int = 0
    prefix: int = 0
    proto: str | None = None
    text: str | None = None


@dataclass(slots=True)
class IpSet:
    name: str
    type: str
    family: str = "inet"
    entries: list[tuple[tuple[_Dim, ...], bool]] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # list:set

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.type.split(":", 1)[1].split(","))

    @property
    def dimension_count(self) -> int:
        return 1 if self.type.startswith("list:") else len(self.dims)

    def __len__(self) -> int:
        return len(self.members) if self.type.startswith("list:") else len(self.entries)


def _parse_addr_dim(word: str, family: str, is_net: bool) -> _Dim:
    if "-" in word and "/" not in word:
        a, b = word.split("-", 1)
        lo, hi = int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b))
        return _Dim(lo=lo, hi=hi, prefix=0)
    net = ipaddress.ip_network(word, strict=False)
    return _Dim(lo=int(net.network_address), hi=int(net.broadcast_address), prefix=net.prefixlen)


def _parse_port_dim(word: str) -> _Dim:
    proto, sep, port = word.partition(":")
    if not sep:
        proto, port = "tcp", word
    proto = proto.lower()
    if proto in ("icmp", "icmpv6"):
        # icmp:TYPE/CODE or names; keep as text
        return _Dim(proto=proto, text=port)
    if "-" in port:
        a, b = port.split("-", 1)
        return _Dim(lo=int(a), hi=int(b), proto=proto)
    if not port.isdigit():
        import socket

        try:
            num = socket.getservbyname(port, proto)
        except OSError:
            raise ValueError(f"unknown port {port!r}") from None
        return _Dim(lo=num, hi=num, proto=proto)
    return _Dim(lo=int(port), hi=int(port), proto=proto)


def _parse_entry(ipset: IpSet, element: str) -> tuple[_Dim, ...]:
    parts = element.split(",")
    dims = ipset.dims
    if len(parts) != len(dims):
        raise ValueError(f"element {element!r} does not fit {ipset.type}")
    out: list[_Dim] = []
    for kind, part in zip(dims, parts, strict=True):
        if kind in ("ip", "net"):
            out.append(_parse_addr_dim(part, ipset.family, kind == "net"))
        elif kind == "port":
            out.append(_parse_port_dim(part))
        elif kind == "mac":
            out.append(_Dim(text=part.lower()))
        elif kind == "iface":
            out.append(_Dim(text=part))
        elif kind == "mark":
            v = int(part, 0)
            out.append(_Dim(lo=v, hi=v))
        else:
            raise ValueError(f"set type {ipset.type} not supported")
    return tuple(out)


class IpsetStore:
    """All sets of one `ipset save` dump, by name."""

    def __init__(self, sets: dict[str, IpSet] | None = None, path: str = "-") -> None:
        self.sets: dict[str, IpSet] = sets or {}
        self.path = path

    def __contains__(self, name: str) -> bool:
        return name in self.sets

    def get(self, name: str) -> IpSet | None:
        return self.sets.get(name)

    def test(self, name: str, values: list[Value], depth: int = 0) -> bool | None:
        """Is the tuple `values` (one per direction flag) in set `name`? None if no such set.

        `values` has one entry per direction flag given; fewer than the set's dimensions
        never match (the kernel's rule), extra ones are ignored.
        """
        ipset = self.sets.get(name)
        if ipset is None or depth > 8:
            return None
        if ipset.type.startswith("list:"):
            return any(self.test(member, values, depth + 1) for member in ipset.members)
        dims = ipset.dims
        if len(values) < len(dims):
            return False
        values = values[: len(dims)]
        best: tuple[int, bool] | None = None
        for entry, nomatch in ipset.entries:
            if not all(_dim_has(kind, d, v) for kind, d, v in zip(dims, entry, values,
                                                                  strict=True)):
                continue
            specificity = sum(d.prefix for kind, d in zip(dims, entry, strict=True)
                              if kind == "net")
            if best is None or specificity > best[0] or (specificity == best[0] and nomatch):
                best = (specificity, nomatch)
        return best is not None and not best[1]


def _dim_has(kind: str, dim: _Dim, value: Value) -> bool:
    if kind in ("ip", "net"):
        return value.addr is not None and dim.lo <= int(value.addr) <= dim.hi
    if kind == "port":
        if value.port is None:
            return False
        if dim.proto != (value.proto or "tcp"):
            return False
        if dim.text is not None:
            return False
        return dim.lo <= value.port <= dim.hi
    if kind == "mac":
        return value.text is not None and value.text.lower() == dim.text
    if kind == "iface":
        return value.text is not None and value.text == dim.text
    if kind == "mark":
        return value.port is not None and value.port == dim.lo
    return False


def parse_ipset_save(text: str, path: str = "-") -> IpsetStore:
    """Parse `ipset save` (or `ipset list -o save`) output; raises IpsetParseError."""
    sets: dict[str, IpSet] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise IpsetParseError(path, lineno, str(exc)) from None
        verb = words[0]
        if verb in ("create", "-N", "-exist") and len(words) >= 3:
            name, type_ = words[1], words[2]
            family = "inet"
            if "family" in words:
                i = words.index("family")
                if i + 1 < len(words):
                    family = words[i + 1]
            if not (type_.startswith(("hash:", "bitmap:", "list:"))):
                raise IpsetParseError(path, lineno, f"unknown set type {type_!r}")
            sets[name] = IpSet(name, type_, family)
        elif verb in ("add", "-A") and len(words) >= 3:
            name, element = words[1], words[2]
            ipset = sets.get(name)
            if ipset is None:
                raise IpsetParseError(path, lineno, f"add to undefined set {name!r}")
            if ipset.type.startswith("list:"):
                ipset.members.append(element)
                continue
            rest = words[3:]
            nomatch = "nomatch" in rest
            try:
                ipset.entries.append((_parse_entry(ipset, element), nomatch))
            except ValueError as exc:
                raise IpsetParseError(path, lineno, str(exc)) from None
        elif verb in ("flush", "destroy", "swap", "rename", "COMMIT"):
            continue
        else:
            raise IpsetParseError(path, lineno, f"cannot read {line!r}")
    return IpsetStore(sets, path)


def load_ipsets(path: str) -> IpsetStore:
    with open(path, encoding="utf-8") as fh:
        return parse_ipset_save(fh.read(), path)

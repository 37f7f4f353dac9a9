"""A stepping session as a small readable JSON file, and the packet the user asked for.

    {
      "iptscope_session": 1,
      "paths": ["samples/neutron/iptables-L-vn-line-numbers.txt"],
      "packet": {"path": "forward", "proto": "udp", "src": "14.52.45.2", ...},
      "assume": "nomatch",
      "assumptions": {"filter:neutron-openvswi-i6746373c-0:3": "nomatch"},
      "edits": ["-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"],
      "breakpoints": ["filter:neutron-openvswi-sg-fallback:1"],
      "step": 12,
      "notes": "tftp replies dropped on the compute node"
    }

No Textual here (the CLI and tests use it too).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ruleset.model import Rule

FORMAT_VERSION = 1


class SessionError(ValueError):
    """A session file that cannot be read."""


@dataclass
class PacketRequest:
    """The packet form's fields, as the user typed them (strings; empty = not given)."""

    path: str = "forward"
    proto: str = "tcp"
    src: str = ""
    dst: str = ""
    sport: str = ""
    dport: str = ""
    in_iface: str = ""
    out_iface: str = ""
    physdev_in: str = ""
    physdev_out: str = ""
    bridged: bool = False
    state: str = "NEW"
    mac_src: str = ""
    tcp_flags: str = ""
    icmp_type: str = ""
    mark: str = ""

    @classmethod
    def from_packet(cls, packet: Any, path: str) -> PacketRequest:
        """The form's fields for a `ruleset.packet.Packet` (as `iptscope trace` builds it)."""

        def text(value: object) -> str:
            return "" if value is None else str(value)

        icmp = ""
        if packet.icmp_type is not None:
            icmp = str(packet.icmp_type)
            if packet.icmp_code is not None:
                icmp += f"/{packet.icmp_code}"
        return cls(
            path=path, proto=packet.proto, src=str(packet.src), dst=str(packet.dst),
            sport=text(packet.sport), dport=text(packet.dport),
            in_iface=text(packet.in_iface), out_iface=text(packet.out_iface),
            physdev_in=text(packet.physdev_in), physdev_out=text(packet.physdev_out),
            bridged=packet.bridged, state=packet.state.value, mac_src=text(packet.mac_src),
            tcp_flags=",".join(sorted(packet.tcp_flags)) if packet.proto == "tcp" else "",
            icmp_type=icmp, mark=hex(packet.mark) if packet.mark else "",
        )

    def to_packet(self) -> Any:
        """A `ruleset.packet.Packet` (raises `PacketError`/ValueError on bad fields)."""
        from ruleset.packet import Packet

        extra: dict[str, object] = {}
        for name in ("in_iface", "out_iface", "physdev_in", "physdev_out", "mac_src"):
            value = getattr(self, name).strip()
            if value:
                extra[name] = value
        if self.bridged:
            extra["bridged"] = True
        if self.state.strip():
            extra["state"] = self.state.strip().upper()
        if self.tcp_flags.strip():
            extra["tcp_flags"] = self.tcp_flags.strip().upper()
        if self.icmp_type.strip():
            t, _, c = self.icmp_type.strip().partition("/")
            extra["icmp_type"] = int(t)
            if c:
                extra["icmp_code"] = int(c)
        if self.mark.strip():
            extra["mark"] = int(self.mark.strip(), 0)
        sport = int(self.sport) if self.sport.strip() else None
        dport = int(self.dport) if self.dport.strip() else None
        return Packet.make(self.src.strip(), self.dst.strip(), self.proto.strip() or "tcp",
                           sport, dport, **extra)

    def summary(self) -> str:
        def end(addr: str, port: str) -> str:
            return f"{addr}:{port}" if port else addr

        words = [self.path + ":", self.proto, end(self.src, self.sport), ">",
                 end(self.dst, self.dport)]
        if self.physdev_in:
            words.append(f"physdev-in {self.physdev_in}")
        if self.physdev_out:
            words.append(f"physdev-out {self.physdev_out}")
        if self.bridged:
            words.append("bridged")
        if self.in_iface:
            words.append(f"in {self.in_iface}")
        if self.out_iface:
            words.append(f"out {self.out_iface}")
        if self.state:
            words.append(self.state)
        return " ".join(words)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PacketRequest:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key, value in list(values.items()):
            if key != "bridged":
                values[key] = "" if value is None else str(value)
            else:
                values[key] = bool(value)
        return cls(**values)


def _first_host(value: str) -> str:
    """`14.52.45.2/32` -> `14.52.45.2`; `10.0.0.0/8` -> `10.0.0.1`; anything else as is."""
    import ipaddress

    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return value
    if net.num_addresses == 1:
        return str(net.network_address)
    return str(next(iter(net.hosts()), net.network_address))


def _first_port(value: str) -> str:
    first = value.split(",")[0].split(":")[0]
    return first if first.isdigit() else ""


def prefill_from_rule(rule: Rule | None, last: PacketRequest | None = None) -> PacketRequest:
    """A packet that this rule would see: its addresses, protocol, ports, interfaces, bridge
    ports and state where the rule says them (not negated); the rest from the last packet."""
    base = PacketRequest(**asdict(last)) if last is not None else PacketRequest()
    if rule is None:
        return base
    spec = rule.spec
    chain = rule.chain
    if chain is not None and chain.builtin and chain.name in ("INPUT", "FORWARD", "OUTPUT"):
        base.path = chain.name.lower()
    for name, attr in (("-s", "src"), ("-d", "dst"), ("-i", "in_iface"), ("-o", "out_iface")):
        opt = spec.option(name)
        if opt is not None and not opt.negated and opt.values:
            value = opt.values[0]
            value = _first_host(value) if attr in ("src", "dst") else value.rstrip("+")
            setattr(base, attr, value)
    proto = spec.option("-p")
    if proto is not None and not proto.negated and proto.values:
        base.proto = proto.values[0]
    for match in spec.matches:
        for opt in match.options:
            if opt.negated:
                continue
            if opt.name in ("--dport", "--dports", "--destination-port"):
                base.dport = _first_port(opt.value)
            elif opt.name in ("--sport", "--sports", "--source-port"):
                base.sport = _first_port(opt.value)
            elif opt.name == "--physdev-out":
                base.physdev_out = opt.value
            elif opt.name == "--physdev-in":
                base.physdev_in = opt.value
            elif opt.name == "--physdev-is-bridged":
                base.bridged = True
            elif opt.name in ("--state", "--ctstate"):
                base.state = opt.value.split(",")[0]
            elif opt.name == "--mac-source":
                base.mac_src = opt.value
    return base


@dataclass
class Session:
    paths: list[str] = field(default_factory=list)
    packet: PacketRequest = field(default_factory=PacketRequest)
    assume: str | None = None  # default for UNKNOWN matches: "match", "nomatch" or None (ask)
    assumptions: dict[str, str] = field(default_factory=dict)  # "table:chain:pos" -> outcome
    edits: list[str] = field(default_factory=list)  # what-if iptables command lines, in order
    breakpoints: list[str] = field(default_factory=list)  # "table:chain:pos"
    step: int = 0  # how far the stepping had gone
    notes: str = ""
    ipsets: str | None = None  # an `ipset save` file for -m set matches
    local_addrs: list[str] = field(default_factory=list)  # ADDR[/LEN][@IFACE] of the host
    done: bool = False  # the stepping had reached the verdict (resumed at the verdict, too)

    def to_json(self) -> str:
        data: dict[str, Any] = {"iptscope_session": FORMAT_VERSION}
        data.update(asdict(self))
        data["packet"] = {k: v for k, v in asdict(self.packet).items()
                          if v not in ("", False) or k in ("src", "dst", "proto", "path")}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Session:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SessionError(f"not JSON: line {exc.lineno} col {exc.colno}: {exc.msg}") from exc
        if not isinstance(data, dict) or "iptscope_session" not in data:
            raise SessionError("not an iptscope session (no iptscope_session key)")
        if data["iptscope_session"] != FORMAT_VERSION:
            raise SessionError(f"session format {data['iptscope_session']} is not supported")
        try:
            return cls(
                paths=[str(p) for p in data.get("paths", [])],
                packet=PacketRequest.from_dict(dict(data.get("packet", {}))),
                assume=data.get("assume"),
                assumptions={str(k): str(v) for k, v in dict(data.get("assumptions", {})).items()},
                edits=[str(e) for e in data.get("edits", [])],
                breakpoints=[str(b) for b in data.get("breakpoints", [])],
                step=int(data.get("step", 0)),
                notes=str(data.get("notes", "")),
                ipsets=str(data["ipsets"]) if data.get("ipsets") else None,
                local_addrs=[str(a) for a in data.get("local_addrs", [])],
                done=bool(data.get("done", False)),
            )
        except (TypeError, ValueError) as exc:
            raise SessionError(f"bad session field: {exc}") from exc


def save_session(session: Session, path: str | Path) -> Path:
    target = Path(path)
    target.write_text(session.to_json(), encoding="utf-8")
    return target


def load_session(path: str | Path) -> Session:
    session = Session.from_json(Path(path).read_text(encoding="utf-8"))
    base = Path(path).resolve().parent
    # relative dump paths are relative to the session file
    session.paths = [p if p == "-" or Path(p).is_absolute() or Path(p).exists()
                     else str(base / p) for p in session.paths]
    if session.ipsets and not Path(session.ipsets).is_absolute() and not Path(
            session.ipsets).exists():
        session.ipsets = str(base / session.ipsets)
    return session


def make_host(ipsets: str | None, local_addrs: list[str]) -> Any:
    """The ruleset.packet.Host for stepping (None when neither is given); raises ValueError
    with a readable message on a bad file or address."""
    if not ipsets and not local_addrs:
        return None
    from ruleset.ipsets import IpsetParseError, load_ipsets
    from ruleset.packet import Host, PacketError

    store = None
    if ipsets:
        try:
            store = load_ipsets(ipsets)
        except OSError as exc:
            raise ValueError(f"{ipsets}: {exc.strerror or exc}") from None
        except IpsetParseError as exc:
            raise ValueError(str(exc)) from None
    try:
        return Host.make(list(local_addrs) or None, store)
    except PacketError as exc:
        raise ValueError(str(exc)) from None

"""`iptscope trace FILE [PACKET] [packet options]`: step a packet to its verdict.

    iptscope trace dump.txt --path forward --proto udp --src 14.52.45.2 --sport 40000 \\
        --dst 14.52.45.10 --dport 50000 --physdev-out tap6746373c-01 --physdev-is-bridged
    iptscope trace dump.txt "udp 14.52.45.2:40000 > 14.52.45.10:50000" --physdev-out tap1

Without --assume, a rule the dump cannot decide (an ipset without --ipsets, a rate limit, a
random statistic...) is followed both ways and every outcome is shown. `--apply "IPTABLES
ARGS"` edits a copy of the ruleset in memory first (never the host). On DROP/REJECT the trace
ends with the smallest command that lets the packet through, proven by re-stepping.

Exit codes: 0 a trace was printed (whatever the verdict), 1 the dump or an input file could
not be used, 2 usage errors (bad packet, bad --apply).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ruleset.packet import Host, Packet

NAME = "trace"
HELP = "Step a packet through a dump rule by rule and print the verdict and why."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_packet_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_packet_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, the packet and the stepping options (shared with `iptscope step`)."""
    parser.add_argument("file", metavar="FILE", help="a dump file, or - for stdin")
    parser.add_argument("packet", metavar="PACKET", nargs="?",
                        help='compact packet: "udp 10.0.0.1:4000 > 10.0.0.2:53" '
                             '(options below override its parts)')
    parser.add_argument("--path", choices=("input", "forward", "output"), default="forward",
                        help="the hook path the packet takes (default forward)")
    parser.add_argument("--proto", "-p", help="protocol: tcp, udp, icmp, ... (default tcp)")
    parser.add_argument("--src", "-s", help="source address")
    parser.add_argument("--dst", "-d", help="destination address")
    parser.add_argument("--sport", type=int, help="source port")
    parser.add_argument("--dport", type=int, help="destination port")
    parser.add_argument("--in-iface", "-i", help="input interface (for a bridged frame: the "
                        "bridge)")
    parser.add_argument("--out-iface", "-o", help="output interface")
    parser.add_argument("--physdev-in", help="bridge port the frame came in on")
    parser.add_argument("--physdev-out", help="bridge port the frame leaves by")
    parser.add_argument("--physdev-is-bridged", action="store_true",
                        help="the frame is bridged (br_netfilter); implied by --physdev-*")
    parser.add_argument("--state", type=str.upper,
                        choices=("NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"),
                        help="conntrack state (default: what conntrack gives a first packet)")
    parser.add_argument("--ctstate-nat", choices=("DNAT", "SNAT"), action="append",
                        help="the connection was DNAT'ed/SNAT'ed (for --ctstate DNAT/SNAT)")
    parser.add_argument("--mac-src", help="source MAC address")
    parser.add_argument("--tcp-flags", help="TCP flags set, e.g. SYN or SYN,ACK (default SYN)")
    parser.add_argument("--icmp-type", help="ICMP type[/code], e.g. 8 or 3/3")
    parser.add_argument("--mark", help="packet mark, e.g. 0x4000")
    parser.add_argument("--connmark", help="connection mark")
    parser.add_argument("--length", type=int, help="packet length in bytes")
    parser.add_argument("--ttl", type=int, help="TTL / hop limit as received (default 64)")
    parser.add_argument("--uid", type=int, help="uid of the sending socket (output path)")
    parser.add_argument("--gid", type=int, help="gid of the sending socket (output path)")
    parser.add_argument("--local-addr", action="append", metavar="ADDR[/LEN][@IFACE]",
                        help="an address of this host (repeatable)")
    parser.add_argument("--ipsets", metavar="FILE", help="`ipset save` output for -m set")
    parser.add_argument("--apply", action="append", metavar="IPTABLES ARGS",
                        help='what-if edit before stepping, e.g. "-I FORWARD 1 -s 10.0.0.1 '
                             '-j ACCEPT" (repeatable)')
    parser.add_argument("--assume", choices=("match", "nomatch"),
                        help="take this outcome for undecidable matches instead of showing "
                             "both")


def build_packet(args: argparse.Namespace) -> Packet:
    """The packet from the compact form and the options; raises UsageError."""
    from ruleset.packet import (
        CtState,
        Packet,
        PacketError,
        default_state,
        parse_compact,
        parse_tcp_flags,
    )
    from tui.cli import UsageError

    try:
        base = parse_compact(args.packet) if args.packet else None
    except (PacketError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    src = args.src or (str(base.src) if base else None)
    dst = args.dst or (str(base.dst) if base else None)
    if not src or not dst:
        raise UsageError("the packet needs a source and a destination (--src, --dst or "
                         '"PROTO SRC[:PORT] > DST[:PORT]")')
    proto = (args.proto or (base.proto if base else "tcp")).lower()
    if proto == "icmp" and ":" in src:
        proto = "ipv6-icmp"
    sport = args.sport if args.sport is not None else (base.sport if base else None)
    dport = args.dport if args.dport is not None else (base.dport if base else None)
    kwargs: dict[str, object] = {}
    try:
        if args.tcp_flags is not None:
            kwargs["tcp_flags"] = parse_tcp_flags(args.tcp_flags)
        elif base is not None and proto == "tcp":
            kwargs["tcp_flags"] = base.tcp_flags
        elif proto != "tcp":
            kwargs["tcp_flags"] = frozenset()
        icmp = args.icmp_type
        if icmp is not None:
            t, _, c = icmp.partition("/")
            kwargs["icmp_type"] = int(t)
            if c:
                kwargs["icmp_code"] = int(c)
        elif base is not None and base.icmp_type is not None:
            kwargs["icmp_type"] = base.icmp_type
            kwargs["icmp_code"] = base.icmp_code
        if args.mark is not None:
            kwargs["mark"] = int(args.mark, 0)
        if args.connmark is not None:
            kwargs["connmark"] = int(args.connmark, 0)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    flags = kwargs.get("tcp_flags", frozenset({"SYN"}) if proto == "tcp" else frozenset())
    state = (CtState(args.state) if args.state
             else default_state(proto, flags))  # type: ignore[arg-type]
    bridged = bool(args.physdev_is_bridged or args.physdev_in or args.physdev_out)
    try:
        return Packet.make(
            src, dst, proto, sport, dport,
            in_iface=args.in_iface, out_iface=args.out_iface,
            physdev_in=args.physdev_in, physdev_out=args.physdev_out, bridged=bridged,
            mac_src=args.mac_src, state=state,
            ct_nat=frozenset(args.ctstate_nat or ()),
            length=args.length, ttl=args.ttl if args.ttl is not None else 64,
            uid=args.uid, gid=args.gid, **kwargs,
        )
    except (PacketError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def build_host(args: argparse.Namespace) -> Host | None:
    """Local addresses and ipsets; None (after printing) when the ipset file is unusable."""
    from ruleset.ipsets import IpsetParseError, load_ipsets
    from ruleset.packet import Host, PacketError
    from tui.cli import UsageError

    store = None
    if args.ipsets:
        try:
            store = load_ipsets(args.ipsets)
        except OSError as exc:
            raise FileNotFoundError(f"{args.ipsets}: {exc.strerror or exc}") from None
        except IpsetParseError as exc:
            raise FileNotFoundError(str(exc)) from None
    try:
        return Host.make(args.local_addr, store)
    except PacketError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from parser.errors import ParseError
    from parser.rulespec import parse_command
    from ruleset.matches import MATCH, NO_MATCH
    from ruleset.model import Family
    from ruleset.stepper import Exploration, explore, simulate
    from ruleset.suggest import suggest_fix
    from ruleset.whatif import WhatIfError, apply_commands
    from tui import render, render_trace
    from tui.cli import UsageError
    from tui.commands.check import load_file

    packet = build_packet(args)
    err = render.make_console(stderr=True)
    try:
        host = build_host(args)
    except FileNotFoundError as exc:
        err.print(render.load_error_text(args.ipsets, str(exc)), soft_wrap=True)
        return 1
    loaded = load_file(args.file)
    ruleset = loaded.ruleset
    if ruleset is None:
        err.print(render.load_error_text(loaded.path, loaded.error or "could not be loaded"),
                  soft_wrap=True)
        return 1
    if (packet.family is Family.IPV6) != (ruleset.family is Family.IPV6):
        raise UsageError(f"an {packet.family.value} packet cannot cross an "
                         f"{ruleset.family.value} ruleset")
    edits: list[str] = []
    if args.apply:
        commands = []
        for text in args.apply:
            try:
                commands.append(parse_command(text, family=ruleset.family))
            except ParseError as exc:
                raise UsageError(f"--apply {text!r}: {exc}") from None
        try:
            edited = apply_commands(ruleset, commands)
        except WhatIfError as exc:
            raise UsageError(f"--apply: {exc}") from None
        ruleset = edited.ruleset
        edits = edited.edits
    for diag in loaded.diagnostics:
        err.print(render.diagnostic_text(diag), soft_wrap=True)

    assume = {"match": MATCH, "nomatch": NO_MATCH}.get(args.assume or "")
    if assume is not None:
        ex = Exploration([simulate(ruleset, packet, args.path, host=host, assume=assume)])
    else:
        ex = explore(ruleset, packet, args.path, host=host)
    # A fix for the first branch that blocks, proven over every branch (or the assumption).
    blocked = [b for b in ex.branches if b.verdict.value in ("DROP", "REJECT")]
    suggestion = (suggest_fix(ruleset, blocked[0], host=host, assume=assume)
                  if blocked else None)
    out = render.make_console()
    if args.json:
        data = render_trace.exploration_json(ex, suggestion)
        print(json.dumps(data, indent=2))
    else:
        out.print(render_trace.render_exploration(ex, edits=edits, suggestion=suggestion))
    return 0

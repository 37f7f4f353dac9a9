"""`iptscope step FILE [packet options]`: open the explorer stepping that packet."""

from __future__ import annotations

import argparse

NAME = "step"
HELP = "open the explorer stepping a packet through a dump (options as in `trace`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a dump in any format (- for stdin)")
    parser.add_argument("--path", choices=("input", "forward", "output"), default="forward")
    parser.add_argument("--proto", default="tcp")
    parser.add_argument("--src", required=True)
    parser.add_argument("--dst", required=True)
    parser.add_argument("--sport", default="")
    parser.add_argument("--dport", default="")
    parser.add_argument("--in-iface", default="")
    parser.add_argument("--out-iface", default="")
    parser.add_argument("--physdev-in", default="")
    parser.add_argument("--physdev-out", default="")
    parser.add_argument("--physdev-is-bridged", action="store_true")
    parser.add_argument("--state", default="NEW")
    parser.add_argument("--mac-src", default="")
    parser.add_argument("--tcp-flags", default="")
    parser.add_argument("--icmp-type", default="")
    parser.add_argument("--mark", default="")
    parser.add_argument("--ipsets", metavar="FILE", help="`ipset save` output for -m set")
    parser.add_argument("--local-addr", action="append", default=[],
                        metavar="ADDR[/LEN][@IFACE]", help="an address of the host (repeatable)")
    parser.add_argument("--assume", choices=("match", "nomatch"),
                        help="outcome of matches the dump cannot decide (default: ask)")
    parser.add_argument("--apply", action="append", default=[], metavar="IPTABLES ARGS",
                        help="a what-if edit, e.g. \"-I FORWARD 1 -s 10.0.0.1 -j ACCEPT\"")


def request_from_args(args: argparse.Namespace) -> object:
    from tui.session import PacketRequest

    return PacketRequest(
        path=args.path, proto=args.proto, src=args.src, dst=args.dst, sport=str(args.sport),
        dport=str(args.dport), in_iface=args.in_iface, out_iface=args.out_iface,
        physdev_in=args.physdev_in, physdev_out=args.physdev_out,
        bridged=args.physdev_is_bridged, state=args.state, mac_src=args.mac_src,
        tcp_flags=args.tcp_flags, icmp_type=args.icmp_type, mark=args.mark,
    )


def run(args: argparse.Namespace) -> int:
    from tui.app import IptscopeApp
    from tui.cli import UsageError
    from tui.session import Session

    request = request_from_args(args)
    try:
        request.to_packet()  # type: ignore[attr-defined]
    except Exception as exc:
        raise UsageError(f"bad packet: {exc}") from exc
    session = Session(paths=[args.file], packet=request,  # type: ignore[arg-type]
                      assume=args.assume, edits=list(args.apply), ipsets=args.ipsets,
                      local_addrs=list(args.local_addr))
    from tui.session import make_host

    try:
        make_host(args.ipsets, session.local_addrs)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    IptscopeApp(paths=[args.file], session=session).run()
    return 0

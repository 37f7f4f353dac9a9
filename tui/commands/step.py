"""`iptscope step FILE [PACKET] [packet options]`: open the explorer stepping that packet.

The packet and stepping options are `iptscope trace`'s (the compact form included):

    iptscope step dump.txt "udp 14.52.45.2:40000 > 14.52.45.10:50000" \\
        --physdev-out tap6746373c-01 --physdev-is-bridged --ipsets ipsets.save
"""

from __future__ import annotations

import argparse

from tui.commands import trace

NAME = "step"
HELP = "open the explorer stepping a packet through a dump (options as in `trace`)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    trace.add_packet_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tui.app import IptscopeApp
    from tui.session import PacketRequest, Session, make_host

    packet = trace.build_packet(args)  # UsageError on a bad packet
    request = PacketRequest.from_packet(packet, args.path)
    session = Session(paths=[args.file], packet=request, assume=args.assume,
                      edits=list(args.apply or ()), ipsets=args.ipsets,
                      local_addrs=list(args.local_addr or ()))
    try:
        make_host(args.ipsets, session.local_addrs)
    except (OSError, ValueError) as exc:
        from tui.cli import UsageError

        raise UsageError(str(exc)) from exc
    IptscopeApp(paths=[args.file], session=session).run()
    return 0

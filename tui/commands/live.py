"""`iptscope live [--interval S] [--ssh HOST | --cmd CMD] [-6]`: the explorer on live counters."""

from __future__ import annotations

import argparse

NAME = "live"
HELP = "open the explorer on live counters (polls iptables-save -c; read-only)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=float, default=2.0, metavar="S",
                        help="seconds between polls (default 2)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--ssh", metavar="HOST", help="poll another host over ssh (batch mode)")
    source.add_argument("--cmd", metavar="CMD",
                        help="any command that prints a dump, e.g. "
                             "\"ip netns exec NS iptables-save -c\"")
    parser.add_argument("-6", dest="ipv6", action="store_true", help="ip6tables-save -c")


def run(args: argparse.Namespace) -> int:
    from tui.app import IptscopeApp
    from tui.cli import UsageError
    from tui.screens.live import LiveConfig

    if args.interval <= 0:
        raise UsageError("--interval must be positive")
    config = LiveConfig(interval=args.interval, ssh=args.ssh, cmd=args.cmd, ipv6=args.ipv6)
    IptscopeApp(live=config).run()
    return 0

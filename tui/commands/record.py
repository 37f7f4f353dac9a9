"""`iptscope record [--interval S] [--count N] -o FILE [-6] [--ssh HOST | --cmd CMD]`.

Polls `iptables-save -c` (or `ip6tables-save -c`, or the command given) every S seconds and
appends each good snapshot to FILE (a recording: see `ruleset.record`), which `iptscope diff
FILE` and the app open later. One progress line per poll goes to standard error. A failed poll
is reported and the recorder keeps going, except when the very first poll shows the command
cannot work at all (missing, not root, ssh refused). Stop with Ctrl-C or `--count`.
"""

from __future__ import annotations

import argparse

NAME = "record"
HELP = "Record a series of counter snapshots (iptables-save -c every S seconds) into one file."


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The live source options (shared with `iptscope live`)."""
    parser.add_argument("--interval", "-n", type=float, default=2.0, metavar="S",
                        help="seconds between polls (default 2)")
    parser.add_argument("-6", "--ipv6", action="store_true",
                        help="poll ip6tables-save -c instead of iptables-save -c")
    parser.add_argument("--ssh", metavar="HOST",
                        help="run the dump command on HOST over ssh (batch mode, no password "
                             "prompt)")
    parser.add_argument("--cmd", metavar="CMD",
                        help="any command printing a dump, e.g. \"ip netns exec NS "
                             "iptables-save -c\" (split like a shell would, run without one; "
                             "on HOST with --ssh, e.g. \"sudo -n iptables-save -c\")")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--count", "-c", type=int, metavar="N",
                        help="stop after N good snapshots (default: until Ctrl-C)")
    parser.add_argument("--output", "-o", required=True, metavar="FILE",
                        help="the recording file to write")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    from parser.load import load_text
    from ruleset.live import CommandNotFound, NotPermitted, Poller, SshFailed
    from ruleset.record import RecordingWriter
    from tui import render
    from tui.cli import UsageError

    if args.interval <= 0:
        raise UsageError("--interval must be > 0")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be >= 1")
    try:
        poller = Poller(lambda text, src: load_text(text, src), ipv6=args.ipv6, ssh=args.ssh,
                        cmd=args.cmd, interval=args.interval)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    err = render.make_console(stderr=True)
    try:
        writer = RecordingWriter.open(args.output)
    except OSError as exc:
        err.print(f"iptscope record: cannot write {args.output}: {exc.strerror or exc}",
                  soft_wrap=True)
        return 1
    fatal = (CommandNotFound, NotPermitted, SshFailed)
    code = 0
    try:
        with writer:
            for result in poller.results():
                if result.error is not None:
                    err.print(f"poll {result.seq}: {result.error}", soft_wrap=True)
                    if writer.count == 0 and isinstance(result.error, fatal):
                        code = 1
                        break
                    continue
                snap = result.snapshot
                assert snap is not None
                writer.write_snapshot(snap)
                if not args.quiet:
                    line = (f"snapshot {writer.count} at {snap.taken_at.strftime('%H:%M:%S')}:"
                            f" {snap.ruleset.rule_count} rules")
                    if result.delta is not None:
                        grew = sum(1 for r in result.delta.rules if r.grew)
                        resets = sum(1 for r in result.delta.rules if r.delta.reset)
                        line += f", {grew} grew"
                        if resets:
                            line += f", {resets} reset"
                    err.print(line, soft_wrap=True)
                if args.count is not None and writer.count >= args.count:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        poller.stop()
    if not args.quiet or code:
        err.print(f"{writer.count} snapshot(s) written to {args.output}", soft_wrap=True)
    return code

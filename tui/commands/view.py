"""`iptscope FILE...` / `iptscope --session FILE`: open the explorer."""

from __future__ import annotations

import argparse

NAME = "view"
HELP = "open the explorer on one dump, or on snapshots (two or more: the delta view)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="dumps in any format (- for stdin); several = snapshots")
    parser.add_argument("--session", metavar="FILE", help="resume a saved stepping session")


def run(args: argparse.Namespace) -> int:
    from tui.app import IptscopeApp
    from tui.cli import UsageError

    if args.session:
        from tui.session import SessionError, load_session

        try:
            session = load_session(args.session)
        except (OSError, SessionError) as exc:
            raise UsageError(f"cannot read session {args.session}: {exc}") from exc
        paths = list(args.files) or session.paths
        app = IptscopeApp(paths=paths, session=session, session_path=args.session)
    else:
        if not args.files:
            raise UsageError("give at least one FILE (or --session FILE)")
        app = IptscopeApp(paths=list(args.files))
    app.run()
    return 0

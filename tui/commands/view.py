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
        app = IptscopeApp(paths=list(args.files), stdin_text=read_stdin_then_tty(args.files))
    app.run()
    return app.return_code or 0  # 1 when nothing could be loaded


def read_stdin_then_tty(files: list[str]) -> str | None:
    """`-` means the dump comes on stdin: read it all now, then give the app the terminal
    (/dev/tty) as its input, since keys cannot come from the pipe."""
    import os
    import sys

    if "-" not in files:
        return None
    text = sys.stdin.read()
    try:
        tty = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return text
    os.dup2(tty, 0)
    os.close(tty)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fd 0 stays open for the app
    return text

"""`iptscope diff BEFORE [AFTER] [--json] [--top N] [--only-changed] [--all]`: what grew.

BEFORE and AFTER are dumps carrying counters in any format (iptables-save -c, iptables -S -v,
iptables -L -v [-x], mixed) or recordings (`iptscope record`): a recording given alone is
diffed from its first to its last snapshot (`--from N`, `--to N` pick others; negative counts
from the end). Rules are paired by identity (table, chain, normalized rule, occurrence), so
rules inserted, deleted or moved in between are reported as added, removed or moved.

Listed by default: every rule that is not unchanged (grew, reset, added, removed, moved),
largest growth first. `--only-changed`: only the rules whose counters changed (grew or were
reset). `--all`: every rule. `--top N`: the first N. `--json` prints
`{"changes": [...], "policies": [...]}`.

Exit codes: 0 success; 1 a dump could not be loaded; 2 usage errors (e.g. a dump without
counters).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ruleset.snapshot import Snapshot

NAME = "diff"
HELP = ("Counter deltas between two snapshots (dumps with counters or a recording): the rules "
        "that grew, largest first.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("before", metavar="BEFORE", help="the earlier dump or a recording")
    parser.add_argument("after", metavar="AFTER", nargs="?",
                        help="the later dump (omit to diff a recording's first and last)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--top", type=int, metavar="N", help="only the N largest")
    parser.add_argument("--only-changed", action="store_true",
                        help="only rules whose counters changed (grew or reset)")
    parser.add_argument("--all", action="store_true", dest="include_unchanged",
                        help="also list unchanged rules")
    parser.add_argument("--table", "-t", metavar="T", action="append",
                        help="only this table (repeatable)")
    parser.add_argument("--from", dest="from_index", type=int, metavar="N",
                        help="snapshot N of a recording for BEFORE (1-based; default first)")
    parser.add_argument("--to", dest="to_index", type=int, metavar="N",
                        help="snapshot N of a recording for AFTER (1-based; default last)")
    parser.add_argument("--format", metavar="FMT", help="force the input format")


class _Failed(Exception):
    pass


def _pick(snaps: list[Snapshot], index: int | None, default: int, path: str) -> Snapshot:
    from tui.cli import UsageError

    if not snaps:
        raise _Failed(f"{path}: the recording holds no complete snapshot")
    n = default if index is None else index
    i = n - 1 if n > 0 else len(snaps) + n
    if not 0 <= i < len(snaps):
        raise UsageError(f"{path} has {len(snaps)} snapshot(s); no snapshot {n}")
    return snaps[i]


def _load(path: str, fmt: str | None) -> tuple[list[Snapshot] | None, Snapshot | None]:
    """(recording snapshots, None) or (None, snapshot of a dump)."""
    from parser.errors import LoadError, ParseError
    from parser.load import load_path, load_text
    from ruleset.record import RecordingError, is_recording, load_recording
    from ruleset.snapshot import snapshot_of

    try:
        if path != "-" and is_recording(path):
            return load_recording(path, lambda text, src: load_text(text, src, format=fmt)), None
        ruleset = load_path(path, format=fmt)
    except LoadError as exc:
        raise _Failed(str(exc)) from exc
    except (ParseError, RecordingError) as exc:
        raise _Failed(str(exc)) from exc
    except OSError as exc:
        raise _Failed(f"{path}: {exc.strerror or exc}") from exc
    return None, snapshot_of(ruleset, path=path)


def _snapshots(args: argparse.Namespace) -> tuple[Snapshot, Snapshot]:
    from tui.cli import UsageError

    rec_b, snap_b = _load(args.before, args.format)
    if args.after is None:
        if rec_b is None:
            raise UsageError("give two dumps (BEFORE AFTER), or one recording")
        return (_pick(rec_b, args.from_index, 1, args.before),
                _pick(rec_b, args.to_index, -1, args.before))
    rec_a, snap_a = _load(args.after, args.format)
    if rec_b is not None:
        snap_b = _pick(rec_b, args.from_index, 1, args.before)
    if rec_a is not None:
        snap_a = _pick(rec_a, args.to_index, -1, args.after)
    assert snap_b is not None and snap_a is not None
    return snap_b, snap_a


def run(args: argparse.Namespace) -> int:
    from ruleset.delta import DeltaError, delta_json, format_family
    from ruleset.snapshot import diff_snapshots
    from tui import render
    from tui.cli import UsageError
    from tui.render_delta import delta_report

    err = render.make_console(stderr=True)
    if args.top is not None and args.top < 0:
        raise UsageError("--top needs a number >= 0")
    try:
        before, after = _snapshots(args)
    except _Failed as exc:
        err.print(f"iptscope diff: {exc}", soft_wrap=True)
        return 1
    for snap in (before, after):
        errors = snap.ruleset.errors
        if errors:
            err.print(f"iptscope diff: {snap.source}: {len(errors)} line(s) not understood, "
                      f"first: {errors[0].one_line}", soft_wrap=True)
    tables: list[str] | None = args.table
    families = {format_family(before.ruleset.format), format_family(after.ruleset.format)}
    if tables is None and families != {"save"}:
        # An -L or -S dump holds only the tables it was run for: compare what both hold.
        common = [t for t in after.ruleset.tables if t in before.ruleset.tables]
        if common:
            tables = common
    try:
        delta = diff_snapshots(before, after, tables=tables)
    except DeltaError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        data = delta_json(delta, only_changed=args.only_changed,
                          include_unchanged=args.include_unchanged, top=args.top)
        print(json.dumps(data, indent=2))
        return 0
    changes = delta.changes(only_changed=args.only_changed,
                            include_unchanged=args.include_unchanged, top=args.top)
    if args.only_changed:
        policies = [p for p in delta.policies if p.counters_changed]
    else:
        policies = delta.policy_changes(include_unchanged=args.include_unchanged)
    out = render.make_console()
    out.print(delta_report(delta, changes, policies, before=before, after=after))
    return 0

"""`iptscope show FILE [--table T] [--chain C]`: a coloured listing of a dump.

Per table, per chain: a header with the policy, its counters and the references (user chains no
built-in chain leads to are marked `unreachable`), then the rules with position, counters, the
target coloured by kind, the generic options and matches, and the comment. Problems found while
loading go to standard error; the exit code is 1 when there were errors, 2 for an unknown table
or chain (with the closest names suggested).

With `--table` or `--chain`, only the rules printed are parsed in full (a chain of a 55,000-rule
dump shows at once): problems in the rule words of other chains are not reported then
(`iptscope check FILE` reports them all); problems in the dump's structure always are.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence

NAME = "show"
HELP = "Print a coloured listing of a dump, optionally one table or one chain."

_MAX_LISTED = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a dump file, or - for stdin")
    parser.add_argument("--table", "-t", metavar="T", help="only this table")
    parser.add_argument("--chain", "-c", metavar="C", help="only this chain")


def unknown_name_message(kind: str, name: str, valid: Sequence[str], where: str) -> str:
    """`no chain 'INPT' in filter; did you mean INPUT? (chains: INPUT, FORWARD, ...)`."""
    message = f"no {kind} {name!r} in {where}"
    close = difflib.get_close_matches(name, list(valid), n=3, cutoff=0.5)
    if not close:
        lowered = {v.lower(): v for v in valid}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    if close:
        message += "; did you mean " + " or ".join(close) + "?"
    if not valid:
        message += f" (it has no {kind}s)"
    elif len(valid) <= _MAX_LISTED:
        message += f" ({kind}s: " + ", ".join(valid) + ")"
    else:
        message += f" ({len(valid)} {kind}s: " + ", ".join(valid[:_MAX_LISTED]) + ", ...)"
    return message


def run(args: argparse.Namespace) -> int:
    from tui import render
    from tui.cli import UsageError
    from tui.commands.check import load_file

    partial = args.table is not None or args.chain is not None  # resolve what is printed
    loaded = load_file(args.file, resolve=not partial)
    err = render.make_console(stderr=True)
    ruleset = loaded.ruleset
    if ruleset is None:
        err.print(render.load_error_text(loaded.path, loaded.error or "could not be loaded"),
                  soft_wrap=True)
        return 1

    tables = [t.name for t in ruleset.ordered_tables()]
    if args.table is not None and args.table not in ruleset.tables:
        raise UsageError(unknown_name_message("table", args.table, tables, loaded.path))
    if args.chain is not None:
        scope = [ruleset.tables[args.table]] if args.table else ruleset.ordered_tables()
        if not any(args.chain in t.chains for t in scope):
            names: list[str] = []
            for t in scope:
                names.extend(c.name for c in t.ordered_chains() if c.name not in names)
            where = f"table {args.table}" if args.table else loaded.path
            raise UsageError(unknown_name_message("chain", args.chain, names, where))

    out = render.make_console()
    if out.is_terminal:  # rules wrap under their rule column
        out.print(render.ruleset_listing(ruleset, table=args.table, chain=args.chain))
    else:  # a pipe gets one line per rule, written as it is made (no colour, no Rich layout)
        write = sys.stdout.write
        for line in render.listing_lines(ruleset, table=args.table, chain=args.chain):
            write(line.plain + "\n")
        sys.stdout.flush()
    if partial:  # the printed rules' own problems were found while printing them
        loaded.diagnostics = list(ruleset.diagnostics)
    if loaded.error is not None:
        err.print(render.load_error_text(loaded.path, loaded.error), soft_wrap=True)
    for diag in loaded.diagnostics:
        err.print(render.diagnostic_text(diag), soft_wrap=True)
    return 1 if loaded.failed else 0

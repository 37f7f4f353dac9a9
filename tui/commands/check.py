"""`iptscope check FILE... [--json] [--strict]`: load dumps and report what was found.

One line per file (format, family, tables with chain and rule counts, unknown match modules),
then its diagnostics as `FILE:LINE:COL: severity: message` with the offending line. Exit 0 when
every file loaded without errors, 1 when any file has an error (including files that cannot be
read at all: missing, unreadable, empty, binary), 2 on usage errors. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ruleset.model import Diagnostic, Ruleset

NAME = "check"
HELP = "Load dumps and report their format, tables, unknown modules and any problems."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="a dump file, or - for stdin")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument("--strict", action="store_true", help="fail on the first error")


@dataclass(slots=True)
class Loaded:
    """The outcome of loading one file: a ruleset, or why there is none."""

    path: str
    ruleset: Ruleset | None = None
    error: str | None = None  # the file could not be read/parsed at all
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        from ruleset.model import Severity

        return self.error is not None or any(
            d.severity is Severity.ERROR for d in self.diagnostics)


def load_file(path: str, *, strict: bool = False, resolve: bool = True) -> Loaded:
    """Load `path` (`-` is stdin) and never raise: a LoadError, a strict-mode ParseError or an
    unexpected failure becomes an error in the result. `resolve=False` leaves the rules' specs
    to be parsed on first use (their errors then join `ruleset.diagnostics` as they are read;
    `Loaded.diagnostics` holds only what loading found)."""
    from parser.errors import LoadError, ParseError
    from parser.load import load_path

    try:
        ruleset = load_path(path, strict=strict)
    except LoadError as exc:
        return Loaded(path, error=exc.message)
    except ParseError as exc:
        return Loaded(path, diagnostics=[exc.diagnostic])
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:  # a bug in a parser must not become a traceback
        return Loaded(path, error=f"internal error while loading: {type(exc).__name__}: {exc}")
    if not resolve and not strict:
        return Loaded(path, ruleset, diagnostics=list(ruleset.diagnostics))
    try:
        ruleset.resolve_all()
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:
        if strict and hasattr(exc, "diagnostic"):
            return Loaded(path, diagnostics=[exc.diagnostic])
        return Loaded(path, ruleset, error=f"internal error while resolving rules: "
                                           f"{type(exc).__name__}: {exc}",
                      diagnostics=list(ruleset.diagnostics))
    return Loaded(path, ruleset, diagnostics=list(ruleset.diagnostics))


def file_report(loaded: Loaded, unknown: list[str]) -> dict[str, Any]:
    """One entry of `--json`'s `files` list."""
    ruleset = loaded.ruleset
    diagnostics = [
        {"line": d.line, "col": d.col, "severity": d.severity.value, "message": d.message}
        for d in loaded.diagnostics
    ]
    if loaded.error is not None:
        diagnostics.insert(0, {"line": 0, "col": 0, "severity": "error",
                               "message": loaded.error})
    return {
        "path": loaded.path,
        "format": ruleset.format if ruleset is not None else None,
        "family": ruleset.family.value if ruleset is not None else None,
        "tables": {
            t.name: {"chains": len(t.chains), "rules": t.rule_count}
            for t in ruleset.ordered_tables()
        } if ruleset is not None else {},
        "unknown_modules": unknown,
        "diagnostics": diagnostics,
    }


def run(args: argparse.Namespace) -> int:
    from rich.text import Text

    from tui import render
    from tui.cli import UsageError

    paths: list[str] = list(args.files)
    if paths.count("-") > 1:
        raise UsageError("standard input (-) can be read only once")

    results: list[tuple[Loaded, list[str]]] = []
    for path in paths:
        loaded = load_file(path, strict=args.strict)
        unknown: list[str] = []
        if loaded.ruleset is not None:
            try:
                unknown = render.unknown_modules(loaded.ruleset)
            except Exception:  # resolution failed above; already reported
                unknown = []
        results.append((loaded, unknown))
        if args.strict and loaded.failed:
            break

    if args.json:
        report = {"files": [file_report(loaded, unknown) for loaded, unknown in results]}
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        sys.stdout.flush()
    else:
        console = render.make_console()
        for loaded, unknown in results:
            if loaded.ruleset is not None:
                console.print(render.ruleset_summary(loaded.ruleset, unknown), soft_wrap=True)
                if loaded.error is not None:
                    console.print(render.load_error_text(loaded.path, loaded.error),
                                  soft_wrap=True)
            elif loaded.error is not None:
                console.print(render.load_error_text(loaded.path, loaded.error), soft_wrap=True)
            else:
                line = Text(f"{loaded.path}: ", style="bold")
                line.append("not loaded (--strict stops at the first error)")
                console.print(line, soft_wrap=True)
            for diag in loaded.diagnostics:
                console.print(render.diagnostic_text(diag), soft_wrap=True)
    return 1 if any(loaded.failed for loaded, _ in results) else 0

"""Collecting diagnostics while loading: lenient (keep going) or strict (raise at the first
error)."""

from __future__ import annotations

from dataclasses import replace

from parser.errors import ParseError
from ruleset.model import Diagnostic, Severity


class Reporter:
    """Appends Diagnostics to a list; in strict mode an error raises ParseError instead."""

    __slots__ = ("diagnostics", "path", "strict")

    def __init__(self, path: str, diagnostics: list[Diagnostic], strict: bool) -> None:
        self.path = path
        self.diagnostics = diagnostics
        self.strict = strict

    def add(self, severity: Severity, line: int, col: int, message: str, text: str = "") -> None:
        diag = Diagnostic(self.path, line, max(col, 1), severity, message, text)
        if self.strict and severity is Severity.ERROR:
            raise ParseError(diag)
        self.diagnostics.append(diag)

    def error(self, line: int, col: int, message: str, text: str = "") -> None:
        self.add(Severity.ERROR, line, col, message, text)

    def warning(self, line: int, col: int, message: str, text: str = "") -> None:
        self.add(Severity.WARNING, line, col, message, text)

    def info(self, line: int, col: int, message: str, text: str = "") -> None:
        self.add(Severity.INFO, line, col, message, text)


class RuleSyntaxError(ValueError):
    """A rule's words that do not parse; `col` is the 1-based column in the parsed text, or
    -(word index + 1) before the caller maps it to a column."""

    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.col = col


class LineMap:
    """Where the lines the parsers saw came from, when the loader removed a prefix (an e-mail
    quote `> `, a code block's indentation): columns are moved back into the original line and
    a diagnostic shows the original text, so FILE:LINE:COL points into the file as it is."""

    __slots__ = ("originals", "shifts")

    def __init__(self, originals: list[str], shifts: dict[int, int]) -> None:
        self.originals = originals  # the input's lines, 0-based
        self.shifts = shifts  # 1-based line number -> characters removed from its start

    def fix(self, diag: Diagnostic) -> Diagnostic:
        shift = self.shifts.get(diag.line)
        if not shift:
            return diag
        text = self.originals[diag.line - 1].rstrip() if diag.text else ""
        return replace(diag, col=diag.col + shift, text=text)

"""Errors raised by the parsers. Every one carries a Diagnostic (file, line, column)."""

from __future__ import annotations

from ruleset.model import Diagnostic, Severity


class Error(Exception):
    """Base class of the parser package's errors."""


class ParseError(Error):
    """A dump or command that does not parse; `diagnostic` says where and why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.one_line)
        self.diagnostic = diagnostic


class LoadError(Error):
    """A file that cannot be read at all (missing, unreadable, binary, empty)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def error(path: str, line: int, col: int, message: str, text: str = "") -> Diagnostic:
    return Diagnostic(path, line, col, Severity.ERROR, message, text)


def warning(path: str, line: int, col: int, message: str, text: str = "") -> Diagnostic:
    return Diagnostic(path, line, col, Severity.WARNING, message, text)

"""Shared styles and number formatting for the app's widgets."""

from __future__ import annotations

from rich.style import Style

from ruleset.spec import TargetKind

TARGET_STYLES: dict[TargetKind, Style] = {
    TargetKind.ACCEPT: Style(color="green", bold=True),
    TargetKind.DROP: Style(color="red", bold=True),
    TargetKind.REJECT: Style(color="red", bold=True),
    TargetKind.RETURN: Style(color="yellow"),
    TargetKind.JUMP: Style(color="cyan", underline=True),
    TargetKind.GOTO: Style(color="cyan", italic=True, underline=True),
    TargetKind.QUEUE: Style(color="magenta"),
    TargetKind.LOG: Style(color="blue"),
    TargetKind.MODIFY: Style(color="magenta", bold=True),
    TargetKind.NONE: Style(dim=True),
    TargetKind.UNKNOWN: Style(color="bright_red", italic=True),
}
TARGET_MARKUP: dict[TargetKind, str] = {
    TargetKind.ACCEPT: "bold green",
    TargetKind.DROP: "bold red",
    TargetKind.REJECT: "bold red",
    TargetKind.RETURN: "yellow",
    TargetKind.JUMP: "cyan",
    TargetKind.GOTO: "italic cyan",
    TargetKind.QUEUE: "magenta",
    TargetKind.LOG: "blue",
    TargetKind.MODIFY: "bold magenta",
    TargetKind.NONE: "dim",
    TargetKind.UNKNOWN: "italic bright_red",
}

_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def human_count(value: int) -> str:
    """`1574` -> `1574`, `111000` -> `111K` (like `iptables -L -v`), negatives kept."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < 100_000:
        return f"{sign}{value}"
    for unit, suffix in _UNITS:
        if value >= unit:
            return f"{sign}{value // unit}{suffix}"
    return f"{sign}{value}"

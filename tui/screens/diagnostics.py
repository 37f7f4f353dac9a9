"""What went wrong while loading: each diagnostic as FILE:LINE:COL with the offending line."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.explorer import Explorer


def diagnostics_text(explorer: Explorer) -> Text:
    out = Text()
    for error in explorer.load_errors:
        out.append(error + "\n", style="bold red")
    seen = explorer.snapshots or [explorer.ruleset]
    for rs in seen:
        for diag in rs.diagnostics:
            colour = {"error": "red", "warning": "yellow"}.get(diag.severity.value, "")
            out.append(diag.one_line + "\n", style=colour)
            if diag.text:
                out.append("    " + diag.text + "\n", style="dim")
    if not out.plain:
        out.append("No diagnostics: everything loaded cleanly.")
    return out


class DiagnosticsDialog(ModalScreen[None]):
    DEFAULT_CSS = """
    DiagnosticsDialog { align: center middle; }
    DiagnosticsDialog > VerticalScroll {
        width: 90%; height: 70%; border: thick $warning; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,D", "dismiss", "Close")]

    def __init__(self, explorer: Explorer) -> None:
        super().__init__()
        self.explorer = explorer

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(diagnostics_text(self.explorer), id="diagnostics")


class TextDialog(ModalScreen[None]):
    """Any text in a scrollable box (the whole detail of a long rule)."""

    DEFAULT_CSS = """
    TextDialog { align: center middle; }
    TextDialog > VerticalScroll {
        width: 90%; height: 70%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,i", "dismiss", "Close")]

    def __init__(self, text: Text) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text, id="text")

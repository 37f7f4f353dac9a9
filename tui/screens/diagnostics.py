"""What went wrong while loading: each diagnostic as FILE:LINE:COL with the offending line.

Enter on a diagnostic goes to its place: a rule line selects that rule in the rule view (the
dialog returns the Diagnostic; the main screen finds the rule); any other line is shown with
its neighbours from the file (`diagnostic_context`)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ruleset.model import Diagnostic
from tui.explorer import Explorer

CONTEXT_LINES = 3  # lines shown before and after the offending one


def all_diagnostics(explorer: Explorer) -> list[Diagnostic]:
    seen = explorer.snapshots or [explorer.ruleset]
    return [diag for rs in seen for diag in rs.diagnostics]


def diagnostic_prompt(diag: Diagnostic) -> Text:
    colour = {"error": "red", "warning": "yellow"}.get(diag.severity.value, "")
    out = Text(diag.one_line, style=colour)
    if diag.text:
        out.append("\n    " + diag.text, style="dim")
    return out


def diagnostics_text(explorer: Explorer) -> Text:
    out = Text()
    for error in explorer.load_errors:
        out.append(error + "\n", style="bold red")
    for diag in all_diagnostics(explorer):
        out.append_text(diagnostic_prompt(diag))
        out.append("\n")
    if not out.plain:
        out.append("No diagnostics: everything loaded cleanly.")
    return out


def diagnostic_context(diag: Diagnostic, radius: int = CONTEXT_LINES) -> Text:
    """The offending line with `radius` lines either side, numbered, read again from the file
    (only the diagnostic's own text when the file cannot be read: stdin, gone, binary)."""
    out = Text(diag.one_line + "\n\n", style="bold")
    first = max(1, diag.line - radius)
    lines: list[str] = []
    if diag.path not in ("", "-") and diag.line > 0:
        try:
            with Path(diag.path).open(encoding="utf-8", errors="replace") as handle:
                lines = [line.rstrip("\n") for line in
                         islice(handle, first - 1, diag.line + radius)]
        except OSError:
            lines = []
    if not lines:
        out.append(f"{diag.line:>6} │ ", style="dim")
        out.append(diag.text or "(the line cannot be read again)", style="bold red")
        return out
    for number, line in enumerate(lines, start=first):
        mine = number == diag.line
        out.append(f"{number:>6} │ ", style="bold" if mine else "dim")
        out.append(line.expandtabs() + "\n", style="bold red" if mine else "")
        if mine and diag.col > 0:
            out.append(" " * 9 + " " * (diag.col - 1) + "^\n", style="bold red")
    return out


class DiagnosticsDialog(ModalScreen[Diagnostic | None]):
    DEFAULT_CSS = """
    DiagnosticsDialog { align: center middle; }
    DiagnosticsDialog > Vertical {
        width: 90%; height: 70%; border: thick $warning; background: $surface; padding: 0 1;
    }
    DiagnosticsDialog #diagnostics-head { height: auto; max-height: 8; }
    DiagnosticsDialog #diagnostic-list { height: 1fr; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,D", "close", "Close")]

    def __init__(self, explorer: Explorer) -> None:
        super().__init__()
        self.explorer = explorer
        self.diagnostics = all_diagnostics(explorer)

    def compose(self) -> ComposeResult:
        head = Text()
        for error in self.explorer.load_errors:
            head.append(error + "\n", style="bold red")
        if self.diagnostics:
            head.append("Enter: go to the line (a rule is selected in the rule view, any other "
                        "line is shown with its neighbours)   Esc: close", style="dim")
        elif not head.plain:
            head.append("No diagnostics: everything loaded cleanly.")
        with Vertical():
            with VerticalScroll(id="diagnostics-head"):
                yield Static(head, id="diagnostics")
            if self.diagnostics:
                yield OptionList(*(Option(diagnostic_prompt(d), id=str(i))
                                   for i, d in enumerate(self.diagnostics)),
                                 id="diagnostic-list")

    def on_mount(self) -> None:
        found = self.query("#diagnostic-list")
        if found:
            found.first().focus()

    @on(OptionList.OptionSelected, "#diagnostic-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.diagnostics[event.option_index])

    def action_close(self) -> None:
        self.dismiss(None)


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

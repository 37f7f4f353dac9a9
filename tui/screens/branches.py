"""Both outcomes of every UNKNOWN rule: each branch's assumptions and verdict."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ruleset.stepper import Exploration
from tui.widgets.step_panes import step_title


def branches_text(exploration: Exploration) -> Text:
    text = Text(f"{len(exploration.branches)} branches", style="bold")
    verdicts = ", ".join(sorted(v.value for v in exploration.verdicts))
    text.append(f"  verdicts: {verdicts}\n\n")
    for i, trace in enumerate(exploration.branches, 1):
        decided = step_title(trace.decided_by) if trace.decided_by is not None else "-"
        text.append(f"{i}. {trace.verdict.value}", style="bold")
        text.append(f" by {decided}")
        if trace.probability is not None and trace.probability < 1:
            text.append(f" (p={trace.probability:.3g})")
        text.append("\n")
        for a in trace.assumptions:
            text.append(f"     if {a.describe()}\n", style="dim")
    if exploration.truncated:
        text.append("\n(more branches not shown)", style="italic")
    return text


class BranchesDialog(ModalScreen[None]):
    DEFAULT_CSS = """
    BranchesDialog { align: center middle; }
    BranchesDialog > VerticalScroll {
        width: 90%; height: 70%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, exploration: Exploration) -> None:
        super().__init__()
        self.exploration = exploration

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(branches_text(self.exploration), id="branches")

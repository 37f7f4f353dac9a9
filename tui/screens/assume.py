"""An UNKNOWN match: the dump cannot decide it, so the user picks the outcome to assume."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ruleset.model import Rule


class AssumeDialog(ModalScreen[str | None]):
    """Dismisses with "match", "nomatch", "match-all", "nomatch-all", "both" or None."""

    DEFAULT_CSS = """
    AssumeDialog { align: center middle; }
    AssumeDialog > Vertical {
        width: 90; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m,y", "choose('match')", "Assume match"),
        Binding("n", "choose('nomatch')", "Assume no match"),
        Binding("M", "choose('match-all')", "Match, all unknowns"),
        Binding("N", "choose('nomatch-all')", "No match, all unknowns"),
        Binding("b", "choose('both')", "Both branches"),
        Binding("escape", "choose('')", "Cancel"),
    ]

    def __init__(self, rule: Rule, reasons: list[str]) -> None:
        super().__init__()
        self.rule = rule
        self.reasons = reasons

    def compose(self) -> ComposeResult:
        text = Text("The dump cannot decide this rule\n\n", style="bold yellow")
        text.append(f"{self.rule.table_name}:{self.rule.chain_name} #{self.rule.position}\n",
                    style="bold")
        text.append(self.rule.text + "\n\n", style="italic")
        for reason in self.reasons:
            text.append(f"? {reason}\n")
        text.append("\nm: assume it matches    n: assume it does not\n"
                    "M / N: the same for every unknown from now on\n"
                    "b: show both branches    Esc: stop here")
        with Vertical():
            yield Static(text, id="assume-text")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)

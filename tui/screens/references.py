"""Who references the current chain: pick one to jump there."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ruleset.model import Rule


def rule_option_text(rule: Rule, extra: str = "") -> Text:
    text = Text()
    text.append(f"{rule.table_name}:{rule.chain_name}", style="bold")
    text.append(f" #{rule.position}  ", style="cyan")
    if extra:
        text.append(extra + "  ", style="bold yellow")
    text.append(rule_words(rule), style="dim")
    return text


def rule_words(rule: Rule) -> str:
    """The rule's own words without what the line already says: `[p:b] -A CHAIN ` (counters
    are in the extra, table:chain #n in front)."""
    words = rule.text or (rule.target_name or "")
    if words.startswith("["):
        words = words.partition("] ")[2] or words
    head = f"-A {rule.chain_name} "
    return words[len(head):] if words.startswith(head) else words


class RulePickerDialog(ModalScreen[Rule | None]):
    """A list of rules; Enter returns the chosen one, Escape returns None."""

    DEFAULT_CSS = """
    RulePickerDialog { align: center middle; }
    RulePickerDialog > Vertical {
        width: 90%; height: 70%; border: thick $accent; background: $surface; padding: 0 1;
    }
    RulePickerDialog Label { text-style: bold; padding-bottom: 1; }
    RulePickerDialog OptionList { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss_none", "Close")]

    def __init__(self, title: str, rules: list[Rule], extras: list[str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.rules = rules
        self.extras = extras or [""] * len(rules)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield OptionList(
                *[Option(rule_option_text(r, x), id=str(i))
                  for i, (r, x) in enumerate(zip(self.rules, self.extras, strict=True))],
                id="picker",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.rules[event.option_index])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


REFS_SHOWN = 500  # a list of 20,000 (KUBE-MARK-MASQ's callers) took seconds to build


class ReferencesDialog(RulePickerDialog):
    def __init__(self, chain: str, refs: list[Rule]) -> None:
        count = f"{len(refs)} rule{'' if len(refs) == 1 else 's'}"
        verb = "jumps or goes" if len(refs) == 1 else "jump or go"
        title = (f"{count} {verb} to {chain} (Enter: go there)" if refs
                 else f"Nothing references {chain}.")
        if len(refs) > REFS_SHOWN:
            title += f"; the first {REFS_SHOWN} listed (/{chain} finds every one, n/N steps)"
        super().__init__(title, refs[:REFS_SHOWN])

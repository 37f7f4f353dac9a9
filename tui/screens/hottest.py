"""The hottest rules across all chains (delta and live views): the top growers."""

from __future__ import annotations

from ruleset.model import Rule
from tui.screens.references import RulePickerDialog
from tui.widgets.rule_view import RowHeat
from tui.widgets.styles import human_count


class HottestDialog(RulePickerDialog):
    def __init__(self, hottest: list[tuple[Rule, RowHeat]]) -> None:
        extras = [f"+{human_count(h.packets)} pkts +{human_count(h.bytes)} B"
                  + (f" {h.rate:.1f}/s" if h.rate is not None else "") for _, h in hottest]
        title = (f"Hottest rules: the {len(hottest)} that grew most (Enter: go there)"
                 if hottest else "No rule grew.")
        super().__init__(title, [r for r, _ in hottest], extras)

"""`?`: every binding of the screen below, the app's and the widgets' ones."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def binding_rows(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(key, what it does, where) for every binding of the focused widget, its screen and the
    app, including those that do nothing right now (marked "not now"): the footer's keys
    first, then the screen's and app's others, then the focused widget's moving keys."""
    app = screen.app
    rows: list[tuple[str, str, str]] = []
    ranked: list[tuple[int, tuple[str, str, str]]] = []
    seen: set[tuple[str, str]] = set()
    try:  # the whole chain (Textual 8.2.8), with each action's state
        chain = [(node, [b for _, b in bindings]) for node, bindings in
                 screen._modal_binding_chain]
    except AttributeError:  # a Textual without it: what is active now
        chain = [(a.node, [a.binding]) for a in screen.active_bindings.values()]
    for node, bindings in chain:
        for binding in bindings:
            key = binding.key_display or app.get_key_display(binding)
            action = binding.action.removeprefix("app.")  # a screen's `?` is the app's
            if (key, action) in seen or (binding.system and binding.action != (
                    "app.command_palette")):
                continue
            seen.add((key, action))
            where = "app" if node is app else type(node).__name__
            try:
                state = app._check_action_state(binding.action, node)
            except Exception:
                state = True
            # the footer's short label, or the longer words of its tooltip
            does = binding.tooltip or binding.description or binding.action
            # what the footer offers first, then the screen's other keys, then moving about
            rank = 0 if binding.show else 1 if isinstance(node, (Screen, App)) else 2
            ranked.append((rank, (key, does + ("" if state else "  (not now)"), where)))
    ranked.sort(key=lambda item: item[0])  # stable: each group keeps its order
    rows.extend(row for _, row in ranked)
    return rows


def bindings_table(rows: list[tuple[str, str, str]]) -> Table:
    table = Table(title="Keys", expand=True, show_edge=False)
    table.add_column("key", style="bold cyan", no_wrap=True)
    table.add_column("does")
    table.add_column("where", style="dim")
    for row in rows:
        table.add_row(*row)
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 80%; height: 85%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under
        self.rows = binding_rows(under)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(bindings_table(self.rows), id="help-table")
            yield Static(
                "Mouse: click a chain or rule; double-click a jump to follow it; wheel scrolls.\n"
                "ctrl+p: go to any chain by name (fuzzy).", id="help-mouse")

"""The main screen: chain tree | rule view over rule detail, breadcrumb on top, status below.

Routes the widgets' messages: selecting a chain, following a jump (Enter), browser-style
back/forward history, references, search with a filter-to-matches toggle, delta/hottest views.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, Tree
from textual.worker import get_current_worker

from ruleset.model import Diagnostic, Rule
from ruleset.search import Query, search
from tui.explorer import Explorer
from tui.messages import ChainRequested
from tui.widgets.chain_tree import ChainRef, ChainTree
from tui.widgets.rule_detail import RuleDetail, detail_text
from tui.widgets.rule_view import RowMark, RuleView

SEARCH_MARK = RowMark("»", "bold yellow")


def plural(count: int, noun: str) -> str:
    """`1 rule`, `2 rules`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class Location:
    """Where the user is: a chain, the cursor in it, and the jumps taken to get there."""

    table: str
    chain: str
    cursor: int = 0
    trail: tuple[tuple[str, int], ...] = ()  # (chain, rule position) of each jump taken


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # `?` early in the footer: at 100 columns the later keys can be cut off, never it
        Binding("question_mark", "app.help", "Keys", key_display="?"),
        Binding("backspace,alt+left", "back", "Back"),
        Binding("right_square_bracket,alt+right", "forward", "Forward", key_display="]",
                show=False),
        Binding("r", "references", "Refs"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("f", "toggle_filter", "Filter"),
        Binding("n", "next_hit", "Next hit", show=False),
        Binding("N", "previous_hit", "Prev hit", show=False),
        Binding("escape", "clear_search", "Clear", show=False),
        Binding("t", "trace", "Trace",
                tooltip="Trace pkt: step a packet rule by rule (prefilled from this rule)"),
        Binding("u", "toggle_unchanged", "Hide unchanged"),
        Binding("h", "hottest", "Hottest"),
        Binding("less_than_sign", "baseline(-1)", "Earlier baseline", key_display="<",
                show=False),
        Binding("greater_than_sign", "baseline(1)", "Later baseline", key_display=">",
                show=False),
        Binding("D", "diagnostics", "Diagnostics"),
        Binding("i", "detail", "Rule detail", show=False),
        Binding("tab", "app.focus_next", "Focus", show=False),
        Binding("z", "toggle_tree", "Hide/show the chain tree", show=False),
        Binding("w", "toggle_wrap", "Wrap"),
    ]

    def __init__(self, explorer: Explorer) -> None:
        super().__init__()
        self.explorer = explorer
        self.location: Location | None = None
        self.back_stack: list[Location] = []
        self.forward_stack: list[Location] = []
        self.search_query: Query | None = None
        self.hits: list[Rule] = []
        self.hit_ids: set[int] = set()
        self.filter_to_hits = False
        self.hide_unchanged = False
        self._browsing = False  # the tree's cursor is showing chains as it moves
        self._status_extra = ""  # `hit 2/5`, `line 86: …`: true only where it was said

    # -- layout --

    def compose(self) -> ComposeResult:
        yield Static(id="breadcrumb")
        with Horizontal(id="panes"):
            yield ChainTree(id="chains")
            with Vertical(id="right"):
                yield RuleView(id="rules")
                yield RuleDetail(id="detail")
        yield Input(placeholder="search: text, address (10.0.0.5), port (443) or chain name",
                    id="search")
        yield Static(id="status")
        yield Footer(compact=True)  # with D, w and the delta keys, ? Keys stays at 100 columns

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        if self.query(ChainTree):
            self.reload()
        else:  # the panes' own children can mount a moment after the screen (seen when live
            self.call_after_refresh(self.reload)  # switches screens): fill in after that
        self._warm_graphs()

    @work(thread=True, exclusive=True, group="warm", description="build jump graphs")
    def _warm_graphs(self) -> None:
        """Jump graphs and reachability of every table, off the UI thread, so that the first
        visit to a 20,000-chain nat table is as quick as the rest."""
        worker = get_current_worker()
        for name in list(self.explorer.ruleset.tables):
            if worker.is_cancelled:
                return
            self.explorer.graphs[name].reachable()

    def reload(self) -> None:
        """Show the explorer's ruleset from scratch (after loading or a what-if edit)."""
        ex = self.explorer
        self.query_one(ChainTree).show_ruleset(ex.ruleset, ex.graphs)
        start = self.location or (
            Location(*first) if (first := ex.first_chain()) is not None else None
        )
        if start is not None and ex.chain(start.table, start.chain) is None:
            start = Location(*first) if (first := ex.first_chain()) is not None else None
        if start is not None:
            self._show(start)
            # the tree's cursor on the chain shown (its lines exist after the next refresh)
            self.call_after_refresh(self._reveal_current)
        self.update_status()
        self.query_one(RuleView).focus()

    # -- navigation --

    def _visible_rules(self, table: str, chain: str) -> list[Rule]:
        found = self.explorer.chain(table, chain)
        rules = list(found.rules) if found is not None else []
        if self.filter_to_hits and self.search_query is not None:
            rules = [r for r in rules if id(r) in self.hit_ids]
        heat = self.explorer.heat
        if self.hide_unchanged and heat is not None:
            rules = [r for r in rules if (h := heat.get(id(r))) is not None and
                     (h.packets or h.bytes or h.note)]
        return rules

    def _show(self, location: Location) -> None:
        if self._status_extra and location != self.location:
            self.update_status()  # `hit 2/5` or `line 86: …` was about where we were
        self.location = location
        view = self.query_one(RuleView)
        rules = self._visible_rules(location.table, location.chain)
        marks = {i: SEARCH_MARK for i in self.hit_ids} if self.search_query is not None else {}
        empty = "(no rules: the policy decides)" if self._is_builtin(location) else (
            "(no rules: returns to the caller)")
        if self.filter_to_hits or self.hide_unchanged:
            empty = "(no rules shown: a filter is on)"
        view.set_rules(
            rules,
            cursor=location.cursor,
            heat=self.explorer.heat,
            marks=marks,
            chain_names=self.explorer.chain_names.get(location.table),
            show_rate=self.explorer.delta_summary.startswith("live"),
            empty_text=empty,
        )
        self._update_breadcrumb()
        self._update_detail(view.current_rule)

    def _is_builtin(self, location: Location) -> bool:
        chain = self.explorer.chain(location.table, location.chain)
        return bool(chain and chain.builtin)

    def _current(self) -> Location | None:
        if self.location is None:
            return None
        return replace(self.location, cursor=self.query_one(RuleView).cursor)

    def navigate(self, table: str, chain: str, *, cursor: int = 0,
                 trail: tuple[tuple[str, int], ...] = (), push: bool = True,
                 reveal: bool = True) -> None:
        """Go to a chain, remembering where we were (browser-style)."""
        current = self._current()
        if push and current is not None:
            self.back_stack.append(current)
            self.forward_stack.clear()
        self._show(Location(table, chain, cursor, trail))
        if reveal:
            self.query_one(ChainTree).reveal(table, chain)
        self._refresh_history_bindings()

    def _refresh_history_bindings(self) -> None:
        """Back and Forward stay in the footer whether or not there is somewhere to go (they
        say so when not): redrawing the footer on every jump would cost more than the jump."""

    def follow(self, rule: Rule) -> bool:
        target = self.explorer.jump_target(rule)
        if target is None or self.location is None:
            return False
        trail = self.location.trail or ()
        self.navigate(rule.table_name, target,
                      trail=(*trail, (rule.chain_name, rule.position)))
        return True

    def action_back(self) -> None:
        if not self.back_stack:
            self.notify("Nothing to go back to.", severity="warning", timeout=2)
            return
        current = self._current()
        if current is not None:
            self.forward_stack.append(current)
        self._show(self.back_stack.pop())
        self._reveal_current()

    def action_forward(self) -> None:
        if not self.forward_stack:
            self.notify("Nothing to go forward to.", severity="warning", timeout=2)
            return
        current = self._current()
        if current is not None:
            self.back_stack.append(current)
        self._show(self.forward_stack.pop())
        self._reveal_current()

    def _reveal_current(self) -> None:
        trees = self.query(ChainTree)  # none when the screen is already going away
        if self.location is not None and trees:
            trees.first().reveal(self.location.table, self.location.chain)
        self._refresh_history_bindings()

    def _update_breadcrumb(self) -> None:
        loc = self.location
        crumb = Text()
        if loc is not None:
            crumb.append(f"{loc.table}: ", style="bold")
            for name, pos in loc.trail:
                crumb.append(name)
                crumb.append(f" #{pos}", style="dim")
                crumb.append(" › ", style="bold cyan")
            crumb.append(loc.chain, style="bold reverse")
            chain = self.explorer.chain(loc.table, loc.chain)
            if chain is not None:
                what = f"policy {chain.policy}" if chain.builtin else plural(
                    len(self.explorer.graphs[loc.table].references(loc.chain)), "reference")
                crumb.append(f"   {plural(len(chain.rules), 'rule')}, {what}", style="dim")
        self.query_one("#breadcrumb", Static).update(crumb, layout=False)

    def _update_detail(self, rule: Rule | None) -> None:
        heat = None
        if rule is not None and self.explorer.heat is not None:
            heat = self.explorer.heat.get(id(rule))
        names = self.explorer.chain_names.get(rule.table_name) if rule is not None else None
        try:
            text = detail_text(rule, chain_names=names, heat=heat,
                               family=self.explorer.ruleset.family, compact=True)
        except Exception as exc:  # a spec that cannot be resolved: say so, never crash
            text = Text(f"Cannot read this rule: {exc}\n{rule.text if rule else ''}",
                        style="red")
        self.query_one(RuleDetail).show(text)
        self._detail_rule = rule

    def update_status(self, extra: str = "") -> None:
        """The file, its format and size, then what is going on (diagnostics, delta, search,
        filters). Narrow screens shorten the path to its name, then leave out the format and
        size, so that what is going on stays in view."""
        rs = self.explorer.ruleset
        fmt = rs.format
        if rs.family.value == "ipv6" and fmt.startswith("iptables"):
            fmt = "ip6" + fmt[2:]  # the model keeps the iptables spelling; the user's is ip6
        about = Text(f"  {fmt}  {rs.family.value}  {plural(len(rs.tables), 'table')}, "
                     f"{plural(rs.rule_count, 'rule')}")
        state = Text()
        if rs.diagnostics:
            state.append(f"  {len(rs.diagnostics)} diagnostics (D)", style="bold yellow")
        if self.explorer.load_errors:
            state.append(f"  {len(self.explorer.load_errors)} files failed", style="bold red")
        if self.explorer.delta_summary:
            state.append("  " + self.explorer.delta_summary, style="bold")
        if self.search_query is not None:
            q = self.search_query
            found = f"  /{q.text}: {plural(len(self.hits), 'hit')} ({q.kind}; n/N next, f filter)"
            state.append(found, style="yellow")
            if self.filter_to_hits:
                state.append(" [filtered]", style="bold yellow")
        if self.hide_unchanged:
            state.append("  [unchanged hidden]", style="bold")
        if extra:
            state.append("  " + extra)
        self._status_extra = extra
        width = self.size.width or self.app.size.width
        path = rs.path
        if cell_len(f" {path} ") + about.cell_len + state.cell_len > width:
            path = os.path.basename(path) or path
        text = Text(f" {path} ", style="reverse")
        if cell_len(f" {path} ") + about.cell_len + state.cell_len <= width or not state:
            text.append_text(about)
        text.append_text(state)
        self.query_one("#status", Static).update(text, layout=False)

    # -- events --

    def on_resize(self, event: events.Resize) -> None:
        if self.query("#status"):
            self.update_status()  # the path shortened or not for the new width

    @on(RuleView.RuleHighlighted, "#rules")
    def _rule_highlighted(self, event: RuleView.RuleHighlighted) -> None:
        self._update_detail(event.rule)

    @on(RuleView.RuleActivated, "#rules")
    def _rule_activated(self, event: RuleView.RuleActivated) -> None:
        if not self.follow(event.rule):
            self.notify(f"{event.rule.target_name or 'This rule'} is not a chain to follow.",
                        timeout=2)

    @on(Tree.NodeHighlighted, "#chains")
    def _chain_highlighted(self, event: Tree.NodeHighlighted[ChainRef]) -> None:
        """Moving in the tree shows the chain under the cursor (as lazygit and k9s do); one
        history entry for the whole browse, so Back returns to where it started."""
        data = event.node.data
        if not self.query_one(ChainTree).has_focus or data is None or data.chain is None:
            return  # the cursor moved by itself (reveal) or onto a table/group
        if self.location is not None and (data.table, data.chain) == (
                self.location.table, self.location.chain):
            return
        self.navigate(data.table, data.chain, push=not self._browsing, reveal=False)
        self._browsing = True

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not isinstance(event.widget, ChainTree):
            self._browsing = False

    @on(Tree.NodeSelected, "#chains")
    def _chain_selected(self, event: Tree.NodeSelected[ChainRef]) -> None:
        data = event.node.data
        if data is not None and data.chain is not None:
            if self.location is None or (data.table, data.chain) != (
                self.location.table, self.location.chain
            ):
                self.navigate(data.table, data.chain, reveal=False)
            self.query_one(RuleView).focus()

    def on_chain_requested(self, message: ChainRequested) -> None:
        chain = self.explorer.chain(message.table, message.chain)
        if chain is None:
            self.notify(f"No chain {message.table}:{message.chain}", severity="error")
            return
        rules = self._visible_rules(message.table, message.chain)
        cursor = 0
        if message.position:
            cursor = next((i for i, r in enumerate(rules) if r.position == message.position), 0)
        self.navigate(message.table, message.chain, cursor=cursor)
        self.query_one(RuleView).focus()

    # -- references --

    def action_references(self) -> None:
        from tui.screens.references import ReferencesDialog

        if self.location is None:
            return
        refs = self.explorer.graphs[self.location.table].references(self.location.chain)
        self.app.push_screen(ReferencesDialog(self.location.chain, refs), self._goto_rule)

    def _goto_rule(self, rule: Rule | None) -> None:
        if rule is None:
            return
        self.on_chain_requested(ChainRequested(rule.table_name, rule.chain_name, rule.position))

    # -- search --

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.query_one(RuleView).focus()
        text = event.value.strip()
        if not text:
            self.action_clear_search()
            return
        names = {n for names in self.explorer.chain_names.values() for n in names}
        self.run_search(Query.parse(text, names))

    def run_search(self, query: Query) -> None:
        self.search_query = query
        self.update_status("searching…")
        self._search_worker(query)

    @work(thread=True, exclusive=True, group="search", description="search all rules")
    def _search_worker(self, query: Query) -> None:
        worker = get_current_worker()
        found: list[Rule] = []
        for rule in search(self.explorer.ruleset, query):
            if worker.is_cancelled:
                return
            found.append(rule)
        # Through this screen's queue (thread-safe), so a quit mid-search drops the result.
        self.call_later(self._search_done, query, found)

    def _search_done(self, query: Query, found: list[Rule]) -> None:
        if query is not self.search_query:
            return
        self.hits = found
        self.hit_ids = {id(r) for r in found}
        current = self._current()
        if current is not None:
            self._show(current)
        self.update_status()
        self.refresh_bindings()
        if found and self.location is not None and not any(
            r.chain_name == self.location.chain and r.table_name == self.location.table
            for r in found
        ):
            self.action_next_hit()
        elif not found:
            self.notify(f"No {query.describe()}.", timeout=3)

    def action_clear_search(self) -> None:
        box = self.query_one("#search", Input)
        if box.display:
            box.display = False
            self.query_one(RuleView).focus()
            return
        if self.search_query is None:
            return
        self.search_query = None
        self.hits, self.hit_ids = [], set()
        self.filter_to_hits = False
        current = self._current()
        if current is not None:
            self._show(current)
        self.update_status()
        self.refresh_bindings()

    def action_toggle_filter(self) -> None:
        if self.search_query is None:
            self.notify("Search first (/), then f filters the rules to the matches.", timeout=3)
            return
        current = self._current()
        rule = self.query_one(RuleView).current_rule
        self.filter_to_hits = not self.filter_to_hits
        if current is not None:
            self._show(current)
            self._place_cursor(rule)
        self.update_status()

    def _place_cursor(self, rule: Rule | None) -> None:
        view = self.query_one(RuleView)
        if rule is not None and (index := view.index_of(rule)) is not None:
            view.cursor = index

    def _step_hit(self, delta: int) -> None:
        if not self.hits:
            return
        view = self.query_one(RuleView)
        current = view.current_rule
        order = {id(r): i for i, r in enumerate(self.hits)}
        if current is not None and id(current) in order:
            index = (order[id(current)] + delta) % len(self.hits)
        else:
            index = 0 if delta > 0 else len(self.hits) - 1
            if current is not None and self.location is not None:
                # the first hit after the cursor in this chain, if any
                same = [i for i, r in enumerate(self.hits) if r.chain_name == self.location.chain
                        and r.table_name == self.location.table
                        and (r.position > current.position if delta > 0
                             else r.position < current.position)]
                if same:
                    index = same[0] if delta > 0 else same[-1]
        rule = self.hits[index]
        if rule is current:
            self.notify(f"{len(self.hits)} hit: this is it.", timeout=2)
        self._goto_rule(rule)
        self.update_status(f"hit {index + 1}/{len(self.hits)}")

    def action_next_hit(self) -> None:
        self._step_hit(1)

    def action_previous_hit(self) -> None:
        self._step_hit(-1)

    # -- delta views --

    def action_toggle_unchanged(self) -> None:
        if self.explorer.heat is None:
            self.notify("Open two snapshots (or live) to see counter deltas.", timeout=3)
            return
        current = self._current()
        rule = self.query_one(RuleView).current_rule
        self.hide_unchanged = not self.hide_unchanged
        if current is not None:
            self._show(current)
            self._place_cursor(rule)
        self.update_status()

    def action_baseline(self, step: int) -> None:
        """With three or more snapshots: count the delta from an earlier or later one."""
        from tui.heat import apply_snapshot_delta

        ex = self.explorer
        if len(ex.timed) < 3:
            self.notify("Open three or more snapshots to choose the baseline.", timeout=3)
            return
        baseline = max(0, min(len(ex.timed) - 2, ex.baseline + step))
        if baseline == ex.baseline:
            return
        ex.baseline = baseline
        apply_snapshot_delta(ex, ex.timed[baseline], ex.timed[-1], len(ex.timed))
        current = self._current()
        if current is not None:
            self._show(current)
        self.update_status()

    def action_hottest(self) -> None:
        from tui.screens.hottest import HottestDialog

        if self.explorer.heat is None:
            self.notify("Open two snapshots (or live) to see the hottest rules.", timeout=3)
            return
        self.app.push_screen(HottestDialog(self.explorer.hottest()), self._goto_rule)

    def action_toggle_tree(self) -> None:
        """`z`: the rules get the whole width (narrow terminals, wide rules), and back."""
        tree = self.query_one(ChainTree)
        tree.display = not tree.display
        if not tree.display:
            self.query_one(RuleView).focus()
        elif self.location is not None:
            tree.reveal(self.location.table, self.location.chain)

    def action_toggle_wrap(self) -> None:
        """`w`: each rule's whole matches on lines of their own under it, and back."""
        view = self.query_one(RuleView)
        view.set_wrap(not view.wrap)
        self.app.wrap_rules = view.wrap  # type: ignore[attr-defined]  # the stepper's too

    def on_screen_resume(self) -> None:
        views = self.query(RuleView)
        if views:
            views.first().set_wrap(getattr(self.app, "wrap_rules", False))

    def action_detail(self) -> None:
        from tui.screens.diagnostics import TextDialog

        rule = self.query_one(RuleView).current_rule
        heat = self.explorer.heat.get(id(rule)) if rule and self.explorer.heat else None
        names = self.explorer.chain_names.get(rule.table_name) if rule is not None else None
        self.app.push_screen(TextDialog(detail_text(
            rule, chain_names=names, heat=heat, family=self.explorer.ruleset.family)))

    def action_diagnostics(self) -> None:
        from tui.screens.diagnostics import DiagnosticsDialog

        self.app.push_screen(DiagnosticsDialog(self.explorer), self._goto_diagnostic)

    def _goto_diagnostic(self, diag: Diagnostic | None) -> None:
        """A rule line: select that rule; any other line: show it with its neighbours."""
        from tui.screens.diagnostics import TextDialog, diagnostic_context

        if diag is None:
            return
        rule = self.explorer.rule_at(diag.path, diag.line)
        if rule is not None:
            self._goto_rule(rule)
            self.update_status(f"line {diag.line}: {rule.chain_name} #{rule.position}")
            return
        self.app.push_screen(TextDialog(diagnostic_context(diag)))

    def action_trace(self) -> None:
        start = getattr(self.app, "start_trace", None)
        if start is not None:
            start(self.query_one(RuleView).current_rule)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_unchanged", "hottest"):
            return self.explorer.heat is not None
        if action == "baseline":
            return len(self.explorer.timed) >= 3
        if action in ("toggle_filter", "next_hit", "previous_hit"):
            return self.search_query is not None
        if action == "diagnostics":
            return bool(self.explorer.ruleset.diagnostics or self.explorer.load_errors)
        return True

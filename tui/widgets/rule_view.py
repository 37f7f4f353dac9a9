"""The rule view: a chain's rules as a table, drawn with Textual's line API.

Only the rows on screen are rendered (`render_line`), each once, into an LRU cache of Strips,
so a 5,000-rule KUBE-SERVICES chain costs no more than a 5-rule one. A rule's spec is
resolved (`Rule.spec`) only when its row is first drawn.

The widget holds no ruleset logic: the screen sets `rules`, optional per-rule heat (counter
deltas), marks (stepping results, search hits, breakpoints) and a highlighted rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ruleset.model import Rule
from ruleset.spec import TargetKind, match_summary, target_kind
from tui.render import format_count
from tui.widgets.styles import TARGET_STYLES, human_count


@dataclass(frozen=True, slots=True)
class RowHeat:
    """What the delta/live views show for one rule: growth since the baseline."""

    packets: int
    bytes: int
    heat: float = 0.0  # 0..1, how hot relative to the hottest rule shown
    note: str = ""  # "new", "moved", "reset", "~" (approximate)
    rate: float | None = None  # packets per second when live
    packets_range: tuple[int, int] | None = None  # bounds of a growth from rounded -L figures
    bytes_range: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class RowMark:
    """A symbol in the gutter and an optional style for the row (stepping, search hits)."""

    symbol: str
    style: str = ""  # a Rich style string for the gutter symbol
    row_style: str = ""  # a Rich style string merged into the whole row


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int  # 0 = flexible
    right: bool = False


BASE_COLUMNS = (
    Column("gutter", "", 2),
    Column("num", "#", 4, right=True),
    Column("pkts", "pkts", 6, right=True),
    Column("bytes", "bytes", 6, right=True),
)
DELTA_COLUMNS = (
    Column("dpkts", "Δpkts", 8, right=True),
    Column("dbytes", "Δbytes", 8, right=True),
)
RATE_COLUMNS = (Column("rate", "pkt/s", 8, right=True),)
REST_COLUMNS = (
    Column("target", "target", 22),
    Column("prot", "prot", 4),
    Column("iface", "in→out", 11),
    Column("source", "source", 18),
    Column("destination", "destination", 18),
    Column("matches", "matches  /* comment */", 0),
)
TARGET_MIN, TARGET_MAX = 22, 34  # the target column's width range
FLEX_MIN = 70  # the matches column is at least this wide; the view scrolls sideways for it
HEAT_BG = ((60, 20, 0), (150, 50, 0))  # from faint to hot


def _fit(text: str, width: int, right: bool = False) -> str:
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    pad = width - cell_len(text)
    return (" " * pad + text) if right else (text + " " * pad)


def _opt_text(rule: Rule, name: str) -> str:
    opt = rule.spec.option(name)
    if opt is None:
        return ""
    return ("!" if opt.negated else "") + opt.value


def readable_matches(rule: Rule) -> str:
    """The rule's matches (comment excluded) as compact words: `tcp --dport 443`."""
    parts = [match_summary(m) for m in rule.spec.matches if m.module != "comment"]
    if rule.spec.fragment is not None:
        parts.insert(0, ("! " if rule.spec.fragment.negated else "") + "-f")
    target = rule.spec.target
    if target is not None and target.options:
        parts.append("→ " + " ".join(
            ("! " if o.negated else "") + o.name + (" " + o.value if o.values else "")
            for o in target.options))
    return "  ".join(parts)


def _count(value: int, unit: int, exact: bool) -> str:
    """A counter column: exact figures shortened like `iptables -L -v` (`111K`), rounded `-L`
    ones as printed (`1K` stays `1K`, never a made-up `1000`)."""
    return human_count(value) if exact or unit <= 1 else format_count(value, unit)


def cell_values(rule: Rule) -> dict[str, str]:
    """The text of each column for one rule (resolves the spec)."""
    spec = rule.spec
    counters = rule.counters
    target = rule.target_name or ""
    if rule.goto and target:
        target = "goto " + target
    iface_in = _opt_text(rule, "-i")
    iface_out = _opt_text(rule, "-o")
    iface = "" if not (iface_in or iface_out) else f"{iface_in or '*'}→{iface_out or '*'}"
    return {
        "num": str(rule.position),
        "pkts": _count(counters.packets, counters.packets_unit, counters.exact)
        if counters else "",
        "bytes": _count(counters.bytes, counters.bytes_unit, counters.exact) if counters else "",
        "target": target,
        "prot": _opt_text(rule, "-p") or "all",
        "iface": iface,
        "source": _opt_text(rule, "-s") or "anywhere",
        "destination": _opt_text(rule, "-d") or "anywhere",
        "matches": readable_matches(rule) + (
            ("  /* " + spec.comment + " */") if spec.comment else ""),
    }


class RuleView(ScrollView, can_focus=True):
    """A chain's rules, one per line, with a sticky header and a cursor."""

    DEFAULT_CSS = """
    RuleView {
        background: $surface;
        overflow-y: scroll;
    }
    RuleView > .rule-view--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    RuleView > .rule-view--cursor {
        background: $accent 40%;
    }
    RuleView:focus > .rule-view--cursor {
        background: $accent 70%;
    }
    RuleView > .rule-view--dim {
        color: $text-muted;
    }
    RuleView > .rule-view--empty {
        color: $text-muted;
        text-style: italic;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "rule-view--header",
        "rule-view--cursor",
        "rule-view--dim",
        "rule-view--empty",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("enter", "activate", "Follow jump"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    @dataclass
    class RuleHighlighted(Message):
        """The cursor moved onto a rule (None when the view is empty)."""

        rule_view: RuleView
        rule: Rule | None
        index: int

        @property
        def control(self) -> RuleView:
            return self.rule_view

    @dataclass
    class RuleActivated(Message):
        """Enter (or a click on the selected row) on a rule."""

        rule_view: RuleView
        rule: Rule

        @property
        def control(self) -> RuleView:
            return self.rule_view

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rules: Sequence[Rule] = ()
        self.heat: dict[int, RowHeat] | None = None  # id(rule) -> heat, None = no delta columns
        self.show_rate = False
        self.marks: dict[int, RowMark] = {}
        self.highlighted: int | None = None  # id(rule) drawn as "current" (stepping)
        self.empty_text = "(no rules)"
        self.can_activate = True  # Enter follows a jump (the stepper has no use for it)
        self.chain_names: frozenset[str] | None = None
        self._cache: LRUCache[tuple[int, bool], tuple[Rule, Strip]] = LRUCache(2048)
        self._columns: list[tuple[Column, int]] = []
        self._header: Strip | None = None
        self._render_count = 0  # rows rendered (for tests and the benchmark)
        self._styles: dict[str, Style] = {}  # component and base styles, per invalidate

    # -- data in --

    def set_rules(
        self,
        rules: Sequence[Rule],
        *,
        cursor: int = 0,
        heat: dict[int, RowHeat] | None = None,
        marks: dict[int, RowMark] | None = None,
        chain_names: frozenset[str] | None = None,
        show_rate: bool = False,
        empty_text: str = "(no rules)",
    ) -> None:
        marks = marks or {}
        same_look = (heat is self.heat and show_rate == self.show_rate
                     and chain_names == self.chain_names and marks == self.marks
                     and self.highlighted is None)
        self.rules = rules
        self.heat = heat
        self.show_rate = show_rate
        self.marks = marks
        self.chain_names = chain_names
        self.empty_text = empty_text
        self.highlighted = None
        widths = dict((c.key, w) for c, w in self._columns)
        if same_look and widths.get("target", -1) != self._target_width():
            same_look = False  # the target column changes width: every row is redrawn
        if same_look:
            # Rows are cached by rule, so going back to a chain shown before redraws nothing.
            self.refresh()
        else:
            self.invalidate()
        self._update_virtual_size()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.cursor = max(0, min(cursor, len(rules) - 1))

    def set_marks(self, marks: dict[int, RowMark], highlighted: int | None = None) -> None:
        self.marks = marks
        self.highlighted = highlighted
        self.invalidate()

    def invalidate(self) -> None:
        """Forget every rendered row (data or styles changed)."""
        self._cache.clear()
        self._header = None
        self._columns = []
        self._styles = {}
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._header = None
        self._styles = {}

    def _style(self, name: str) -> Style:
        """The base style ("") or a component's style, looked up once per invalidate (CSS
        lookups cost more than drawing a row)."""
        found = self._styles.get(name)
        if found is None:
            if name == "":
                found = self.rich_style
            elif name.endswith("/partial"):
                found = self.get_component_rich_style(name[:-8], partial=True)
            else:
                found = self.get_component_rich_style(name)
            self._styles[name] = found
        return found

    @property
    def current_rule(self) -> Rule | None:
        if 0 <= self.cursor < len(self.rules):
            return self.rules[self.cursor]
        return None

    def index_of(self, rule: Rule) -> int | None:
        for i, r in enumerate(self.rules):
            if r is rule:
                return i
        return None

    # -- geometry --

    def _update_virtual_size(self) -> None:
        size = Size(max(self.size.width, self.row_width), len(self.rules) + 1)
        if size.width == self.virtual_size.width and self.size.height:
            # Only the number of rows changed: the vertical scrollbar is always shown
            # (overflow-y: scroll), so no layout of the screen is needed, only the scrollbar.
            # (Assigning virtual_size would lay out and repaint the whole screen.)
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
            self.refresh()
        else:
            self.virtual_size = size

    def on_resize(self) -> None:
        self.invalidate()
        self._update_virtual_size()

    def _layout(self) -> list[tuple[Column, int]]:
        if self._columns:
            return self._columns
        cols: list[Column] = list(BASE_COLUMNS)
        if self.heat is not None:
            cols += DELTA_COLUMNS
            if self.show_rate:
                cols += RATE_COLUMNS
        cols += REST_COLUMNS
        cols = [replace(c, width=self._target_width()) if c.key == "target" else c
                for c in cols]
        fixed = sum(c.width + 1 for c in cols if c.width)
        flex = max(FLEX_MIN, self.size.width - fixed - 1)
        self._columns = [(c, c.width or flex) for c in cols]
        return self._columns

    def _target_width(self) -> int:
        """Wide enough for the longest target of the chain (`neutron-openvswi-i6746373c-0`,
        `goto KUBE-SEP-…` in full), between TARGET_MIN and TARGET_MAX."""
        longest = max((len(r.target_name or "") + (5 if r.goto else 0) for r in self.rules),
                      default=0)
        return max(TARGET_MIN, min(TARGET_MAX, longest))

    @property
    def row_width(self) -> int:
        return sum(width + 1 for _, width in self._layout())

    @property
    def _data_height(self) -> int:
        return max(1, self.size.height - 1)

    # -- cursor --

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.rules) - 1)) if self.rules else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_cursor_into_view()
        self.post_message(self.RuleHighlighted(self, self.current_rule, new))

    def _refresh_row(self, index: int) -> None:
        y = index + 1 - int(self.scroll_offset.y)
        if 1 <= y < self.size.height:
            self.refresh_lines(index + 1)

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        height = self._data_height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self.cursor -= self._data_height

    def action_page_down(self) -> None:
        self.cursor += self._data_height

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self.rules) - 1

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "activate":
            return self.can_activate  # False: Enter is neither bound nor in the footer
        return True

    def action_activate(self) -> None:
        rule = self.current_rule
        if rule is not None:
            self.post_message(self.RuleActivated(self, rule))

    def on_click(self, event: Click) -> None:
        index = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.rules):
            if index == self.cursor and event.chain >= 2:
                self.action_activate()
            self.cursor = index
            self.focus()

    # -- rendering --

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = int(self.scroll_offset.x)
        base = self._style("")
        if y == 0:
            if self._header is None:
                self._header = self._render_header()
            return self._header.crop_extend(scroll_x, scroll_x + width, base)
        index = int(self.scroll_offset.y) + y - 1
        if not self.rules:
            if y == 1:
                style = base + self._style("rule-view--empty")
                return Strip([Segment("  " + self.empty_text, style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        if index >= len(self.rules):
            return Strip.blank(width, base)
        rule = self.rules[index]
        key = (id(rule), index == self.cursor)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is rule:  # ids of freed rules can be reused
            strip = hit[1]
        else:
            strip = self._render_row(index)
            self._cache[key] = (rule, strip)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _render_header(self) -> Strip:
        style = self._style("") + self._style("rule-view--header")
        segs = []
        for col, width in self._layout():
            segs.append(Segment(_fit(col.title, width, col.right) + " ", style))
        return Strip(segs)

    def _render_row(self, index: int) -> Strip:
        self._render_count += 1
        rule = self.rules[index]
        try:
            values = cell_values(rule)
        except Exception as exc:  # a spec that cannot be resolved: show it, never crash
            values = {"num": str(rule.position), "target": rule.target_name or "",
                      "matches": f"(cannot read this rule: {exc}) {rule.text}"}
        base = self._style("")
        row_style = Style()
        mark = self.marks.get(id(rule))
        heat = self.heat.get(id(rule)) if self.heat is not None else None
        if heat is not None and heat.heat > 0 and not self.app.no_color:
            row_style += Style(bgcolor=_heat_color(heat.heat))
        if mark is not None and mark.row_style:
            row_style += Style.parse(mark.row_style)
        if self.highlighted == id(rule):
            row_style += Style(reverse=True)
        if index == self.cursor:
            row_style += self._style("rule-view--cursor/partial")
        dim = self._style("rule-view--dim/partial")
        kind = target_kind(rule.target_name, rule.goto, self.chain_names)
        target_style = TARGET_STYLES.get(kind, Style())
        if heat is not None:
            if heat.note in ("new", "reset"):
                values["dpkts"], values["dbytes"] = heat.note, ""
            else:
                values["dpkts"] = ("+" if heat.packets else "") + human_count(heat.packets)
                values["dbytes"] = ("+" if heat.bytes else "") + human_count(heat.bytes)
                if heat.note == "~":
                    values["dpkts"] = "~" + values["dpkts"]
            values["rate"] = f"{heat.rate:.1f}" if heat.rate is not None else ""
        elif self.heat is not None:
            values["dpkts"] = values["dbytes"] = values["rate"] = ""
        segs: list[Segment] = []
        for col, width in self._layout():
            if col.key == "gutter":
                text = mark.symbol if mark else ""
                style = Style.parse(mark.style) if mark and mark.style else Style()
            else:
                text = values.get(col.key, "")
                style = Style()
                if col.key == "target":
                    style = target_style
                elif col.key in ("pkts", "bytes") or (
                    col.key in ("source", "destination") and text == "anywhere"
                ):
                    style = dim
                elif col.key in ("dpkts", "dbytes") and heat is not None and heat.packets:
                    style = Style(bold=True)
            segs.append(Segment(_fit(text, width, col.right) + " ", base + style + row_style))
        return Strip(segs)


def _heat_color(heat: float) -> str:
    heat = max(0.0, min(1.0, heat))
    lo, hi = HEAT_BG
    r, g, b = (int(a + (c - a) * heat) for a, c in zip(lo, hi, strict=True))
    return f"rgb({r},{g},{b})"


def kind_of(rule: Rule, chains: frozenset[str] | None) -> TargetKind:
    return target_kind(rule.target_name, rule.goto, chains)


RuleFilter = Callable[[Rule], bool]

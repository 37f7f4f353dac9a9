"""The rule view: a chain's rules as a table, drawn with Textual's line API.

Only the rows on screen are rendered (`render_line`), each once, into an LRU cache of Strips,
so a 5,000-rule KUBE-SERVICES chain costs no more than a 5-rule one. A rule's spec is
resolved (`Rule.spec`) only when its row is first drawn.

The widget holds no ruleset logic: the screen sets `rules`, optional per-rule heat (counter
deltas), marks (stepping results, search hits, breakpoints) and a highlighted rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ruleset.model import Rule, RuleSpec
from ruleset.spec import TargetKind, normalize_protocol, target_kind
from tui.render import (
    OPAQUE_STYLE,
    comment_text,
    format_count,
    generic_text,
    match_text,
    target_options_text,
)
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
    width: int  # the least width; fitted columns grow to their widest value
    right: bool = False


GUTTER = Column("gutter", "", 2)
NUM = Column("num", "#", 1, right=True)
PKTS = Column("pkts", "pkts", 4, right=True)
BYTES = Column("bytes", "bytes", 5, right=True)
DELTA_COLUMNS = (
    Column("dpkts", "Δpkts", 5, right=True),
    Column("dbytes", "Δbytes", 6, right=True),
)
RATE_COLUMNS = (Column("rate", "pkt/s", 5, right=True),)
TARGET = Column("target", "target", 6)
PROT = Column("prot", "prot", 4)
IFACE = Column("iface", "in→out", 6)
SOURCE = Column("source", "src", 3)
DESTINATION = Column("destination", "dst", 3)
MATCHES = Column("matches", "matches  /* comment */", 0)
# The columns fitted to the chain's content (the rest have fixed widths).
FITTED = ("num", "pkts", "bytes", "dpkts", "dbytes", "rate", "target", "prot", "iface", "source",
          "destination", "matches")
# -p -s -d -i -o have columns of their own (unless folded into the matches at narrow widths).
COLUMN_OPTIONS = frozenset({"-p", "-s", "-d", "-i", "-o"})
ANY = "any"  # an address column without -s/-d (iptables -L says `anywhere`, -n `0.0.0.0/0`)
TARGET_FLOOR, TARGET_MAX = 18, 34  # the target column's width range (longer names: elided)
ADDR_FLOOR, ADDR_MAX = 18, 43  # an address column's width range (an IPv6 /128 is 43 wide)
MATCH_MIN = 28  # the matches column gets at least this much before targets and addresses do
NARROW = 90  # narrower views fold prot/in→out/src/dst into the matches and drop the bytes
FIT_ALL = 100  # chains up to this long are fitted whole (resolving their specs: ~0.2 ms a
# rule from iptables-save); longer ones to the rows shown so far, growing as more are shown
HEAT_BG = ((60, 20, 0), (150, 50, 0))  # from faint to hot


def _fit(text: str, width: int, right: bool = False) -> str:
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    pad = width - cell_len(text)
    return (" " * pad + text) if right else (text + " " * pad)


def elide_middle(text: str, width: int) -> str:
    """`neutron-openvswi-o2c6951d5-e` in 20 cells: `neutro…i-o2c6951d5-e`: both ends stay
    readable (names of one family differ at the end). The tail gets the larger share."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 3
    tail = width - 1 - head
    return text[:head] + "…" + text[len(text) - tail:]


def _opt_text(rule: Rule, name: str) -> str:
    opt = rule.spec.option(name)
    if opt is None:
        return ""
    return ("!" if opt.negated else "") + opt.value


def matches_parts(rule: Rule, *, folded: bool = False) -> tuple[Text, Text]:
    """What a rule matches in compact -L words (`physdev in tap0 is-bridged`,
    `match-set NAME src`, `dport 443`), then `→` the target's options; and its comment.

    `folded`: the protocol, interfaces and addresses are in it too (`udp src 10.0.0.1 ...`),
    for views too narrow for their columns. The words are tui.render's."""
    spec = rule.spec
    proto_opt = spec.protocol
    protocol = (normalize_protocol(proto_opt.value)
                if proto_opt is not None and not proto_opt.negated else None)
    parts: list[Text] = []
    generic = spec.generic if folded else tuple(
        o for o in spec.generic if o.name not in COLUMN_OPTIONS)
    if generic:
        parts.append(generic_text(RuleSpec(generic=generic)))
    for match in spec.matches:
        if match.module == "comment":
            continue
        text = match_text(match, protocol=protocol)
        if text.plain:  # empty: `-m udp` repeating `-p udp`, nothing to say
            parts.append(text)
    parts.extend(Text(raw, style=OPAQUE_STYLE) for raw in spec.opaque)
    target = spec.target
    if target is not None and target.options:
        arrow = Text("→ ", style="dim")
        arrow.append_text(target_options_text(target))
        parts.append(arrow)
    return Text(" ").join(parts), comment_text(spec.comment)


def matches_cell(rule: Rule, *, folded: bool = False) -> Text:
    """`matches_parts` on one line: `physdev in tap0 is-bridged  /* comment */`."""
    body, comment = matches_parts(rule, folded=folded)
    if comment.plain:
        if body.plain:
            body.append("  ")
        body.append_text(comment)
    return body


def readable_matches(rule: Rule) -> str:
    """The rule's matches and target options as plain compact words (no comment)."""
    return matches_parts(rule)[0].plain


def _count(value: int, unit: int, exact: bool) -> str:
    """A counter column: exact figures shortened like `iptables -L -v` (`111K`), rounded `-L`
    ones as printed (`1K` stays `1K`, never a made-up `1000`)."""
    return human_count(value) if exact or unit <= 1 else format_count(value, unit)


def cell_values(rule: Rule) -> dict[str, str]:
    """The text of each fixed column for one rule (resolves the spec); empty prot, iface,
    source and destination mean `all`, none, `any` and `any`."""
    counters = rule.counters
    target = rule.target_name or ""
    if rule.goto and target:
        target = "goto " + target
    iface_in = _opt_text(rule, "-i")
    iface_out = _opt_text(rule, "-o")
    iface = "" if not (iface_in or iface_out) else f"{iface_in or '*'}→{iface_out or '*'}"
    prot = _opt_text(rule, "-p")
    if prot.lstrip("!").isdigit():  # iptables -L 1.8.9 prints numbers: names read better
        bang = "!" if prot.startswith("!") else ""
        prot = bang + normalize_protocol(prot.lstrip("!"))
    return {
        "num": str(rule.position),
        "pkts": _count(counters.packets, counters.packets_unit, counters.exact)
        if counters else "",
        "bytes": _count(counters.bytes, counters.bytes_unit, counters.exact) if counters else "",
        "target": target,
        "prot": prot,
        "iface": iface,
        "source": _opt_text(rule, "-s"),
        "destination": _opt_text(rule, "-d"),
    }


def heat_values(heat: RowHeat | None) -> dict[str, str]:
    """The delta columns of one rule: `+12`, `~+3K` (from rounded figures), `new`, `reset`."""
    if heat is None:
        return {"dpkts": "", "dbytes": "", "rate": ""}
    if heat.note in ("new", "reset"):
        dpkts, dbytes = heat.note, ""
    else:
        dpkts = ("+" if heat.packets else "") + human_count(heat.packets)
        dbytes = ("+" if heat.bytes else "") + human_count(heat.bytes)
        if heat.note == "~":
            dpkts = "~" + dpkts
    return {"dpkts": dpkts, "dbytes": dbytes,
            "rate": f"{heat.rate:.1f}" if heat.rate is not None else ""}


def _safe_values(rule: Rule, folded: bool) -> dict[str, str]:
    """`cell_values` and the matches (to fit the columns to)."""
    try:
        values = cell_values(rule)
        values["matches"] = matches_cell(rule, folded=folded).plain
        return values
    except Exception:  # a spec that cannot be resolved: the row says so when drawn
        return {"num": str(rule.position), "target": rule.target_name or "", "matches": "?" * 40}


class RuleView(ScrollView, can_focus=True):
    """A chain's rules, one per line (or wrapped: `wrap`), with a sticky header and a cursor.

    Columns are fitted to the chain shown: target, prot, in→out, src and dst as wide as their
    widest value (prot and in→out left out when no rule has them), long targets and addresses
    elided in the middle, the matches column takes the rest. With `wrap` each rule's matches
    continue on the lines below it, under the matches column. Scrolling is by rule: the
    scroll offset is the index of the top rule, so only the rules on screen are measured."""

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
        Binding("enter", "activate", "Follow",
                tooltip="Follow jump: open the chain this rule jumps or goes to"),
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
        self.wrap = False  # each rule's whole matches on continuation lines
        # Rendered rules: (id(rule), is cursor, layout) -> (rule, its lines).
        self._cache: LRUCache[tuple[int, bool, tuple[object, ...]], tuple[Rule, list[Strip]]] = (
            LRUCache(2048))
        self._columns: list[tuple[Column, int]] = []
        self._layout_key: tuple[object, ...] = ()
        self._fit: dict[str, int] = {}  # widest value of each fitted column measured so far
        # Each rule's cell texts, measured (id(rule), folded) -> (rule, texts): going back to
        # a long chain measures nothing again.
        self._values: LRUCache[tuple[int, bool], tuple[Rule, dict[str, str]]] = LRUCache(4096)
        self._measured: set[int] = set()  # indexes measured (long chains are measured lazily)
        self._screen: tuple[tuple[object, ...], list[tuple[int, int]]] | None = None
        self._header: Strip | None = None
        self._render_count = 0  # rules rendered (for tests and the benchmark)
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
        if same_look:
            # Rows are cached by rule and layout, so going back to a chain shown before
            # redraws nothing; only the columns are fitted again (to this chain).
            self._relayout()
        else:
            self.invalidate()
        self.scroll_to(y=0, animate=False, immediate=True)
        self._update_virtual_size()
        self.cursor = max(0, min(cursor, len(rules) - 1))

    def set_marks(self, marks: dict[int, RowMark], highlighted: int | None = None) -> None:
        self.marks = marks
        self.highlighted = highlighted
        self.invalidate()

    def set_wrap(self, wrap: bool) -> None:
        """Show each rule's whole matches on continuation lines (True) or one line a rule."""
        if wrap == self.wrap:
            return
        self.wrap = wrap
        self._relayout()
        self._update_virtual_size()
        self._scroll_cursor_into_view()

    def invalidate(self) -> None:
        """Forget every rendered row (data or styles changed)."""
        self._cache.clear()
        self._values.clear()
        self._styles = {}
        self._relayout()

    def _relayout(self) -> None:
        """Fit the columns again (another chain, width or mode)."""
        self._header = None
        self._columns = []
        self._fit = {}
        self._measured = set()
        self._screen = None
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

    @property
    def _top(self) -> int:
        return int(self.scroll_offset.y)

    def _update_virtual_size(self) -> None:
        if self.wrap and self.size.height:
            height = self._tail_top() + self.size.height
        else:
            height = len(self.rules) + 1
        size = Size(max(self._view_width, self.row_width), height)
        if size.width == self.virtual_size.width and self.size.height:
            # Only the number of rows changed: the vertical scrollbar is always shown
            # (overflow-y: scroll), so no layout of the screen is needed, only the scrollbar.
            # (Assigning virtual_size would lay out and repaint the whole screen.)
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
            self.refresh()
        else:
            self.virtual_size = size

    def _tail_top(self) -> int:
        """The top rule when the last rule ends at the bottom (the furthest scroll)."""
        room = self._data_height
        used = 0
        index = len(self.rules) - 1
        while index >= 0:
            used += self._height(index)
            if used > room:
                break
            index -= 1
        return max(0, min(index + 1, len(self.rules) - 1))

    def on_resize(self) -> None:
        self.invalidate()
        self._update_virtual_size()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._screen = None
        if self._columns and len(self.rules) > FIT_ALL and self._measure_window():
            self._relayout_keeping_fit()

    def _relayout_keeping_fit(self) -> None:
        """A wider value came into view: the columns grow (never shrink) while on this chain."""
        self._header = None
        self._columns = []
        self._screen = None
        self.refresh()

    def _measure(self, indexes: Iterable[int]) -> bool:
        """Widen the fitted columns to the values of these rules; True if any grew."""
        fit = self._fit
        grew = False
        rules = self.rules
        for index in indexes:
            if index in self._measured or not 0 <= index < len(rules):
                continue
            self._measured.add(index)
            rule = rules[index]
            vkey = (id(rule), self.folded)
            hit = self._values.get(vkey)
            if hit is not None and hit[0] is rule:
                values = hit[1]
            else:
                values = _safe_values(rule, self.folded)
                self._values[vkey] = (rule, values)
            if self.heat is not None:  # the delta columns (not cached: polls change them)
                values = {**values, **heat_values(self.heat.get(id(rule)))}
            for key in FITTED:
                width = cell_len(values.get(key, ""))
                if width > fit.get(key, 0):
                    fit[key] = width
                    grew = True
        return grew

    def _measure_window(self) -> bool:
        top = self._top
        return self._measure(range(top, min(len(self.rules), top + self._data_height + 1)))

    @property
    def folded(self) -> bool:
        """Too narrow for the prot/in→out/src/dst columns: they fold into the matches."""
        return 0 < self._view_width < NARROW

    def _layout(self) -> list[tuple[Column, int]]:
        if self._columns:
            return self._columns
        if len(self.rules) <= FIT_ALL:
            self._measure(range(len(self.rules)))
        else:
            self._measure_window()
            self._measure([self.cursor])
        fit = self._fit
        folded = self.folded
        cols: list[Column] = [GUTTER, NUM]
        if fit.get("pkts"):
            cols.append(PKTS)
            if not folded:
                cols.append(BYTES)
        if self.heat is not None:
            cols.append(DELTA_COLUMNS[0])
            if not folded:
                cols.append(DELTA_COLUMNS[1])
            if self.show_rate:
                cols += RATE_COLUMNS
        cols.append(TARGET)
        if not folded:
            cols += [c for c in (PROT, IFACE) if fit.get(c.key)]
            cols += [SOURCE, DESTINATION]
        widths = {c.key: max(c.width, fit.get(c.key, 0)) if c.key in FITTED else c.width
                  for c in cols}
        # the target and addresses may take the matches' room when the matches are short
        match_min = max(len("matches"), min(MATCH_MIN, fit.get("matches", 0)))
        for key in ("source", "destination"):
            if key in widths:
                widths[key] = min(widths[key], ADDR_MAX)
        total = self._view_width - 1  # the matches column's trailing space
        others = sum(w + 1 for k, w in widths.items() if k != "target")
        target_room = max(TARGET_FLOOR, min(TARGET_MAX, total - others - 1 - match_min))
        widths["target"] = min(widths["target"], target_room)
        over = others + widths["target"] + 1 + match_min - total
        for key in ("destination", "source"):  # still too wide: addresses give way
            if over > 0 and key in widths and widths[key] > ADDR_FLOOR:
                give = min(over, widths[key] - ADDR_FLOOR)
                widths[key] -= give
                over -= give
        fixed = sum(widths.values()) + len(widths)
        widths["matches"] = max(match_min, total - fixed)
        cols.append(MATCHES)
        self._columns = [(c, widths[c.key]) for c in cols]
        self._layout_key = (tuple(w for _, w in self._columns), folded, self.wrap)
        return self._columns

    @property
    def row_width(self) -> int:
        return sum(width + 1 for _, width in self._layout())

    @property
    def _view_width(self) -> int:
        """Cells for the rows: the widget less its vertical scrollbar."""
        return self.scrollable_content_region.width

    @property
    def _data_height(self) -> int:
        """Lines for rules: the widget less the header (and a horizontal scrollbar)."""
        return max(1, self.scrollable_content_region.height - 1)

    def _height(self, index: int) -> int:
        """Lines the rule at `index` takes (1 unless wrapped)."""
        return len(self._lines(index)) if self.wrap else 1

    def _screen_rows(self) -> list[tuple[int, int]]:
        """(rule index, line of the rule) for each data line on screen, top to bottom."""
        key = (self._top, self._layout_key, len(self.rules), self._data_height, self.wrap)
        if self._screen is not None and self._screen[0] == key:
            return self._screen[1]
        rows: list[tuple[int, int]] = []
        index = self._top
        room = self._data_height
        while len(rows) < room and index < len(self.rules):
            for sub in range(self._height(index)):
                rows.append((index, sub))
            index += 1
        rows = rows[:room]
        self._screen = (key, rows)
        return rows

    def _rules_on_screen(self) -> int:
        if not self.wrap:
            return self._data_height
        return max(1, len({index for index, _ in self._screen_rows()}))

    # -- cursor --

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.rules) - 1)) if self.rules else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_cursor_into_view()
        if len(self.rules) > FIT_ALL and self._columns and self._measure([new]):
            self._relayout_keeping_fit()
        self.post_message(self.RuleHighlighted(self, self.current_rule, new))

    def _refresh_row(self, index: int) -> None:
        if self.wrap:
            self.refresh()  # the rows on screen are cached: only the cursor's are redrawn
            return
        y = index + 1 - self._top
        if 1 <= y < self.size.height:
            self.refresh_lines(index + 1)

    def _scroll_cursor_into_view(self) -> None:
        if not self.rules:
            return
        top = self._top
        height = self._data_height
        cursor = self.cursor
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif not self.wrap:
            if cursor >= top + height:
                self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        elif cursor >= top + height or sum(
                self._height(i) for i in range(top, cursor + 1)) > height:
            # the cursor's last line at the bottom (its first at the top if it is taller)
            used = 0
            first = cursor
            while first >= 0:
                used += self._height(first)
                if used > height:
                    break
                first -= 1
            self.scroll_to(y=min(first + 1, cursor), animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self.cursor -= self._rules_on_screen()

    def action_page_down(self) -> None:
        self.cursor += self._rules_on_screen()

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self.rules) - 1

    def action_toggle_wrap(self) -> None:
        self.set_wrap(not self.wrap)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "activate":
            return self.can_activate  # False: Enter is neither bound nor in the footer
        return True

    def action_activate(self) -> None:
        rule = self.current_rule
        if rule is not None:
            self.post_message(self.RuleActivated(self, rule))

    def index_at(self, y: int) -> int | None:
        """The index of the rule drawn on line `y` of the view (None: header or blank)."""
        if y < 1:
            return None
        if not self.wrap:
            index = self._top + y - 1
            return index if index < len(self.rules) else None
        rows = self._screen_rows()
        return rows[y - 1][0] if y - 1 < len(rows) else None

    def on_click(self, event: Click) -> None:
        index = self.index_at(event.y)
        if index is not None:
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
        if not self.rules:
            if y == 1:
                style = base + self._style("rule-view--empty")
                return Strip([Segment("  " + self.empty_text, style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        if self.wrap:
            rows = self._screen_rows()
            if y - 1 >= len(rows):
                return Strip.blank(width, base)
            index, sub = rows[y - 1]
        else:
            index, sub = self._top + y - 1, 0
            if index >= len(self.rules):
                return Strip.blank(width, base)
        return self._lines(index)[sub].crop_extend(scroll_x, scroll_x + width, base)

    def _lines(self, index: int) -> list[Strip]:
        """The rule's rendered lines (cached by rule, cursor and column layout)."""
        self._layout()
        rule = self.rules[index]
        key = (id(rule), index == self.cursor, self._layout_key)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is rule:  # ids of freed rules can be reused
            return hit[1]
        lines = self._render_rule(index)
        self._cache[key] = (rule, lines)
        return lines

    def _render_header(self) -> Strip:
        style = self._style("") + self._style("rule-view--header")
        segs = []
        for col, width in self._layout():
            segs.append(Segment(_fit(col.title, width, col.right) + " ", style))
        return Strip(segs)

    def _render_rule(self, index: int) -> list[Strip]:
        self._render_count += 1
        rule = self.rules[index]
        try:
            values = cell_values(rule)
            body, comment = matches_parts(rule, folded=self.folded)
        except Exception as exc:  # a spec that cannot be resolved: show it, never crash
            values = {"num": str(rule.position), "target": rule.target_name or ""}
            body, comment = Text(f"(cannot read this rule: {exc}) {rule.text}"), Text("")
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
        if self.heat is not None:
            values.update(heat_values(heat))
        segs: list[Segment] = []
        indent = 0
        matches_width = 0
        for col, width in self._layout():
            if col.key == "matches":
                matches_width = width
                break
            indent += width + 1
            if col.key == "gutter":
                text = mark.symbol if mark else ""
                style = Style.parse(mark.style) if mark and mark.style else Style()
            else:
                text = values.get(col.key, "")
                style = Style()
                if col.key == "target":
                    style = target_style
                    text = elide_middle(text, width)
                elif col.key in ("source", "destination"):
                    if text:
                        text = elide_middle(text, width)
                    else:
                        text, style = ANY, dim
                elif col.key == "prot" and not text:
                    text, style = "all", dim
                elif col.key in ("pkts", "bytes"):
                    style = dim
                elif col.key in ("dpkts", "dbytes") and heat is not None and heat.packets:
                    style = Style(bold=True)
            segs.append(Segment(_fit(text, width, col.right) + " ", base + style + row_style))
        console = self.app.console
        width = max(1, matches_width)
        together = body.copy()
        if comment.plain:
            if body.plain:
                together.append("  ")
            together.append_text(comment)
        if not self.wrap:
            together.truncate(width, overflow="ellipsis")
            pieces = [together]
        elif together.cell_len <= width or not (body.plain and comment.plain):
            pieces = list(together.wrap(console, width, overflow="fold")) or [Text("")]
        else:  # too long for one line: the comment starts a line of its own
            pieces = [*body.wrap(console, width, overflow="fold"),
                      *comment.wrap(console, width, overflow="fold")]
        lines = []
        for i, piece in enumerate(pieces):
            piece.rstrip()
            piece.truncate(matches_width + 1, pad=True)
            cells = [Segment(seg.text, base + seg.style + row_style) if seg.style
                     else Segment(seg.text, base + row_style)
                     for seg in piece.render(console, end="")]
            if i == 0:
                lines.append(Strip(segs + cells))
            else:
                lines.append(Strip([Segment(" " * indent, base + row_style), *cells]))
        return lines


def _heat_color(heat: float) -> str:
    heat = max(0.0, min(1.0, heat))
    lo, hi = HEAT_BG
    r, g, b = (int(a + (c - a) * heat) for a, c in zip(lo, hi, strict=True))
    return f"rgb({r},{g},{b})"


def kind_of(rule: Rule, chains: frozenset[str] | None) -> TargetKind:
    return target_kind(rule.target_name, rule.goto, chains)


RuleFilter = Callable[[Rule], bool]

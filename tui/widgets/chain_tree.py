"""The tree of tables and chains: built-in chains first, each with its rule count, policy and
references; unreachable chains marked.

Everything fills in lazily: a table's chains when it is expanded, and in big tables (kube-proxy's
nat has 20,000 chains) user chains sharing a prefix (`KUBE-SEP-…`) are grouped under one node
whose members are added in chunks when it is expanded. A group too big to list splits into
ranges of names in order, each named by its first and last name (`KUBE-SEP-0000… – 0F3A…`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ruleset.graph import JumpGraph
from ruleset.model import Chain, Ruleset, Table

CHUNK = 200  # nodes added between yields to the event loop
SPLIT_AT = 500  # a group with more members splits into ranges of names
RANGES_MAX = 32  # ranges per level (more members: the ranges split again when expanded)
GROUP_AT = 200  # tables with more user chains than this group them by prefix
GROUP_MIN = 20  # a prefix shared by at least this many chains becomes a group


@dataclass(frozen=True, slots=True)
class ChainRef:
    """What a tree node stands for: a table (chain None), a chain, or a group of chains."""

    table: str
    chain: str | None = None
    group: str | None = None  # the family prefix (`KUBE-SEP-`) or a range's label


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def table_label(table: Table) -> Text:
    label = Text(table.name, style="bold underline")
    label.append(f"  {_plural(len(table.chains), 'chain')}, {_plural(table.rule_count, 'rule')}",
                 style="dim")
    return label


def chain_label(chain: Chain, graph: JumpGraph, unreachable: set[str]) -> Text:
    label = Text(chain.name, style="bold" if chain.builtin else "")
    label.append(f"  {len(chain.rules)}", style="cyan")
    if chain.builtin:
        policy = chain.policy or "-"
        style = "green" if policy == "ACCEPT" else "red" if policy in ("DROP", "REJECT") else ""
        label.append(f" {policy}", style=style)
    else:
        label.append(f" ←{len(graph.references(chain.name))}", style="dim")
        if chain.name in unreachable:
            label.append(" unreachable", style="italic red")
    return label


WIDTH_CAP = 64  # the tree never takes more than this (nor more than 45% of the screen)
CHROME = 2 + 1  # the vertical scrollbar and the border


def _label_len(chain: Chain, refs: int | None) -> int:
    """The length of `chain_label` (without "unreachable"); refs None = not known yet, assume
    a four-digit count."""
    size = len(chain.name) + 2 + len(str(len(chain.rules)))
    if chain.builtin:
        return size + 1 + len(chain.policy or "-")
    return size + 2 + (len(str(refs)) if refs is not None else 4)


def fitted_width(ruleset: Ruleset, graphs: Mapping[str, JumpGraph]) -> int:
    """A tree width that shows every chain's name, rule count and policy or references in
    full (their indentation included), up to WIDTH_CAP; cheap on 20,000 chains (no jump graph
    is built for it)."""
    widest = 0
    for table in ruleset.tables.values():
        label = 2 + len(table_label(table))
        widest = max(widest, label)
        graph = graphs[table.name] if len(table.chains) <= GROUP_AT else None
        users = [c for c in table.chains.values() if not c.builtin]
        grouped: dict[str, int] = {}
        for item in group_chains(users):
            if isinstance(item, tuple):
                prefix, members = item
                levels = _range_levels(len(members))
                for chain in members:
                    grouped[chain.name] = 1 + levels
                if levels:  # the ranges' own labels, one level down
                    for label, part in split_ranges(prefix, members):
                        widest = max(widest, 4 + len(label) + 2 + len(f"{len(part)} chains"))
        for chain in table.chains.values():
            refs = len(graph.references(chain.name)) if graph is not None else None
            depth = 1 + grouped.get(chain.name, 0)
            widest = max(widest, 2 * depth + _label_len(chain, refs))
    return max(24, min(WIDTH_CAP, widest + CHROME))


def _range_levels(count: int) -> int:
    """How many levels of ranges a group of `count` chains is shown through (0: listed)."""
    levels = 0
    while count > SPLIT_AT:
        count = math.ceil(count / min(RANGES_MAX, math.ceil(count / SPLIT_AT)))
        levels += 1
    return levels


def split_ranges(prefix: str, members: Sequence[Chain]) -> list[tuple[str, list[Chain]]]:
    """A big group in ranges of names, in order, about equal in size (at most RANGES_MAX of
    them), each labelled by its first and last name cut to what tells the ranges apart (the
    same length for all): `KUBE-SEP-0000… – 0F3A…` (the prefix written once)."""
    ordered = sorted(members, key=lambda c: c.name)
    count = len(ordered)
    parts = min(RANGES_MAX, math.ceil(count / SPLIT_AT))
    size = math.ceil(count / parts)
    starts = range(0, count, size)
    # one cut for all the ranges, so that their labels line up in a column
    cut = len(prefix) + 1
    for start in starts:
        first, last = ordered[start].name, ordered[min(start + size, count) - 1].name
        before = ordered[start - 1].name if start else ""
        after = ordered[start + size].name if start + size < count else ""
        cut = max(cut, _shared(before, first) + 1, _shared(last, after) + 1)
    out: list[tuple[str, list[Chain]]] = []
    for start in starts:
        part = ordered[start:start + size]
        first, last = part[0].name, part[-1].name
        label = first[:cut] + ("…" if len(first) > cut else "")
        if first != last:
            label += " – " + last[len(prefix):cut] + ("…" if len(last) > cut else "")
        out.append((label, part))
    return out


def _shared(a: str, b: str) -> int:
    """The length of the prefix two names share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def prefix_of(name: str) -> str:
    head, sep, _ = name.rpartition("-")
    return head + sep if head else name


def group_chains(chains: list[Chain]) -> list[Chain | tuple[str, list[Chain]]]:
    """User chains in dump order, with big families folded into (prefix, members) groups."""
    if len(chains) <= GROUP_AT:
        return list(chains)
    by_prefix: dict[str, list[Chain]] = {}
    for chain in chains:
        by_prefix.setdefault(prefix_of(chain.name), []).append(chain)
    out: list[Chain | tuple[str, list[Chain]]] = []
    done: set[str] = set()
    for chain in chains:
        prefix = prefix_of(chain.name)
        members = by_prefix[prefix]
        if len(members) >= GROUP_MIN:
            if prefix not in done:
                done.add(prefix)
                out.append((prefix, members))
        else:
            out.append(chain)
    return out


class ChainTree(Tree[ChainRef]):
    """Tables and their chains. Selecting a chain posts `Tree.NodeSelected` with its ChainRef."""

    DEFAULT_CSS = """
    ChainTree {
        width: 38;
        min-width: 24;
        max-width: 45%;
        border-right: vkey $panel-lighten-2;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("tables", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = True
        self.ruleset: Ruleset | None = None
        self.graphs: Mapping[str, JumpGraph] = {}
        self._unreachable: dict[str, set[str]] = {}
        self._node_index: dict[tuple[str, str | None, str | None], TreeNode[ChainRef]] = {}
        self._group_of: dict[tuple[str, str], str] = {}
        self._members: dict[tuple[str, str], list[Chain]] = {}
        self._family: dict[tuple[str, str], str] = {}  # group key -> its family prefix
        self._populated: set[tuple[str, str | None]] = set()

    def show_ruleset(self, ruleset: Ruleset, graphs: Mapping[str, JumpGraph]) -> None:
        self.clear()
        self.ruleset = ruleset
        self.graphs = graphs
        self._unreachable = {}
        self._node_index.clear()
        self._group_of.clear()
        self._members.clear()
        self._family.clear()
        self._populated.clear()
        tables = ruleset.ordered_tables()
        for table in tables:
            node = self.root.add(table_label(table), ChainRef(table.name), expand=False)
            self._node_index[(table.name, None, None)] = node
            node.add_leaf(Text("loading…", style="dim italic"))
        self.styles.width = fitted_width(ruleset, graphs)
        first = next((t for t in tables if t.name == "filter"), tables[0] if tables else None)
        if first is not None:
            self._populate_table(first)
            self._node_index[(first.name, None, None)].expand()

    def _unreachable_of(self, table: Table) -> set[str]:
        found = self._unreachable.get(table.name)
        if found is None:
            found = {c.name for c in self.graphs[table.name].unreachable()}
            self._unreachable[table.name] = found
        return found

    def _add_chain(self, parent: TreeNode[ChainRef], table: Table, chain: Chain,
                   before: TreeNode[ChainRef] | None = None) -> None:
        label = chain_label(chain, self.graphs[table.name], self._unreachable_of(table))
        self._node_index[(table.name, chain.name, None)] = parent.add_leaf(
            label, ChainRef(table.name, chain.name), before=before)

    def _populate_table(self, table: Table) -> None:
        """A table's built-in chains, small user chains and group nodes (never thousands)."""
        key = (table.name, None)
        if key in self._populated:
            return
        self._populated.add(key)
        node = self._node_index[(table.name, None, None)]
        node.remove_children()
        chains = table.ordered_chains()
        for chain in chains:
            if chain.builtin:
                self._add_chain(node, table, chain)
        for item in group_chains([c for c in chains if not c.builtin]):
            if isinstance(item, Chain):
                self._add_chain(node, table, item)
                continue
            prefix, members = item
            self._add_group(node, table, prefix, members)

    def _add_group(self, parent: TreeNode[ChainRef], table: Table, key: str,
                   members: list[Chain], family: str | None = None) -> None:
        """A group node: a family (`KUBE-SEP-…`, key = the prefix) or a range of one (key =
        its label, `family` its prefix)."""
        label = Text(key if family is not None else key + "…", style="italic")
        label.append(f"  {len(members)} chains", style="dim")
        group = parent.add(label, ChainRef(table.name, None, key), expand=False)
        group.add_leaf(Text("loading…", style="dim italic"))
        self._node_index[(table.name, None, key)] = group
        self._members[(table.name, key)] = members
        self._family[(table.name, key)] = family if family is not None else key
        for member in members:
            self._group_of[(table.name, member.name)] = key

    def _split_group(self, table: Table, group: str) -> None:
        """A group too big to list gets its ranges (15,000 KUBE-SEP-… chains: 30 ranges of
        500 names, `KUBE-SEP-0000… – 086B…`): a few dozen nodes, cheap enough to do at once."""
        key = (table.name, group)
        self._populated.add(key)
        node = self._node_index[(table.name, None, group)]
        family = self._family[key]
        node.remove_children()
        for label, part in split_ranges(family, self._members[key]):
            self._add_group(node, table, label, part, family=family)

    async def _populate_group(self, table: Table, group: str) -> None:
        key = (table.name, group)
        if key in self._populated:
            return
        self._populated.add(key)
        node = self._node_index[(table.name, None, group)]
        placeholder = list(node.children)
        members = self._members[key]
        if len(members) > SPLIT_AT:
            self._split_group(table, group)
            return
        if self._family.get(key, group) != group:  # a range: its names in order
            members = sorted(members, key=lambda c: c.name)
        for start in range(0, len(members), CHUNK):
            for chain in members[start:start + CHUNK]:
                self._add_chain(node, table, chain, before=placeholder[0] if placeholder else None)
            await asyncio.sleep(0)
        for child in placeholder:
            child.remove()

    async def on_tree_node_expanded(self, event: Tree.NodeExpanded[ChainRef]) -> None:
        data = event.node.data
        if data is None or self.ruleset is None or data.chain is not None:
            return
        table = self.ruleset.tables[data.table]
        if data.group is None:
            self._populate_table(table)
        else:
            await self._populate_group(table, data.group)

    def reveal(self, table: str, chain: str) -> None:
        """Move the cursor to a chain's node, or to the range that holds it: a big family
        opens down to its ranges (a few dozen nodes), but never thousands of chain nodes are
        built just to show where we are."""
        if self.ruleset is None or table not in self.ruleset.tables:
            return
        self._populate_table(self.ruleset.tables[table])
        node = self._node_index.get((table, chain, None))
        group = self._group_of.get((table, chain))
        while group is not None and len(self._members[(table, group)]) > SPLIT_AT:
            if (table, group) not in self._populated:
                self._split_group(self.ruleset.tables[table], group)
            inner = self._group_of.get((table, chain))
            if inner == group:
                break
            group = inner
        if node is None and group is not None:
            node = self._node_index.get((table, None, group))
        if node is None:
            return
        changed = False
        # open the table and the families on the way (a range only when the user opens it)
        for outer in reversed(_ancestors(node.parent, self.root) if node.parent else []):
            data = outer.data
            if outer.is_expanded or data is None:
                continue
            if data.group is None or len(self._members[(table, data.group)]) > SPLIT_AT:
                outer.expand()
                changed = True
        # the outermost node on the way that is not inside a collapsed range
        while node.parent is not None and node.parent is not self.root and not all(
                n.is_expanded for n in _ancestors(node.parent, self.root)):
            node = node.parent
        if changed or node.line < 0:  # its line is known once the tree is drawn again
            self.call_after_refresh(self._move_to, node)
        else:
            self.move_cursor(node, animate=False)

    def _move_to(self, node: TreeNode[ChainRef]) -> None:
        if node.tree is self:
            self.move_cursor(node, animate=False)

    def refresh_labels(self) -> None:
        """Re-draw the table and chain labels (rule counts, policies and references changed:
        a live poll, a what-if edit)."""
        if self.ruleset is None:
            return
        self._unreachable.clear()
        for (table_name, chain_name, group), node in self._node_index.items():
            table = self.ruleset.tables.get(table_name)
            if table is not None and chain_name is None and group is None:
                node.set_label(table_label(table))
                continue
            chain = table.chains.get(chain_name) if table and chain_name else None
            if table is not None and chain is not None:
                node.set_label(chain_label(chain, self.graphs[table_name],
                                           self._unreachable_of(table)))


def _ancestors(node: TreeNode[ChainRef], root: TreeNode[ChainRef]) -> list[TreeNode[ChainRef]]:
    """`node` and its parents up to (not including) the root."""
    out = []
    while node is not None and node is not root:
        out.append(node)
        node = node.parent  # type: ignore[assignment]
    return out

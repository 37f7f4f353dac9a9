"""The tree of tables and chains: built-in chains first, each with its rule count, policy and
references; unreachable chains marked. Table nodes fill in lazily, in chunks, when expanded."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ruleset.graph import JumpGraph
from ruleset.model import Chain, Ruleset, Table

CHUNK = 400  # nodes added between yields to the event loop


@dataclass(frozen=True, slots=True)
class ChainRef:
    """What a tree node stands for: a table (chain None) or a chain of it."""

    table: str
    chain: str | None = None


def chain_label(chain: Chain, graph: JumpGraph, unreachable: set[str]) -> Text:
    label = Text(chain.name, style="bold" if chain.builtin else "")
    count = len(chain.rules)
    label.append(f"  {count}", style="cyan")
    if chain.builtin:
        policy = chain.policy or "-"
        style = "green" if policy == "ACCEPT" else "red" if policy in ("DROP", "REJECT") else ""
        label.append(f" {policy}", style=style)
    else:
        refs = len(graph.references(chain.name))
        label.append(f" ←{refs}", style="dim")
        if chain.name in unreachable:
            label.append(" unreachable", style="italic red")
    return label


class ChainTree(Tree[ChainRef]):
    """Tables and their chains. Selecting a chain posts `Tree.NodeSelected` with its ChainRef."""

    DEFAULT_CSS = """
    ChainTree {
        width: 36;
        border-right: vkey $panel-lighten-2;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("tables", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = True
        self.ruleset: Ruleset | None = None
        self.graphs: dict[str, JumpGraph] = {}
        self._unreachable: dict[str, set[str]] = {}
        self._table_nodes: dict[str, TreeNode[ChainRef]] = {}
        self._chain_nodes: dict[tuple[str, str], TreeNode[ChainRef]] = {}
        self._populated: set[str] = set()

    def show_ruleset(self, ruleset: Ruleset, graphs: dict[str, JumpGraph]) -> None:
        self.clear()
        self.ruleset = ruleset
        self.graphs = graphs
        self._unreachable = {}
        self._table_nodes.clear()
        self._chain_nodes.clear()
        self._populated.clear()
        tables = ruleset.ordered_tables()
        for table in tables:
            label = Text(f"{table.name}", style="bold underline")
            label.append(f"  {len(table.chains)} chains, {table.rule_count} rules", style="dim")
            node = self.root.add(label, ChainRef(table.name), expand=False)
            self._table_nodes[table.name] = node
            node.add_leaf(Text("loading…", style="dim italic"))
        first = next((t for t in tables if t.name == "filter"), tables[0] if tables else None)
        if first is not None:
            self.populate(first.name)
            self._table_nodes[first.name].expand()

    def _unreachable_of(self, table: Table) -> set[str]:
        found = self._unreachable.get(table.name)
        if found is None:
            found = {c.name for c in self.graphs[table.name].unreachable()}
            self._unreachable[table.name] = found
        return found

    def populate(self, table_name: str) -> None:
        """Fill a table's node with all its chains now (used before selecting a chain node)."""
        if table_name in self._populated or self.ruleset is None:
            return
        self._populated.add(table_name)
        node = self._table_nodes[table_name]
        node.remove_children()
        table = self.ruleset.tables[table_name]
        graph = self.graphs[table_name]
        unreachable = self._unreachable_of(table)
        for chain in table.ordered_chains():
            self._chain_nodes[(table_name, chain.name)] = node.add_leaf(
                chain_label(chain, graph, unreachable), ChainRef(table_name, chain.name)
            )

    async def _populate_chunked(self, table_name: str) -> None:
        if table_name in self._populated or self.ruleset is None:
            return
        self._populated.add(table_name)
        node = self._table_nodes[table_name]
        table = self.ruleset.tables[table_name]
        graph = self.graphs[table_name]
        unreachable = self._unreachable_of(table)
        chains = table.ordered_chains()
        placeholder = list(node.children)
        for start in range(0, len(chains), CHUNK):
            for chain in chains[start:start + CHUNK]:
                self._chain_nodes[(table_name, chain.name)] = node.add_leaf(
                    chain_label(chain, graph, unreachable), ChainRef(table_name, chain.name),
                    before=placeholder[0] if placeholder else None,
                )
            await asyncio.sleep(0)
        for child in placeholder:
            child.remove()

    async def on_tree_node_expanded(self, event: Tree.NodeExpanded[ChainRef]) -> None:
        data = event.node.data
        if data is not None and data.chain is None:
            await self._populate_chunked(data.table)

    def reveal(self, table: str, chain: str) -> None:
        """Move the cursor to a chain's node (filling in its table first)."""
        if table not in self._table_nodes:
            return
        self.populate(table)
        self._table_nodes[table].expand()
        node = self._chain_nodes.get((table, chain))
        if node is not None:
            self.move_cursor(node, animate=False)

    def refresh_labels(self) -> None:
        """Re-draw the labels of the chains shown (after a what-if edit changed counts)."""
        if self.ruleset is None:
            return
        for (table_name, chain_name), node in self._chain_nodes.items():
            table = self.ruleset.tables.get(table_name)
            chain = table.chains.get(chain_name) if table else None
            if table is not None and chain is not None:
                node.set_label(chain_label(chain, self.graphs[table_name],
                                           self._unreachable_of(table)))

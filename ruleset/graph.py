"""The jump graph of a table: who references each chain, what is unreachable, jump cycles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ruleset.model import Chain, Rule, Table


@dataclass(slots=True)
class JumpGraph:
    """Edges are rules: `rule` in chain A with target B (jump or goto) is the edge A -> B."""

    table: Table
    referrers: dict[str, list[Rule]] = field(default_factory=dict)
    callees: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, table: Table) -> JumpGraph:
        graph = cls(table)
        names = table.chains
        for chain in table.chains.values():
            graph.referrers.setdefault(chain.name, [])
            out: list[str] = []
            for rule in chain.rules:
                name = rule.target_name
                if name is not None and name in names:
                    graph.referrers.setdefault(name, []).append(rule)
                    if name not in out:
                        out.append(name)
            graph.callees[chain.name] = out
        return graph

    def references(self, chain: str) -> list[Rule]:
        """The rules that jump or go to `chain`, in table order."""
        return self.referrers.get(chain, [])

    def reachable(self) -> set[str]:
        """Chains reachable from any built-in chain."""
        seen: set[str] = set()
        stack = [c.name for c in self.table.chains.values() if c.builtin]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            stack.extend(self.callees.get(name, ()))
        return seen

    def unreachable(self) -> list[Chain]:
        reach = self.reachable()
        return [c for c in self.table.chains.values() if c.name not in reach]

    def cycles(self) -> list[list[str]]:
        """Each elementary jump cycle once, as the list of chain names along it."""
        found: list[list[str]] = []
        seen_keys: set[tuple[str, ...]] = set()
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        counter = 0
        # Tarjan's SCC, iteratively; every SCC with >1 node or a self-loop holds a cycle.
        for root in self.table.chains:
            if root in index:
                continue
            work: list[tuple[str, Iterator[str]]] = [(root, iter(self.callees.get(root, ())))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, it = work[-1]
                advanced = False
                for nxt in it:
                    if nxt not in index:
                        index[nxt] = low[nxt] = counter
                        counter += 1
                        stack.append(nxt)
                        on_stack.add(nxt)
                        work.append((nxt, iter(self.callees.get(nxt, ()))))
                        advanced = True
                        break
                    if nxt in on_stack:
                        low[node] = min(low[node], index[nxt])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    scc: list[str] = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        scc.append(top)
                        if top == node:
                            break
                    if len(scc) > 1 or node in self.callees.get(node, ()):
                        cycle = self._cycle_in(set(scc), scc[-1])
                        key = tuple(sorted(cycle))
                        if key not in seen_keys:
                            seen_keys.add(key)
                            found.append(cycle)
        return found

    def _cycle_in(self, members: set[str], start: str) -> list[str]:
        """One cycle through `start` inside a strongly connected component (BFS back to start)."""
        parent: dict[str, str] = {}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for nxt in self.callees.get(node, ()):
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return list(reversed(path))
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        return [start]

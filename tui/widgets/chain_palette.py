"""Command palette provider: go to any chain by fuzzy name (ctrl+p)."""

from __future__ import annotations

import asyncio
import re
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.messages import ChainRequested


class ChainProvider(Provider):
    """Offers every chain of the loaded ruleset as `chain: TABLE:NAME`."""

    async def startup(self) -> None:
        explorer = getattr(self.app, "explorer", None)
        self.chains: list[tuple[str, str, int, bool]] = []
        if explorer is not None:
            for chain in explorer.ruleset.chains():
                table = chain.table.name if chain.table else ""
                self.chains.append((table, chain.name, len(chain.rules), chain.builtin))

    def _go(self, table: str, chain: str) -> None:
        from tui.screens.main import MainScreen

        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, MainScreen):
                screen.post_message(ChainRequested(table, chain))
                return

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        # A cheap subsequence test first: kube-proxy's nat table has 20,000 chains and the
        # fuzzy scorer is the slow part; yield to the event loop now and then so typing stays
        # responsive.
        letters = [re.escape(ch) for ch in query.replace(" ", "")]
        quick = re.compile(".*?".join(letters), re.IGNORECASE) if letters else None
        for i, (table, chain, count, _builtin) in enumerate(self.chains):
            if i % 2000 == 1999:
                await asyncio.sleep(0)
            name = f"{table}:{chain}"
            if quick is not None and quick.search(name) is None:
                continue
            score = matcher.match(name)
            if score > 0:
                text = f"chain: {name}"
                yield Hit(score, matcher.highlight(text), partial(self._go, table, chain),
                          text=text, help=f"{count} rules")

    async def discover(self) -> Hits:
        for table, chain, count, builtin in self.chains:
            if builtin:
                yield DiscoveryHit(f"chain: {table}:{chain}", partial(self._go, table, chain),
                                   text=f"chain: {table}:{chain}", help=f"{count} rules")

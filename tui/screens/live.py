"""Live counters: the main screen fed by `ruleset.live.Poller` in a thread worker.

Keys: p pause/resume, 0 reset the baseline, + / - change the interval. The status line shows
the source, the interval, the last poll time and the last error (the last good snapshot stays).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Label, ProgressBar
from textual.worker import get_current_worker

from tui.explorer import Explorer
from tui.heat import heat_map, summary_text
from tui.screens.main import MainScreen


@dataclass
class LiveConfig:
    interval: float = 2.0
    ssh: str | None = None
    cmd: str | None = None
    ipv6: bool = False
    runner: Any = None  # tests inject a runner instead of running a command
    extra: dict[str, Any] = field(default_factory=dict)

    def make_poller(self) -> Any:
        from parser.load import load_text
        from ruleset.live import Poller

        kwargs: dict[str, Any] = {"interval": self.interval, "ipv6": self.ipv6,
                                  "ssh": self.ssh, "cmd": self.cmd}
        if self.runner is not None:
            kwargs["runner"] = self.runner

        def parse(text: str, source: str) -> Any:
            return load_text(text, source)

        return Poller(parse, **kwargs)


def poll_error_text(error: Any) -> str:
    hint = getattr(error, "hint", "")
    return f"{error}" + (f" ({hint})" if hint and hint not in str(error) else "")


class LiveStartScreen(Screen[None]):
    """Waits for the first good poll (retrying, with the error shown) before the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit")]

    def __init__(self, config: LiveConfig) -> None:
        super().__init__()
        self.config = config
        self.poller = config.make_poller()

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Label(f"Polling {self.poller.source}…", id="live-label")
            yield ProgressBar(total=None, show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self._first_poll()

    @work(thread=True, exclusive=True, group="live", description="first live poll")
    def _first_poll(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            result = self.poller.poll_once()
            # Results go through this screen's own queue (call_later is thread-safe), never
            # app.call_from_thread: that runs at any moment, even with the screen half torn
            # down by a quit, while the queue stops before the screen's children go.
            if result.ok and result.snapshot is not None:
                self.call_later(self._started, result)
                return
            self.call_later(self._failed, result)
            deadline = time.monotonic() + self.poller.interval
            while time.monotonic() < deadline and not worker.is_cancelled:
                time.sleep(0.05)

    def _failed(self, result: Any) -> None:
        self.query_one("#live-label", Label).update(
            f"Polling {self.poller.source} failed: {poll_error_text(result.error)}\n"
            f"retrying every {self.poller.interval:g}s (q quits)")

    def _started(self, result: Any) -> None:
        explorer = Explorer(result.snapshot.ruleset, paths=[self.poller.source])
        explorer.heat = {}
        explorer.delta_summary = "live: waiting for the second poll"
        self.app.explorer = explorer  # type: ignore[attr-defined]
        self.app.switch_screen(LiveMainScreen(explorer, self.poller, result))


class LiveMainScreen(MainScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause"),
        Binding("0", "reset_baseline", "Reset baseline"),
        Binding("plus", "interval(1)", "Slower", key_display="+", show=False),
        Binding("minus", "interval(-1)", "Faster", key_display="-", show=False),
    ]

    def __init__(self, explorer: Explorer, poller: Any, first: Any) -> None:
        super().__init__(explorer)
        self.poller = poller
        self.paused = False
        self.last_result = first
        self.last_poll: float | None = time.time()
        self.last_error: str | None = None
        self.polls = 1

    def on_mount(self) -> None:
        super().on_mount()
        self._poll_loop()

    @work(thread=True, exclusive=True, group="live", description="live polling")
    def _poll_loop(self) -> None:
        worker = get_current_worker()
        applied = threading.Event()
        while not worker.is_cancelled:
            deadline = time.monotonic() + self.poller.interval
            while time.monotonic() < deadline and not worker.is_cancelled:
                time.sleep(0.05)
            if worker.is_cancelled:
                return
            if self.paused:
                continue
            result = self.poller.poll_once()
            # Through the screen's queue, as in LiveStartScreen; the next poll waits until
            # this one is shown, so a slow repaint never piles up stale snapshots.
            applied.clear()
            if not self.call_later(self._apply_and_signal, result, applied):
                return  # the screen is closing
            while not applied.wait(0.05):
                if worker.is_cancelled:
                    return

    def _apply_and_signal(self, result: Any, applied: threading.Event) -> None:
        try:
            self.apply_result(result)
        finally:
            applied.set()

    def apply_result(self, result: Any) -> None:
        """Show one poll: the newest snapshot with its growth since the baseline."""
        self.polls += 1
        self.last_poll = time.time()
        if not result.ok:
            self.last_error = poll_error_text(result.error)
            self.update_status()
            return
        self.last_error = None
        self.last_result = result
        ex = self.explorer
        old_names = {(t, c) for t, tb in ex.ruleset.tables.items() for c in tb.chains}
        old_shape = _shape(ex.ruleset)
        ex.ruleset = result.snapshot.ruleset
        ex.rebuild_graphs()
        new_names = {(t, c) for t, tb in ex.ruleset.tables.items() for c in tb.chains}
        delta = result.baseline_delta
        if delta is not None:
            heat = heat_map(delta)
            rates: dict[int, float] = {}
            if result.delta is not None:
                for rd, rate in result.delta.rates():
                    if rd.after is not None:
                        rates[id(rd.after)] = rate.packets_per_s
            ex.heat = {k: type(v)(v.packets, v.bytes, v.heat, v.note, rates.get(k, 0.0))
                       for k, v in heat.items()}
            ex.delta_summary = summary_text(delta, "live")
        else:
            ex.heat = {}
            ex.delta_summary = "live: baseline just set"
        if old_names != new_names:
            self.reload()
        else:
            current = self._current()
            from tui.widgets.chain_tree import ChainTree

            tree = self.query_one(ChainTree)
            tree.ruleset, tree.graphs = ex.ruleset, ex.graphs
            if _shape(ex.ruleset) != old_shape:
                tree.refresh_labels()  # rule counts or policies changed: the tree says so
            if current is not None:
                self._show(current)
        self.update_status()

    def update_status(self, extra: str = "") -> None:
        super().update_status(extra)
        if not hasattr(self, "poller"):
            return
        text = Text()
        text.append(" LIVE " if not self.paused else " PAUSED (p resumes) ",
                    style="bold white on dark_green" if not self.paused else "bold reverse")
        text.append(f" {self.poller.source} every {self.poller.interval:g}s")
        if self.last_poll is not None:
            text.append("  last poll " + datetime.fromtimestamp(self.last_poll).strftime(
                "%H:%M:%S"))
        text.append(f"  {self.explorer.delta_summary}", style="bold")
        if self.last_error:
            text.append(f"  ERROR: {self.last_error}", style="bold red")
        if extra:
            text.append("  " + extra)
        from textual.widgets import Static

        self.query_one("#status", Static).update(text, layout=False)

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.update_status()

    def action_reset_baseline(self) -> None:
        self.poller.reset_baseline()
        self.explorer.heat = {}
        self.explorer.delta_summary = "live: baseline reset"
        current = self._current()
        if current is not None:
            self._show(current)
        self.update_status()

    def action_interval(self, direction: int) -> None:
        steps = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
        now = self.poller.interval
        index = min(range(len(steps)), key=lambda i: abs(steps[i] - now))
        index = max(0, min(len(steps) - 1, index + direction))
        self.poller.interval = steps[index]
        self.update_status()


def _shape(ruleset: Any) -> list[tuple[str, str, int, str | None]]:
    """What the chain tree's labels show of a ruleset: each chain's rule count and policy."""
    return [(t, c.name, len(c.rules), c.policy) for t, table in ruleset.tables.items()
            for c in table.chains.values()]

"""Benchmark the explorer on kube-proxy scale: launch to first paint, and key press to repaint.

    python bench/bench_tui.py [DUMP] [--rounds N]

1. Launch to first paint: a child process runs `IptscopeApp(paths=[DUMP])` headless (the real
   path: loading screen, thread-worker load, main screen) and reports the wall time from the
   parent's spawn to the first frame the compositor produces for the main screen with its rules
   drawn. Also split: Python + Textual imports, load_path, first paint after load.
2. Key press to repaint, with Pilot: the time from the app receiving the key event to the next
   frame it composes (the handler plus the refresh), for moving the cursor in KUBE-SERVICES
   (~5,000 rules), following a jump (Enter) and going back (Backspace); then the same with the
   rules' matches wrapped (w). Handler-only times are
   timed around the action methods. Pilot's own per-press cost (~60 ms of simulated key
   handling and waits) is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = ROOT.parent / "shared" / "large" / "kube-5000-after.save"


def child_first_paint(dump: str, spawned: float) -> None:
    """Run in the child: report when the main screen first paints with its rules."""
    t_start = time.time()
    from textual import events  # noqa: F401

    from tui.app import IptscopeApp
    from tui.widgets.rule_view import RuleView

    t_imported = time.time()
    marks: dict[str, float] = {}

    class App(IptscopeApp):
        def _display(self, screen: Any, renderable: Any) -> None:
            from tui.screens.main import MainScreen

            if ("paint" not in marks and renderable is not None
                    and isinstance(screen, MainScreen)):
                views = screen.query(RuleView)
                if views and views.first()._render_count > 0:
                    marks["paint"] = time.time()
                    self.exit()
            super()._display(screen, renderable)

        def on_rulesets_loaded(self, message: Any) -> None:
            marks["loaded"] = time.time()
            super().on_rulesets_loaded(message)

    async def run() -> None:
        app = App(paths=[dump])
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(600):
                await pilot.pause(0.01)
                if "paint" in marks:
                    break

    asyncio.run(run())
    print(json.dumps({
        "spawn_to_start": t_start - spawned,
        "imports": t_imported - t_start,
        "load": marks.get("loaded", 0) - t_imported,
        "loaded_to_paint": marks.get("paint", 0) - marks.get("loaded", 0),
        "total": marks.get("paint", 0) - spawned,
    }))


def first_paint(dump: str, rounds: int) -> list[dict[str, float]]:
    out = []
    for _ in range(rounds):
        spawned = time.time()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", dump, "--spawned", repr(spawned)],
            capture_output=True, text=True, check=True, cwd=ROOT,
            env={**os.environ, "TEXTUAL_ANIMATIONS": "none"})
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


async def key_latency(dump: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    from textual import events

    from parser.load import load_path
    from tui.app import IptscopeApp
    from tui.explorer import Explorer
    from tui.screens.main import MainScreen
    from tui.widgets.rule_view import RuleView

    ruleset = load_path(dump)
    state: dict[str, Any] = {"key": None, "name": None}
    paint: dict[str, list[float]] = {}
    handler: dict[str, list[float]] = {}

    class App(IptscopeApp):
        async def on_event(self, event: events.Event) -> None:
            if isinstance(event, events.Key):
                state["key"] = time.perf_counter()
            await super().on_event(event)

        def _display(self, screen: Any, renderable: Any) -> None:
            if state["key"] is not None and renderable is not None and state["name"]:
                paint.setdefault(state["name"], []).append(time.perf_counter() - state["key"])
                state["key"] = None
            super()._display(screen, renderable)

    def timed(cls: Any, method: str, name: str) -> None:
        original = getattr(cls, method)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                handler.setdefault(name, []).append(time.perf_counter() - t0)

        setattr(cls, method, wrapper)

    timed(RuleView, "action_cursor_down", "cursor down")
    timed(MainScreen, "follow", "follow jump")
    timed(MainScreen, "action_back", "back")

    app = App(Explorer(ruleset))
    async with app.run_test(size=(160, 48)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        main.navigate("nat", "KUBE-SERVICES")
        await pilot.pause(0.2)
        view = main.query_one(RuleView)
        assert len(view.rules) > 4000, len(view.rules)
        for i in range(rounds):
            state["name"] = "cursor down"
            await pilot.press("down")
            await pilot.pause()
            state["name"] = "follow jump"
            await pilot.press("enter")
            await pilot.pause()
            assert main.location is not None and main.location.chain.startswith("KUBE-"), i
            state["name"] = "back"
            await pilot.press("backspace")
            await pilot.pause()
            assert main.location.chain == "KUBE-SERVICES"
            state["name"] = None
        # far into the chain too: the last rules
        await pilot.press("end")
        await pilot.pause()
        for _ in range(rounds):
            state["name"] = "follow jump (end of chain)"
            await pilot.press("enter")
            await pilot.pause()
            state["name"] = "back"
            await pilot.press("backspace")
            await pilot.pause()
        # the same with each rule's matches wrapped (w): rows of several lines, still drawn
        # (and their specs resolved) only where they are on screen
        state["name"] = None
        await pilot.press("w", "home")
        await pilot.pause()
        assert view.wrap
        for _ in range(rounds):
            state["name"] = "cursor down (wrapped)"
            await pilot.press("down")
            await pilot.pause()
            state["name"] = "follow jump (wrapped)"
            await pilot.press("enter")
            await pilot.pause()
            state["name"] = "back (wrapped)"
            await pilot.press("backspace")
            await pilot.pause()
        state["name"] = None
        resolved = sum(1 for r in view.rules if r.resolved)
        print(f"KUBE-SERVICES rules resolved after all of it: {resolved} of {len(view.rules)}")
    return {"paint": paint, "handler": handler}


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return (f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {values[-1] * 1000:.1f} ms (n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", nargs="?", default=str(DEFAULT))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keys-only", action="store_true", help="skip the launch timing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_first_paint(args.dump, args.spawned)
        return 0
    print(f"dump: {args.dump}")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    from parser.load import load_path

    t0 = time.perf_counter()
    load_path(args.dump)
    print(f"reference: load_path alone in this process: {time.perf_counter() - t0:.3f} s")
    if not args.keys_only:
        runs = first_paint(args.dump, max(3, args.rounds // 5))
        for key in ("total", "spawn_to_start", "imports", "load", "loaded_to_paint"):
            values = [r[key] for r in runs]
            print(f"launch to first paint [{key}]: median {statistics.median(values):.3f} s, "
                  f"min {min(values):.3f} s, max {max(values):.3f} s (n={len(values)})")
    result = asyncio.run(key_latency(args.dump, args.rounds))
    for name, values in result["paint"].items():
        print(f"key to repaint [{name}]: {ms(values)}")
    for name, values in result["handler"].items():
        print(f"handler only [{name}]: {ms(values)}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

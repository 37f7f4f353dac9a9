"""The live view on a scripted poller: growth since the baseline, pause, reset, errors."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tests.tui.rulesets import ROOT
from tui.app import IptscopeApp
from tui.screens.live import LiveConfig, LiveMainScreen
from tui.widgets.rule_view import RuleView

LAB = ROOT / "samples" / "neutron" / "lab"


class Script:
    """A runner that prints the lab's dumps in turn (then fails once, then the last again)."""

    def __init__(self, files: list[Path]) -> None:
        self.outputs: list[tuple[int, str, str]] = [(0, f.read_text(), "") for f in files]
        self.calls = 0

    def __call__(self, argv: list[str], timeout: float) -> tuple[int, str, str]:
        self.calls += 1
        if self.outputs:
            return self.outputs.pop(0)
        return (1, "", "iptables-save: Permission denied (you must be root)")


async def test_live_view_heat_pause_reset_and_errors() -> None:
    script = Script([LAB / "lab-nft-loaded.save-c.txt", LAB / "lab-nft-dropped.save-c.txt"])
    config = LiveConfig(interval=0.05, cmd="iptables-save -c", runner=script)
    app = IptscopeApp(live=config)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(400):
            await pilot.pause(0.05)
            if isinstance(app.screen, LiveMainScreen) and app.screen.polls >= 3:
                break
        screen = app.screen
        assert isinstance(screen, LiveMainScreen)
        status = str(screen.query_one("#status", Static).render())
        assert "LIVE" in status and "7 rules grew" in screen.explorer.delta_summary
        assert "ERROR" in status and "root" in status  # the third poll failed, data kept
        screen.navigate("filter", "neutron-openvswi-sg-fallback")
        await pilot.pause()
        view = screen.query_one(RuleView)
        assert view.heat is not None and view.heat[id(view.rules[0])].packets == 1
        await pilot.press("p")
        await pilot.pause()
        assert screen.paused and "PAUSED" in str(screen.query_one("#status", Static).render())
        await pilot.pause(0.2)  # a poll already running when p was pressed may finish
        calls = script.calls
        await pilot.pause(0.3)
        assert script.calls == calls  # no polling while paused
        await pilot.press("0")
        await pilot.pause()
        assert screen.explorer.heat == {}
        await pilot.press("plus")
        assert screen.poller.interval == 1.0  # 0.05 is nearest 0.5; one step slower
        await pilot.press("p")
        await pilot.pause()
        assert not screen.paused


async def test_live_first_poll_failure_is_shown_and_retried() -> None:
    denied = (1, "", "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation "
              "id: Permission denied (you must be root)")
    good = (0, (LAB / "lab-nft-loaded.save-c.txt").read_text(), "")
    state = {"allow": False, "calls": 0}

    def runner(argv: list[str], timeout: float) -> tuple[int, str, str]:
        state["calls"] += 1
        return good if state["allow"] else denied

    app = IptscopeApp(live=LiveConfig(interval=0.1, runner=runner))
    async with app.run_test(size=(160, 48)) as pilot:
        from tui.screens.live import LiveStartScreen

        label = ""
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, LiveStartScreen):
                label = str(app.screen.query_one("#live-label", Static).render())
                if "failed" in label and state["calls"] >= 2:
                    break
        assert "failed" in label and ("sudo" in label.lower() or "root" in label)
        assert state["calls"] >= 2  # it keeps trying
        state["allow"] = True
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, LiveMainScreen):
                break
        assert isinstance(app.screen, LiveMainScreen)

"""Pilot tests of the main screen: tree, rule view, follow jump, back, forward."""

from __future__ import annotations

from tests.tui.rulesets import neutron
from tui.app import IptscopeApp
from tui.explorer import Explorer
from tui.screens.main import MainScreen
from tui.widgets.rule_view import RuleView


def _main(app: IptscopeApp) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


async def test_follow_jump_back_forward() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        view = app.screen.query_one(RuleView)
        assert main.location is not None
        assert (main.location.table, main.location.chain) == ("filter", "INPUT")
        # go to FORWARD via the palette-like request, then follow rule 2
        main.navigate("filter", "FORWARD")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert main.location.chain == "neutron-openvswi-FORWARD"
        assert main.location.trail == (("FORWARD", 2),)
        assert "FORWARD #2 › neutron-openvswi-FORWARD" in str(
            main.query_one("#breadcrumb").render())
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert main.location.chain == "neutron-openvswi-sg-chain"
        await pilot.press("backspace")
        await pilot.pause()
        assert main.location.chain == "neutron-openvswi-FORWARD"
        assert view.cursor == 2
        await pilot.press("backspace")
        await pilot.pause()
        assert main.location.chain == "FORWARD"
        assert view.cursor == 1
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert main.location.chain == "neutron-openvswi-FORWARD"

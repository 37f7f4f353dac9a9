"""SVG snapshots of the main screen, the delta view and the stepping view
(pytest-textual-snapshot; review the report before `--snapshot-update`)."""

from __future__ import annotations

from typing import Any

from tests.tui.rulesets import ROOT, load, neutron
from tui.app import IptscopeApp, make_explorer
from tui.explorer import Explorer
from tui.screens.main import MainScreen
from tui.session import PacketRequest

SIZE = (160, 40)
LAB = ROOT / "samples" / "neutron" / "lab"


def _relative(ruleset: Any, name: str) -> Any:
    ruleset.path = name  # the same text on every machine
    return ruleset


def test_main_screen(snap_compare: Any) -> None:
    listing = _relative(neutron(), "samples/neutron/iptables-L-vn-line-numbers.txt")
    app = IptscopeApp(Explorer(listing))

    async def run_before(pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.navigate("filter", "FORWARD")
        await pilot.pause()

    assert snap_compare(app, press=["down", "enter", "down", "down"], terminal_size=SIZE,
                        run_before=run_before)


def test_delta_view(snap_compare: Any) -> None:
    before = _relative(load(LAB / "lab-nft-loaded.save-c.txt"), "lab-nft-loaded.save-c.txt")
    after = _relative(load(LAB / "lab-nft-dropped.save-c.txt"), "lab-nft-dropped.save-c.txt")
    app = IptscopeApp(make_explorer([before, after], ["before", "after"], []))

    async def run_before(pilot: Any) -> None:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.navigate("filter", "neutron-openvswi-FORWARD", cursor=2)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_stepping_view(snap_compare: Any) -> None:
    app = IptscopeApp(Explorer(_relative(neutron(), "iptables-L-vn-line-numbers.txt")))
    packet = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                           dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                           bridged=True, state="NEW")

    async def run_before(pilot: Any) -> None:
        app.open_stepper(packet, assume="nomatch")
        await pilot.pause()

    assert snap_compare(app, press=["c"], terminal_size=SIZE, run_before=run_before)

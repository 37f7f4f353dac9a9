"""The live view against a real ruleset in a network namespace this test creates and removes:
traffic sent there shows up as counter growth in the app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tui.app import IptscopeApp
from tui.screens.live import LiveConfig, LiveMainScreen
from tui.widgets.rule_view import RuleView

RULES = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:udp-in - [0:0]
-A INPUT -p udp -j udp-in
-A INPUT -p tcp --dport 22 -j ACCEPT
-A udp-in -p udp --dport 9 -j ACCEPT
COMMIT
"""


def _reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "iptables-save", "iptables-restore"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"iptscope-tui-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", name, "iptables-restore"], input=RULES,
                       text=True, check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.kernel
@pytest.mark.skipif(_reason() is not None, reason=str(_reason()))
async def test_live_view_shows_real_counter_growth(namespace: str) -> None:
    config = LiveConfig(interval=0.2, cmd=f"ip netns exec {namespace} iptables-save -c")
    app = IptscopeApp(live=config)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, LiveMainScreen):
                break
        screen = app.screen
        assert isinstance(screen, LiveMainScreen)
        send = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "for _ in range(3): s.sendto(b'x', ('127.0.0.1', 9))")
        subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", send],
                       check=True, capture_output=True)
        screen.navigate("filter", "udp-in")
        for _ in range(60):
            await pilot.pause(0.1)
            heat = screen.explorer.heat or {}
            rules = screen.query_one(RuleView).rules
            if rules and (h := heat.get(id(rules[0]))) is not None and h.packets >= 3:
                break
        view = screen.query_one(RuleView)
        assert view.heat is not None
        assert view.heat[id(view.rules[0])].packets == 3  # three datagrams to port 9
        assert "2 rules grew" in screen.explorer.delta_summary  # INPUT #1 and udp-in #1
        assert screen.last_error is None

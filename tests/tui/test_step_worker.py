"""`c` and the re-step after a what-if edit run in a thread worker: the same verdicts as a
headless run, Esc stops a long run at a consistent step, the other keys wait, quitting
mid-run is clean, and an UNKNOWN that needs a choice is asked on the UI thread."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from textual.widgets import Input, Static

from parser.load import load_text
from ruleset.model import Ruleset
from ruleset.stepper import Stepper
from tests.tui.rulesets import neutron
from tests.tui.waiting import settle
from tui.app import IptscopeApp
from tui.explorer import Explorer
from tui.screens.assume import AssumeDialog
from tui.screens.step import StepScreen
from tui.session import PacketRequest

SIZE = (160, 48)
# the README's seed packet
SEED = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                     dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                     bridged=True, state="NEW")
BIG = PacketRequest(path="forward", proto="tcp", src="10.0.0.1", sport="40000",
                    dst="10.1.0.1", dport="443")


def big_chain(rules: int) -> Ruleset:
    """FORWARD jumps to one chain of `rules` rules that do not match the BIG packet, then
    to a last one that accepts it; FORWARD's policy is DROP."""
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":BIG - [0:0]", "-A FORWARD -j BIG"]
    lines += [f"-A BIG -d 10.2.{i // 250}.{i % 250 + 1}/32 -p tcp --dport 443 -j ACCEPT"
              for i in range(rules)]
    lines += ["-A BIG -d 10.1.0.1/32 -p tcp --dport 443 -j ACCEPT", "COMMIT", ""]
    return load_text("\n".join(lines), "big.save")


def headless_verdict(ruleset: Ruleset, request: PacketRequest) -> str:
    stepper = Stepper(ruleset, request.to_packet(), request.path, assume="nomatch")
    stepper.run()
    return stepper.trace().verdict.value


def verdict_line(step: StepScreen) -> str:
    return str(step.query_one("#step-verdict", Static).render())


@pytest.fixture
def slow_steps(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """Each step takes 2 ms: a run over a few thousand rules lasts seconds, deterministically.
    The thread of each step is kept."""
    original = Stepper.step
    threads: list[threading.Thread] = []

    def slow(self: Stepper) -> Any:
        threads.append(threading.current_thread())
        time.sleep(0.002)
        return original(self)

    monkeypatch.setattr(Stepper, "step", slow)
    return threads


async def test_c_on_the_neutron_sample_reaches_the_same_verdict_in_a_worker() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=SIZE) as pilot:
        app.open_stepper(SEED, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen) and step.stepper is not None
        await pilot.press("c")
        await settle(pilot)
        assert not step.busy and not step.running
        assert step.verdict == headless_verdict(neutron(), SEED) == "DROP"
        assert "DROP" in verdict_line(step) and "Esc stops" not in verdict_line(step)
        assert step.stepper.cursor == len(step.stepper.history) - 1


async def test_c_on_a_big_generated_chain_reaches_the_same_verdict() -> None:
    ruleset = big_chain(5000)
    app = IptscopeApp(Explorer(ruleset))
    async with app.run_test(size=SIZE) as pilot:
        app.open_stepper(BIG, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen) and step.stepper is not None
        await pilot.press("c")
        await settle(pilot)
        assert step.verdict == headless_verdict(big_chain(5000), BIG) == "ACCEPT"
        trace = step.stepper.trace()
        assert trace.decided_by is not None
        assert (trace.decided_by.chain, trace.decided_by.position) == ("BIG", 5001)


@pytest.mark.usefixtures("slow_steps")
async def test_esc_stops_a_long_run_and_the_screen_stays_usable() -> None:
    app = IptscopeApp(Explorer(big_chain(3000)))
    async with app.run_test(size=SIZE) as pilot:
        app.open_stepper(BIG, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen) and step.stepper is not None
        await pilot.press("c")
        await pilot.pause(0.4)
        assert step.busy
        assert "Esc stops" in verdict_line(step)
        assert re.search(r"step [\d,]+ \(Esc stops\)", verdict_line(step))  # how far
        assert step.check_action("step", ()) is None  # dimmed in the footer meanwhile
        # the other stepping keys wait for the run: no breakpoint, no what-if box, no back
        await pilot.press("x", "colon", "b", "n")
        assert not step.breakpoints
        assert not step.query_one("#whatif", Input).display
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is step  # Esc stopped the run, it did not close the screen
        assert not step.busy and not step.running
        stopped_at = step.stepper.cursor
        assert 0 < stopped_at < 3000
        assert step.verdict is None
        assert f"Stopped at step {stopped_at + 1}" in verdict_line(step)
        assert step.current is step.stepper.history[stopped_at]
        assert step.check_action("step", ()) is True
        # usable after: a step each way, then on to the verdict
        await pilot.press("n")
        await pilot.pause()
        assert step.stepper.cursor == stopped_at + 1
        await pilot.press("b", "b")
        await pilot.pause()
        assert step.stepper.cursor == stopped_at - 1
        await pilot.press("c")
        await pilot.pause(0.1)
        assert step.busy
    # (the run under way when the test app closed: the next test checks that case)


async def test_a_stopped_run_goes_on_to_the_same_verdict(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    app = IptscopeApp(Explorer(big_chain(3000)))
    original = Stepper.step

    def slow(self: Stepper) -> Any:
        time.sleep(0.002)
        return original(self)

    async with app.run_test(size=SIZE) as pilot:
        app.open_stepper(BIG, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen) and step.stepper is not None
        monkeypatch.setattr(Stepper, "step", slow)
        await pilot.press("c")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await settle(pilot)
        assert step.verdict is None and step.stepper.cursor > 0
        monkeypatch.setattr(Stepper, "step", original)
        await pilot.press("c")
        await settle(pilot)
        assert step.verdict == "ACCEPT"
        assert step.stepper.cursor == len(step.stepper.history) - 1


async def test_quitting_during_a_run_does_not_crash(slow_steps: list[threading.Thread]
                                                    ) -> None:
    app = IptscopeApp(Explorer(big_chain(3000)))
    async with app.run_test(size=SIZE) as pilot:
        app.open_stepper(BIG, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("c")
        await pilot.pause(0.1)
        assert step.busy
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    # the run was in a worker thread, which saw the cancel and stopped stepping
    assert slow_steps and threading.main_thread() not in slow_steps
    time.sleep(0.05)
    count = len(slow_steps)
    time.sleep(0.2)
    assert len(slow_steps) == count < 3000


async def test_an_unknown_is_asked_on_the_ui_thread_and_the_run_goes_on() -> None:
    app = IptscopeApp(Explorer(neutron()))
    threads: list[threading.Thread] = []
    async with app.run_test(size=SIZE) as pilot:
        app.open_stepper(SEED)  # no assumption: each UNKNOWN is asked
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen) and step.stepper is not None
        original = step._need_choice

        def recorded() -> None:
            threads.append(threading.current_thread())
            original()

        step._need_choice = recorded  # type: ignore[method-assign]
        await pilot.press("c")
        for _ in range(10):
            await settle(pilot)
            if not isinstance(app.screen, AssumeDialog):
                break
            assert step.running and not step.busy  # waiting for the answer, no run under way
            await pilot.press("n")
        assert threads and all(t is threading.main_thread() for t in threads)
        assert app.screen is step
        assert step.verdict == "DROP"


async def test_the_re_step_after_a_what_if_edit_runs_in_the_worker() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=SIZE) as pilot:
        app.open_stepper(SEED, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("c")
        await settle(pilot)
        assert step.verdict == "DROP"
        step.apply_whatif("-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT")
        assert step.busy  # said at once, run in the worker
        assert "Esc stops" in verdict_line(step)
        await settle(pilot)
        assert step.verdict == "ACCEPT"
        assert "after 1 what-if edits" in verdict_line(step)

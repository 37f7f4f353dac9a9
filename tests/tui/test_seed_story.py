"""The seed story, driven through the app: open the neutron listing, step the tftp reply to its
DROP, apply the what-if insert, reach ACCEPT."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.rulesets import neutron
from tests.tui.waiting import settle
from tui.app import IptscopeApp
from tui.explorer import Explorer
from tui.screens.assume import AssumeDialog
from tui.screens.main import MainScreen
from tui.screens.packet_form import PacketFormDialog
from tui.screens.step import StepScreen
from tui.widgets.rule_view import RuleView

WHATIF = "-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"


async def _answer_unknowns(pilot, app: IptscopeApp, answer: str = "n") -> list[str]:  # type: ignore[no-untyped-def]
    asked = []
    for _ in range(10):
        await pilot.pause()
        if not isinstance(app.screen, AssumeDialog):
            break
        rule = app.screen.rule
        asked.append(f"{rule.chain_name}:{rule.position}")
        await pilot.press(answer)
    return asked


async def test_seed_story() -> None:
    app = IptscopeApp(Explorer(neutron()), export_dir="/tmp")
    async with app.run_test(size=(160, 48)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        # the rule that sends traffic for the VM's port to the security group chain
        main.navigate("filter", "neutron-openvswi-FORWARD", cursor=2)
        await pilot.pause()
        assert main.query_one(RuleView).current_rule.position == 3  # type: ignore[union-attr]
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PacketFormDialog)
        # prefilled from the rule: bridge output port and bridged
        assert form.query_one("#physdev_out", Input).value == "tap6746373c-01"
        for field, value in (("proto", "udp"), ("src", "14.52.45.2"), ("sport", "40000"),
                             ("dst", "14.52.45.10"), ("dport", "50000")):
            form.query_one(f"#{field}", Input).value = value
        await pilot.press("ctrl+s")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        assert step.request.path == "forward" and step.request.bridged
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        asked = await _answer_unknowns(pilot, app, "n")
        # the ipset of the port's security group is among the things the dump cannot decide
        assert "neutron-openvswi-i6746373c-0:3" in asked
        assert app.screen is step
        assert step.verdict == "DROP"
        trace = step.stepper.trace()  # type: ignore[union-attr]
        assert trace.decided_by is not None
        assert (trace.decided_by.chain, trace.decided_by.position) == (
            "neutron-openvswi-sg-fallback", 1)
        verdict_line = str(step.query_one("#step-verdict").render())
        assert "DROP" in verdict_line and "neutron-openvswi-sg-fallback #1" in verdict_line
        # the what-if insert
        await pilot.press("colon")
        await pilot.pause()
        box = step.query_one("#whatif", Input)
        assert box.has_focus
        box.value = WHATIF
        await pilot.press("enter")
        await _answer_unknowns(pilot, app, "n")
        assert step.verdict == "ACCEPT"
        assert step.edits == [WHATIF]
        decided = step.stepper.trace().decided_by  # type: ignore[union-attr]
        assert decided is not None and (decided.chain, decided.position) == ("FORWARD", 1)
        assert decided.rule is not None and decided.rule.edited


async def test_behind_the_question_the_walk_stands_at_the_rule_in_question() -> None:
    from textual.widgets import Static

    from tui.session import PacketRequest

    app = IptscopeApp(Explorer(neutron()))
    packet = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                           dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                           bridged=True, state="NEW")
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(packet)
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AssumeDialog)
        rule = dialog.rule
        # not the screen as it was before `c` (step 0, the first chain): the walk so far,
        # in the chain of the rule asked about, with the cursor on it
        assert step.shown == (rule.table_name, rule.chain_name)
        view = step.query_one("#step-rules", RuleView)
        assert view.current_rule is rule
        assert "step 0" not in str(step.query_one("#step-packet", Static).render())
        reasons = str(step.query_one("#step-reasons", Static).render())
        assert "the walk is here" in reasons and "not visited" not in reasons


async def test_the_step_log_lists_what_fits_so_the_newest_step_is_in_view() -> None:
    from textual.widgets import Static

    from tui.session import PacketRequest
    from tui.widgets.step_panes import stack_text

    app = IptscopeApp(Explorer(neutron()))
    packet = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                           dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                           bridged=True, state="NEW")
    async with app.run_test(size=(160, 36)) as pilot:
        app.open_stepper(packet, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        await pilot.pause()
        assert step.verdict == "DROP"
        side = step.query_one("#step-side")
        log = str(step.query_one("#step-log", Static).render())
        assert side.max_scroll_y == 0  # nothing below the fold
        assert log.rstrip().endswith("filter:neutron-openvswi-sg-fallback #1 → DROP"), log
        assert "earlier" in log  # the older steps made room
        # the call stack never wraps a chain name onto a line of its own
        current = step.current
        narrow = stack_text(current, 30).plain.splitlines()
        assert all(len(line) <= 30 for line in narrow), narrow
        assert narrow[-1].endswith("neutron-openvswi-sg-fallback"), narrow


async def test_c_says_it_is_running_before_the_run() -> None:
    from textual.widgets import Static

    from tui.session import PacketRequest

    app = IptscopeApp(Explorer(neutron()))
    packet = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                           dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                           bridged=True, state="NEW")
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(packet, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        step.action_continue()
        verdict = step.query_one("#step-verdict", Static)
        assert "running to the verdict" in str(verdict.render())
        assert step.stepper is not None and step.stepper.cursor == -1  # not yet: drawn first
        step.action_continue()  # a second c meanwhile changes nothing
        await pilot.pause()
        await pilot.pause()
        assert step.verdict == "DROP" and "DROP" in str(verdict.render())
        assert not step.running

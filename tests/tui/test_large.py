"""kube-proxy scale: a 5,000-rule chain is drawn and resolved only where it is visible."""

from __future__ import annotations

import pytest

from tests.tui.rulesets import KUBE_AFTER, load
from tests.tui.waiting import settle
from tui.app import IptscopeApp
from tui.explorer import Explorer
from tui.screens.main import MainScreen
from tui.widgets.chain_tree import ChainTree
from tui.widgets.rule_view import RuleView

pytestmark = pytest.mark.skipif(not KUBE_AFTER.exists(), reason="kube-5000 dump not present")


async def test_kube_services_renders_and_resolves_only_visible_rows() -> None:
    ruleset = load(KUBE_AFTER)
    services = ruleset.tables["nat"].chains["KUBE-SERVICES"]
    assert len(services.rules) > 4000
    app = IptscopeApp(Explorer(ruleset))
    async with app.run_test(size=(160, 48)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        main.navigate("nat", "KUBE-SERVICES")
        await pilot.pause()
        view = main.query_one(RuleView)
        assert len(view.rules) == len(services.rules)
        drawn = view._render_count
        resolved = sum(1 for r in services.rules if r.resolved)
        assert drawn < 120 and resolved < 120, (drawn, resolved)
        await pilot.press("end")
        await pilot.pause()
        assert view.current_rule is services.rules[-1]
        assert sum(1 for r in services.rules if r.resolved) < 200
        # the last rule goes to KUBE-NODEPORTS; the one before it to a service
        await pilot.press("up", "enter")
        await pilot.pause()
        assert main.location is not None and main.location.chain.startswith("KUBE-SVC-")
        # the tree groups the 20,000 nat chains by prefix instead of listing them all
        tree = main.query_one(ChainTree)
        nat = next(n for n in tree.root.children if n.data and n.data.table == "nat")
        assert len(nat.children) < 50
        assert tree.cursor_node is not None and "KUBE-SVC-" in str(tree.cursor_node.label)
        await pilot.press("backspace")
        await pilot.pause()
        assert main.location.chain == "KUBE-SERVICES"
        assert view.current_rule is services.rules[-2]


async def test_stepping_through_kube_services_is_linear_and_in_order() -> None:
    from tui.screens.step import StepScreen
    from tui.session import PacketRequest

    app = IptscopeApp(Explorer(load(KUBE_AFTER)))
    request = PacketRequest(path="output", proto="tcp", src="10.0.0.5", sport="40000",
                            dst="10.96.19.135", dport="6379")  # the 5,000th service
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(request, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen) and step.stepper is not None
        indexes = []
        for _ in range(300):
            step.action_step()
            assert step.current is not None
            indexes.append(step.current.index)
        assert indexes == list(range(300))
        # a breakpoint just past the run of 4,999 rules that do not match: continue replays
        # the run once (the walker hands out no step twice), then stops there
        calls = 0
        original = step.stepper.step

        def counted() -> object:
            nonlocal calls
            calls += 1
            assert calls < 20_000, "stepping went quadratic"
            return original()

        step.stepper.step = counted  # type: ignore[method-assign]
        step.breakpoints.add(("nat", "KUBE-SERVICES", 5000))
        step.stepper.breakpoints = set(step.breakpoints)
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.current is not None
        assert step.current.where == "nat:KUBE-SERVICES:rule:5000"
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.verdict == "ACCEPT"
        trace = step.stepper.trace()
        assert str(trace.final_packet.dst).startswith("10.244.")  # DNAT to an endpoint
        assert step.stepper.cursor == len(step.stepper.history) - 1


async def test_following_a_jump_shows_the_range_of_the_chain_in_the_tree() -> None:
    app = IptscopeApp(Explorer(load(KUBE_AFTER)))
    async with app.run_test(size=(160, 48)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        main.navigate("nat", "KUBE-SERVICES", cursor=1)
        await pilot.pause()
        await pilot.press("enter")  # into KUBE-SVC-BA9330A199496BC2
        await pilot.pause()
        tree = main.query_one(ChainTree)
        node = tree.cursor_node
        assert node is not None and node.data is not None
        assert node.data.group is not None, node.label
        label = str(node.label)
        first, _, last = label.split("  ")[0].partition(" – ")
        # the range's first and last names bracket the chain shown
        assert first.rstrip("…") <= "KUBE-SVC-BA9330A199496BC2", label
        assert "KUBE-SVC-BA9330A199496BC2"[:len("KUBE-SVC-") + len(last.rstrip("…"))] <= (
            "KUBE-SVC-" + last.rstrip("…")), label


async def test_tree_groups_fifteen_thousand_endpoint_chains_in_named_ranges() -> None:
    app = IptscopeApp(Explorer(load(KUBE_AFTER)))
    async with app.run_test(size=(160, 48)) as pilot:
        tree = app.screen.query_one(ChainTree)
        tree._node_index[("nat", None, None)].expand()
        await pilot.pause()
        group = tree._node_index[("nat", None, "KUBE-SEP-")]
        assert "15000 chains" in str(group.label)
        group.expand()
        await pilot.pause()
        # 30 ranges of 500 names in order, each named by its first and last name
        subs = [str(n.label) for n in group.children]
        assert len(subs) == 30
        assert subs[0] == "KUBE-SEP-0000… – 086B…  500 chains", subs[0]
        assert subs[-1].startswith("KUBE-SEP-F7B4… – FFFD"), subs[-1]
        assert len({len(sub) for sub in subs}) == 1, subs  # they line up in a column
        main = app.screen
        assert isinstance(main, MainScreen)
        group.collapse()
        main.navigate("nat", "KUBE-SEP-0000523761D5D442")
        await pilot.pause()
        first = group.children[0]
        assert group.is_expanded  # where we are: the family opened down to the range ...
        assert tree.cursor_node is first  # ... that holds it (its 500 chains not built)
        assert not first.is_expanded and len(first.children) == 1
        first.expand()
        await pilot.pause()
        names = [n.data.chain for n in first.children if n.data is not None]
        assert len(names) == 500 and names == sorted(names)
        main.navigate("nat", "KUBE-SEP-000935B5E5832EDE")
        await pilot.pause()
        assert tree.cursor_node is not None and tree.cursor_node.data is not None
        assert tree.cursor_node.data.chain == "KUBE-SEP-000935B5E5832EDE"
        first.collapse()
        main.navigate("nat", "KUBE-SEP-0009BBACCB02C403")
        await pilot.pause()
        assert tree.cursor_node is first  # inside a collapsed range: the range


async def test_references_of_a_chain_with_twenty_thousand_callers_open_at_once() -> None:
    from textual.widgets import Label, OptionList

    from tui.screens.references import REFS_SHOWN, ReferencesDialog

    app = IptscopeApp(Explorer(load(KUBE_AFTER)))
    async with app.run_test(size=(160, 48)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        main.navigate("nat", "KUBE-MARK-MASQ")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ReferencesDialog)
        # 20,000 options took 4.5 s to build: the first 500, and the way to all of them
        assert dialog.query_one(OptionList).option_count == REFS_SHOWN
        title = str(dialog.query_one(Label).render())
        assert title.startswith("20000 rules jump or go to KUBE-MARK-MASQ"), title
        assert "/KUBE-MARK-MASQ finds every one" in title
        await pilot.press("end", "enter")
        await pilot.pause()
        assert main.location is not None and main.location.chain.startswith("KUBE-")

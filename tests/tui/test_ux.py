"""What an operator sees at a glance: whole chain names and counts in the tree, whole targets
in the rule view, `-L` counters as printed with their true range, a tree that can be hidden."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Footer, Static

from ruleset.model import Chain
from tests.tui.rulesets import NEUTRON_LISTING, ROOT, load, neutron
from tests.tui.waiting import settle
from tui.app import IptscopeApp, LoadFailedScreen, make_explorer
from tui.explorer import Explorer
from tui.screens.live import LiveConfig, LiveMainScreen
from tui.screens.main import MainScreen
from tui.screens.step import StepScreen
from tui.session import PacketRequest, load_session
from tui.widgets.chain_tree import WIDTH_CAP, ChainTree, fitted_width
from tui.widgets.rule_detail import RuleDetail
from tui.widgets.rule_view import RuleView

WHATIF = "-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"


def _main(app: IptscopeApp) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


def _lines(widget: ChainTree | RuleView) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_tree_shows_long_chain_names_with_their_counts_at_100_columns() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        tree = _main(app).query_one(ChainTree)
        lines = _lines(tree)
        for label in ("neutron-openvswi-i6746373c-0  5 ←1", "neutron-openvswi-sg-fallback  1 ←4",
                      "neutron-openvswi-o6746373c-0  8 ←2", "FORWARD  2 ACCEPT"):
            assert any(label in line for line in lines), label


def test_fitted_width_is_capped_and_has_a_floor() -> None:
    explorer = Explorer(neutron())
    width = fitted_width(explorer.ruleset, explorer.graphs)
    # "├ neutron-openvswi-sg-fallback  1 ←4" plus scrollbar and border
    assert width == 2 + len("neutron-openvswi-sg-fallback  1 ←4") + 3
    ruleset = neutron()
    ruleset.tables["filter"].chains["x" * 200] = Chain("x" * 200, builtin=False)
    explorer = Explorer(ruleset)
    assert fitted_width(explorer.ruleset, explorer.graphs) == WIDTH_CAP


async def test_z_hides_and_shows_the_tree() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        main = _main(app)
        tree, view = main.query_one(ChainTree), main.query_one(RuleView)
        narrow = view.size.width
        await pilot.press("z")
        await pilot.pause()
        assert not tree.display and view.size.width == 100
        assert view.size.width > narrow and app.focused is view
        await pilot.press("z")
        await pilot.pause()
        assert tree.display and view.size.width == narrow


async def test_rule_view_shows_long_targets_in_full() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 40)) as pilot:
        main = _main(app)
        main.navigate("filter", "neutron-openvswi-sg-chain")
        await pilot.pause()
        view = main.query_one(RuleView)
        text = "\n".join(_lines(view))
        assert "neutron-openvswi-i6746373c-0 " in text
        assert "neutron-openvswi-o6746373c-0 " in text
        # back to a chain of short targets: the column is the usual width again
        main.navigate("filter", "INPUT")
        await pilot.pause()
        assert dict((c.key, w) for c, w in view._layout())["target"] == 22


async def test_detail_shows_rounded_counters_as_printed_with_their_range() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        detail = _main(app).query_one(RuleDetail)
        assert isinstance(detail.text, Text)
        assert "Counters: 550K packets (549,500..550,499), 80M bytes (79,499,500..80,499,499)" \
            in detail.plain
        assert "rounded by -L" in detail.plain
        assert "550000" not in detail.plain and "80000000" not in detail.plain


async def test_session_saved_at_the_verdict_resumes_at_the_verdict(tmp_path: Path) -> None:
    session_file = tmp_path / "s.json"
    packet = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                           dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                           bridged=True)
    app = IptscopeApp(paths=[str(NEUTRON_LISTING)], session_path=str(session_file))
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        app.open_stepper(packet, assume="nomatch", edits=[WHATIF])
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.verdict == "ACCEPT"
        await pilot.press("S")
        await pilot.pause()
    session = load_session(session_file)
    assert session.done and session.step == 1
    app2 = IptscopeApp(paths=session.paths, session=session)
    async with app2.run_test(size=(160, 48)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app2.screen, StepScreen) and app2.screen.stepper is not None:
                break
        resumed = app2.screen
        assert isinstance(resumed, StepScreen)
        assert resumed.verdict == "ACCEPT"
        bar = str(resumed.query_one("#step-verdict", Static).render())
        assert bar.startswith(" ACCEPT") or "ACCEPT" in bar.split("decided")[0]
        assert "not yet" not in bar
        assert resumed.stepper is not None and resumed.stepper.cursor == 0


async def test_stepping_side_pane_leaves_the_rules_room_at_100_columns() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        packet = PacketRequest(path="forward", proto="udp", src="14.52.45.2",
                               dst="14.52.45.10")
        app.open_stepper(packet, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        rules = step.query_one("#step-rules", RuleView)
        assert step.query_one("#step-side").size.width <= 36
        assert rules.size.width >= 60
        assert any("neutron-openvswi-FORWARD " in rules.render_line(y).text
                   for y in range(rules.size.height))


async def test_live_tree_labels_follow_rule_counts() -> None:
    """A poll that inserts a rule (same chains) updates the tree's counts, not only the rules."""
    lab = ROOT / "samples" / "neutron" / "lab" / "lab-nft-loaded.save-c.txt"
    first = lab.read_text()
    second = first.replace("-A INPUT ", "-A INPUT -p udp --dport 9999 -j ACCEPT\n-A INPUT ", 1)
    assert second != first
    outputs = [(0, first, ""), (0, second, "")]

    def runner(argv: list[str], timeout: float) -> tuple[int, str, str]:
        return outputs.pop(0) if len(outputs) > 1 else outputs[0]

    app = IptscopeApp(live=LiveConfig(interval=0.05, runner=runner))
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, LiveMainScreen) and app.screen.polls >= 2:
                break
        screen = app.screen
        assert isinstance(screen, LiveMainScreen)
        await pilot.pause()
        text = "\n".join(_lines(screen.query_one(ChainTree)))
        rules = len(screen.explorer.ruleset.tables["filter"].chains["INPUT"].rules)
        assert rules == first.count("-A INPUT ") + 1  # the second poll is shown
        assert f"INPUT  {rules} ACCEPT" in text
        total = screen.explorer.ruleset.tables["filter"].rule_count
        assert f"{total} rules" in text
        await pilot.press("p")
        await pilot.pause()
        assert "PAUSED (p resumes)" in str(screen.query_one("#status", Static).render())


async def test_nothing_loaded_names_the_file_once_and_quits_with_status_1(
        tmp_path: Path) -> None:
    empty = tmp_path / "empty.save"
    empty.write_text("")
    app = IptscopeApp(paths=[str(empty)])
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, LoadFailedScreen):
                break
        assert isinstance(app.screen, LoadFailedScreen)
        text = str(app.screen.query_one("#load-errors", Static).render())
        assert "empty input" in text and text.count(str(empty)) == 1
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 1


async def test_moving_in_the_tree_shows_the_chain_and_back_returns() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 40)) as pilot:
        main = _main(app)
        tree, view = main.query_one(ChainTree), main.query_one(RuleView)
        assert main.location is not None and main.location.chain == "INPUT"
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is tree
        await pilot.press("down")
        await pilot.pause()
        assert main.location.chain == "FORWARD" and len(view.rules) == 2
        await pilot.press("down")
        await pilot.pause()
        assert main.location.chain == "OUTPUT"
        assert app.focused is tree  # browsing keeps the focus in the tree
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is view and main.location.chain == "OUTPUT"
        await pilot.press("backspace")
        await pilot.pause()
        assert main.location.chain == "INPUT"  # one history entry for the whole browse


async def test_a_late_reveal_on_a_screen_going_away_does_not_crash() -> None:
    """The tree's cursor is placed after the first refresh; an app that quits at once (or a
    screen torn down) must not raise NoMatches from that callback."""
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        main = _main(app)
        await main.query_one(ChainTree).remove()
        main._reveal_current()
        await pilot.pause()
        assert main.location is not None and not main.query(ChainTree)


async def test_stepper_footer_offers_only_keys_that_work_and_keeps_help_at_100_columns(
        ) -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_stepper(PacketRequest(path="forward", proto="udp", src="14.52.45.2",
                                       dst="14.52.45.10"), assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        shown = {b.binding.action for b in step.active_bindings.values()
                 if b.binding.show and b.enabled}
        assert "activate" not in shown and "step" in shown
        footer = step.query_one(Footer)
        keys = {str(w.render()): w for w in footer.query("FooterKey")}
        assert not any("Follow jump" in k for k in keys)
        help_key = next(w for k, w in keys.items() if "Keys" in k)
        assert help_key.region.right <= 100 - 12  # left of "▏^p palette", not scrolled off
        await pilot.press("enter")  # unbound here: nothing moves, nothing breaks
        await pilot.pause()
        assert app.screen is step


async def test_delta_detail_gives_the_range_of_a_growth_from_rounded_figures() -> None:
    deltas = ROOT / "samples" / "deltas"
    before, after = (load(deltas / f"lab-{w}.L-vn.txt") for w in ("before", "after"))
    app = IptscopeApp(make_explorer([before, after], ["before", "after"], []))
    async with app.run_test(size=(160, 40)) as pilot:
        main = _main(app)
        main.navigate("filter", "INPUT", cursor=1)
        await pilot.pause()
        plain = main.query_one(RuleDetail).plain
        assert "Counters: 850 packets, 1153K bytes (1,152,500..1,153,499)" in plain
        growth = plain.split("Grew by: ", 1)[1]
        assert growth.startswith("810 packets, ~") and "bytes" in growth
        assert "1143880 bytes" not in growth  # no false exact figure
        assert ".." in growth.split("packets,", 1)[1]


async def test_next_hit_says_which_hit_it_is() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 40)) as pilot:
        main = _main(app)
        await pilot.press("slash")
        await pilot.press(*"RETURN")
        await pilot.press("enter")
        for _ in range(50):
            await pilot.pause(0.02)
            if main.hits:
                break
        assert len(main.hits) > 2
        await pilot.press("n")
        await pilot.pause()
        status = str(main.query_one("#status", Static).render())
        assert f"/{len(main.hits)}" in status and "hit " in status
        first = status.split("hit ")[-1]
        await pilot.press("n")
        await pilot.pause()
        assert str(main.query_one("#status", Static).render()).split("hit ")[-1] != first
        # elsewhere, `hit 2/N` would be a stale claim: the search's summary stays, it goes
        main.navigate("filter", "OUTPUT")
        await pilot.pause()
        status = str(main.query_one("#status", Static).render())
        assert "/RETURN: " in status and not status.rstrip().endswith(f"/{len(main.hits)}")
        assert " hit " not in status.split("f filter)")[-1], status


async def test_delta_view_at_100_columns_keeps_help_and_the_state_in_view() -> None:
    lab = ROOT / "samples" / "neutron" / "lab"
    before, after = (load(lab / f"lab-nft-{w}.save-c.txt") for w in ("loaded", "dropped"))
    after.path = "/var/tmp/a/rather/long/directory/name/for/the/dumps/lab-nft-dropped.save"
    app = IptscopeApp(make_explorer([before, after], ["before", "after"], []))
    async with app.run_test(size=(100, 30)) as pilot:
        main = _main(app)
        main.navigate("filter", "neutron-openvswi-FORWARD")
        await pilot.pause()
        keys = {str(w.render()): w for w in main.query_one(Footer).query("FooterKey")}
        for label in ("Keys", "Hottest", "Hide unchanged", "Quit"):
            key = next(w for k, w in keys.items() if label in k)
            assert key.region.right <= 100 - 12, label  # left of "▏^p palette"
        await pilot.press("u")
        await pilot.pause()
        status = str(main.query_one("#status", Static).render())
        # the path gave way to its name, and what is going on is all there
        assert status.startswith(" lab-nft-dropped.save "), status
        assert "delta:" in status and status.rstrip().endswith("[unchanged hidden]"), status
        assert Text(status).cell_len <= 100
    app = IptscopeApp(make_explorer([before, after], ["before", "after"], []))
    async with app.run_test(size=(220, 30)) as pilot:  # room enough: the whole path
        status = str(_main(app).query_one("#status", Static).render())
        assert status.startswith(f" {after.path} "), status


async def test_breadcrumb_counts_read_as_words() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 40)) as pilot:
        main = _main(app)
        main.navigate("filter", "neutron-openvswi-FORWARD")
        await pilot.pause()
        crumb = str(main.query_one("#breadcrumb", Static).render())
        assert crumb.endswith("4 rules, 1 reference"), crumb


def test_the_routing_step_says_where_the_packet_goes_not_colon_routing() -> None:
    from ruleset.matches import MATCH
    from ruleset.packet import Packet
    from ruleset.stepper import Step, StepKind
    from ruleset.targets import Action
    from tui.widgets.step_panes import log_text, step_title

    packet = Packet.make("10.244.1.5", "10.244.107.25", "tcp", None, 5432)
    route = Step(7, StepKind.ROUTE, "PREROUTING", "", "routing", None, None, MATCH, None, (),
                 None, Action.CONTINUE, (), packet,
                 note="routing: dst 10.244.107.25 is not local: FORWARD")
    assert step_title(route) == "routing"
    log = log_text([route]).plain
    assert "■ routing: dst 10.244.107.25 is not local: FORWARD" in log
    assert ":routing" not in log


async def test_an_ip6tables_dump_says_ip6tables_and_counts_read_as_words() -> None:
    from parser.load import load_text

    ruleset = load_text("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::1/128 -j DROP\n"
                        "COMMIT\n", "v6.save")
    app = IptscopeApp(Explorer(ruleset))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        status = str(_main(app).query_one("#status", Static).render())
        assert status.startswith(" v6.save   ip6tables-save  ipv6  1 table, 1 rule"), status


def test_stepping_header_puts_the_step_count_before_the_packet() -> None:
    from tui.widgets.step_panes import packet_text

    line = packet_text("forward: udp 14.52.45.2:40000 > 14.52.45.10:50000 physdev-out "
                       "tap6746373c-01 bridged NEW", 13, ["-I FORWARD 1 -j ACCEPT"]).plain
    assert line.startswith(" STEPPING   step 13  1 what-if edit   forward: udp"), line
    assert len(line[:line.index("forward")]) < 40  # in view at any width

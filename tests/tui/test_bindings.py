"""Pilot tests driving every binding of the app, asserting on what it shows and holds."""

from __future__ import annotations

import json
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import Input, OptionList, Static

from tests.tui.rulesets import NEUTRON_LISTING, ROOT, load, neutron
from tests.tui.waiting import settle
from tui.app import IptscopeApp, make_explorer
from tui.explorer import Explorer
from tui.screens.diagnostics import DiagnosticsDialog
from tui.screens.help import HelpScreen
from tui.screens.hottest import HottestDialog
from tui.screens.main import MainScreen
from tui.screens.packet_form import PacketFormDialog
from tui.screens.references import ReferencesDialog
from tui.screens.step import StepScreen
from tui.session import PacketRequest, load_session
from tui.widgets.chain_tree import ChainTree
from tui.widgets.rule_detail import RuleDetail
from tui.widgets.rule_view import RuleView

LAB = ROOT / "samples" / "neutron" / "lab"
LOADED = LAB / "lab-nft-loaded.save-c.txt"
DROPPED = LAB / "lab-nft-dropped.save-c.txt"
SEED_PACKET = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                            dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                            bridged=True, state="NEW")


def main_of(app: IptscopeApp) -> MainScreen:
    for screen in app.screen_stack:
        if isinstance(screen, MainScreen):
            return screen
    raise AssertionError("no main screen")


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_tree_lists_builtins_first_with_counts_and_marks() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)):
        tree = app.screen.query_one(ChainTree)
        filter_node = tree.root.children[0]
        labels = [str(c.label) for c in filter_node.children]
        assert labels[0].startswith("INPUT") and "ACCEPT" in labels[0]
        assert labels[1].startswith("FORWARD") and labels[2].startswith("OUTPUT")
        sg = next(lbl for lbl in labels if lbl.startswith("neutron-openvswi-sg-fallback"))
        assert "1" in sg and "←4" in sg


async def test_tree_select_shows_chain_and_detail_explains() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        tree = main.query_one(ChainTree)
        tree.focus()
        node = tree._node_index[("filter", "neutron-openvswi-i6746373c-0", None)]
        tree.move_cursor(node)
        await pilot.press("enter")
        await pilot.pause()
        assert main.location is not None and main.location.chain == "neutron-openvswi-i6746373c-0"
        view = main.query_one(RuleView)
        assert view.has_focus
        await pilot.press("down")
        await pilot.pause()
        detail = main.query_one(RuleDetail).plain
        assert "source address is 14.52.45.2" in detail
        assert "UDP destination port 68" in detail
        assert "iptables -D neutron-openvswi-i6746373c-0 2" in detail
        assert "iptables -I neutron-openvswi-i6746373c-0 2 -s 14.52.45.2" in detail
        await pilot.press("i")
        await pilot.pause()
        full = app.screen.query_one("#text", Static).render()
        assert "-D neutron-openvswi-i6746373c-0 -s 14.52.45.2" in str(full)
        await pilot.press("escape")


async def test_mouse_click_selects_and_double_click_follows() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        main.navigate("filter", "FORWARD")
        await pilot.pause()
        view = main.query_one(RuleView)
        await pilot.click(RuleView, offset=(20, 2))  # header is row 0, rule 2 is row 2
        await pilot.pause()
        assert view.cursor == 1
        await pilot.click(RuleView, offset=(20, 2), times=2)
        await pilot.pause()
        assert main.location is not None and main.location.chain == "neutron-openvswi-FORWARD"


async def test_references_key_lists_referrers_and_jumps() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        main.navigate("filter", "neutron-openvswi-sg-fallback")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ReferencesDialog)
        assert [f"{r.chain_name}:{r.position}" for r in dialog.rules] == [
            "neutron-openvswi-i2c6951d5-e:5", "neutron-openvswi-i6746373c-0:5",
            "neutron-openvswi-o2c6951d5-e:8", "neutron-openvswi-o6746373c-0:8"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen is main
        assert main.location is not None
        assert main.location.chain == "neutron-openvswi-i6746373c-0"
        assert main.query_one(RuleView).current_rule.position == 5  # type: ignore[union-attr]
        await pilot.press("backspace")
        await pilot.pause()
        assert main.location.chain == "neutron-openvswi-sg-fallback"


async def test_palette_goes_to_chain_by_fuzzy_name() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert CommandPalette.is_open(app)
        await pilot.press(*"sgfallb")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert main.location is not None
        assert main.location.chain == "neutron-openvswi-sg-fallback"


async def test_search_by_address_port_text_and_filter() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        await pilot.press("slash")
        box = main.query_one("#search", Input)
        assert box.has_focus
        await pilot.press(*"14.52.45.2", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        hits = {(r.chain_name, r.position) for r in main.hits}
        assert hits == {("neutron-openvswi-i2c6951d5-e", 2), ("neutron-openvswi-i6746373c-0", 2)}
        assert main.location is not None
        assert main.location.chain == "neutron-openvswi-i2c6951d5-e"  # jumped to the first hit
        await pilot.press("n")
        await pilot.pause()
        assert main.location.chain == "neutron-openvswi-i6746373c-0"
        await pilot.press("f")
        await pilot.pause()
        view = main.query_one(RuleView)
        assert [r.position for r in view.rules] == [2]
        assert "filtered" in text_of(main.query_one("#status", Static))
        await pilot.press("f")
        await pilot.pause()
        assert len(view.rules) == 5
        # a port
        await pilot.press("slash", *"67", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert main.search_query is not None and main.search_query.kind == "port"
        assert len(main.hits) == 8
        # a chain name
        await pilot.press("slash", *"neutron-openvswi-sg-chain", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert main.search_query is not None and main.search_query.kind == "chain"
        assert len(main.hits) == 9  # 5 rules in it, 4 jumping to it
        # text
        await pilot.press("slash", *"DHCP Spoofing", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(main.hits) == 2
        await pilot.press("escape")
        await pilot.pause()
        assert main.search_query is None and not main.hits


async def test_delta_view_heat_hide_unchanged_and_hottest() -> None:
    app = IptscopeApp(make_explorer([load(LOADED), load(DROPPED)],
                                    [str(LOADED), str(DROPPED)], []))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        assert "7 rules grew" in text_of(main.query_one("#status", Static))
        view = main.query_one(RuleView)
        assert view.heat is not None
        main.navigate("filter", "neutron-openvswi-FORWARD")
        await pilot.pause()
        grown = [r.position for r in view.rules if view.heat[id(r)].packets]
        assert grown == [3]
        await pilot.press("u")
        await pilot.pause()
        assert [r.position for r in view.rules] == [3]
        await pilot.press("u")
        await pilot.pause()
        assert len(view.rules) == 4
        await pilot.press("h")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, HottestDialog)
        assert len(dialog.rules) == 7
        target = dialog.query_one(OptionList)
        target.highlighted = [r.chain_name for r in dialog.rules].index(
            "neutron-openvswi-sg-fallback")
        await pilot.press("enter")
        await pilot.pause()
        assert main.location is not None
        assert main.location.chain == "neutron-openvswi-sg-fallback"


async def test_loading_in_a_worker_and_bad_input_never_crashes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.save"
    bad.write_text("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1 -j ACCEPT\n"
                   "this is not a rule\n-A INPUT -p tcp -j DROP\nCOMMIT\n")
    missing = tmp_path / "missing.save"
    app = IptscopeApp(paths=[str(bad), str(missing)])
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        main = main_of(app)
        assert main.explorer.ruleset.rule_count >= 1
        assert main.explorer.load_errors and "missing.save" in main.explorer.load_errors[0]
        await pilot.press("D")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DiagnosticsDialog)
        shown = text_of(dialog.query_one("#diagnostics", Static))
        assert "missing.save" in shown
        listed = dialog.query_one("#diagnostic-list", OptionList)
        shown = "\n".join(str(listed.get_option_at_index(i).prompt)
                          for i in range(listed.option_count))
        assert f"{bad}:4:1: error" in shown and "this is not a rule" in shown  # FILE:LINE:COL
        assert main.explorer.ruleset.rule_count == 2  # what loaded is kept


async def test_nothing_loads_shows_errors_and_quits(tmp_path: Path) -> None:
    app = IptscopeApp(paths=[str(tmp_path / "nope")])
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.screen.query("#load-errors"):
                break
        assert "nope" in text_of(app.screen.query_one("#load-errors", Static))
        await pilot.press("q")


async def test_stepping_forward_back_breakpoint_and_continue(tmp_path: Path) -> None:
    app = IptscopeApp(Explorer(neutron()), export_dir=str(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(SEED_PACKET, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("n")
        await pilot.pause()
        assert step.current is not None and step.current.where == "filter:FORWARD:rule:1"
        await pilot.press("space", "n")
        await pilot.pause()
        assert step.stepper is not None and step.stepper.cursor == 2
        await pilot.press("b")
        await pilot.pause()
        assert step.stepper.cursor == 1
        assert step.current.where == "filter:neutron-filter-top:rule:1"
        # breakpoint on neutron-openvswi-sg-chain rule 3, then continue to it
        step.shown = None
        step.query_one(RuleView)
        app.screen.query_one(RuleView).set_rules(
            step.ruleset.tables["filter"].chains["neutron-openvswi-sg-chain"].rules)
        step.shown = ("filter", "neutron-openvswi-sg-chain")
        step.query_one(RuleView).cursor = 2
        await pilot.press("x")
        await pilot.pause()
        assert ("filter", "neutron-openvswi-sg-chain", 3) in step.breakpoints
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.current is not None
        assert step.current.where == "filter:neutron-openvswi-sg-chain:rule:3"
        assert "Breakpoint" in text_of(step.query_one("#step-verdict", Static))
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.verdict == "DROP"
        # back from the verdict, and forward to it again
        await pilot.press("b", "b", "b")
        await pilot.pause()
        assert step.verdict is None
        await pilot.press("n", "n", "n")
        await pilot.pause()
        assert step.verdict == "DROP"
        # the fix suggestion is one key away, and Enter applies it
        await pilot.press("s")
        await pilot.pause()
        box = step.query_one("#whatif", Input)
        assert box.has_focus and "-j ACCEPT" in box.value
        await pilot.press("enter")
        await pilot.pause()
        assert step.verdict == "ACCEPT"
        # exports: trace as Markdown, edits as commands
        await pilot.press("m")
        await pilot.pause()
        markdown = (tmp_path / "iptscope-trace.md").read_text()
        assert "**Verdict: ACCEPT**" in markdown and "## What-if edits" in markdown
        await pilot.press("e")
        await pilot.pause()
        assert "iptables -I FORWARD 1" in (tmp_path / "iptscope-edits.sh").read_text()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_session_round_trip(tmp_path: Path) -> None:
    session_file = tmp_path / "s.json"
    app = IptscopeApp(paths=[str(NEUTRON_LISTING)], session_path=str(session_file),
                      export_dir=str(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        app.open_stepper(SEED_PACKET, assume="nomatch",
                         breakpoints=["filter:neutron-openvswi-sg-fallback:1"])
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("o")
        await pilot.pause()
        note = step.query_one("#note", Input)
        assert note.has_focus
        note.value = "tftp replies dropped"
        await pilot.press("enter")
        await pilot.pause()
        assert step.notes == "tftp replies dropped"
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.current is not None
        assert step.current.where == "filter:neutron-openvswi-sg-fallback:rule:1"
        step.apply_whatif("-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT")
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("S")
        await pilot.pause()
        saved_cursor = step.stepper.cursor  # type: ignore[union-attr]
    data = json.loads(session_file.read_text())
    assert data["packet"]["physdev_out"] == "tap6746373c-01"
    assert data["edits"] == ["-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"]
    assert data["breakpoints"] == ["filter:neutron-openvswi-sg-fallback:1"]
    session = load_session(session_file)
    app2 = IptscopeApp(paths=session.paths, session=session)
    async with app2.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app2.screen, StepScreen) and app2.screen.stepper is not None:
                break
        resumed = app2.screen
        assert isinstance(resumed, StepScreen)
        assert resumed.edits == session.edits
        assert resumed.request == session.packet
        assert resumed.notes == "tftp replies dropped"
        assert resumed.stepper is not None and resumed.stepper.cursor == saved_cursor
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert resumed.verdict == "ACCEPT"


async def test_help_lists_every_binding_and_export_svg(tmp_path: Path) -> None:
    app = IptscopeApp(Explorer(neutron()), export_dir=str(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(desc for _, desc, _ in app.screen.rows)
        for words in ("Follow jump", "Back", "Forward", "Refs", "Search", "Trace pkt", "Quit",
                      "Keys", "Rule detail", "Export SVG", "palette"):
            assert words in text
        # keys that do nothing now are listed too, and say so
        assert "Hottest  (not now)" in text and "Filter  (not now)" in text
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("E")
        await pilot.pause()
        svg = list(tmp_path.glob("*.svg"))
        assert svg and "<svg" in svg[0].read_text()
        await pilot.press("q")


async def test_no_color_is_respected(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NO_COLOR", "1")
    app = IptscopeApp(make_explorer([load(LOADED), load(DROPPED)], ["a", "b"], []))
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.no_color
        main = main_of(app)
        main.navigate("filter", "neutron-openvswi-FORWARD", cursor=0)
        await pilot.pause()
        view = main.query_one(RuleView)
        strip = view._render_rule(2)[0]  # the rule that grew: no heat colour without colour
        assert all(seg.style is None or seg.style.bgcolor is None or
                   seg.style.bgcolor.name != "rgb(150,50,0)" for seg in strip)
        assert "+1" in "".join(seg.text for seg in strip)


async def test_packet_form_prefills_from_rule_and_remembers_last_packet() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        main.navigate("filter", "neutron-openvswi-i6746373c-0", cursor=1)
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PacketFormDialog)
        values = {f: form.query_one(f"#{f}", Input).value for f in ("src", "proto", "sport",
                                                                    "dport")}
        assert values == {"src": "14.52.45.2", "proto": "udp", "sport": "67", "dport": "68"}
        form.query_one("#dst", Input).value = "14.52.45.10"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, StepScreen)
        await pilot.press("escape")
        await pilot.pause()
        main.navigate("filter", "neutron-openvswi-sg-fallback")
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PacketFormDialog)
        # the rule says nothing about addresses: the last packet's are kept
        assert form.query_one("#dst", Input).value == "14.52.45.10"
        assert form.query_one("#sport", Input).value == "67"
        form.query_one("#src", Input).value = "not an address"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form  # a bad packet is refused with a message, never a crash
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main


async def test_n_walks_every_step_once_in_order_to_the_verdict() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(SEED_PACKET, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen) and step.stepper is not None
        seen: list[int] = []
        for _ in range(200):
            await pilot.press("n")
            if step.current is not None and (not seen or step.current.index != seen[-1]):
                seen.append(step.current.index)
            if step.verdict is not None:
                break
        assert step.verdict == "DROP"
        assert seen == list(range(len(seen)))  # never jumps back, never skips
        assert len(seen) == len(step.stepper.history)
        # and back to the start with b, one step at a time
        for expected in range(len(seen) - 2, -2, -1):
            await pilot.press("b")
            assert step.stepper.cursor == expected


async def test_unknown_match_shows_both_branches() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(SEED_PACKET)  # no default: ask at each unknown
        await pilot.pause()
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        from tui.screens.assume import AssumeDialog
        from tui.screens.branches import BranchesDialog

        assert isinstance(app.screen, AssumeDialog)
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, BranchesDialog)
        verdicts = {t.verdict.value for t in dialog.exploration.branches}
        assert verdicts == {"ACCEPT", "DROP"}
        shown = str(dialog.query_one("#branches", Static).render())
        assert "NIPv4b3a1256e-07fe-4e6b-bfc5-" in shown or "i6746373c-0 rule 3" in shown


async def test_small_terminal_still_works() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(80, 24)) as pilot:
        main = main_of(app)
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert main.location is not None and len(main.location.trail) == 2
        app.open_stepper(SEED_PACKET, assume="nomatch")
        await pilot.pause()
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert isinstance(app.screen, StepScreen) and app.screen.verdict == "DROP"
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        await pilot.press("b", "n")
        assert app.screen.verdict == "DROP"


async def test_a_rule_that_cannot_be_resolved_is_shown_not_fatal() -> None:
    from ruleset.model import Rule

    ruleset = neutron()
    chain = ruleset.tables["filter"].chains["FORWARD"]

    def broken(rule: Rule) -> object:
        raise ValueError("bad words at column 7")

    chain.append(Rule(target_name="ACCEPT", text="-A FORWARD -x ??? -j ACCEPT",
                      resolver=broken))  # type: ignore[arg-type]
    app = IptscopeApp(Explorer(ruleset))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        main.navigate("filter", "FORWARD", cursor=2)
        await pilot.pause()
        assert "Cannot read this rule: bad words at column 7" in main.query_one(RuleDetail).plain
        await pilot.press("slash", *"10.0.0.1", "enter")  # resolves every rule: no crash
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert main.hits == []
        other = PacketRequest(path="forward", proto="udp", src="10.0.0.1", dst="10.0.0.2",
                              sport="1", dport="2", state="NEW")
        app.open_stepper(other, assume="nomatch")
        await pilot.pause()
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        assert "bad words" in str(step.query_one("#step-verdict", Static).render())


async def test_recording_and_snapshot_files_open_in_the_delta_view(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from ruleset.record import RecordingWriter

    recording = tmp_path / "triage.rec"
    start = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    with RecordingWriter.open(str(recording)) as writer:
        for i, dump in enumerate((LOADED, LOADED, DROPPED)):
            writer.write(dump.read_text(), start + timedelta(seconds=2 * i), "iptables-save -c")
    app = IptscopeApp(paths=[str(recording)])
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        main = main_of(app)
        assert main.explorer.delta_summary.startswith("delta of 3 snapshots, #1 to #3")
        assert "7 rules grew" in main.explorer.delta_summary
        assert "over 4s" in main.explorer.delta_summary
        await pilot.press("greater_than_sign")  # baseline: the second snapshot
        await pilot.pause()
        assert main.explorer.delta_summary.startswith("delta of 3 snapshots, #2 to #3")
        assert "7 rules grew" in main.explorer.delta_summary  # the drop came after #2
        assert "over 2s" in main.explorer.delta_summary
        await pilot.press("less_than_sign")
        await pilot.pause()
        assert main.explorer.delta_summary.startswith("delta of 3 snapshots, #1 to #3")
    app = IptscopeApp(paths=[str(LOADED), str(DROPPED)])
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen):
                break
        assert main_of(app).explorer.delta_summary.startswith("delta: 7 rules grew")


async def test_cursor_over_visited_rules_shows_their_reasons() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(SEED_PACKET, assume="nomatch",
                         breakpoints=["filter:neutron-openvswi-i6746373c-0:5"])
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.current is not None
        assert step.current.where == "filter:neutron-openvswi-i6746373c-0:rule:5"
        view = step.query_one("#step-rules", RuleView)
        marks = {r.position: view.marks[id(r)].symbol for r in view.rules}
        assert marks[5].startswith("●") and marks[5].endswith("✓")
        assert marks[3].endswith("?") and marks[4].endswith("✗")
        await pilot.press("up")
        await pilot.pause()
        reasons = str(step.query_one("#step-reasons", Static).render())
        assert "#4" in reasons and "did not match" in reasons
        await pilot.press("up")
        await pilot.pause()
        reasons = str(step.query_one("#step-reasons", Static).render())
        assert "UNKNOWN" in reasons and "assumed did not match" in reasons


async def test_a_ruleset_with_nothing_in_it(tmp_path: Path) -> None:
    empty = tmp_path / "empty.save"
    empty.write_text("# Generated by iptables-save v1.8.9 on Fri Nov 27 18:15:07 2026\n")
    app = IptscopeApp(paths=[str(empty)])
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, MainScreen) or app.screen.query("#load-errors"):
                break
        if app.screen.query("#load-errors"):  # nothing to show: said so, q quits
            assert "empty" in text_of(app.screen.query_one("#load-errors", Static))
            await pilot.press("q")
            return
        main = main_of(app)
        assert main.explorer.ruleset.rule_count == 0
        for key in ("enter", "backspace", "right_square_bracket", "r", "f", "u", "h", "t"):
            await pilot.press(key)
            await pilot.pause()
            if app.screen is not main:
                await pilot.press("escape")
                await pilot.pause()
        assert app.screen is main


async def test_ipsets_file_decides_the_set_match(tmp_path: Path) -> None:
    ipsets = ROOT / "samples" / "neutron" / "ipsets.save"
    app = IptscopeApp(Explorer(neutron()), export_dir=str(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(SEED_PACKET, ipsets=str(ipsets))  # no assumption, nothing to ask
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert app.screen is step and step.verdict == "DROP"
        assert step.stepper is not None and not step.stepper.walker.assumptions
        await pilot.press("S")
        await pilot.pause()
    saved = load_session(tmp_path / "iptscope-session.json")
    assert saved.ipsets == str(ipsets)


async def test_saving_a_new_session_never_overwrites_another(tmp_path: Path) -> None:
    other = tmp_path / "iptscope-session.json"
    other.write_text("somebody else's session\n")
    app = IptscopeApp(Explorer(neutron()), export_dir=str(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        app.open_stepper(SEED_PACKET, assume="nomatch")
        await pilot.pause()
        await pilot.press("n", "S")
        await pilot.pause()
        await pilot.press("c", "S")  # the second save updates the file the first one chose
        await pilot.pause()
    assert other.read_text() == "somebody else's session\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "iptscope-session-2.json", "iptscope-session.json"]
    saved = load_session(tmp_path / "iptscope-session-2.json")
    assert saved.done


async def test_packet_form_names_the_field_to_fix_and_puts_the_cursor_there() -> None:
    from textual.widgets import Label

    from tui.screens.packet_form import FIELDS

    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = main_of(app)
        main.navigate("filter", "neutron-openvswi-sg-fallback")  # no addresses in the rule
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PacketFormDialog)
        # placeholders never look like values typed in (the seed story's were)
        for _, _, placeholder in FIELDS:
            assert "14.52.45" not in placeholder and "tap6746373c" not in placeholder
        assert form.query_one("#src", Input).value == ""
        form.query_one("#dst", Input).focus()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form
        error = str(form.query_one("#form-error", Label).render())
        assert error.startswith("source: required"), error
        assert form.focused is form.query_one("#src", Input)
        await pilot.press(*"10.0.0.5")
        form.query_one("#dst", Input).value = "10.0.0.9"
        form.query_one("#dport", Input).value = "http"
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(form.query_one("#form-error", Label).render())
        assert error == "dst port: 'http' is not a port number (0-65535)", error
        assert form.focused is form.query_one("#dport", Input)
        form.query_one("#dport", Input).value = "80"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, StepScreen)


async def test_help_lists_what_can_be_done_before_how_to_move() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        does = [desc for _, desc, _ in app.screen.rows]
        first = {d.split(":")[0].split("  ")[0] for d in does[:10]}
        assert {"Back", "Refs", "Search", "Keys"} <= first, does[:10]
        index = {d: i for i, d in reversed(list(enumerate(does)))}
        for words in ("Back", "Quit", "Rule detail", "Export SVG"):
            assert index[words] < index["Up"], words


async def test_packet_form_fits_100x30_with_its_message_and_buttons() -> None:
    from textual.widgets import Button, Label

    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PacketFormDialog)
        await pilot.press("enter")  # no source: refused, and the message must be seen
        await pilot.pause()
        error = form.query_one("#form-error", Label)
        assert str(error.render()).startswith("source: required")
        screen_area = form.region
        for widget in (error, form.query_one("#step", Button), form.query_one("#cancel", Button)):
            assert widget.region.height > 0 and screen_area.contains_region(widget.region), (
                widget, widget.region)

"""The rule view at the three sizes people use (100x30, 160x48, 220x60, tree shown): columns
fitted to the chain, compact -L words for the matches, and the wrap toggle (`w`)."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.widgets import Footer

from tests.tui.rulesets import KUBE_AFTER, ROOT, load, neutron
from tests.tui.waiting import settle
from tui.app import IptscopeApp, make_explorer
from tui.explorer import Explorer
from tui.screens.help import binding_rows
from tui.screens.main import MainScreen
from tui.screens.step import StepScreen
from tui.session import PacketRequest
from tui.widgets.rule_view import (
    ANY,
    FIT_ALL,
    RowMark,
    RuleView,
    elide_middle,
    matches_cell,
    readable_matches,
)

SIZES = [(100, 30), (160, 48), (220, 60)]
PORT_CHAIN = "neutron-openvswi-o6746373c-0"  # addresses, udp ports, comments, long targets
LAB = ROOT / "samples" / "neutron" / "lab"


def _main(app: IptscopeApp) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


def _lines(view: RuleView) -> list[str]:
    return [view.render_line(y).text for y in range(view.size.height)]


def _widths(view: RuleView) -> dict[str, int]:
    return {c.key: w for c, w in view._layout()}


def _rule(name: str, position: int) -> object:
    return neutron().tables["filter"].chains[name].rules[position - 1]


def test_elide_middle_keeps_both_ends() -> None:
    name = "neutron-openvswi-o6746373c-0"
    assert elide_middle(name, 40) == name
    short = elide_middle(name, 20)
    assert len(short) == 20 and "…" in short
    assert short.startswith("neutro") and short.endswith("-o6746373c-0")
    assert elide_middle(name, 1) == "…"


def test_matches_are_compact_listing_words() -> None:
    physdev = _rule("neutron-openvswi-INPUT", 1)
    plain = matches_cell(physdev).plain  # type: ignore[arg-type]
    assert plain.startswith("physdev in tap2c6951d5-e6 is-bridged  /* Direct incoming")
    assert "--" not in plain
    dhcp = _rule(PORT_CHAIN, 1)
    assert readable_matches(dhcp) == "sport 68 dport 67"  # type: ignore[arg-type]
    # folded (narrow views): protocol and addresses join the matches
    folded = matches_cell(dhcp, folded=True).plain  # type: ignore[arg-type]
    assert folded.startswith("udp src 0.0.0.0 dst 255.255.255.255 sport 68 dport 67")
    ipset = _rule("neutron-openvswi-i6746373c-0", 3)
    assert readable_matches(ipset) == "match-set NIPv4b3a1256e-07fe-4e6b-bfc5- src"  # type: ignore[arg-type]
    assert isinstance(matches_cell(ipset), Text)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", SIZES)
async def test_matches_are_visible_at_every_size_with_the_tree(size: tuple[int, int]) -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=size) as pilot:
        main = _main(app)
        main.navigate("filter", "neutron-openvswi-INPUT")
        await pilot.pause()
        view = main.query_one(RuleView)
        assert main.query_one("#chains").display  # the tree is shown
        lines = _lines(view)
        assert "matches" in lines[0]
        assert "physdev in tap2c6951d5-e6" in lines[1]
        # nothing needs sideways scrolling: the rows fit the view
        assert view.virtual_size.width <= view.scrollable_content_region.width
        assert view.max_scroll_x == 0
        if size[0] >= 160:
            assert "neutron-openvswi-o2c6951d5-e " in lines[1]  # targets in full
            assert "is-bridged  /* Direct incoming traffic" in lines[1]
        else:  # the long target elided in the middle: its distinctive end stays
            assert "…" in lines[1] and "o2c6951d5-e " in lines[1]


async def test_columns_fit_the_chain_shown() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        main.navigate("filter", PORT_CHAIN)
        await pilot.pause()
        view = main.query_one(RuleView)
        widths = _widths(view)
        assert widths["source"] == len("0.0.0.0")
        assert widths["destination"] == len("255.255.255.255")
        assert widths["target"] == len("neutron-openvswi-sg-fallback")
        assert widths["num"] == 1 and "iface" not in widths  # no -i/-o: no in→out column
        header, first, second = _lines(view)[:3]
        assert "in→out" not in header and " src " in header and " dst " in header
        assert "udp  0.0.0.0 255.255.255.255 sport 68 dport 67  /* Allow DHCP" in first
        assert f" all  {ANY}     {ANY} " in second  # `anywhere` is `any`, dim
        # a chain of jumps only: no protocol column either, the rest goes to the matches
        main.navigate("filter", "FORWARD")
        await pilot.pause()
        widths = _widths(view)
        assert "prot" not in widths and "iface" not in widths
        assert widths["source"] == widths["destination"] == len(ANY)
        assert widths["target"] == len("neutron-openvswi-FORWARD")


async def test_interfaces_get_a_column_when_a_rule_has_them() -> None:
    from parser.load import load_text

    ruleset = load_text("*filter\n:INPUT ACCEPT [0:0]\n"
                        "-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT\n"
                        "-A INPUT -s 2001:db8:85a3::8a2e:370:7334/128 -j DROP\n"
                        "-A INPUT -j ACCEPT\nCOMMIT\n")
    app = IptscopeApp(Explorer(ruleset))
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        main.navigate("filter", "INPUT")
        await pilot.pause()
        view = main.query_one(RuleView)
        widths = _widths(view)
        assert widths["iface"] == len("in→out") and widths["prot"] == len("prot")
        assert widths["source"] == len("2001:db8:85a3::8a2e:370:7334/128")
        assert "pkts" not in widths  # no counters in the dump: no counter columns
        header, first, second, third = _lines(view)[:4]
        assert "in→out" in header
        assert "tcp  eth0→* " in first and "dport 22" in first
        assert "2001:db8:85a3::8a2e:370:7334/128" in second
        assert " all " in third


async def test_narrow_view_folds_addresses_into_the_matches() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        main = _main(app)
        main.navigate("filter", PORT_CHAIN)
        await pilot.pause()
        view = main.query_one(RuleView)
        assert view.folded
        widths = _widths(view)
        assert "source" not in widths and "bytes" not in widths and "pkts" in widths
        lines = _lines(view)
        assert "udp src 0.0.0.0 dst 255" in lines[1]
        assert lines[2].rstrip().endswith("s6746373c-0")  # elided target, its end kept
        await pilot.press("z")  # the tree hidden: wide enough for the columns again
        await pilot.pause()
        assert not view.folded and "source" in _widths(view)


@pytest.mark.parametrize("size", SIZES)
async def test_wrap_shows_whole_matches_under_the_matches_column(size: tuple[int, int]) -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=size) as pilot:
        main = _main(app)
        main.navigate("filter", PORT_CHAIN)
        await pilot.pause()
        view = main.query_one(RuleView)
        footer = main.query_one(Footer)
        assert any("Wrap" in str(k.render()) for k in footer.query("FooterKey"))
        assert ("w", "Wrap", "MainScreen") in binding_rows(main)  # and in the ? list
        await pilot.press("w")
        await pilot.pause()
        assert view.wrap and app.wrap_rules
        lines = _lines(view)
        indent = lines[0].index("matches")
        text = "\n".join(lines)
        # every word of a long comment is on screen, continuation lines hang under `matches`
        comment = ("Drop packets that appear related to an existing connection (e.g. TCP "
                   "ACK/FIN) but do not have an entry in conntrack.")
        joined = " ".join(line[indent:].strip() for line in lines[1:])
        if size[0] >= 160:
            assert comment in joined
        else:
            await pilot.press("end")
            await pilot.pause()
            lines = _lines(view)
            joined = " ".join(line[indent:].strip() for line in lines[1:])
            assert "Send unmatched traffic to the fallback chain." in joined
        assert "…" not in "".join(line[indent:] for line in lines[1:])
        continuation = [line for line in lines[1:] if line[:indent].strip() == "" and
                        line[indent:].strip()]
        assert continuation, text
        assert view.max_scroll_x == 0
        await pilot.press("w")
        await pilot.pause()
        assert not view.wrap


async def test_cursor_moves_rule_by_rule_when_wrapped() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        main = _main(app)
        main.navigate("filter", PORT_CHAIN)
        await pilot.pause()
        view = main.query_one(RuleView)
        await pilot.press("w")
        await pilot.pause()
        assert view._height(0) > 1  # rule 1 takes several lines at this width
        seen = []
        for _ in range(len(view.rules) - 1):
            await pilot.press("down")
            await pilot.pause()
            seen.append(view.cursor)
            rule_lines = [y for y in range(1, view.size.height) if view.index_at(y) == view.cursor]
            assert rule_lines, view.cursor  # the cursor's rule is on screen
            # whole: its last line too (unless it is taller than the view)
            assert view.index_at(rule_lines[-1]) == view.cursor
        assert seen == list(range(1, len(view.rules)))
        assert view.current_rule is view.rules[-1]
        assert view._top > 0  # scrolled by rules to show the last one
        await pilot.press("home")
        await pilot.pause()
        assert view.cursor == 0 and view._top == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert 0 < view.cursor < len(view.rules)


async def test_follow_back_and_refs_work_when_wrapped() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        await pilot.press("w")
        main.navigate("filter", "neutron-openvswi-sg-chain")
        await pilot.pause()
        view = main.query_one(RuleView)
        assert view.wrap
        await pilot.press("down", "enter")
        await pilot.pause()
        assert main.location is not None and main.location.chain == "neutron-openvswi-o2c6951d5-e"
        assert view.wrap  # the mode stays as chains change
        await pilot.press("backspace")
        await pilot.pause()
        assert main.location.chain == "neutron-openvswi-sg-chain" and view.cursor == 1
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is not main
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert not view.wrap


async def test_click_on_a_continuation_line_selects_its_rule() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(100, 30)) as pilot:
        main = _main(app)
        main.navigate("filter", PORT_CHAIN)
        await pilot.press("w")
        await pilot.pause()
        view = main.query_one(RuleView)
        y = next(y for y in range(2, view.size.height) if view.index_at(y) == 0)
        assert y > 1  # rule 1's second line
        await pilot.click(RuleView, offset=(40, y))
        await pilot.pause()
        assert view.cursor == 0
        third = next(y for y in range(1, view.size.height) if view.index_at(y) == 2)
        await pilot.click(RuleView, offset=(40, third))
        await pilot.pause()
        assert view.cursor == 2


async def test_search_marks_and_heat_show_when_wrapped() -> None:
    before = load(LAB / "lab-nft-loaded.save-c.txt")
    after = load(LAB / "lab-nft-dropped.save-c.txt")
    app = IptscopeApp(make_explorer([before, after], ["before", "after"], []))
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        main.navigate("filter", "neutron-openvswi-FORWARD", cursor=2)
        await pilot.press("w")
        await pilot.pause()
        view = main.query_one(RuleView)
        assert "Δpkts" in _lines(view)[0]
        widths = _widths(view)  # delta columns as wide as their figures (or titles)
        assert widths["dpkts"] == len("Δpkts") and widths["dbytes"] == len("Δbytes")
        assert any("+" in line for line in _lines(view)[1:])  # growth shown
        view.set_marks({id(view.rules[1]): RowMark("»", "bold yellow")})
        await pilot.pause()
        marked = next(y for y in range(1, view.size.height) if view.index_at(y) == 1)
        assert view.render_line(marked).text.startswith("»")


async def test_stepper_shares_the_wrap_and_keeps_its_marks() -> None:
    app = IptscopeApp(Explorer(neutron()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        packet = PacketRequest(path="forward", proto="udp", src="14.52.45.2", sport="40000",
                               dst="14.52.45.10", dport="50000", physdev_out="tap6746373c-01",
                               bridged=True, state="NEW")
        app.open_stepper(packet, assume="nomatch")
        await pilot.pause()
        step = app.screen
        assert isinstance(step, StepScreen)
        view = step.query_one("#step-rules", RuleView)
        assert view.wrap
        await pilot.press("c")
        await settle(pilot)  # c runs in a worker
        await pilot.pause()
        assert step.verdict == "DROP"
        lines = _lines(view)
        assert any(line.startswith(("✗", "✓", "→", "?")) or line[:2].strip() for line in
                   lines[1:])
        await pilot.press("w")
        await pilot.pause()
        assert not view.wrap and not app.wrap_rules
        await pilot.press("escape")
        await pilot.pause()
        main = _main(app)
        assert not main.query_one(RuleView).wrap


@pytest.mark.skipif(not KUBE_AFTER.exists(), reason="kube-5000 dump not present")
async def test_long_chain_is_measured_where_shown_even_when_wrapped() -> None:
    ruleset = load(KUBE_AFTER)
    services = ruleset.tables["nat"].chains["KUBE-SERVICES"]
    assert len(services.rules) > FIT_ALL
    app = IptscopeApp(Explorer(ruleset))
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        main.navigate("nat", "KUBE-SERVICES")
        await pilot.press("w")
        await pilot.pause()
        view = main.query_one(RuleView)
        assert view.wrap
        await pilot.press("end")
        await pilot.pause()
        assert view.current_rule is services.rules[-1]
        await pilot.press("pageup", "up")
        await pilot.pause()
        resolved = sum(1 for r in services.rules if r.resolved)
        assert resolved < 200, resolved
        assert "10.96." in "\n".join(_lines(view))  # cluster IPs in the dst column
        assert _widths(view)["destination"] >= len("10.96.0.0/32")


async def test_long_chain_columns_grow_as_wider_values_come_into_view() -> None:
    from parser.load import load_text

    rules = [f"-A INPUT -s 10.0.0.{i % 250}/32 -j ACCEPT" for i in range(FIT_ALL + 50)]
    rules.append("-A INPUT -s 2001:db8::1/128 -p tcp -m tcp --dport 443 -j DROP")
    ruleset = load_text("*filter\n:INPUT ACCEPT [0:0]\n" + "\n".join(rules) + "\nCOMMIT\n")
    app = IptscopeApp(Explorer(ruleset))
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        main.navigate("filter", "INPUT")
        await pilot.pause()
        view = main.query_one(RuleView)
        chain = ruleset.tables["filter"].chains["INPUT"].rules
        assert sum(1 for r in chain if r.resolved) < 100  # measured where shown
        assert _widths(view)["source"] == len("10.0.0.10/32")
        assert "prot" not in _widths(view)
        await pilot.press("end")
        await pilot.pause()
        widths = _widths(view)
        assert widths["source"] == len("2001:db8::1/128") and widths["prot"] == len("prot")
        assert "2001:db8::1/128 " in "\n".join(_lines(view))
        await pilot.press("home")  # columns never shrink back while on the chain
        await pilot.pause()
        assert _widths(view)["source"] == len("2001:db8::1/128")

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


def test_big_groups_split_into_ranges_named_by_their_first_and_last_names() -> None:
    from ruleset.model import Chain
    from tui.widgets.chain_tree import SPLIT_AT, split_ranges

    names = [f"KUBE-SVC-{i:04X}{'AB' if i % 2 else 'CD'}" for i in range(0, 3 * SPLIT_AT)]
    ranges = split_ranges("KUBE-SVC-", [Chain(n) for n in reversed(names)])
    assert [len(part) for _, part in ranges] == [SPLIT_AT] * 3
    assert [c.name for _, part in ranges for c in part] == sorted(names)  # in order
    labels = [label for label, _ in ranges]
    assert labels[0] == "KUBE-SVC-0000… – 01F3…", labels
    assert labels[1] == "KUBE-SVC-01F4… – 03E7…", labels
    for label, part in ranges:  # each end cut where it still tells it from its neighbours
        head, _, tail = label.partition(" – ")
        assert part[0].name.startswith(head.rstrip("…"))
        assert part[-1].name.startswith("KUBE-SVC-" + tail.rstrip("…"))


def test_detail_pane_hint_says_what_i_shows() -> None:
    from tests.tui.rulesets import neutron
    from tui.widgets.rule_detail import detail_text

    rule = neutron().tables["filter"].chains["INPUT"].rules[0]
    head = detail_text(rule, compact=True).plain.splitlines()[0]
    assert head.endswith("(i: full detail)"), head
    assert "(i:" not in detail_text(rule).plain  # the full detail needs no hint


def test_table_labels_count_in_words() -> None:
    from parser.load import load_text
    from tui.widgets.chain_tree import table_label

    ruleset = load_text("*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j CT --notrack\n"
                        "COMMIT\n", "raw.save")
    assert table_label(ruleset.tables["raw"]).plain == "raw  1 chain, 1 rule"


def test_rule_lists_leave_out_what_the_line_already_says() -> None:
    from parser.load import load_text
    from tui.screens.references import rule_option_text

    ruleset = load_text("*nat\n:KUBE-SEP-A - [0:0]\n[348:187344] -A KUBE-SEP-A -s 10.0.0.1/32 "
                        "-j KUBE-MARK-MASQ\nCOMMIT\n", "k.save")
    rule = ruleset.tables["nat"].chains["KUBE-SEP-A"].rules[0]
    text = rule_option_text(rule, "+332 pkts").plain
    assert text == "nat:KUBE-SEP-A #1  +332 pkts  -s 10.0.0.1/32 -j KUBE-MARK-MASQ", text

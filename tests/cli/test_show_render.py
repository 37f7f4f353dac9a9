"""tui.render on rulesets built by hand (no parser): listings, summaries, colours, diagnostics."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console, RenderableType

from ruleset.graph import JumpGraph
from ruleset.model import (
    Chain,
    Counters,
    Diagnostic,
    Match,
    Option,
    Rule,
    Ruleset,
    RuleSpec,
    Severity,
    Target,
)
from ruleset.spec import TargetKind
from tui import render

COUNTERS = Counters(10, 840)


def opt(name: str, *values: str, negated: bool = False) -> Option:
    return Option(name, values, negated)


def rule(target: str | None = None, *generic: Option, matches: tuple[Match, ...] = (),
         options: tuple[Option, ...] = (), goto: bool = False,
         counters: Counters | None = COUNTERS) -> Rule:
    spec = RuleSpec(generic=generic, matches=matches,
                    target=Target(target, options, goto) if target else None)
    return Rule.from_spec(spec, counters=counters)


def demo_ruleset() -> Ruleset:
    rs = Ruleset(format="iptables-save -c", path="demo.save")
    flt = rs.ensure_table("filter")
    inp = flt.ensure_chain("INPUT")
    inp.policy = "DROP"
    inp.policy_counters = Counters(125_000, 18_000_000, False, 1000, 1_000_000)
    flt.ensure_chain("FORWARD")
    flt.ensure_chain("OUTPUT")
    ssh = flt.add_chain(Chain("ssh-in"))
    flt.add_chain(Chain("orphan"))
    inp.append(rule("ssh-in", opt("-p", "tcp"), opt("-s", "10.0.0.0/8"),
                    opt("-i", "eth0", negated=True),
                    matches=(Match("tcp", (opt("--dport", "22"), opt("--syn", negated=True))),
                             Match("comment",
                                   (opt("--comment", "ssh [bold]from[/] lan :smile:"),)))))
    inp.append(rule("ACCEPT",
                    matches=(Match("conntrack", (opt("--ctstate", "RELATED,ESTABLISHED"),)),)))
    inp.append(rule("REJECT", opt("-p", "udp"), matches=(Match("udp", (opt("--dport", "53"),)),),
                    options=(opt("--reject-with", "icmp-port-unreachable"),),
                    counters=Counters(0, 0)))
    inp.append(rule("ssh-in", goto=True))
    inp.append(rule("NOSUCH", matches=(Match("frobnicate", (opt("--level", "9"),)),)))
    inp.append(rule(None, opt("-d", "1.2.3.4/32")))
    inp.append(rule("LOG", options=(opt("--log-prefix", "dropped: "),)))
    ssh.append(rule("DROP", counters=Counters(5_000_000, 3, False, 1_000_000, 1)))
    nat = rs.ensure_table("nat")
    pre = nat.ensure_chain("PREROUTING")
    pre.append(rule("DNAT", opt("-p", "tcp"), matches=(Match("tcp", (opt("--dport", "80"),)),),
                    options=(opt("--to-destination", "10.0.0.5:8080"),)))
    rs.diagnostics.append(Diagnostic("demo.save", 3, 10, Severity.ERROR, "unknown option --foo",
                                     "-A INPUT --foo bar -j ACCEPT"))
    return rs


def plain(renderable: RenderableType, width: int = 100) -> str:
    buf = io.StringIO()
    console = render.make_console(file=buf, width=width, no_color=True)
    console.print(renderable, soft_wrap=True)
    return buf.getvalue()


def coloured(renderable: RenderableType) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=100, force_terminal=True, color_system="standard",
                      no_color=False, markup=False, emoji=False, highlight=False)
    console.print(renderable, soft_wrap=True)
    return buf.getvalue()


def test_listing_golden(golden: Callable[[str, str], None]) -> None:
    golden("render-demo.txt", plain(render.ruleset_listing(demo_ruleset())))


def test_listing_of_one_chain() -> None:
    text = plain(render.ruleset_listing(demo_ruleset(), chain="ssh-in"))
    assert "Chain ssh-in (2 references)" in text
    assert "Chain INPUT" not in text and "*nat" not in text


def test_listing_of_one_table() -> None:
    text = plain(render.ruleset_listing(demo_ruleset(), table="nat"))
    assert "*nat" in text and "*filter" not in text
    assert "DNAT" in text and "tcp dport 80 → to-destination 10.0.0.5:8080" in text


def test_unreachable_chain_is_marked() -> None:
    text = plain(render.ruleset_listing(demo_ruleset()))
    assert "Chain orphan (0 references) unreachable" in text
    assert "Chain ssh-in (2 references)\n" in text


def test_markup_and_emoji_in_dump_text_are_literal() -> None:
    text = plain(render.ruleset_listing(demo_ruleset()))
    assert "/* ssh [bold]from[/] lan :smile: */" in text


def test_rule_summary() -> None:
    rs = demo_ruleset()
    flt = rs.tables["filter"]
    rules = flt.chains["INPUT"].rules
    names = flt.chains
    summaries = [render.rule_summary(r, names).plain for r in rules]
    assert summaries == [
        "tcp src 10.0.0.0/8 in !eth0 dport 22 !syn → ssh-in  /* ssh [bold]from[/] lan :smile: */",
        "conntrack ctstate RELATED,ESTABLISHED → ACCEPT",
        "udp dport 53 → REJECT with icmp-port-unreachable",
        "all → ssh-in [goto]",
        "frobnicate level 9 → NOSUCH",
        "dst 1.2.3.4/32 (no target)",
        'all → LOG prefix "dropped: "',
    ]
    first = render.rule_summary(rules[0], names, counters=True, position=True).plain
    assert first.startswith("#1 [10:840] tcp ")


@pytest.mark.parametrize(
    ("target", "goto", "kind"),
    [("ACCEPT", False, TargetKind.ACCEPT), ("DROP", False, TargetKind.DROP),
     ("ssh-in", False, TargetKind.JUMP), ("ssh-in", True, TargetKind.GOTO),
     ("NOSUCH", False, TargetKind.UNKNOWN), ("MARK", False, TargetKind.MODIFY)],
)
def test_target_kind_with_table_chains(target: str, goto: bool, kind: TargetKind) -> None:
    assert render.kind_of(rule(target, goto=goto), {"INPUT", "ssh-in"}) is kind


def test_colours_by_target_kind() -> None:
    rs = demo_ruleset()
    out = coloured(render.ruleset_listing(rs))
    assert "\x1b[1;32mACCEPT\x1b[0m" in out  # bold green
    assert "\x1b[1;31mDROP\x1b[0m" in out  # bold red (the INPUT policy and ssh-in's rule)
    assert "\x1b[31mREJECT\x1b[0m" in out  # red
    assert "\x1b[1;34mssh-in\x1b[0m" in out  # jump: bold blue
    assert "\x1b[1;35mssh-in\x1b[0m\x1b[1;35m [goto]\x1b[0m" in out  # goto: bold magenta
    assert "\x1b[1;33mNOSUCH\x1b[0m" in out  # unknown target: bold yellow
    assert "\x1b[1;33m unreachable\x1b[0m" in out


def test_no_color_console_prints_no_escapes() -> None:
    assert "\x1b[" not in plain(render.ruleset_listing(demo_ruleset()))


@pytest.mark.parametrize(
    ("counters", "cells"),
    [(Counters(0, 0), ("0", "0")), (Counters(1574, 111_000, False, 1, 1000), ("1574", "111K")),
     (Counters(18_000_000_000, 27 * 1000**4, False, 1000**3, 1000**4), ("18G", "27T")),
     (None, ("", ""))],
)
def test_counter_cells(counters: Counters | None, cells: tuple[str, str]) -> None:
    pkts, byts = render.counters_cells(counters)
    assert (pkts.plain, byts.plain) == cells


def test_chain_header_policy_and_references() -> None:
    rs = demo_ruleset()
    flt = rs.tables["filter"]
    graph = JumpGraph.build(flt)
    assert render.chain_header(flt.chains["INPUT"], graph).plain == (
        "Chain INPUT (policy DROP 125K packets, 18M bytes)")
    assert render.chain_header(flt.chains["FORWARD"], graph).plain == (
        "Chain FORWARD (policy ACCEPT)")
    listed = Chain("X", references=3)
    assert render.chain_header(listed, None, unreachable=True).plain == (
        "Chain X (3 references) unreachable")


def test_diagnostic_with_caret() -> None:
    diag = demo_ruleset().diagnostics[0]
    assert render.diagnostic_text(diag).plain == (
        "demo.save:3:10: error: unknown option --foo\n"
        "    -A INPUT --foo bar -j ACCEPT\n"
        "             ^")
    bare = Diagnostic("f", 7, 0, Severity.WARNING, "odd")
    assert render.diagnostic_text(bare).plain == "f:7:0: warning: odd"


def test_summary_line() -> None:
    rs = demo_ruleset()
    assert render.ruleset_summary(rs, ["frobnicate"]).plain == (
        "demo.save: iptables-save -c, ipv4; nat: 1 chain, 1 rule; "
        "filter: 5 chains, 8 rules; unknown modules: frobnicate; 1 error")


def test_unknown_modules_uses_the_known_list() -> None:
    assert render.unknown_modules(demo_ruleset()) == ["frobnicate"]


def test_undecidable_modules_are_not_unknown() -> None:
    from parser.load import load_text

    rs = load_text("*filter\n:INPUT ACCEPT [0:0]\n"
                   "-A INPUT -p tcp -m limit --limit 5/min -j ACCEPT\n"
                   "-A INPUT -m recent --rcheck --name x -j DROP\n"
                   "-A INPUT -m frobnicate --frob 1 -j DROP\nCOMMIT\n", "x.save")
    assert render.unknown_modules(rs) == ["frobnicate"]


def test_empty_ruleset() -> None:
    rs = Ruleset(format="iptables-save", path="empty")
    assert plain(render.ruleset_listing(rs)) == "empty: iptables-save, ipv4\n\n"
    assert render.ruleset_summary(rs, []).plain == (
        "empty: iptables-save, ipv4; no tables; unknown modules: none")


def test_no_counters_no_counter_columns() -> None:
    rs = Ruleset(format="iptables-save", path="x")
    chain = rs.ensure_table("filter").ensure_chain("INPUT")
    chain.append(rule("ACCEPT", opt("-s", "1.2.3.4/32"), counters=None))
    text = plain(render.ruleset_listing(rs))
    assert "pkts" not in text
    assert "  1  ACCEPT  src 1.2.3.4/32" in text


def test_listing_lines_match_the_unwrapped_listing() -> None:
    rs = demo_ruleset()
    lines = "".join(line.plain + "\n" for line in render.listing_lines(rs))
    assert lines == plain(render.ruleset_listing(rs))
    one = "".join(line.plain + "\n" for line in render.listing_lines(rs, chain="INPUT"))
    assert one == plain(render.ruleset_listing(rs, chain="INPUT"))


def test_narrow_console_wraps_under_the_rule_column() -> None:
    buf = io.StringIO()
    render.make_console(file=buf, width=60, no_color=True).print(
        render.ruleset_listing(demo_ruleset(), chain="INPUT"))
    lines = buf.getvalue().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  1 "))
    column = lines[first].index("tcp src")
    assert lines[first + 1].startswith(" " * column) and lines[first + 1][column] != " "
    assert all(len(line) <= 60 for line in lines)


def test_control_characters_are_escaped() -> None:
    rs = Ruleset(format="iptables-save", path="evil\x1b[31m")
    chain = rs.ensure_table("filter").ensure_chain("INPUT")
    chain.append(rule("ACCEPT", counters=None, matches=(
        Match("comment", (opt("--comment", "clear\x1b[2J\x07 me"),)),)))
    text = plain(render.ruleset_listing(rs))
    assert "\x1b" not in text and "\x07" not in text
    assert "/* clear\\x1b[2J\\x07 me */" in text
    assert render.rule_summary(chain.rules[0]).plain == "all → ACCEPT  /* clear\\x1b[2J\\x07 me */"


def test_diagnostic_escapes_control_characters_and_keeps_the_caret_aligned() -> None:
    diag = Diagnostic("f", 2, 4, Severity.ERROR, "bad \x1b byte", "a\x1bbXc")
    assert render.diagnostic_text(diag).plain == (
        "f:2:4: error: bad \\x1b byte\n"
        "    a\\x1bbXc\n"
        "          ^")  # under the X


@pytest.mark.parametrize(
    ("generic", "matches", "expected"),
    [
        ((opt("-p", "ipv6-icmp"),), (Match("icmp6", (opt("--icmpv6-type", "128"),)),),
         "ipv6-icmp type 128"),
        ((opt("-p", "6"),), (Match("tcp", (opt("--dport", "22"),)),), "tcp dport 22"),
        ((opt("-p", "tcp"),), (Match("tcp"),), "tcp"),
        ((opt("-p", "udp", negated=True),), (Match("udp", (opt("--dport", "53"),)),),
         "!udp udp dport 53"),
        ((), (Match("physdev", (opt("--physdev-in", "tap0"), opt("--physdev-is-bridged"))),),
         "physdev in tap0 is-bridged"),
        ((), (Match("set", (opt("--match-set", "S", "src,dst", negated=True),)),),
         "!match-set S src,dst"),
        ((), (Match("state", (opt("--state", "NEW"),)),), "state NEW"),
        ((opt("-f", negated=True),), (), "!frag"),
        ((opt("-f"), opt("-s", "10.0.0.0/8")), (), "src 10.0.0.0/8 frag"),
    ],
)
def test_matches_read_well(generic: tuple[Option, ...], matches: tuple[Match, ...],
                           expected: str) -> None:
    assert render.matches_text(RuleSpec(generic=generic, matches=matches)).plain == expected

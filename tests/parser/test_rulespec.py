"""The rule-word grammar: one test per construct, errors with columns, whole commands."""

from __future__ import annotations

import pyparsing as pp
import pytest

from parser.errors import ParseError
from parser.rulespec import (
    _compile,
    parse_command,
    parse_rule_args,
    rule_shape,
    shape_of,
    shape_text,
    spec_from_text,
)
from parser.tokens import split_quoted
from ruleset.model import Family, Match, Option, RuleSpec, Target
from ruleset.spec import render_spec


def parse(text: str, family: Family = Family.IPV4) -> RuleSpec:
    try:
        return parse_rule_args(text, family=family)
    except ParseError as exc:
        d = exc.diagnostic
        pytest.fail(f"{d.one_line}\n{pp.testing.with_line_numbers(text)}")


def test_generic_options_and_negations() -> None:
    spec = parse("! -s 10.244.0.0/16 -d 10.96.1.206/32 -i eth0 ! -o lo -p udp -j ACCEPT")
    assert spec.generic == (
        Option("-s", ("10.244.0.0/16",), True),
        Option("-d", ("10.96.1.206/32",)),
        Option("-i", ("eth0",)),
        Option("-o", ("lo",), True),
        Option("-p", ("udp",)),
    )
    assert spec.target == Target("ACCEPT")


def test_old_negation_positions() -> None:
    spec = parse("-d ! 192.168.122.0/255.255.255.0 -p tcp -m tcp --dport ! 80 -j DROP")
    assert spec.destination == Option("-d", ("192.168.122.0/255.255.255.0",), True)
    assert spec.match("tcp") == Match("tcp", (Option("--dport", ("80",), True),))


def test_fragment_flag() -> None:
    assert parse("! -f -j DROP").generic == (Option("-f", (), True),)
    assert parse("--fragment -j DROP").generic == (Option("-f", ()),)


def test_long_forms() -> None:
    spec = parse("--source 1.2.3.4 --destination 5.6.7.8 --in-interface eth0 --out-interface "
                 "eth1 --protocol tcp --match tcp --dport 22 --jump ACCEPT")
    assert [o.name for o in spec.generic] == ["-s", "-d", "-i", "-o", "-p"]
    assert spec.matches == (Match("tcp", (Option("--dport", ("22",)),)),)
    assert spec.target == Target("ACCEPT")
    assert parse("--goto FOO").target == Target("FOO", goto=True)


def test_flags_and_multi_value_options() -> None:
    spec = parse("-p tcp -m tcp ! --syn --tcp-flags SYN,ACK SYN -m set --match-set S src,dst "
                 "-j ACCEPT")
    assert spec.match("tcp") == Match("tcp", (
        Option("--syn", (), True), Option("--tcp-flags", ("SYN,ACK", "SYN"))))
    assert spec.match("set") == Match("set", (Option("--match-set", ("S", "src,dst")),))


def test_ipset_name_with_shell_metacharacters() -> None:
    spec = parse_rule_args(["-m", "set", "--match-set", "weave-;rGqyMIl1HN^cfDki~Z$3]6!N", "dst",
                            "-j", "DROP"])
    assert spec.match("set") == Match(
        "set", (Option("--match-set", ("weave-;rGqyMIl1HN^cfDki~Z$3]6!N", "dst")),))
    via_save = spec_from_text("-m set --match-set weave-;rGqyMIl1HN^cfDki~Z$3]6!N dst -j DROP")
    assert via_save == spec


def test_quoted_comment_with_escapes_and_option_lookalikes() -> None:
    spec = spec_from_text('-m comment --comment "a \\"b\\" -j X" -j FOO')
    assert spec.comment == 'a "b" -j X'
    assert spec.target == Target("FOO")
    assert spec_from_text('-m comment --comment "it\\\'s" -j A').comment == "it's"


def test_free_text_value_starting_with_a_dash() -> None:
    # iptables-save prints `--comment -foo` bare (seen on iptables 1.8.9)
    spec = spec_from_text("-m comment --comment -foo -j RETURN")
    assert spec.comment == "-foo"
    assert spec_from_text('-j LOG --log-prefix "-x y"').target == Target(
        "LOG", (Option("--log-prefix", ("-x y",)),))


def test_flags_are_not_taken_for_free_text_options() -> None:
    spec = spec_from_text("-m recent --set --name ssh --mask 255.255.255.255 --rsource -c 1 2 "
                          "-j DROP")
    assert spec.match("recent") == Match("recent", (
        Option("--set"), Option("--name", ("ssh",)), Option("--mask", ("255.255.255.255",)),
        Option("--rsource")))
    assert spec.target == Target("DROP")


def test_getopt_equals_form() -> None:
    assert parse("-p tcp --dport=80 -j ACCEPT") == parse("-p tcp --dport 80 -j ACCEPT")
    assert parse("--source=1.2.3.4 -j DROP").source == Option("-s", ("1.2.3.4",))


def test_target_options() -> None:
    spec = parse("-p tcp -m tcp -j DNAT --to-destination 10.244.176.248:8080 --random")
    assert spec.target == Target("DNAT", (
        Option("--to-destination", ("10.244.176.248:8080",)), Option("--random")))


def test_counters_inside_rule_are_not_part_of_the_spec() -> None:
    assert parse("-s 1.2.3.4/32 -c 10 20 -j ACCEPT") == parse("-s 1.2.3.4/32 -j ACCEPT")


def test_rule_without_target() -> None:
    spec = parse("-d 172.16.2.22/32")
    assert spec.target is None
    assert spec.destination == Option("-d", ("172.16.2.22/32",))


@pytest.mark.parametrize(
    ("words", "module"),
    [("-p tcp --dport 80", "tcp"), ("-p udp --sport 53", "udp"), ("-p sctp --dport 9", "sctp"),
     ("-p dccp --dport 9", "dccp"), ("-p udplite --dport 9", "udplite"),
     ("-p icmp --icmp-type 8", "icmp"), ("-p 6 --dport 80", "tcp")],
)
def test_implicit_protocol_module(words: str, module: str) -> None:
    spec = parse(words + " -j ACCEPT")
    assert [m.module for m in spec.matches] == [module]


def test_implicit_icmp_module_follows_the_family() -> None:
    spec = parse("-p ipv6-icmp --icmpv6-type 128", Family.IPV6)
    assert spec.matches[0].module == "icmp6"
    assert parse("-p icmp --icmp-type 8", Family.IPV6).matches[0].module == "icmp6"
    assert parse("-p icmp --icmp-type 8", Family.IPV4).matches[0].module == "icmp"


def test_options_after_generic_option_stay_with_their_module() -> None:
    spec = parse("-m tcp -s 1.2.3.4 --dport 1 -j ACCEPT")
    assert spec.matches == (Match("tcp", (Option("--dport", ("1",)),)),)


def test_unknown_module_and_target_are_kept() -> None:
    spec = parse("-m frobnicate --wibble 1 2 --wobble -j FROB --level 3")
    assert spec.matches == (Match("frobnicate", (
        Option("--wibble", ("1", "2")), Option("--wobble"))),)
    assert spec.target == Target("FROB", (Option("--level", ("3",)),))


def test_render_round_trip_on_save_words() -> None:
    text = ('! -s 10.244.0.0/16 -d 10.96.1.206/32 -p udp -m comment --comment '
            '"staging/svc-462:http cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ')
    assert render_spec(spec_from_text(text)) == text


@pytest.mark.parametrize(
    ("text", "col", "message"),
    [
        ("-s", 1, "-s needs a value"),
        ("-s a b", 6, "unexpected value 'b'"),
        ("-m", 1, "-m needs a module name"),
        ("-j", 1, "-j needs a target name"),
        ("-j A -j B", 6, "more than one -j/-g target"),
        ("-p tcp foo", 8, "unexpected value 'foo'"),
        ("--dport 80", 1, "unknown option '--dport'"),
        ("-p all --dport 80", 4, "protocol 'all' has no options"),
        ("-s 1.2.3.4 -p tcp -s 5.6.7.8", 19, "multiple -s options are not allowed"),
        ("--source 1.2.3.4 -s 5.6.7.8", 18, "multiple -s options are not allowed"),
        ('-m comment --comment "cut', 22, "unterminated"),
        ("! ! -s x", 1, "'!' must be followed"),
        ("-s 1.2.3.4 ! -j ACCEPT", 12, "'!' must be followed"),
        # A second word after a one-value option is an error, never a second value (the
        # openwrt capture in the corpus has lines cut by a terminal like these).
        ("-p tcp --dport 22 23 -j ACCEPT", 19, "--dport takes one value"),
        ("-p tcp -m tcp ! --dport 22 23", 28, "--dport takes one value"),
        ("-p tcp -m tcp --dport ! 22 23", 28, "--dport takes one value"),
        ("-j DNAT --to-destination 192.16 8.1.1:22", 33, "--to-destination takes one value"),
        ("-m limit --limit 25/s ec --limit-burst 50", 23, "--limit takes one value"),
        ("-m conntrack --ctstate DN AT -j ACCEPT", 27, "--ctstate takes one value"),
    ],
)
def test_errors_have_columns(text: str, col: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_rule_args(text)
    d = info.value.diagnostic
    assert (d.line, d.col) == (1, col), pp.testing.with_line_numbers(text) + d.one_line
    assert message in d.message


@pytest.mark.parametrize("text", [
    "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP",
    "-m set --match-set kube src,dst -j ACCEPT",
    "-m frobnicate --frob 1 2 3 -j ACCEPT",  # unknown options keep every word
    '-m comment --comment "two words" -j ACCEPT',
])
def test_options_that_take_several_words_keep_them(text: str) -> None:
    assert render_spec(parse_rule_args(text)) == text


def test_errors_from_save_text_have_columns_in_the_line() -> None:
    line = "-A INPUT -s 1.2.3.4 bogus -j ACCEPT"
    with pytest.raises(Exception) as info:
        spec_from_text(line, 9)
    assert getattr(info.value, "col", None) == 21


def test_grammar_parses_shapes() -> None:
    result = rule_shape.run_tests(
        """
        ! -s $ -p $ -m tcp --dport ! $ -j $ --to $
        -m set --match-set $ $ -g $
        -d ! $ -f
        """,
        parse_all=True,
        print_results=False,
    )
    assert result[0], result[1]


def test_shapes_and_plans_are_shared() -> None:
    key1, _ = shape_text("-s 1.1.1.1/32 -p tcp -m tcp --dport 80 -j ACCEPT")
    key2, vals2 = shape_text("-s 2.2.2.2/32 -p tcp -m tcp --dport 443 -j DROP")
    assert key1 == key2 == ("-s", "$", "-p", "$", "-m", "tcp", "--dport", "$", "-j", "$")
    assert vals2 == ["2.2.2.2/32", "tcp", "443", "DROP"]
    plan = _compile(key1)
    assert plan.nslots == 4


def test_shape_text_agrees_with_the_word_splitter() -> None:
    texts = [
        '-m comment --comment "a b" -j X',
        '-m comment --comment x"y z"w -j X',
        '-m comment --comment "a \\"q\\"" -j X',
        '-m "tcp" --dport 1',
        '-m comment --comment "" -j X',
    ]
    for text in texts:
        words, quoted = split_quoted(text)
        assert shape_text(text) == shape_of(words, quoted), text


# --- commands ----------------------------------------------------------------------------------


def test_parse_command_insert_with_table_and_position() -> None:
    cmd = parse_command("sudo iptables -t nat -I FORWARD 1 -s 14.52.45.2 -p udp --dport 53 "
                        "-j ACCEPT")
    assert (cmd.op, cmd.table, cmd.chain, cmd.position) == ("-I", "nat", "FORWARD", 1)
    assert cmd.spec is not None
    assert cmd.spec.match("udp") == Match("udp", (Option("--dport", ("53",)),))
    assert cmd.render() == ("iptables -t nat -I FORWARD 1 -s 14.52.45.2 -p udp -m udp "
                            "--dport 53 -j ACCEPT")


@pytest.mark.parametrize(
    ("text", "op", "chain", "position", "extra"),
    [
        ("-A INPUT -j DROP", "-A", "INPUT", None, None),
        ("--append INPUT -j DROP", "-A", "INPUT", None, None),
        ("-I INPUT -j DROP", "-I", "INPUT", None, None),
        ("--insert INPUT 3 -j DROP", "-I", "INPUT", 3, None),
        ("-D INPUT 2", "-D", "INPUT", 2, None),
        ("-D INPUT -s 1.2.3.4 -j DROP", "-D", "INPUT", None, None),
        ("-R INPUT 2 -j ACCEPT", "-R", "INPUT", 2, None),
        ("-P FORWARD DROP", "-P", "FORWARD", None, "DROP"),
        ("--policy FORWARD DROP", "-P", "FORWARD", None, "DROP"),
        ("-N MYCHAIN", "-N", "MYCHAIN", None, None),
        ("--new-chain MYCHAIN", "-N", "MYCHAIN", None, None),
        ("-X MYCHAIN", "-X", "MYCHAIN", None, None),
        ("-X", "-X", None, None, None),
        ("-F", "-F", None, None, None),
        ("--flush INPUT", "-F", "INPUT", None, None),
        ("-Z INPUT 4", "-Z", "INPUT", 4, None),
        ("-E OLD NEW", "-E", "OLD", None, "NEW"),
        ("--rename-chain OLD NEW", "-E", "OLD", None, "NEW"),
        ("ip6tables -A INPUT -p icmpv6 --icmpv6-type 128 -j ACCEPT", "-A", "INPUT", None, None),
        ("-A INPUT -j ACCEPT -t mangle", "-A", "INPUT", None, None),
    ],
)
def test_parse_command_forms(
    text: str, op: str, chain: str | None, position: int | None, extra: str | None
) -> None:
    cmd = parse_command(text)
    assert (cmd.op, cmd.chain, cmd.position) == (op, chain, position)
    if op == "-P":
        assert cmd.policy == extra
    if op == "-E":
        assert cmd.new_name == extra
    if op in ("-A", "-I", "-R"):
        assert cmd.spec is not None
    if text.startswith("ip6tables"):
        assert cmd.family_flag == "ip6tables"
        assert cmd.spec is not None and cmd.spec.matches[0].module == "icmp6"
    if text.endswith("mangle"):
        assert cmd.table == "mangle"


@pytest.mark.parametrize(
    ("text", "col", "message"),
    [
        ("iptables -s 1.2.3.4", 1, "no command"),
        ("-A", 3, "-A needs a chain name"),
        ("-R INPUT -j ACCEPT", 10, "-R needs a rule position"),
        ("-A INPUT -j A -I X", 15, "more than one command"),
        ("-A INPUT -s 1.2.3.4 oops", 21, "unexpected value 'oops'"),
        ("-A INPUT -m comment --comment 'unterminated", 31, "unterminated"),
        ("-P INPUT", 9, "-P needs a policy"),
        ("-I INPUT 0 -j DROP", 10, "positions start at 1"),
    ],
)
def test_parse_command_errors(text: str, col: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_command(text)
    d = info.value.diagnostic
    assert message in d.message, d.one_line
    assert d.col == col, pp.testing.with_line_numbers(text) + d.one_line

"""iptables -S [-v] dumps: policies, chains, counters inside rules, blocks and their tables."""

from __future__ import annotations

import pyparsing as pp
import pytest

from parser.errors import ParseError
from parser.load import load_text
from ruleset.model import Counters, Family, Option, Ruleset, Severity, Target

S_V = """\
-P INPUT ACCEPT -c 10 20
-P FORWARD DROP -c 0 0
-P OUTPUT ACCEPT -c 0 0
-N FOO
-A INPUT -s 1.2.3.4/32 -p tcp -m tcp --dport 80 -m comment --comment "a \\"b\\" -c 1 2" \
-c 7 700 -j FOO
-A FOO -c 0 0 -j LOG --log-prefix "-x y"
-A FOO -m comment --comment -foo -c 3 4 -j RETURN
"""


def load(text: str, **kwargs: object) -> Ruleset:
    try:
        return load_text(text, "s.txt", **kwargs)  # type: ignore[arg-type]
    except ParseError as exc:
        pytest.fail(f"{exc.diagnostic}\n{pp.testing.with_line_numbers(text)}")


def test_spec_verbose_counters() -> None:
    rs = load(S_V)
    assert rs.format == "iptables -S -v"
    table = rs.tables["filter"]
    assert table.chains["INPUT"].policy_counters == Counters(10, 20)
    assert table.chains["FORWARD"].policy == "DROP"
    assert not table.chains["FOO"].builtin
    first = table.chains["INPUT"].rules[0]
    assert first.counters == Counters(7, 700)
    assert first.target_name == "FOO"
    assert first.spec.comment == 'a "b" -c 1 2'
    assert first.spec.source == Option("-s", ("1.2.3.4/32",))
    foo = table.chains["FOO"].rules
    assert foo[0].counters == Counters(0, 0)
    assert foo[0].target == Target("LOG", (Option("--log-prefix", ("-x y",)),))
    assert foo[1].counters == Counters(3, 4)
    assert foo[1].spec.comment == "-foo"
    rs.resolve_all()
    assert rs.errors == []


def test_spec_plain() -> None:
    text = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n"
    rs = load(text)
    assert rs.format == "iptables -S"
    assert rs.tables["filter"].chains["INPUT"].rules[0].counters is None
    assert [d.severity for d in rs.diagnostics] == [Severity.INFO]


def test_nat_block_is_inferred_with_a_warning() -> None:
    text = ("-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"
            "-N DOCKER\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n")
    rs = load(text)
    assert list(rs.tables) == ["nat"]
    warnings = [d for d in rs.diagnostics if d.severity is Severity.WARNING]
    assert len(warnings) == 1 and "inferred nat" in warnings[0].message


@pytest.mark.parametrize(
    ("chains", "targets", "table"),
    [
        ({"PREROUTING", "OUTPUT"}, set(), "raw"),
        ({"PREROUTING", "OUTPUT"}, {"DNAT"}, "nat"),
        ({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}, set(), "mangle"),
        ({"INPUT", "FORWARD", "OUTPUT"}, set(), "filter"),
        (set(), {"MASQUERADE"}, "nat"),
        (set(), {"NOTRACK"}, "raw"),
        (set(), {"TTL"}, "mangle"),
        (set(), {"ACCEPT"}, "filter"),
    ],
)
def test_infer_table(chains: set[str], targets: set[str], table: str) -> None:
    from parser.specdump import infer_table

    assert infer_table(chains, targets) == table


def test_several_blocks_with_hints() -> None:
    text = ("# table: mangle\n-P PREROUTING ACCEPT\n-A PREROUTING -j MARK --set-mark 1\n"
            "\n*raw\n-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n"
            "root@h:~# iptables -t nat -S\n-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n"
            "-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"
            "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-A INPUT -j ACCEPT\n")
    rs = load(text)
    assert list(rs.tables) == ["mangle", "raw", "nat", "filter"]
    assert rs.tables["mangle"].chains["PREROUTING"].rules[0].target_name == "MARK"
    assert rs.tables["filter"].chains["INPUT"].rules[0].line == 16
    infos = [d.one_line for d in rs.diagnostics if d.severity is Severity.INFO]
    assert "s.txt:8:1: info: skipped a shell command line (table nat)" in infos


def test_spec_ipv6() -> None:
    text = ("-P INPUT ACCEPT\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT\n")
    rs = load(text)
    assert rs.family is Family.IPV6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-P INPUT\n", "s.txt:1:9: error: -P needs a chain and a policy"),
        ("-P INPUT ACCEPT\n-A FOO -j ACCEPT\n",
         "s.txt:2:4: error: chain 'FOO' is used but not created"),
        ("-P INPUT ACCEPT\n-N A\n-N A\n", "s.txt:3:4: error: chain 'A' created twice"),
        ("-P INPUT ACCEPT\n-A INPUT -c 1 -j ACCEPT\n",
         "s.txt:2:10: error: -c needs packet and byte counts"),
        ("-P INPUT ACCEPT\n-X INPUT\n", "s.txt:2:1: error: -X is not an iptables -S line"),
        ("-P INPUT ACCEPT\n-A INPUT -s 1.2.3.4 bogus\n",
         "s.txt:2:21: error: unexpected value 'bogus'"),
    ],
)
def test_spec_diagnostics(text: str, expected: str) -> None:
    rs = load_text(text, "s.txt")
    rs.resolve_all()
    found = [d.one_line for d in rs.diagnostics]
    assert any(line.startswith(expected) for line in found), found
    with pytest.raises(ParseError) as info:
        load_text(text, "s.txt", strict=True)
    assert info.value.diagnostic.one_line.startswith(expected)

"""What-if edits on a copy of the model."""

from __future__ import annotations

import pytest
from test_stepper_kit import build, pkt, spec

from ruleset.commands import Command
from ruleset.stepper import Verdict, simulate
from ruleset.whatif import WhatIfError, apply_commands

BASE = """
    *filter
    :FORWARD DROP
    :u -
    :empty -
    -A FORWARD -j u
    -A u -s 192.0.2.1 -j ACCEPT
"""


def names(rs: object, chain: str) -> list[str]:
    return [r.spec.target.name if r.spec.target else "-"  # type: ignore[attr-defined]
            for r in rs.tables["filter"].chains[chain].rules]  # type: ignore[attr-defined]


def test_insert_append_replace_delete_and_original_untouched() -> None:
    rs = build(BASE)
    cmds = [
        Command("-I", "filter", "u", 1, spec("-s 10.0.0.1 -j ACCEPT")),
        Command("-A", "filter", "u", None, spec("-j DROP")),
        Command("-R", "filter", "u", 2, spec("-s 192.0.2.9 -j RETURN")),
        Command("-D", "filter", "u", None, spec("-j DROP")),
    ]
    w = apply_commands(rs, cmds)
    assert names(w.ruleset, "u") == ["ACCEPT", "RETURN"]
    assert names(rs, "u") == ["ACCEPT"]
    assert w.edits[0] == "iptables -I u 1 -s 10.0.0.1 -j ACCEPT"
    assert w.edits[3] == "iptables -D u -j DROP"
    assert simulate(rs, pkt(), "forward").verdict is Verdict.DROP
    assert simulate(w.ruleset, pkt(), "forward").verdict is Verdict.ACCEPT
    assert w.ruleset.tables["filter"].chains["u"].rules[0].edited


def test_policy_new_flush_delete_rename_zero() -> None:
    rs = build(BASE)
    w = apply_commands(rs, [
        Command("-P", "filter", "FORWARD", policy="ACCEPT"),
        Command("-N", "filter", "extra"),
        Command("-F", "filter", "u"),
        Command("-X", "filter", "empty"),
        Command("-E", "filter", "u", new_name="renamed"),
        Command("-Z", "filter"),
        Command("-A", "nat", "PREROUTING", None, spec("-j ACCEPT")),
    ])
    t = w.ruleset.tables["filter"]
    assert t.chains["FORWARD"].policy == "ACCEPT"
    assert "extra" in t.chains and "empty" not in t.chains
    assert "renamed" in t.chains and "u" not in t.chains
    assert t.chains["FORWARD"].rules[0].target_name == "renamed"
    assert rs.tables["filter"].chains["FORWARD"].rules[0].target_name == "u"
    assert "nat" in w.ruleset.tables and "nat" not in rs.tables
    assert w.edits[0] == "iptables -P FORWARD ACCEPT"
    assert w.edits[-1] == "iptables -t nat -A PREROUTING -j ACCEPT"
    assert simulate(w.ruleset, pkt(), "forward").verdict is Verdict.ACCEPT


@pytest.mark.parametrize("cmd", [
    Command("-A", "filter", "nosuch", None, spec("-j ACCEPT")),
    Command("-I", "filter", "u", 9, spec("-j ACCEPT")),
    Command("-D", "filter", "u", 5),
    Command("-D", "filter", "u", None, spec("-s 1.2.3.4 -j DROP")),
    Command("-P", "filter", "u", policy="DROP"),
    Command("-P", "filter", "FORWARD", policy="BOGUS"),
    Command("-N", "filter", "u"),
    Command("-X", "filter", "u"),
    Command("-A", "filter", "u", None, spec("-j nochain")),
    Command("-A", "filter", "u", None, spec("-j FORWARD")),
    Command("-A", "bogus", "X", None, spec("-j ACCEPT")),
])
def test_refusals_like_iptables(cmd: Command) -> None:
    with pytest.raises(WhatIfError):
        apply_commands(build(BASE), [cmd])


def test_untouched_chains_are_shared_and_lazy() -> None:
    rs = build(BASE)
    w = apply_commands(rs, [Command("-A", "filter", "u", None, spec("-j DROP"))])
    assert w.ruleset.tables["filter"].chains["FORWARD"] is rs.tables["filter"].chains["FORWARD"]
    assert w.ruleset.tables["filter"].chains["u"] is not rs.tables["filter"].chains["u"]

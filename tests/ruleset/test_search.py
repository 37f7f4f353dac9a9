"""The `/` search of the app, on rules built by hand (no parser, no Textual)."""

from __future__ import annotations

import pytest
from test_stepper_kit import build

from ruleset.search import Query, search

RULES = build("""
    *nat
    :PREROUTING ACCEPT
    :KUBE-SEP-A -
    :KUBE-SEP-B -
    :SNATS -
    -A PREROUTING -p tcp -m tcp --dport 5432 -j KUBE-SEP-A
    -A KUBE-SEP-A -s 10.244.224.241/32 -j MARK --set-xmark 0x4000/0x4000
    -A KUBE-SEP-A -p tcp -m tcp -j DNAT --to-destination 10.244.224.241:5432
    -A KUBE-SEP-B -p tcp -j DNAT --to-destination 10.244.1.10-10.244.1.20:80-90
    -A KUBE-SEP-B -p tcp -j DNAT --to-destination [2001:db8::7]:443
    -A SNATS ! -d 10.244.224.241/32 -j SNAT --to-source 192.0.2.1
    -A SNATS -m iprange --src-range 172.16.0.1-172.16.0.99 -j ACCEPT
""")


def found(text: str) -> list[str]:
    chains = [c.name for c in RULES.chains()]
    return [f"{r.chain_name}#{r.position}" for r in search(RULES, Query.parse(text, chains))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # -s and the DNAT target that rewrites to the pod; the negated -d is not a hit
        ("10.244.224.241", ["KUBE-SEP-A#1", "KUBE-SEP-A#2"]),
        ("10.244.1.15", ["KUBE-SEP-B#1"]),  # inside a DNAT range with ports
        ("2001:db8::7", ["KUBE-SEP-B#2"]),  # bracketed IPv6 with a port
        ("192.0.2.1", ["SNATS#1"]),  # SNAT --to-source
        ("172.16.0.50", ["SNATS#2"]),  # iprange
        ("10.244.0.0/16", []),  # a network is found only in rules that contain all of it
        ("5432", ["PREROUTING#1"]),
        ("KUBE-SEP-A", ["PREROUTING#1", "KUBE-SEP-A#1", "KUBE-SEP-A#2"]),
        ("set-xmark", ["KUBE-SEP-A#1"]),
    ],
)
def test_search(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_query_kinds() -> None:
    assert Query.parse("10.0.0.1").kind == "address"
    assert Query.parse("port 22").port == 22
    assert Query.parse("99999").kind == "text"
    assert Query.parse("INPUT", ["INPUT"]).kind == "chain"

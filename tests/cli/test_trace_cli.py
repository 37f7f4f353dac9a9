"""`iptscope trace`: the seed story end to end, goldens for the human and JSON traces, the
compact packet syntax, what-if edits and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("parser.load")

REPO = Path(__file__).resolve().parents[2]
NEUTRON = str(REPO / "samples/neutron/iptables-L-vn-line-numbers.txt")
IPSETS = str(REPO / "samples/neutron/ipsets.save")
SEED = ["--path", "forward", "--proto", "udp", "--src", "14.52.45.2", "--sport", "40000",
        "--dst", "14.52.45.10", "--dport", "50000", "--physdev-out", "tap6746373c-01",
        "--physdev-is-bridged", "--state", "NEW"]
FIX = "-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT"

Cli = Callable[..., Any]


def ok(result: Any) -> Any:
    assert "Traceback" not in result.out + result.err
    assert result.code == 0, result.err
    return result


def as_json(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(result).out)
    return data


def test_seed_human_golden_shows_both_outcomes(cli: Cli, golden: Callable[[str, str], None]
                                               ) -> None:
    result = ok(cli("trace", NEUTRON, *SEED))
    assert "cannot be decided from the dump: 2 outcomes follow" in result.out
    assert "verdict UNKNOWN (ACCEPT or DROP" in result.out
    golden("trace-seed.txt", result.out)


def test_seed_assume_nomatch_golden(cli: Cli, golden: Callable[[str, str], None]) -> None:
    result = ok(cli("trace", NEUTRON, *SEED, "--assume", "nomatch"))
    assert "verdict DROP by filter:neutron-openvswi-sg-fallback rule 1" in result.out
    assert "neutron-openvswi-i6746373c-0 rule 5" in result.out
    assert f"fix     iptables {FIX}" in result.out
    golden("trace-seed-nomatch.txt", result.out)


def test_seed_json_with_ipsets_golden(cli: Cli, golden: Callable[[str, str], None]) -> None:
    result = cli("trace", NEUTRON, *SEED, "--ipsets", IPSETS, "--json")
    data = as_json(result)
    assert data["verdict"] == "DROP"
    assert data["decided_by"] == {"table": "filter", "chain": "neutron-openvswi-sg-fallback",
                                  "rule": 1}
    assert {"table": "filter", "chain": "neutron-openvswi-i6746373c-0", "rule": 5,
            "matched": True, "target": "neutron-openvswi-sg-fallback",
            "reasons": ["a comment always matches"]} in data["steps"]
    assert data["suggestion"] == f"iptables {FIX}"
    assert data["assumptions"] == []
    assert set(data) == {"verdict", "decided_by", "steps", "packet", "assumptions",
                         "suggestion"}
    for step in data["steps"]:
        assert set(step) == {"table", "chain", "rule", "matched", "target", "reasons"}
    golden("trace-seed-ipsets.json", result.out)


def test_seed_json_explore_golden(cli: Cli, golden: Callable[[str, str], None]) -> None:
    result = cli("trace", NEUTRON, *SEED, "--json")
    data = as_json(result)
    assert data["verdict"] == "UNKNOWN"
    assert data["decided_by"] == {"table": "filter", "chain": "neutron-openvswi-i6746373c-0",
                                  "rule": 3}
    assert data["steps"][-1]["matched"] is None
    assert [b["verdict"] for b in data["branches"]] == ["ACCEPT", "DROP"]
    assert [b["assumptions"][0]["assumed"] for b in data["branches"]] == ["match", "nomatch"]
    golden("trace-seed-explore.json", result.out)


def test_seed_assume_nomatch_json(cli: Cli) -> None:
    data = as_json(cli("trace", NEUTRON, *SEED, "--assume", "nomatch", "--json"))
    assert data["verdict"] == "DROP"
    assert data["assumptions"] == [{
        "table": "filter", "chain": "neutron-openvswi-i6746373c-0", "rule": 3,
        "assumed": "nomatch", "probability": None,
        "reason": "contents of set NIPv4b3a1256e-07fe-4e6b-bfc5- not known (give --ipsets "
                  "FILE)"}]


def test_seed_apply_accepts(cli: Cli) -> None:
    data = as_json(cli("trace", NEUTRON, *SEED, "--apply", FIX, "--json"))
    assert data["verdict"] == "ACCEPT"
    assert data["decided_by"] == {"table": "filter", "chain": "FORWARD", "rule": 1}
    assert data["suggestion"] is None
    human = ok(cli("trace", NEUTRON, *SEED, "--apply", f"iptables {FIX}"))
    assert f"what-if iptables {FIX}" in human.out
    assert "verdict ACCEPT by filter:FORWARD rule 1" in human.out


def test_compact_packet_equals_options(cli: Cli) -> None:
    long = as_json(cli("trace", NEUTRON, *SEED, "--assume", "nomatch", "--json"))
    short = as_json(cli("trace", NEUTRON, "udp 14.52.45.2:40000 > 14.52.45.10:50000",
                        "--physdev-out", "tap6746373c-01", "--assume", "nomatch", "--json"))
    assert short == long


def test_subprocess_runs(cli_subprocess: Cli) -> None:
    result = cli_subprocess("trace", NEUTRON, *SEED, "--assume", "nomatch")
    ok(result)
    assert "verdict DROP" in result.out


@pytest.mark.parametrize("args", [
    ["udp 1.2.3.4 >"],
    ["--src", "1.2.3.4"],
    ["--src", "1.2.3.4", "--dst", "nothere"],
    ["udp 1.1.1.1:1 > 2.2.2.2:2", "--apply", "-I NOSUCH 1 -j ACCEPT"],
    ["udp 1.1.1.1:1 > 2.2.2.2:2", "--apply", "-I FORWARD 1 --bogus"],
    ["udp 1.1.1.1:1 > 2.2.2.2:2", "--tcp-flags", "SYN,BOGUS"],
    ["udp [2001:db8::1]:1 > [2001:db8::2]:2"],
])
def test_usage_errors(cli: Cli, args: list[str]) -> None:
    result = cli("trace", NEUTRON, *args)
    assert "Traceback" not in result.out + result.err
    assert result.code == 2


def test_missing_files(cli: Cli, tmp_path: Path) -> None:
    assert cli("trace", str(tmp_path / "none.txt"), "1.1.1.1 > 2.2.2.2").code == 1
    result = cli("trace", NEUTRON, "1.1.1.1 > 2.2.2.2", "--ipsets", str(tmp_path / "x"))
    assert result.code == 1 and "Traceback" not in result.err
    bad = tmp_path / "bad.save"
    bad.write_text("this is not ipset\n")
    assert cli("trace", NEUTRON, "1.1.1.1 > 2.2.2.2", "--ipsets", str(bad)).code == 1


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_narrow_terminals_wrap_with_a_hanging_indent(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                     width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    result = cli("trace", "samples/neutron/iptables-L-vn-line-numbers.txt",
                 "udp 14.52.45.2:40000 > 14.52.45.10:50000", "--path", "forward",
                 "--physdev-out", "tap6746373c-01", "--physdev-is-bridged", "--assume", "nomatch")
    lines = result.out.splitlines()
    assert [ln for ln in lines if ln.endswith(" ") or len(ln) > width] == []
    # A wrapped summary line continues indented, never at column 0.
    summary = lines[lines.index(next(ln for ln in lines if ln.startswith("verdict DROP"))):]
    assert all(ln.startswith(("verdict", "fix", " ")) for ln in summary if ln)

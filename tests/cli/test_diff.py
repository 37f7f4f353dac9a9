"""`iptscope diff`: the kube-proxy scale dumps (exactly the 200 rules that grew, found
independently here), the kernel-lab samples in every format, recordings, options and errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, Result

LARGE = (REPO.parent / "shared" / "large").resolve()
DELTAS = REPO / "samples" / "deltas"

Key = tuple[str, str, int]


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def save_counters(path: Path) -> dict[Key, tuple[int, int, str]]:
    """(table, chain, position) -> (packets, bytes, rule text) read with plain string work."""
    out: dict[Key, tuple[int, int, str]] = {}
    table = ""
    seen: dict[tuple[str, str], int] = {}
    for line in path.read_text().splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("["):
            counters, rest = line[1:].split("] ", 1)
            p, b = counters.split(":")
            chain = rest.split()[1]
            n = seen[(table, chain)] = seen.get((table, chain), 0) + 1
            out[(table, chain, n)] = (int(p), int(b), rest)
    return out


_CHAIN = re.compile(r"^Chain (\S+) ")


def listing_counters(path: Path, table: str) -> dict[Key, tuple[int, int, str]]:
    """The same for an `iptables -L -v -n -x --line-numbers` listing of one table."""
    out: dict[Key, tuple[int, int, str]] = {}
    chain = ""
    for line in path.read_text().splitlines():
        m = _CHAIN.match(line)
        if m:
            chain = m.group(1)
            continue
        words = line.split()
        if len(words) >= 3 and words[0].isdigit():
            num, p, b = int(words[0]), int(words[1]), int(words[2])
            out[(table, chain, num)] = (p, b, " ".join(words[3:]))
    return out


def grown(before: dict[Key, tuple[int, int, str]], after: dict[Key, tuple[int, int, str]]
          ) -> dict[Key, tuple[int, int]]:
    """The rules whose counters grew (same rule text at the same place in both)."""
    assert before.keys() == after.keys()
    out = {}
    for key, (p, b, text) in after.items():
        p0, b0, text0 = before[key]
        assert text == text0
        if (p, b) != (p0, b0):
            out[key] = (p - p0, b - b0)
    return out


def json_changes(result: Result) -> dict[Key, tuple[int, int]]:
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data) == {"changes", "policies"}
    out = {}
    for c in data["changes"]:
        assert set(c) == {"table", "chain", "rule_before", "rule_after", "rule",
                          "delta_packets", "delta_bytes", "approximate", "status"}
        assert c["status"] == "changed" and c["rule_before"] == c["rule_after"]
        assert c["approximate"] is False
        out[(c["table"], c["chain"], c["rule_after"])] = (c["delta_packets"], c["delta_bytes"])
    return out


def test_kube_5000_save_reports_exactly_the_200(cli: Callable[..., Result]) -> None:
    before = _need(LARGE / "kube-5000-before.save")
    after = _need(LARGE / "kube-5000-after.save")
    expected = grown(save_counters(before), save_counters(after))
    assert len(expected) == 200
    result = cli("diff", str(before), str(after), "--json")
    assert json_changes(result) == expected
    assert json.loads(result.out)["policies"] == []
    # The text report lists the same 200 rules, largest first, and nothing else.
    text = cli("diff", str(before), str(after))
    assert text.code == 0
    assert len(re.findall(r"\bchanged\b", text.out)) == 200
    assert "200 grew, 0 reset, 0 added, 0 removed, 0 moved" in text.out


def test_kube_5000_nat_listing_reports_exactly_the_200(cli: Callable[..., Result]) -> None:
    before = _need(LARGE / "kube-5000-nat-before.list")
    after = _need(LARGE / "kube-5000-nat-after.list")
    expected = grown(listing_counters(before, "nat"), listing_counters(after, "nat"))
    assert len(expected) == 200
    assert json_changes(cli("diff", str(before), str(after), "--json")) == expected


def test_kube_5000_top_and_only_changed(cli: Callable[..., Result]) -> None:
    before = _need(LARGE / "kube-5000-before.save")
    after = _need(LARGE / "kube-5000-after.save")
    result = cli("diff", str(before), str(after), "--json", "--top", "5", "--only-changed")
    changes = json.loads(result.out)["changes"]
    assert len(changes) == 5
    packets = [c["delta_packets"] for c in changes]
    assert packets == sorted(packets, reverse=True)


LAB_EXPECTED = {
    ("filter", "INPUT", 1, None): (4, 312, "added"),
    ("filter", "INPUT", 2, 1): (810, 1280 + 800 * 1428, "changed"),
    ("filter", "INPUT", 3, 2): (5, 5140, "changed"),
    ("filter", "INPUT", 4, 3): (5, 5140, "changed"),
    ("filter", "INPUT", 6, 5): (7, 420, "changed"),
    ("filter", "INPUT", 7, 6): (3, 4284, "changed"),
    ("filter", "COUNT", 1, 1): (5, 5140, "changed"),
}


def lab_changes(result: Result) -> dict[tuple[str, str, int, int | None], tuple[int, int, str]]:
    assert result.code == 0, result.err
    return {
        (c["table"], c["chain"], c["rule_after"], c["rule_before"]):
            (c["delta_packets"], c["delta_bytes"], c["status"])
        for c in json.loads(result.out)["changes"]
    }


@pytest.mark.parametrize("before", ["save-c", "S-v", "L-vnx-line-numbers"])
@pytest.mark.parametrize("after", ["save-c", "S-v", "L-vnx-line-numbers"])
def test_lab_samples_every_format_and_mixed(cli: Callable[..., Result], before: str,
                                            after: str) -> None:
    result = cli("diff", str(DELTAS / f"lab-before.{before}.txt"),
                 str(DELTAS / f"lab-after.{after}.txt"), "--json")
    assert lab_changes(result) == LAB_EXPECTED


def test_lab_rounded_listing_is_approximate(cli: Callable[..., Result]) -> None:
    result = cli("diff", str(DELTAS / "lab-before.L-vn.txt"), str(DELTAS / "lab-after.L-vn.txt"),
                 "--json")
    data = json.loads(result.out)["changes"]
    first = data[0]
    assert (first["chain"], first["rule_after"], first["status"]) == ("INPUT", 2, "changed")
    assert first["approximate"] is True
    assert first["delta_packets"] == 810
    assert abs(first["delta_bytes"] - (1280 + 800 * 1428)) < 1000
    assert all(c["approximate"] is False for c in data[1:])
    text = cli("diff", str(DELTAS / "lab-before.L-vn.txt"), str(DELTAS / "lab-after.L-vn.txt"))
    assert "~+" in text.out and "bounds in brackets" in text.out


def test_lab_text_report(cli: Callable[..., Result], golden: Callable[[str, str], None]) -> None:
    # Relative paths (the fixture runs in the repository): the wrapped output must not depend
    # on where the checkout lives.
    result = cli("diff", "samples/deltas/lab-before.save-c.txt",
                 "samples/deltas/lab-after.save-c.txt")
    assert result.code == 0
    golden("diff-lab-save-c.txt", result.out)


def test_recording_first_to_last_and_picks(cli: Callable[..., Result]) -> None:
    rec = str(DELTAS / "lab-session.rec")
    data = json.loads(cli("diff", rec, "--json").out)
    assert {c["status"] for c in data["changes"]} == {"reset"}
    assert all(c["delta_packets"] is None for c in data["changes"])
    # Snapshots 1 -> 2: before the reset, plain growth.
    early = json.loads(cli("diff", rec, "--from", "1", "--to", "2", "--json").out)
    got = {(c["chain"], c["rule_after"]): c["delta_packets"] for c in early["changes"]}
    assert got == {("INPUT", 3): 3, ("INPUT", 4): 3, ("COUNT", 1): 3, ("INPUT", 6): 2}
    late = json.loads(cli("diff", rec, rec, "--from", "3", "--to", "-1", "--json").out)
    got = {(c["chain"], c["rule_after"]): c["delta_packets"] for c in late["changes"]}
    assert got == {("INPUT", 3): 5, ("INPUT", 4): 5, ("COUNT", 1): 5, ("INPUT", 6): 2}
    bad = cli("diff", rec, "--to", "9")
    assert bad.code == 2 and "no snapshot 9" in bad.err


def test_errors(cli: Callable[..., Result], tmp_path: Path) -> None:
    missing = cli("diff", str(tmp_path / "nope.save"), str(DELTAS / "lab-after.save-c.txt"))
    assert missing.code == 1 and "nope.save" in missing.err
    plain = tmp_path / "plain.save"
    plain.write_text("*filter\n:INPUT ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n")
    no_counters = cli("diff", str(plain), str(DELTAS / "lab-after.save-c.txt"))
    assert no_counters.code == 2 and "carries no counters" in no_counters.err
    alone = cli("diff", str(DELTAS / "lab-after.save-c.txt"))
    assert alone.code == 2 and "one recording" in alone.err
    negative = cli("diff", str(plain), str(plain), "--top", "-1")
    assert negative.code == 2


def test_all_and_only_changed(cli: Callable[..., Result]) -> None:
    b, a = str(DELTAS / "lab-before.save-c.txt"), str(DELTAS / "lab-after.save-c.txt")
    every = json.loads(cli("diff", b, a, "--json", "--all").out)
    assert len(every["changes"]) == 9
    assert {p["chain"] for p in every["policies"]} == {"INPUT", "FORWARD", "OUTPUT"}
    only = json.loads(cli("diff", b, a, "--json", "--only-changed").out)
    assert {c["status"] for c in only["changes"]} == {"changed", "added"}
    assert len(only["changes"]) == 7

"""Differential tests: the stepper against the real kernel (issue 3).

Random rulesets and packets (see `tests/kernel/differential.py`) on the router's input,
forward and output paths (IPv4 and, for a quarter of the rulesets, IPv6) and through the
compute node's bridge, under iptables-nft and
iptables-legacy. For every packet, the rules and policies the stepper says matched must be
exactly those whose kernel packet counters grew, and the verdicts must agree. With nft, a third
of the rulesets are replayed under the kernel's own trace and the order of the walk must agree.

IPTSCOPE_DIFF_CASES (default 500) sets the number of packets, split into chunks that
pytest-xdist can run in parallel; IPTSCOPE_DIFF_SEED (default 1) the seed;
IPTSCOPE_DIFF_OUT a file for the disagreements (default: the test's tmp dir). Each
disagreement carries the ruleset, the packet, the stepper's walk and (nft) the kernel's trace.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.kernel import lab as L

CASES = int(os.environ.get("IPTSCOPE_DIFF_CASES", "500"))
SEED = int(os.environ.get("IPTSCOPE_DIFF_SEED", "1"))
CHUNKS = [("nft", 1), ("nft", 2), ("legacy", 3), ("legacy", 4)]


@pytest.mark.parametrize(("backend", "chunk"), CHUNKS, ids=[f"{b}-{c}" for b, c in CHUNKS])
def test_stepper_agrees_with_kernel(kernel: None, backend: str, chunk: int,
                                    tmp_path: Path) -> None:
    pytest.importorskip("parser.load")
    pytest.importorskip("ruleset.stepper")
    from tests.kernel import differential as D

    n = max(1, CASES // len(CHUNKS))
    # nft: every 3rd ruleset is replayed under xtables-monitor --trace and the ORDER of the
    # matched rules and policies is compared as well
    # a quarter of the rulesets are IPv6 (ip6tables, the router lab with IPv6 addresses)
    runner = D.Runner((backend,), ordered_every=3 if backend == "nft" else 0, ipv6=True)
    try:
        report = runner.run(n, seed=SEED * 1000 + chunk)
    finally:
        runner.close()
    out = Path(os.environ.get("IPTSCOPE_DIFF_OUT", tmp_path / "disagreements.txt"))
    if "IPTSCOPE_DIFF_OUT" in os.environ:
        out = out.with_name(f"{out.stem}-{backend}-{chunk}{out.suffix}")
    out.write_text(report.summary() + "\n" + report.coverage() + "\n\n"
                   + "\n\n".join(d.text() for d in report.disagreements))
    print(f"differential {backend} chunk {chunk}: {report.summary()}; written to {out}")
    print(report.coverage())
    assert report.cases >= n
    assert len(report.refused) <= report.scenarios // 10 + 2, report.refused
    assert not report.disagreements, (
        f"{len(report.disagreements)} of {report.cases} packets disagree (details in {out}):\n\n"
        + "\n\n".join(d.text() for d in report.disagreements[:3]))


def test_generator_is_deterministic() -> None:
    from tests.kernel import differential as D

    a = D.Generator(42).scenario("router", "nft")
    b = D.Generator(42).scenario("router", "nft")
    assert a.rules == b.rules
    assert [p.describe() for p in a.packets] == [p.describe() for p in b.packets]
    c = D.Generator(43).scenario("bridge", "nft")
    assert c.rules != a.rules
    assert all(p.lab == "bridge" for p in c.packets)


def test_sent_packet_states() -> None:
    from tests.kernel import differential as D

    def state(proto: str, **kw: object) -> str:
        return D.SentPacket("input", "router", "203.0.113.5", "10.0.1.1", proto, 1, 2,
                            **kw).kernel_state()  # type: ignore[arg-type]

    assert state("tcp", flags="SYN") == "NEW"
    assert state("tcp", flags="ACK") == "NEW"
    assert state("tcp", flags="SYN,ACK") == "INVALID"
    assert state("tcp", flags="RST") == "INVALID"
    assert state("icmp", icmp_type=8) == "NEW"
    assert state("icmp", icmp_type=0) == "INVALID"
    assert state("udp") == "NEW"


def test_lab_is_available_or_skipped(kernel: None) -> None:
    assert L.unavailable_reason() is None

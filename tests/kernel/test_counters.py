"""Counter deltas against the real kernel: known UDP packets of known sizes hit known rules in a
namespace; the diff of the dumps before and after must report exactly those packet and byte
deltas on exactly those rules, in all three formats (iptables-save -c, iptables -S -v,
iptables -L -v -n -x), in mixed formats, through the CLI, and when rules are inserted and
deleted between the snapshots.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from parser.load import load_text
from ruleset.delta import Delta, Status, diff_rulesets
from tests.kernel import lab as labmod

A_ADDR = "10.77.0.1"
B_ADDR = "10.77.0.2"
IP_UDP_HEADERS = 28  # IPv4 (20) + UDP (8): what the byte counters count beyond the payload

RULESET = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:COUNT - [0:0]
-A INPUT -p udp -m udp --dport 5001 -j ACCEPT
-A INPUT -p udp -m udp --dport 5002 -j COUNT
-A INPUT -p udp -m udp --dport 5002 -j DROP
-A INPUT -s 192.0.2.1/32 -j DROP
-A INPUT -p udp -m length --length 0:200 -m udp --dport 5003 -j ACCEPT
-A INPUT -p udp -m udp --dport 5003 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A COUNT -m comment --comment "counted here" -j RETURN
COMMIT
"""

# (port, packets, payload bytes) sent from B to A.
TRAFFIC = [(5001, 10, 100), (5002, 5, 1000), (5003, 7, 32), (5003, 3, 1400)]

# (chain, position in RULESET) -> (packets, bytes) the kernel must count.
EXPECTED: dict[tuple[str, int], tuple[int, int]] = {
    ("INPUT", 1): (10, 10 * 128),
    ("INPUT", 2): (5, 5 * 1028),
    ("INPUT", 3): (5, 5 * 1028),
    ("INPUT", 5): (7, 7 * 60),
    ("INPUT", 6): (3, 3 * 1428),
    ("COUNT", 1): (5, 5 * 1028),
}

FORMATS: dict[str, list[str]] = {
    "save -c": ["iptables-save", "-c"],
    "-S -v": ["iptables", "-w", "-S", "-v"],
    "-L -v -n -x": ["iptables", "-w", "-L", "-v", "-n", "-x"],
    "-L -v -n -x --line-numbers": ["iptables", "-w", "-L", "-v", "-n", "-x", "--line-numbers"],
}


@dataclass
class Pair:
    """Namespace A (the ruleset, the receivers) and namespace B (the sender), on one veth."""

    lab: labmod.Lab
    a: labmod.Netns
    b: labmod.Netns
    receivers: dict[int, socket.socket]
    backend: str = "nft"

    def dump(self, fmt: str) -> str:
        """A dump in format `fmt`, by the backend's own tools (iptables-nft-save, ...)."""
        argv = list(FORMATS[fmt])
        argv[0] = labmod.tool(self.backend, "save" if argv[0] == "iptables-save" else "")
        return self.a.run(*argv).stdout

    def dumps(self) -> dict[str, str]:
        return {fmt: self.dump(fmt) for fmt in FORMATS}

    def send(self, traffic: list[tuple[int, int, int]]) -> None:
        """Send the packets and wait until the accepted ones arrived (so the kernel counted
        them); dropped ones get a short grace period."""
        sock = self.b.socket(socket.AF_INET, socket.SOCK_DGRAM)
        expected: dict[int, int] = {}
        try:
            for port, count, size in traffic:
                for _ in range(count):
                    sock.sendto(b"x" * size, (A_ADDR, port))
                if port in self.receivers:
                    expected[port] = expected.get(port, 0) + count
        finally:
            sock.close()
        deadline = time.monotonic() + 5
        for port, want in expected.items():
            got = 0
            rx = self.receivers[port]
            while got < want and time.monotonic() < deadline:
                try:
                    rx.recv(65535)
                    got += 1
                except BlockingIOError:
                    time.sleep(0.01)
            assert got == want, f"port {port}: {got} of {want} packets arrived"
        time.sleep(0.2)


def make_pair(tag: str, ruleset: str = RULESET, ports: tuple[int, ...] = (5001, 5003, 6000),
              backend: str = "nft") -> Pair:
    lab = labmod.Lab(tag)
    try:
        a = lab.netns("a")
        b = lab.netns("b")
        lab.veth(a, "eth0", b, "eth0")
        a.ip("addr", "add", f"{A_ADDR}/24", "dev", "eth0")
        b.ip("addr", "add", f"{B_ADDR}/24", "dev", "eth0")
        a.restore(ruleset, backend=backend)
        receivers: dict[int, socket.socket] = {}
        for port in ports:
            rx = a.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            rx.bind((A_ADDR, port))
            rx.setblocking(False)
            receivers[port] = rx
        # Warm up ARP so that the counted traffic is only ours (ARP never walks iptables, but
        # the first packet would wait for it).
        b.run("ping", "-c", "1", "-W", "2", A_ADDR, check=False)
        a.iptables("-Z", backend=backend)
        return Pair(lab, a, b, receivers, backend)
    except BaseException:
        lab.destroy()
        raise


@pytest.fixture
def pair(kernel: None, request: pytest.FixtureRequest) -> Iterator[Pair]:
    p = make_pair("delta")
    try:
        yield p
    finally:
        for rx in p.receivers.values():
            rx.close()
        p.lab.destroy()


def grown_map(delta: Delta) -> dict[tuple[str, int], tuple[int | None, int | None]]:
    return {
        (r.chain, r.rule_after or 0): (r.delta.packets, r.delta.bytes)
        for r in delta.rules if r.grew
    }


def parse(text: str, fmt: str) -> object:
    return load_text(text, f"<{fmt}>")


@pytest.fixture
def legacy_pair(kernel: None) -> Iterator[Pair]:
    p = make_pair("deltalegacy", backend="legacy")
    try:
        yield p
    finally:
        for rx in p.receivers.values():
            rx.close()
        p.lab.destroy()


@pytest.mark.kernel
def test_known_packets_give_exact_deltas_in_every_format(pair: Pair) -> None:
    check_known_packets(pair)


@pytest.mark.kernel
def test_known_packets_legacy_backend(legacy_pair: Pair) -> None:
    """The same with iptables-legacy (its -L prints protocol names, not numbers)."""
    check_known_packets(legacy_pair)


def check_known_packets(pair: Pair) -> None:
    before = pair.dumps()
    pair.send(TRAFFIC)
    after = pair.dumps()
    for fmt in FORMATS:
        rb = load_text(before[fmt], f"before {fmt}")
        ra = load_text(after[fmt], f"after {fmt}")
        assert not rb.errors and not ra.errors, (fmt, rb.errors or ra.errors)
        delta = diff_rulesets(rb, ra, tables=["filter"])
        assert grown_map(delta) == EXPECTED, fmt
        assert all(r.status in (Status.CHANGED, Status.UNCHANGED) for r in delta.rules), fmt
        assert not any(r.delta.approximate for r in delta.rules), fmt
        assert len(delta.rules) == 8, fmt
        # INPUT's policy saw nothing: every packet matched an accepting or dropping rule.
        pol = {p.chain: p for p in delta.policies}
        assert pol["INPUT"].status is Status.UNCHANGED, fmt

    # Mixed formats: every pair of (before format, after format) pairs the rules by identity.
    for fb in ("save -c", "-S -v"):
        for fa in ("-L -v -n -x", "save -c", "-S -v"):
            if fb == fa:
                continue
            delta = diff_rulesets(load_text(before[fb], "b"), load_text(after[fa], "a"),
                                  tables=["filter"])
            assert grown_map(delta) == EXPECTED, (fb, fa)
            assert {r.status for r in delta.rules} <= {Status.CHANGED, Status.UNCHANGED}


@pytest.mark.kernel
def test_rounded_listing_deltas_are_approximate(pair: Pair) -> None:
    """`-L -v` without -x rounds large counters (K/M): the delta carries bounds that hold the
    exact figure."""
    before_exact = pair.dump("save -c")
    before = pair.a.run("iptables", "-w", "-L", "-v", "-n").stdout
    # 100000+ bytes so that the bytes column is printed in K.
    pair.send([(5001, 120, 1400)])
    after = pair.a.run("iptables", "-w", "-L", "-v", "-n").stdout
    after_exact = pair.dump("save -c")
    approx = diff_rulesets(load_text(before, "b"), load_text(after, "a"))
    exact = diff_rulesets(load_text(before_exact, "b"), load_text(after_exact, "a"))
    [r] = [r for r in approx.rules if r.grew]
    [e] = [r for r in exact.rules if r.grew]
    assert (r.chain, r.rule_after) == (e.chain, e.rule_after) == ("INPUT", 1)
    assert e.delta.packets == 120 and e.delta.bytes == 120 * 1428
    assert r.delta.packets == 120  # below 100000: printed exactly
    assert r.delta.approximate
    assert r.delta.bytes_min <= 120 * 1428 <= r.delta.bytes_max
    assert r.delta.bytes_max - r.delta.bytes_min <= 2000


@pytest.mark.kernel
def test_inserted_and_deleted_rules_do_not_break_pairing(pair: Pair) -> None:
    before = pair.dumps()
    # Between the snapshots: two inserts ahead of the counted rules, one delete, one append.
    pair.a.iptables("-I", "INPUT", "1", "-p", "udp", "--dport", "6000", "-j", "ACCEPT")
    pair.a.iptables("-I", "INPUT", "3", "-p", "tcp", "--dport", "8080", "-j", "ACCEPT")
    pair.a.iptables("-D", "INPUT", "-s", "192.0.2.1/32", "-j", "DROP")
    pair.a.iptables("-A", "COUNT", "-p", "udp", "-j", "RETURN")
    pair.send([*TRAFFIC, (6000, 4, 50)])
    after = pair.dumps()
    # RULESET positions after the edits: 1 -> 2, 2 -> 4, 3 -> 5, (4 deleted), 5 -> 6, 6 -> 7.
    moved_to = {1: 2, 2: 4, 3: 5, 5: 6, 6: 7}
    expected = {(chain, moved_to[pos] if chain == "INPUT" else pos): d
                for (chain, pos), d in EXPECTED.items()}
    expected[("INPUT", 1)] = (4, 4 * 78)  # the inserted rule, counting since its insertion
    # The rule appended to COUNT never sees a packet: COUNT's first rule returns them all.
    for fmt in FORMATS:
        delta = diff_rulesets(load_text(before[fmt], "b"), load_text(after[fmt], "a"),
                              tables=["filter"])
        assert grown_map(delta) == expected, fmt
        status = {(r.chain, r.rule_before, r.rule_after): r.status for r in delta.rules}
        assert status[("INPUT", None, 1)] is Status.ADDED, fmt
        assert status[("INPUT", None, 3)] is Status.ADDED, fmt
        assert status[("COUNT", None, 2)] is Status.ADDED, fmt
        assert status[("INPUT", 4, None)] is Status.REMOVED, fmt
        for pos, new in moved_to.items():
            assert status[("INPUT", pos, new)] is Status.CHANGED, (fmt, pos)
        assert status[("INPUT", 7, 8)] is Status.UNCHANGED, fmt
        assert not any(r.moved for r in delta.rules), fmt


@pytest.mark.kernel
def test_moved_rule_keeps_its_counters(pair: Pair) -> None:
    before = pair.dump("save -c")
    pair.send([(5001, 3, 10)])
    # Move the tcp/22 rule (7) to the top: delete and insert it.
    pair.a.iptables("-D", "INPUT", "7")
    pair.a.iptables("-I", "INPUT", "1", "-p", "tcp", "-m", "tcp", "--dport", "22", "-j",
                    "ACCEPT")
    after = pair.dump("save -c")
    delta = diff_rulesets(load_text(before, "b"), load_text(after, "a"))
    moved = [r for r in delta.rules if r.moved]
    assert [(r.rule_before, r.rule_after, r.status) for r in moved] == [(7, 1, Status.MOVED)]
    assert grown_map(delta) == {("INPUT", 2): (3, 3 * 38)}


@pytest.mark.kernel
def test_cli_diff_on_kernel_dumps(pair: Pair, tmp_path: Path,
                                  cli_json: Callable[..., dict[str, object]]) -> None:
    files = {}
    before = pair.dumps()
    pair.send(TRAFFIC)
    after = pair.dumps()
    for n, fmt in enumerate(FORMATS):
        fb = tmp_path / f"before-{n}.txt"
        fa = tmp_path / f"after-{n}.txt"
        fb.write_text(before[fmt])
        fa.write_text(after[fmt])
        files[fmt] = (fb, fa)
    for fmt, (fb, fa) in files.items():
        data = cli_json(str(fb), str(fa))
        changes = data["changes"]
        assert isinstance(changes, list)
        got = {(c["chain"], c["rule_after"]): (c["delta_packets"], c["delta_bytes"])
               for c in changes}
        assert got == EXPECTED, fmt
        assert {c["status"] for c in changes} == {"changed"}, fmt


@pytest.fixture
def cli_json(capsys: pytest.CaptureFixture[str]) -> Callable[..., dict[str, object]]:
    from tui.cli import main

    def run(*args: str) -> dict[str, object]:
        capsys.readouterr()
        code = main(["diff", *args, "--json"])
        out = capsys.readouterr().out
        assert code == 0, out
        data = json.loads(out)
        assert isinstance(data, dict)
        return data

    return run

"""Live polling against a real namespace ruleset with traffic flowing, through
`--cmd "ip netns exec NS iptables-save -c"`: deltas, a poll that fails in the middle, a counter
reset (`iptables -Z`), a background poller with a sender running, and `iptscope record`."""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parser.load import load_text
from ruleset.delta import Status
from ruleset.live import CommandFailed, Poller, PollResult
from tests.kernel.test_counters import Pair, make_pair

FAIL_ONCE = """\
import os, subprocess, sys
flag, ns = sys.argv[1], sys.argv[2]
if os.path.exists(flag):
    os.remove(flag)
    sys.stderr.write("simulated failure: the dump command could not run\\n")
    sys.exit(3)
sys.exit(subprocess.call(["ip", "netns", "exec", ns, "iptables-save", "-c"]))
"""


@pytest.fixture
def pair(kernel: None) -> Iterator[Pair]:
    p = make_pair("deltalive")
    try:
        yield p
    finally:
        for rx in p.receivers.values():
            rx.close()
        p.lab.destroy()


def rule1(result: PollResult) -> tuple[Status, int | None, int | None]:
    """INPUT rule 1 (udp 5001 ACCEPT) in the result's delta vs the previous snapshot."""
    assert result.delta is not None
    [r] = [r for r in result.delta.rules if r.chain == "INPUT" and r.rule_after == 1]
    return r.status, r.delta.packets, r.delta.bytes


@pytest.mark.kernel
def test_live_poll_deltas_failure_and_reset(pair: Pair, tmp_path: Path) -> None:
    flag = tmp_path / "fail-next"
    script = tmp_path / "fail_once.py"
    script.write_text(FAIL_ONCE)
    cmd = shlex.join([sys.executable, str(script), str(flag), pair.a.name])
    poller = Poller(load_text, cmd=cmd, interval=0.1)

    first = poller.poll_once()
    assert first.ok, first.error
    assert first.snapshot is not None and first.snapshot.ruleset.rule_count == 8

    pair.send([(5001, 10, 100)])
    second = poller.poll_once()
    assert second.ok and second.incremental
    assert rule1(second) == (Status.CHANGED, 10, 1280)
    assert second.delta is not None
    assert sum(1 for r in second.delta.rules if r.grew) == 1

    # A poll that fails in the middle: reported, the last good snapshot stays.
    flag.write_text("1")
    pair.send([(5001, 5, 100)])
    third = poller.poll_once()
    assert isinstance(third.error, CommandFailed)
    assert "simulated failure" in third.error.message
    assert third.snapshot is second.snapshot

    # The next good poll counts from the last good snapshot.
    fourth = poller.poll_once()
    assert fourth.ok
    assert rule1(fourth) == (Status.CHANGED, 5, 640)
    assert fourth.baseline_delta is not None
    [base] = [r for r in fourth.baseline_delta.rules if r.grew]
    assert (base.rule_after, base.delta.packets) == (1, 15)

    # A counter reset in the namespace: reported as reset, not as a negative number.
    pair.a.iptables("-Z")
    pair.send([(5001, 2, 100)])
    fifth = poller.poll_once()
    assert fifth.ok
    status, packets, _ = rule1(fifth)
    assert status is Status.RESET and packets is None
    assert fifth.delta is not None
    [r] = [r for r in fifth.delta.rules if r.rule_after == 1 and r.chain == "INPUT"]
    assert r.since_reset is not None and r.since_reset.packets == 2

    # After the reset, counting resumes normally; a new baseline starts here.
    poller.reset_baseline()
    pair.send([(5001, 4, 100), (5003, 1, 10)])
    sixth = poller.poll_once()
    assert rule1(sixth) == (Status.CHANGED, 4, 512)
    assert sixth.baseline_delta is sixth.delta
    assert sixth.delta is not None
    assert {(r.chain, r.rule_after) for r in sixth.delta.rules if r.grew} == {
        ("INPUT", 1), ("INPUT", 5)}
    assert poller.errors == 1
    assert len(poller.ring) == 5


@pytest.mark.kernel
def test_background_poller_with_traffic_flowing(pair: Pair) -> None:
    poller = Poller(load_text, cmd=f"ip netns exec {pair.a.name} iptables-save -c",
                    interval=0.15)
    results: list[PollResult] = []
    lock = threading.Lock()

    def on_result(result: PollResult) -> None:
        with lock:
            results.append(result)

    first = poller.poll_once()  # the baseline, before any traffic
    assert first.ok, first.error
    results.append(first)
    poller.start(on_result)
    sent = 0
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            pair.send([(5001, 3, 100)])
            sent += 3
    finally:
        time.sleep(0.4)  # at least one more poll after the last packet
        poller.stop()
    with lock:
        done = list(results)
    assert len(done) >= 4
    assert all(r.ok for r in done), [str(r.error) for r in done if r.error]
    growth = 0
    grew_polls = 0
    for r in done[1:]:
        status, packets, _ = rule1(r)
        assert status in (Status.CHANGED, Status.UNCHANGED)
        growth += packets or 0
        grew_polls += status is Status.CHANGED
        if status is Status.CHANGED:
            rate = r.rates[0][1]
            assert rate.packets_per_s > 0
    assert growth == sent
    assert grew_polls >= 2
    last = done[-1]
    assert last.baseline_delta is not None
    [base] = [r for r in last.baseline_delta.rules if r.grew]
    assert base.delta.packets == sent and base.delta.bytes == sent * 128
    assert sum(r.incremental for r in done) >= len(done) - 1


@pytest.mark.kernel
def test_record_then_diff(pair: Pair, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    out = tmp_path / "session.rec"
    cmd = f"ip netns exec {pair.a.name} iptables-save -c"
    stop = threading.Event()

    def sender() -> None:
        while not stop.is_set():
            pair.send([(5003, 2, 10)])

    thread = threading.Thread(target=sender)
    pair.send([(5001, 1, 1)])
    thread.start()
    try:
        code = main(["record", "--cmd", cmd, "--interval", "0.2", "--count", "4", "-o",
                     str(out)])
    finally:
        stop.set()
        thread.join()
    err = capsys.readouterr().err
    assert code == 0, err
    assert "4 snapshot(s) written" in err
    capsys.readouterr()
    assert main(["diff", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    grown = {(c["chain"], c["rule_after"]) for c in data["changes"]}
    assert grown == {("INPUT", 5)}
    assert data["changes"][0]["delta_packets"] % 2 == 0
    assert main(["diff", str(out), "--from", "2", "--to", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changes"] == []


@pytest.mark.kernel
def test_not_root_says_cap_net_admin_and_sudo(pair: Pair) -> None:
    """The real iptables-save run as nobody (inside the lab namespace) is refused: the poller
    says CAP_NET_ADMIN is needed and suggests sudo."""
    import shutil

    from ruleset.live import NotPermitted

    if shutil.which("setpriv") is None:
        pytest.skip("setpriv not installed")
    cmd = (f"ip netns exec {pair.a.name} setpriv --reuid=65534 --regid=65534 --clear-groups "
           "iptables-save -c")
    result = Poller(load_text, cmd=cmd).poll_once()
    assert isinstance(result.error, NotPermitted), result.error
    assert "CAP_NET_ADMIN" in str(result.error) and "sudo" in str(result.error)
    assert result.snapshot is None

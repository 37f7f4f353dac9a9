"""The app's commands refuse bad usage before taking the terminal (exit code 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.tui.rulesets import NEUTRON_LISTING, ROOT


def iptscope(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_session_file_missing_or_not_a_session(tmp_path: Path) -> None:
    proc = iptscope("--session", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and "cannot read session" in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    proc = iptscope("--session", str(bad))
    assert proc.returncode == 2 and "not an iptscope session" in proc.stderr


def test_step_refuses_a_bad_packet_and_a_bad_ipset_file() -> None:
    proc = iptscope("step", str(NEUTRON_LISTING), "--src", "14.52.45.2", "--dst", "nowhere")
    assert proc.returncode == 2
    assert "'nowhere' does not appear to be an IPv4 or IPv6 address" in proc.stderr
    proc = iptscope("step", str(NEUTRON_LISTING), "--src", "14.52.45.2", "--dst",
                    "14.52.45.10", "--ipsets", "/nonexistent/ipsets")
    assert proc.returncode == 2 and "/nonexistent/ipsets" in proc.stderr


def test_live_refuses_a_bad_interval() -> None:
    proc = iptscope("live", "--interval", "0")
    assert proc.returncode == 2 and "--interval must be positive" in proc.stderr

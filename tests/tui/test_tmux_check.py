"""scripts/tmux_check.sh: the app in a real terminal (tmux), keys typed, the screen read."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.tui.rulesets import ROOT


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tmux_check_script() -> None:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "tmux_check.sh")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all checks passed" in proc.stdout

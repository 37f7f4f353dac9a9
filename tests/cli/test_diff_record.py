"""`iptscope record` (without a kernel: `--cmd` prints a saved dump) and its errors."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from ruleset.record import read_recording
from tests.cli.conftest import REPO, Result

DELTAS = REPO / "samples" / "deltas"


def test_record_then_diff(cli: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "rec.txt"
    # A command that prints the before dump on its first run and the after dump later.
    state = tmp_path / "state"
    script = tmp_path / "dumper.py"
    script.write_text(
        "import os, sys\n"
        f"state = {str(state)!r}\n"
        "n = int(open(state).read()) if os.path.exists(state) else 0\n"
        "open(state, 'w').write(str(n + 1))\n"
        f"name = {str(DELTAS / 'lab-before.save-c.txt')!r} if n == 0 else "
        f"{str(DELTAS / 'lab-after.save-c.txt')!r}\n"
        "sys.stdout.write(open(name).read())\n"
    )
    cmd = shlex.join([sys.executable, str(script)])
    result = cli("record", "--cmd", cmd, "--interval", "0.05", "--count", "3", "-o", str(out))
    assert result.code == 0, result.err
    assert "3 snapshot(s) written" in result.err
    assert "snapshot 2 at" in result.err and "7 grew" in result.err
    dumps = read_recording(str(out))
    assert [d.index for d in dumps] == [1, 2, 3]
    assert dumps[0].text == (DELTAS / "lab-before.save-c.txt").read_text()
    assert dumps[0].source == cmd
    data = json.loads(cli("diff", str(out), "--json").out)
    assert len(data["changes"]) == 7
    unchanged = json.loads(cli("diff", str(out), "--from", "2", "--json").out)
    assert unchanged["changes"] == []


def test_record_errors(cli: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "rec.txt"
    missing = cli("record", "--cmd", "iptscope-no-such-command -c", "-o", str(out))
    assert missing.code == 1
    assert "command not found: iptscope-no-such-command" in missing.err
    assert "0 snapshot(s) written" in missing.err
    assert cli("record", "--interval", "0", "-o", str(out)).code == 2
    assert cli("record", "--count", "0", "-o", str(out)).code == 2
    bad_host = cli("record", "--ssh=-oProxyCommand=x", "-o", str(out))
    assert bad_host.code == 2 and "bad ssh host" in bad_host.err
    unwritable = cli("record", "--cmd", "true", "-o", str(tmp_path / "no" / "dir" / "x"))
    assert unwritable.code == 1 and "cannot write" in unwritable.err

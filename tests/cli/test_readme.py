"""README.md's seed walkthrough is real output: its command is run as written (plus the
`--assume nomatch` / `--ipsets` / `--apply` variants the text describes) and the output block
it shows must appear in what the command prints."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from tests.cli.conftest import REPO

Cli = Callable[..., Any]

README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def _blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of `text`: (info string, body)."""
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.DOTALL)


SEED = _section("The seed story, step by step")
SH = next(body for info, body in _blocks(SEED) if info == "sh")
OUTPUT = next(body for info, body in _blocks(SEED) if info == "")


def _command() -> list[str]:
    words = shlex.split(SH.replace("\\\n", " "))
    assert words[0] == "iptscope"
    return words[1:]


def test_the_readme_command_is_the_seed_packet() -> None:
    args = _command()
    assert args[0] == "trace" and "14.52.45.2:40000 > 14.52.45.10:50000" in " ".join(args)


def test_without_ipset_contents_both_outcomes_are_shown(cli: Cli) -> None:
    result = cli(*_command())
    assert "Traceback" not in result.err
    out = result.out
    assert "UNKNOWN" in out and "DROP" in out and "ACCEPT" in out


def test_the_shown_output_is_what_the_command_prints(cli: Cli) -> None:
    result = cli(*_command(), "--ipsets", "samples/neutron/ipsets.save")
    assert "Traceback" not in result.err
    printed = [line.rstrip() for line in result.out.splitlines()]
    shown = [line.rstrip() for line in OUTPUT.strip("\n").splitlines()]
    # The README shows the end of the trace: its lines, consecutive, in the output.
    starts = [i for i, line in enumerate(printed) if line == shown[0]]
    assert any(printed[i:i + len(shown)] == shown for i in starts), "\n".join(printed)


def test_assuming_no_match_gives_the_same_verdict_and_fix(cli: Cli) -> None:
    result = cli(*_command(), "--assume", "nomatch")
    printed = result.out.splitlines()
    shown = OUTPUT.splitlines()
    for prefix in ("verdict ", "fix "):
        assert [ln for ln in printed if ln.startswith(prefix)] == \
            [ln for ln in shown if ln.startswith(prefix)]
    assert any(ln.startswith("  assumed: ") for ln in printed)


def test_the_fix_applied_in_memory_accepts(cli: Cli) -> None:
    fix = re.search(r'--apply "([^"]+)"', SEED)
    assert fix is not None
    result = cli(*_command(), "--assume", "nomatch", "--apply", fix.group(1))
    assert "Traceback" not in result.err
    assert "verdict ACCEPT by filter:FORWARD rule 1" in result.out

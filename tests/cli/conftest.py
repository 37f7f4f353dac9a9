"""Shared CLI fixtures: a plain, fixed-width terminal; running the CLI in-process or as a
subprocess; golden files (set UPDATE_GOLDENS=1 to rewrite them, then review the diff)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
CORPUS = (REPO.parent / "shared" / "corpus").resolve()
GOLDEN = Path(__file__).resolve().parent / "golden"
WIDTH = 100

# Environment variables Rich reads to decide on colour and width.
_RICH_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES",
             "JUPYTER_COLUMNS", "JUPYTER_LINES", "COLORTERM", "TERM")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def subprocess_env(*, color: bool = False, **extra: str) -> dict[str, str]:
    """os.environ for a subprocess: WIDTH columns, no colour (or colour forced), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _RICH_ENV}
    env.update(COLUMNS=str(WIDTH), PYTHONPATH=str(REPO))
    if color:
        env.update(FORCE_COLOR="1", TERM="xterm-256color")
    else:
        env.update(NO_COLOR="1")
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process CLI runs see a non-tty, colourless terminal WIDTH columns wide."""
    for name in _RICH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", str(WIDTH))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> Callable[..., Result]:
    """`cli("check", path, stdin="...")` runs `tui.cli.main` in-process, in the repository
    (relative sample paths work and appear as given in the output)."""
    from tui.cli import main

    monkeypatch.chdir(REPO)
    def run(*args: str, stdin: str | bytes | None = None) -> Result:
        if stdin is not None:
            data = stdin.encode() if isinstance(stdin, str) else stdin
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def _run_subprocess(*args: str, stdin: str | bytes | None = None, color: bool = False,
                    env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "tui", *args], input=data, capture_output=True,
        env=subprocess_env(color=color, **(env or {})), cwd=REPO, timeout=timeout, check=False,
    )
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def cli_subprocess() -> Callable[..., Result]:
    """`cli_subprocess("check", path, stdin=b"...", color=True, env={"X": "1"})` runs
    `python -m tui ARGS` in a fresh interpreter, in the repository, WIDTH columns wide, without
    colour unless `color` (FORCE_COLOR), with `env` added to the environment."""
    return _run_subprocess


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """`golden("show-neutron.txt", text)`: compare with tests/cli/golden/NAME (or write it when
    UPDATE_GOLDENS=1)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("UPDATE_GOLDENS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"missing golden file {path}; run with UPDATE_GOLDENS=1 and review it")
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"output differs from {path} (UPDATE_GOLDENS=1 rewrites it)"

    return check


@pytest.fixture
def corpus_file() -> Callable[[str], Path]:
    """`corpus_file("save/x.txt")`: a file of ../shared/corpus, or skip when it is absent."""

    def find(relative: str) -> Path:
        path = CORPUS / relative
        if not path.exists():
            pytest.skip(f"corpus file {relative} not available")
        return path

    return find


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """`write_file("name", content)` -> a path under the test's tmp dir."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write

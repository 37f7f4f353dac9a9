"""Dependencies point inward: parser -> ruleset <- tui. Checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys, pkgutil, importlib
import {package}
for info in pkgutil.walk_packages({package}.__path__, "{package}."):
    importlib.import_module(info.name)
banned = {banned!r}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in banned)
print(",".join(loaded))
"""


@pytest.mark.parametrize(
    ("package", "banned"),
    [
        ("ruleset", ["parser", "tui", "textual", "rich", "pyparsing"]),
        ("parser", ["tui", "textual", "rich"]),
    ],
)
def test_package_imports_only_inward(package: str, banned: list[str]) -> None:
    code = CHECK.format(package=package, banned=banned)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{package} pulled in {out}"


def test_cli_start_does_not_load_textual() -> None:
    code = "import sys, tui.cli; tui.cli._command_modules(); print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"

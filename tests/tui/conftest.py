"""Deterministic app runs: no cursor blink, no animations, no user config, fixed clock text."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.tui.rulesets import neutron
from tui.explorer import Explorer


@pytest.fixture(autouse=True)
def _deterministic(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
                   ) -> None:
    monkeypatch.setattr(Input, "cursor_blink", False)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def neutron_explorer() -> Explorer:
    return Explorer(neutron())

"""The diagnostics dialog (D) goes to the offending line: a rule line selects that rule, any
other line is shown with its neighbours from the file."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import OptionList, Static

from parser.load import load_path
from ruleset.model import Diagnostic, Severity
from tui.app import IptscopeApp
from tui.explorer import Explorer
from tui.screens.diagnostics import DiagnosticsDialog, TextDialog, diagnostic_context
from tui.screens.main import MainScreen
from tui.widgets.rule_view import RuleView

DUMP = (
    "*filter\n"
    ":INPUT ACCEPT [0:0]\n"
    ":OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -s 10.0.0.1 -j ACCEPT\n"
    "-A INPUT -p tcp --dport 22 -j ACCEPT\n"
    "this is not a rule\n"
    "-A INPUT -p tcp -j DROP\n"
    "-A OUTPUT -j LATER\n"  # line 8: a chain never declared (the rule is kept)
    "-A OUTPUT -j ACCEPT\n"
    "COMMIT\n"
)


def _open(tmp_path: Path) -> tuple[IptscopeApp, Path]:
    path = tmp_path / "damaged.save"
    path.write_text(DUMP)
    ruleset = load_path(str(path))
    return IptscopeApp(Explorer(ruleset)), path


def _main(app: IptscopeApp) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


def _choose(dialog: DiagnosticsDialog, needle: str) -> int:
    return next(i for i, d in enumerate(dialog.diagnostics) if needle in d.message + d.text)


async def test_enter_on_a_rule_line_selects_that_rule(tmp_path: Path) -> None:
    app, _ = _open(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        main = _main(app)
        await pilot.press("D")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DiagnosticsDialog)
        listed = dialog.query_one("#diagnostic-list", OptionList)
        assert app.focused is listed
        listed.highlighted = _choose(dialog, "LATER")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is main
        assert main.location is not None and main.location.chain == "OUTPUT"
        rule = main.query_one(RuleView).current_rule
        assert rule is not None and rule.line == 8 and rule.target_name == "LATER"
        status = str(main.query_one("#status", Static).render())
        assert "line 8: OUTPUT #1" in status
        await pilot.press("backspace")  # where we were before
        await pilot.pause()
        assert main.location.chain == "INPUT"


async def test_enter_on_another_line_shows_it_with_its_neighbours(tmp_path: Path) -> None:
    app, path = _open(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("D")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, DiagnosticsDialog)
        dialog.query_one("#diagnostic-list", OptionList).highlighted = _choose(
            dialog, "this is not a rule")
        await pilot.press("enter")
        await pilot.pause()
        shown = app.screen
        assert isinstance(shown, TextDialog)
        plain = shown.text.plain
        assert f"{path}:6:1" in plain
        for number, line in ((3, ":OUTPUT ACCEPT [0:0]"), (6, "this is not a rule"),
                             (9, "-A OUTPUT -j ACCEPT")):
            assert f"{number:>6} │ {line}" in plain
        assert "     2 │" not in plain and "    10 │" not in plain  # three either side
        assert "^" in plain.split("this is not a rule", 1)[1].splitlines()[1]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_escape_closes_without_moving(tmp_path: Path) -> None:
    app, _ = _open(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        main = _main(app)
        before = main.location
        await pilot.press("D")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main and main.location == before


def test_context_without_the_file_shows_the_kept_text() -> None:
    diag = Diagnostic("-", 12, 3, Severity.ERROR, "bad thing", "-A INPUT --what")
    text = diagnostic_context(diag)
    assert isinstance(text, Text)
    assert "-:12:3: error: bad thing" in text.plain
    assert "    12 │ -A INPUT --what" in text.plain
    gone = Diagnostic("/nonexistent/iptscope.save", 2, 1, Severity.WARNING, "odd", "")
    assert "(the line cannot be read again)" in diagnostic_context(gone).plain


async def test_footer_keeps_keys_and_wrap_at_100_columns_with_diagnostics(
        tmp_path: Path) -> None:
    from textual.widgets import Footer

    app, _ = _open(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        footer = _main(app).query_one(Footer)
        keys = {str(w.render()): w for w in footer.query("FooterKey")}
        for label in ("Diagnostics", "Wrap", "Keys"):
            key = next(w for k, w in keys.items() if label in k)
            assert key.region.right <= 100 - 12, label  # left of "▏^p palette"

"""The iptscope Textual app.

`IptscopeApp(explorer=...)` shows a ruleset already loaded (tests, benchmarks);
`IptscopeApp(paths=[...])` loads files in a worker first. Two or more files are snapshots of one
ruleset: the app opens in the delta view.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.explorer import Explorer
from tui.messages import RulesetsLoaded
from tui.widgets.chain_palette import ChainProvider

if TYPE_CHECKING:
    from ruleset.model import Rule
    from tui.session import Session


class LoadFailedScreen(Screen[None]):
    """Nothing could be loaded: say why, and let the user quit."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q,escape", "fail", "Quit")]

    def __init__(self, errors: list[str]) -> None:
        super().__init__()
        self.errors = errors

    def compose(self) -> ComposeResult:
        text = Text("Nothing could be loaded:\n\n", style="bold red")
        for error in self.errors:
            text.append(error + "\n")
        with VerticalScroll():
            yield Static(text, id="load-errors")
        yield Footer()

    def action_fail(self) -> None:
        """Quit with exit status 1: nothing was shown (scripts can tell)."""
        self.app.exit(return_code=1)


class IptscopeApp(App[None]):
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "iptscope"
    COMMANDS = App.COMMANDS | {ChainProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("E", "export_svg", "Export SVG", show=False),
        Binding("S", "save_session", "Save session", show=False),
    ]

    def __init__(
        self,
        explorer: Explorer | None = None,
        *,
        paths: list[str] | None = None,
        session: Session | None = None,
        session_path: str | None = None,
        live: Any = None,
        step_packet: Any = None,
        export_dir: str | None = None,
        stdin_text: str | None = None,
    ) -> None:
        super().__init__()
        self.explorer: Explorer | None = explorer
        self.wrap_rules = False  # `w`: the rule views show each rule's whole matches
        self.paths = list(paths or (session.paths if session else []))
        self.session = session
        self.session_path = session_path
        self.live = live
        self.step_packet = step_packet
        self.export_dir = export_dir or os.environ.get("IPTSCOPE_EXPORT_DIR") or os.getcwd()
        self.last_packet: Any = None
        self.stdin_text = stdin_text

    def on_mount(self) -> None:
        if self.explorer is not None:
            self._open_main()
        elif self.live is not None:
            from tui.screens.live import LiveStartScreen

            self.push_screen(LiveStartScreen(self.live))
        else:
            from tui.screens.loading import LoadingScreen

            self.push_screen(LoadingScreen(self.paths, self.stdin_text))

    def on_rulesets_loaded(self, message: RulesetsLoaded) -> None:
        if not message.rulesets:
            self.switch_screen(LoadFailedScreen(message.errors or ["no input"]))
            return
        self.explorer = make_explorer(message.rulesets, self.paths, message.errors,
                                      message.snapshots)
        self._open_main(switch=True)

    def _open_main(self, switch: bool = False) -> None:
        from tui.screens.main import MainScreen

        assert self.explorer is not None
        # A 50,000-rule model is a lot of objects for the cyclic GC to walk again and again
        # (100-300 ms pauses in the middle of a key press): they live as long as the app.
        gc.freeze()
        screen = MainScreen(self.explorer)
        if switch:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)
        if self.explorer.load_errors or self.explorer.ruleset.errors:
            count = len(self.explorer.load_errors) + len(self.explorer.ruleset.errors)
            self.notify(f"{count} problems while loading: press D to see them.",
                        severity="warning", timeout=5)
        if self.session is not None:
            self.call_after_refresh(self._resume_session)
        elif self.step_packet is not None:
            self.call_after_refresh(self.open_stepper, self.step_packet)

    # -- stepping ---------------------------------------------------------------------------

    def start_trace(self, rule: Rule | None) -> None:
        """`t`: the packet form, prefilled from the selected rule (or the last packet)."""
        from tui.screens.packet_form import PacketFormDialog

        self.push_screen(PacketFormDialog(rule, self.last_packet), self._packet_chosen)

    def _packet_chosen(self, request: Any) -> None:
        if request is not None:
            self.last_packet = request
            self.open_stepper(request)

    def open_stepper(self, request: Any, **kwargs: Any) -> None:
        from tui.screens.step import StepScreen

        assert self.explorer is not None
        self.push_screen(StepScreen(self.explorer, request, **kwargs))

    def _resume_session(self) -> None:
        from tui.screens.step import StepScreen

        assert self.explorer is not None and self.session is not None
        self.push_screen(StepScreen.from_session(self.explorer, self.session))

    # -- everywhere -------------------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
            return
        self.push_screen(HelpScreen(self.screen))

    def action_export_svg(self) -> None:
        name = f"iptscope-{type(self.screen).__name__.lower()}.svg"
        path = self.save_screenshot(filename=name, path=self.export_dir)
        self.notify(f"Saved {path}", timeout=4)

    def action_save_session(self) -> None:
        save = getattr(self.screen, "action_save_session", None)
        if save is not None and save is not self.action_save_session:
            save()
        else:
            self.notify("Sessions save a packet stepping: press t to step a packet first.",
                        timeout=3)


def make_explorer(rulesets: list[Any], paths: list[str], errors: list[str],
                  snapshots: list[Any] | None = None) -> Explorer:
    """An Explorer over loaded dumps: one dump, or snapshots (the newest shown, with deltas
    from the first; timed snapshots give the time between them)."""
    explorer = Explorer(rulesets[-1], snapshots=list(rulesets) if len(rulesets) > 1 else [],
                        paths=paths, load_errors=errors)
    if len(rulesets) > 1:
        from tui.heat import apply_delta, apply_snapshot_delta

        if snapshots is not None and len(snapshots) == len(rulesets):
            explorer.timed = list(snapshots)
            apply_snapshot_delta(explorer, snapshots[0], snapshots[-1], len(snapshots))
        else:
            apply_delta(explorer, rulesets[0], rulesets[-1])
    return explorer


def run_app(app: IptscopeApp) -> int:
    app.run()
    return app.return_code or 0


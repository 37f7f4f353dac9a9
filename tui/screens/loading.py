"""The loading screen: files load in a thread worker while a progress bar moves."""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Label, ProgressBar
from textual.worker import get_current_worker

from tui.messages import LoadProgressed, RulesetsLoaded


def warm_up(ruleset: object) -> None:
    """Resolve the specs of the rules the main screen shows first (this imports the rule
    grammar), here in the loader thread rather than on the UI thread at first paint."""
    from tui.explorer import Explorer

    explorer = Explorer(ruleset)  # type: ignore[arg-type]
    first = explorer.first_chain()
    if first is not None:
        chain = explorer.chain(*first)
        for rule in (chain.rules[:60] if chain is not None else []):
            _ = rule.spec


class LoadingScreen(Screen[None]):
    DEFAULT_CSS = """
    LoadingScreen Label { width: 100%; content-align: center middle; }
    LoadingScreen ProgressBar { width: auto; }
    """

    def __init__(self, paths: list[str], stdin_text: str | None = None) -> None:
        super().__init__()
        self.paths = paths
        self.stdin_text = stdin_text  # `-` was read before the app took the terminal

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Label(f"Loading {', '.join(self.paths) or 'stdin'}…", id="loading-label")
            # determinate (files done / files): an indeterminate bar animates at 60 fps and
            # takes the GIL from the loader thread
            yield ProgressBar(total=max(1, len(self.paths)), show_eta=False, id="loading-bar")

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="load", description="load rule dumps")
    def _load(self) -> None:
        from parser.errors import LoadError, ParseError
        from parser.load import load_path, load_text
        from ruleset.record import is_recording, load_recording
        from ruleset.snapshot import snapshot_of

        worker = get_current_worker()
        rulesets = []
        snapshots = []
        errors: list[str] = []
        total = len(self.paths)
        for i, path in enumerate(self.paths):
            if worker.is_cancelled:
                return
            self.post_message(LoadProgressed(i, total, f"Loading {path}…"))
            start = time.perf_counter()
            try:
                if path != "-" and is_recording(path):  # `iptscope record` output
                    for snap in load_recording(path, lambda text, src: load_text(text, src)):
                        snapshots.append(snap)
                        rulesets.append(snap.ruleset)
                    if rulesets:
                        warm_up(rulesets[-1])
                    continue
                if path == "-" and self.stdin_text is not None:
                    ruleset = load_text(self.stdin_text, "-")
                else:
                    ruleset = load_path(path)
                warm_up(ruleset)
                rulesets.append(ruleset)
                snapshots.append(snapshot_of(ruleset, path=path))
            except (LoadError, ParseError, OSError) as exc:
                said = str(exc)  # LoadError names the file itself
                errors.append(said if said.startswith(f"{path}:") else f"{path}: {said}")
            except Exception as exc:  # never crash on input: show it
                errors.append(f"{path}: internal error while loading: {exc!r}")
            self.post_message(LoadProgressed(
                i + 1, total, f"Loaded {path} in {time.perf_counter() - start:.2f}s"))
        self.app.post_message(RulesetsLoaded(rulesets, errors, snapshots))

    def on_load_progressed(self, message: LoadProgressed) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=max(1, message.total), progress=message.done)
        self.query_one("#loading-label", Label).update(message.label)

"""Packet stepping: walk a packet through the ruleset one rule at a time.

The walk is `ruleset.stepper.Stepper`'s; what-if edits are `ruleset.whatif`'s and the fix
suggestion `ruleset.suggest`'s. This screen only shows them and routes keys:
n/space step, b back, c continue (to a breakpoint or the verdict), x breakpoint, : what-if,
s suggestion, a the UNKNOWN choice again, e edits as commands, m trace as Markdown.

Runs (`c`, and the re-step after a what-if edit) go in a thread worker, one step at a time,
so the keys stay alive: Esc stops the run at the step it reached, the other stepping keys
wait for it; an UNKNOWN that needs a choice comes back to the UI thread, which asks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from ruleset.matches import MATCH, NO_MATCH, UNKNOWN, Result
from ruleset.model import Chain, Rule, Ruleset
from ruleset.stepper import (
    NeedChoice,
    Step,
    StepKind,
    Stepper,
    Trace,
    explore,
    parse_result,
)
from tui.explorer import Explorer
from tui.session import PacketRequest, Session, make_host, save_session
from tui.widgets.rule_view import RowMark, RuleView
from tui.widgets.step_panes import (
    log_text,
    packet_text,
    reasons_text,
    stack_text,
    trace_markdown,
    verdict_text,
)

RuleRef = tuple[str, str, int]


def ref_text(ref: RuleRef) -> str:
    return f"{ref[0]}:{ref[1]}:{ref[2]}"


def parse_ref(text: str) -> RuleRef:
    table, chain, pos = text.rsplit(":", 2)
    return table, chain, int(pos)


def apply_edits(ruleset: Ruleset, edits: list[str]) -> tuple[Ruleset, list[str]]:
    """The ruleset with the what-if commands applied (a copy), and the commands as the user
    could run them. Raises ValueError with the engine's message on a bad command."""
    if not edits:
        return ruleset, []
    from parser.rulespec import parse_command
    from ruleset.whatif import apply_commands

    commands = [parse_command(line, family=ruleset.family) for line in edits]
    edited = apply_commands(ruleset, commands)
    return edited.ruleset, edited.edits


class StepScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,space", "step", "Step"),
        Binding("b", "back_step", "Back"),
        Binding("c", "continue", "Continue"),
        Binding("x", "breakpoint", "Break"),
        Binding("colon", "whatif", "What-if", key_display=":"),
        Binding("s", "suggest", "Fix"),
        Binding("a", "assume", "Unknowns", show=False),
        Binding("e", "export_edits", "Edits", show=False),
        Binding("m", "export_markdown", "Markdown", show=False),
        Binding("S", "save_session", "Save"),
        Binding("o", "note", "Note", show=False),
        Binding("w", "toggle_wrap", "Wrap the rules' matches", show=False),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        explorer: Explorer,
        request: PacketRequest,
        *,
        assume: str | None = None,
        assumptions: dict[str, str] | None = None,
        edits: list[str] | None = None,
        breakpoints: list[str] | None = None,
        step_to: int = 0,
        notes: str = "",
        ipsets: str | None = None,
        local_addrs: list[str] | None = None,
        finish: bool = False,
    ) -> None:
        super().__init__()
        self.finish = finish  # a resumed session that had reached the verdict
        self.explorer = explorer
        self.ipsets = ipsets
        self.local_addrs = list(local_addrs or [])
        self.host: Any = None
        self.request = request
        self.packet = request.to_packet()
        self.default_assume: Result | None = _result(assume)
        self.overrides: dict[RuleRef, Result] = {
            parse_ref(k): r for k, v in (assumptions or {}).items()
            if (r := _result(v)) is not None
        }
        self.breakpoints: set[tuple[str, str, int | None]] = {
            parse_ref(b) for b in (breakpoints or [])}
        self.edits: list[str] = list(edits or [])
        self.commands: list[str] = []
        self.ruleset: Ruleset = explorer.ruleset
        self.stepper: Stepper | None = None
        self.step_to = step_to
        self.notes = notes
        self.pending: RuleRef | None = None  # an UNKNOWN rule waiting for the user's choice
        self.running = False  # `c` was pressed: go on after the choice
        self.busy = False  # a run is in its worker (keys other than Esc/q wait)
        self._run_token = 0  # the run whose result is wanted (older deliveries are dropped)
        self._after_run = ""  # said after the run's own message (what-if edits)
        self._progress: Timer | None = None  # redraws "running… step N" during a run
        self._stopping = False  # Esc was pressed during the run
        self.shown: tuple[str, str] | None = None
        self.message = ""
        self.suggestion: Any = None
        self._bindings_state: tuple[bool, bool, bool] | None = None
        self._latest: dict[int, Step] = {}

    @classmethod
    def from_session(cls, explorer: Explorer, session: Session) -> StepScreen:
        return cls(explorer, session.packet, assume=session.assume,
                   assumptions=session.assumptions, edits=session.edits,
                   breakpoints=session.breakpoints, step_to=session.step, notes=session.notes,
                   ipsets=session.ipsets, local_addrs=session.local_addrs,
                   finish=session.done)

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="step-packet")
        with Horizontal(id="step-panes"):
            yield RuleView(id="step-rules")
            with VerticalScroll(id="step-side"):
                yield Static(id="step-stack")
                yield Static(id="step-now")
                yield Static(id="step-reasons")
                yield Static(id="step-log")
        yield Static(id="step-verdict")
        yield Input(placeholder="what-if: an iptables command, e.g. -I FORWARD 1 -s 14.52.45.2 "
                    "-d 14.52.45.10 -p udp -j ACCEPT   (Enter applies, Esc cancels)", id="whatif")
        yield Input(placeholder="a note kept with the saved session (Enter keeps it)", id="note")
        yield Footer(compact=True)  # eleven keys: ? Keys stays on screen at 100 columns

    def on_mount(self) -> None:
        try:
            self.host = make_host(self.ipsets, self.local_addrs)
        except ValueError as exc:
            self.notify(f"Stepping without the host's ipsets/addresses: {exc}",
                        severity="error", timeout=8)
        self.query_one("#whatif", Input).display = False
        self.query_one("#note", Input).display = False
        rules = self.query_one("#step-rules", RuleView)
        rules.can_activate = False  # "⏎ Follow jump" would do nothing here: not offered
        rules.set_wrap(getattr(self.app, "wrap_rules", False))
        rules.focus()
        if not self._rebuild():
            return
        if self.step_to:
            self._replay(self.step_to, finish=self.finish)
        self.refresh_view()

    # -- the engine ---------------------------------------------------------------------

    def _rebuild(self) -> bool:
        """A fresh stepper on the (edited) ruleset with the current choices and breakpoints."""
        try:
            self.ruleset, self.commands = apply_edits(self.explorer.ruleset, self.edits)
        except Exception as exc:  # a bad edit: say so, drop it, keep going
            bad = self.edits.pop() if self.edits else ""
            self.notify(f"What-if failed: {exc}", severity="error", timeout=6)
            self.message = f"what-if `{bad}` not applied: {exc}"
            try:
                self.ruleset, self.commands = apply_edits(self.explorer.ruleset, self.edits)
            except Exception:
                self.ruleset, self.commands = self.explorer.ruleset, []
        self.stepper = Stepper(
            self.ruleset, self.packet, self.request.path, host=self.host,
            assume=self.default_assume,  # type: ignore[arg-type]  # None: ask (NeedChoice)
            overrides=self.overrides, breakpoints=self.breakpoints)
        self.pending = None
        return True

    def _step_once(self) -> Step | None:
        assert self.stepper is not None
        return self.stepper.step()

    def _replay(self, count: int, *, finish: bool = False) -> None:
        """Step forward to where we were (after a what-if edit or a resumed session); `finish`:
        we were at the verdict, so the walk is taken to it (the last step decided it)."""
        assert self.stepper is not None
        try:
            while self.stepper.cursor + 1 < count:
                if self._step_once() is None:
                    break
            if finish and not self.stepper.done and self.stepper.cursor + 1 >= count:
                self._step_once()
        except NeedChoice:
            self._need_choice()
        except Exception as exc:  # the engine could not go on: say so, never crash
            self.message = f"stepping stopped: {exc}"

    def _need_choice(self) -> None:
        assert self.stepper is not None
        walker = self.stepper.walker
        chain, index = walker.frames[-1][0], walker.frames[-1][1]
        assert isinstance(chain, Chain) and isinstance(index, int)
        ref: RuleRef = (walker.table, chain.name, index + 1)
        self.pending = ref
        rule = self.ruleset.tables[ref[0]].chains[ref[1]].rules[ref[2] - 1]
        from tui.screens.assume import AssumeDialog

        # behind the question, the walk as it stands, with the rule in question under the
        # cursor (not the screen as it was before `c`)
        self.refresh_view()
        view = self.query_one("#step-rules", RuleView)
        if self.shown == (ref[0], ref[1]) and (index := view.index_of(rule)) is not None:
            view.cursor = index
        self.app.push_screen(AssumeDialog(rule, self._unknown_reasons(rule)), self._chosen)

    def _unknown_reasons(self, rule: Rule) -> list[str]:
        from ruleset.stepper import compiled

        assert self.stepper is not None
        walker = self.stepper.walker
        env = walker.env
        out: list[str] = []
        if env is None:
            return out
        for check in compiled(rule, walker.family):
            res, why = check.fn(walker.pkt, env)
            if res is UNKNOWN:
                out.append(why)
        return out

    def _chosen(self, choice: str | None) -> None:
        ref, self.pending = self.pending, None
        if choice is None or ref is None:
            self.running = False
            self.refresh_view()
            return
        if choice == "both":
            self.running = False
            self._explore_both()
            return
        result = MATCH if choice.startswith("match") else NO_MATCH
        if choice.endswith("all"):
            self.default_assume = result
            assert self.stepper is not None
            self.stepper.walker.assume = result
        self.overrides[ref] = result
        assert self.stepper is not None
        self.stepper.walker.overrides[ref] = result
        if self.running:
            self._continue()
        else:
            self.action_step()

    def _engine_failed(self, exc: Exception) -> None:
        self.message = f"stepping stopped: {exc}"
        self.notify(f"Stepping stopped: {exc}", severity="error", timeout=6)
        self.refresh_view()

    def _explore_both(self) -> None:
        from tui.screens.branches import BranchesDialog

        exploration = explore(self.ruleset, self.packet, self.request.path, host=self.host,
                              overrides=self.overrides)
        self.app.push_screen(BranchesDialog(exploration))

    @on(RuleView.RuleHighlighted, "#step-rules")
    def _rule_highlighted(self, event: RuleView.RuleHighlighted) -> None:
        """Moving the cursor over the chain shows why a visited rule did (not) match."""
        current = self.current
        rule = event.rule
        if rule is None or (current is not None and current.rule is rule):
            self.query_one("#step-reasons", Static).update(reasons_text(current))
            return
        visit = self._latest.get(id(rule))
        if self.pending == (rule.table_name, rule.chain_name, rule.position):
            text = Text(f"{rule.chain_name} #{rule.position}: the walk is here, and the dump "
                        "cannot decide it: choose what to assume\n", style="bold yellow")
            text.append(rule.text, style="italic dim")
        elif visit is not None:
            text = reasons_text(visit)
            text.append("(an earlier step; the cursor is not the walk)", style="dim italic")
        else:
            text = Text(f"{rule.chain_name} #{rule.position}: not visited by this walk\n",
                        style="dim")
            text.append(rule.text, style="italic dim")
        self.query_one("#step-reasons", Static).update(text)

    # -- keys -----------------------------------------------------------------------------

    def action_step(self) -> None:
        assert self.stepper is not None
        self.message = ""
        try:
            step = self._step_once()
        except NeedChoice:
            self._need_choice()
            return
        except Exception as exc:  # the engine could not go on: say so, never crash
            self._engine_failed(exc)
            return
        if step is None:
            self.message = "The verdict is in: b steps back, : tries a what-if edit."
        self.refresh_view()

    def action_back_step(self) -> None:
        assert self.stepper is not None
        self.message = ""
        self.stepper.back()
        self.refresh_view()

    def action_continue(self) -> None:
        """`c`: run to the next breakpoint or the verdict, in a worker (the first run over
        5,000 rules takes a second: the keys stay alive, Esc stops it)."""
        assert self.stepper is not None
        if self.running or self.busy:
            return  # already on its way
        self.running = True
        self._continue()

    def _continue(self) -> None:
        """Start the run (the screen says so at once); its end comes back in _run_ended."""
        assert self.stepper is not None
        self.message = ""
        self.running = True
        self.busy = True
        self._run_token += 1
        self._stopping = False
        self._show_progress()
        self.refresh_bindings()
        self._run_steps(self.stepper, self._run_token)
        if self._progress is None:
            self._progress = self.set_interval(0.25, self._show_progress)

    def _show_progress(self) -> None:
        """The verdict line while a run is under way (and the step it reached, read from the
        worker's stepper: a plain int, safe to read from here)."""
        if not self.busy or self._stopping or self.stepper is None:
            return
        text = " running to the verdict or the next breakpoint… "
        if self.stepper.cursor >= 0:
            text += f"step {self.stepper.cursor + 1:,} "
        self.query_one("#step-verdict", Static).update(
            Text(text + "(Esc stops) ", style="reverse"), layout=False)

    @work(thread=True, exclusive=True, group="step-run", exit_on_error=False,
          description="stepping to the verdict or the next breakpoint")
    def _run_steps(self, stepper: Stepper, token: int) -> None:
        """One step at a time (the cursor is always on a step handed out), polling for Esc
        between steps; never touches a widget: the end goes through this screen's own queue
        (call_later is thread-safe and drops it once the screen is closing; see live.py)."""
        worker = get_current_worker()
        outcome: RunOutcome
        try:
            outcome = run_steps(stepper, lambda: worker.is_cancelled)
        except NeedChoice:
            outcome = ("choice", None)
        except Exception as exc:  # the engine could not go on: said on the UI thread
            outcome = ("failed", exc)
        self.call_later(self._run_ended, stepper, token, outcome)

    def _run_ended(self, stepper: Stepper, token: int, outcome: RunOutcome) -> None:
        if stepper is not self.stepper or token != self._run_token:
            return  # a run of a stepper since replaced (a what-if edit)
        self.busy = False
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._bindings_state = None  # the keys dimmed during the run come back
        kind, value = outcome
        after, self._after_run = self._after_run, ""
        if kind == "choice":
            self._need_choice()  # `running` stays: the run goes on after the choice
            return
        self.running = False
        if kind == "failed":
            assert isinstance(value, Exception)
            self._engine_failed(value)
            return
        if kind == "stopped":
            self.message = (f"Stopped at step {stepper.cursor + 1}: c goes on, n steps, "
                            "b steps back.")
        elif isinstance(value, Step):
            self.message = f"Breakpoint: {value.table}:{value.chain} #{value.position}"
        if after and stepper.walker.done:
            self.message = (self.message or "") + after
        self.refresh_view()

    def stop_run(self) -> bool:
        """Esc during a run: stop it at the step it reached (False: no run to stop)."""
        if not self.busy:
            return False
        self.workers.cancel_group(self, "step-run")
        self._stopping = True
        self.query_one("#step-verdict", Static).update(
            Text(" stopping… ", style="reverse"), layout=False)
        return True

    def action_breakpoint(self) -> None:
        assert self.stepper is not None
        view = self.query_one("#step-rules", RuleView)
        rule = view.current_rule
        if rule is None:
            return
        ref = (rule.table_name, rule.chain_name, rule.position)
        if ref in self.breakpoints:
            self.breakpoints.discard(ref)
            self.message = f"Breakpoint removed at {ref_text(ref)}"
        else:
            self.breakpoints.add(ref)
            self.message = f"Breakpoint set at {ref_text(ref)}"
        self.stepper.breakpoints = set(self.breakpoints)
        self.refresh_view()

    def action_assume(self) -> None:
        if self.pending is not None:
            self._need_choice()
        else:
            self._explore_both()

    def action_whatif(self) -> None:
        box = self.query_one("#whatif", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#whatif")
    def _whatif_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        event.input.value = ""
        self.query_one("#step-rules", RuleView).focus()
        line = event.value.strip()
        if line:
            self.apply_whatif(line)

    def apply_whatif(self, line: str) -> None:
        """Apply iptables commands (`;` between several) to the model in memory and re-step
        to the verdict."""
        for part in line.split(";"):
            if part.strip():
                self.edits.append(part.strip())
        if self.busy:  # a run of the stepper about to be replaced: its end is dropped
            self.workers.cancel_group(self, "step-run")
            self.busy = False
        self._rebuild()
        self.running = True
        message = self.message  # a what-if that failed says so after the run
        self._continue()
        self.message = message
        self._after_run = f"  (after {len(self.edits)} what-if edits)"

    def action_toggle_wrap(self) -> None:
        view = self.query_one("#step-rules", RuleView)
        view.set_wrap(not view.wrap)
        self.app.wrap_rules = view.wrap  # type: ignore[attr-defined]  # the main screen's too

    def action_note(self) -> None:
        box = self.query_one("#note", Input)
        box.value = self.notes
        box.display = True
        box.focus()

    @on(Input.Submitted, "#note")
    def _note_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.notes = event.value.strip()
        self.query_one("#step-rules", RuleView).focus()
        self.message = "Note kept (S saves the session)."
        self.refresh_view()

    def action_suggest(self) -> None:
        assert self.stepper is not None
        from ruleset.suggest import suggest_fix

        trace = self.stepper.trace()
        if not self.stepper.walker.done:
            self.notify("Run to the verdict first (c).", timeout=3)
            return
        try:
            found = suggest_fix(self.ruleset, trace, host=self.host,
                                assume=self.default_assume or NO_MATCH)
        except Exception as exc:  # the engine could not: say so
            self.notify(f"No suggestion: {exc}", severity="warning", timeout=4)
            return
        if found is None or not found.commands:
            self.notify("Nothing to fix: the packet is not dropped.", timeout=3)
            return
        line = "; ".join(c.render() for c in found.commands)
        self.suggestion = found
        box = self.query_one("#whatif", Input)
        box.value = line
        box.display = True
        box.focus()
        self.message = "Suggested fix in the what-if line: Enter applies it and re-steps."
        self.refresh_view()

    def action_export_edits(self) -> None:
        if not self.edits:
            self.notify("No what-if edits yet (:).", timeout=3)
            return
        lines = self.commands or [f"iptables {e}" for e in self.edits]
        path = Path(getattr(self.app, "export_dir", ".")) / "iptscope-edits.sh"
        path.write_text("#!/bin/sh\n# what-if edits made in iptscope\n" + "\n".join(lines) + "\n")
        self.notify(f"Saved {path}:\n" + "\n".join(lines), timeout=6)

    def action_export_markdown(self) -> None:
        assert self.stepper is not None
        text = self.markdown()
        path = Path(getattr(self.app, "export_dir", ".")) / "iptscope-trace.md"
        path.write_text(text, encoding="utf-8")
        self.notify(f"Saved {path}", timeout=4)

    def markdown(self) -> str:
        assert self.stepper is not None
        return trace_markdown(self.request.summary(), self._visible_steps(),
                              self._trace_if_done(), self.commands or self.edits)

    def session(self) -> Session:
        assert self.stepper is not None
        paths = [p if p == "-" else os.path.abspath(p)
                 for p in (getattr(self.app, "paths", []) or self.explorer.paths)]
        return Session(
            paths=paths,
            packet=self.request,
            assume=_assume_word(self.default_assume),
            assumptions={ref_text(k): _assume_word(v) or "" for k, v in self.overrides.items()},
            edits=list(self.edits),
            breakpoints=[ref_text((t, c, p)) for t, c, p in sorted(
                self.breakpoints, key=lambda b: (b[0], b[1], b[2] or 0)) if p is not None],
            step=self.stepper.cursor + 1,
            notes=self.notes,
            ipsets=os.path.abspath(self.ipsets) if self.ipsets else None,
            local_addrs=list(self.local_addrs),
            done=self.stepper.done,
        )

    def action_save_session(self) -> None:
        """Save to the session file in use; the first save of a new session picks a file name
        that does not exist yet (never overwriting another session) and keeps it."""
        target = getattr(self.app, "session_path", None)
        if not target:
            folder = Path(getattr(self.app, "export_dir", "."))
            candidate = folder / "iptscope-session.json"
            n = 2
            while candidate.exists():
                candidate = folder / f"iptscope-session-{n}.json"
                n += 1
            target = str(candidate)
            self.app.session_path = target  # type: ignore[attr-defined]
        path = save_session(self.session(), target)
        self.notify(f"Session saved to {path}", timeout=4)

    def action_close(self) -> None:
        if self.stop_run():
            return
        for box in self.query(Input):
            if box.display:
                box.display = False
                self.query_one("#step-rules", RuleView).focus()
                return
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.stepper is None:
            return True
        if self.busy:  # a run is on its way: only Esc (stop) and the app's keys (the
            return True if action in WHILE_RUNNING else None  # rest shown dimmed)
        done = self.stepper.done
        if action in ("step", "continue"):
            return None if done else True
        if action == "back_step":
            return True if self.stepper.cursor >= 0 else None
        if action == "suggest":
            return True if done else None
        if action == "export_edits":
            return bool(self.edits)
        return True

    # -- drawing --------------------------------------------------------------------------

    def _visible_steps(self) -> list[Step]:
        assert self.stepper is not None
        return self.stepper.history[: self.stepper.cursor + 1]

    def _trace_if_done(self) -> Trace | None:
        assert self.stepper is not None
        return self.stepper.trace() if self.stepper.done else None

    @property
    def current(self) -> Step | None:
        return self.stepper.current if self.stepper is not None else None

    @property
    def verdict(self) -> str | None:
        trace = self._trace_if_done()
        return trace.verdict.value if trace is not None else None

    def refresh_view(self) -> None:
        assert self.stepper is not None
        steps = self._visible_steps()
        current = self.current
        # which chain to show: the current step's, else the first chain of the walk
        if current is not None:
            where = (current.table, current.chain)
        elif self.shown is not None:
            where = self.shown
        else:
            where = self._first_chain()
        view = self.query_one("#step-rules", RuleView)
        table = self.ruleset.tables.get(where[0]) if where else None
        chain = table.chains.get(where[1]) if table is not None and where else None
        rules = list(chain.rules) if chain is not None else []
        if where != self.shown or view.rules != rules:
            view.set_rules(rules, chain_names=frozenset(table.chains) if table else None,
                           empty_text="(empty chain)")
            self.shown = where
        marks: dict[int, RowMark] = {}
        latest: dict[int, Step] = {}
        for step in steps:
            if step.kind is StepKind.RULE and step.rule is not None and (
                step.table, step.chain) == where:
                latest[id(step.rule)] = step
        for rule in rules:
            bp = (rule.table_name, rule.chain_name, rule.position) in self.breakpoints
            visit = latest.get(id(rule))
            symbol, style = " ", ""
            if visit is not None:
                symbol, style = _result_mark(visit)
            first = "●" if bp else "✎" if rule.edited else " "
            if bp or visit is not None or rule.edited:
                marks[id(rule)] = RowMark(
                    first + symbol, ("bold red " if bp else "bold magenta " if rule.edited
                                     else "") + style,
                    row_style="italic" if rule.edited else "")
        self._latest = latest
        highlighted = id(current.rule) if current is not None and current.rule is not None else (
            None)
        view.set_marks(marks, highlighted)
        if current is not None and current.rule is not None:
            index = view.index_of(current.rule)
            if index is not None:
                view.cursor = index
        self.query_one("#step-packet", Static).update(packet_text(
            self.request.summary(), len(steps), self.edits), layout=False)
        stack = self.query_one("#step-stack", Static)
        shown = [stack_text(current, stack.content_region.width or None),
                 packet_text_now(current, self.packet), reasons_text(current)]
        for name, text in zip(("#step-stack", "#step-now", "#step-reasons"), shown,
                              strict=True):
            self.query_one(name, Static).update(text.copy())
        limit = self._log_limit_for(steps, shown)
        self.query_one("#step-log", Static).update(log_text(steps, limit))
        trace = self._trace_if_done()
        self.query_one("#step-verdict", Static).update(
            verdict_text(trace, self.message, self.stepper.walker.assumptions), layout=False)
        # the footer rebuilds its keys on refresh_bindings: only when what they do changed
        state = (self.stepper.done, self.stepper.cursor >= 0, bool(self.edits))
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        if self.stepper is not None and not self.busy and self.query("#step-stack"):
            self.call_after_refresh(self.refresh_view)  # the stack and log fitted again

    def _log_limit_for(self, steps: list[Step], others: list[Text]) -> int:
        """The log's newest steps are the ones that matter: as many as fit under the other
        panes (`others`, wrapped to the pane's width), so the last is never below the fold."""
        side = self.query_one("#step-side")
        width = side.scrollable_content_region.width
        height = side.scrollable_content_region.height
        if width <= 0 or height <= 0:  # not laid out yet
            return LOG_MAX
        console = self.app.console

        def lines(text: Text) -> int:
            return len(text.wrap(console, width)) + 1  # and the margin under it

        room = height - sum(lines(t) for t in others)
        for limit in range(min(LOG_MAX, len(steps)), LOG_MIN, -1):
            if lines(log_text(steps, limit)) <= room:
                return limit
        return LOG_MIN

    def _first_chain(self) -> tuple[str, str]:
        from ruleset.paths import HOOK_TABLES, HOOKS
        from ruleset.paths import Path as WalkPath

        hooks = HOOKS[WalkPath(self.request.path)]
        for hook in hooks:
            for table in HOOK_TABLES[hook]:
                if table in self.ruleset.tables and hook in self.ruleset.tables[table].chains:
                    return table, hook
        return ("filter", hooks[0])


LOG_MAX, LOG_MIN = 14, 3  # steps the log lists at most / at least

# screen actions a run leaves alive (the rest would read or change the stepper it walks)
WHILE_RUNNING = frozenset({"close", "toggle_wrap"})

# how a run ended: ("verdict", None), ("breakpoint", Step), ("stopped", None),
# ("choice", None) (an UNKNOWN needs the user's choice) or ("failed", exception)
RunOutcome = tuple[str, object]


def run_steps(stepper: Stepper, stopped: Callable[[], bool]) -> RunOutcome:
    """Step to the next breakpoint or the verdict, asking `stopped()` between steps; the
    cursor is on the last step handed out whenever this returns or raises (NeedChoice)."""
    while True:
        if stopped():
            return ("stopped", None)
        step = stepper.step()
        if step is None:
            return ("verdict", None)
        if stepper.breakpoints and stepper.at_breakpoint(step):
            return ("breakpoint", step)


def packet_text_now(step: Step | None, start: Any) -> Text:
    from tui.widgets.step_panes import packet_now_text

    return packet_now_text(step, start)


def _result(value: str | Result | None) -> Result | None:
    try:
        return parse_result(value)
    except ValueError:
        return None


def _assume_word(value: Result | None) -> str | None:
    if value is None:
        return None
    return "match" if value is MATCH else "nomatch"


def _result_mark(step: Step) -> tuple[str, str]:
    if step.result is UNKNOWN:
        return ("?", "bold yellow")
    if step.result is MATCH:
        return ("✓", "bold green")
    return ("✗", "red")

"""Live counters: poll a command that prints a dump, keep a ring of snapshots, compute deltas and
rates, and survive failures. Read-only, always: the poller only ever runs a dump command.

Sources (:func:`build_command`):

- this host: ``iptables-save -c`` (``ip6tables-save -c`` with ``ipv6=True``);
- another host: ``ssh -o BatchMode=yes ... HOST -- iptables-save -c`` (the system ssh, batch
  mode, the remote command as an argument list: never a local shell; with ``cmd`` too, that
  command runs remotely, e.g. ``sudo -n iptables-save -c``);
- any command that prints a dump (``--cmd "ip netns exec NS iptables-save -c"``, split with
  :func:`shlex.split` and run without a shell).

The dump parser is injected (``parse(text, source) -> Ruleset``, e.g. ``parser.load.load_text``)
so this module stays stdlib-only.

Using it (the ``iptscope live`` app builds on this)::

    poller = Poller(load_text, cmd="ip netns exec lab iptables-save -c", interval=2.0)

    # 1. one poll at a time (tests, a Textual thread worker calling it on a timer):
    result = poller.poll_once()

    # 2. a blocking iterator (a thread worker loop; check is_cancelled between results):
    for result in poller.results():          # polls every `interval` s until stop()
        ...

    # 3. a background thread with a callback (call_from_thread / post_message inside it):
    poller.start(on_result=lambda result: app.call_from_thread(app.show_poll, result))
    ...
    poller.stop()

Each :class:`PollResult` carries ``snapshot`` (the new snapshot, or the last good one when the
poll failed), ``delta`` (vs the previous good snapshot), ``baseline_delta`` (vs the baseline,
which :meth:`Poller.reset_baseline` moves to the latest snapshot), ``rates`` (per rule packets/s
and bytes/s over the last interval) and ``error`` (a :class:`PollError` with a message and a hint,
or None). A failed poll (missing command, not root, ssh failure, malformed dump: one that does
not parse, a save cut before its last COMMIT, or more than a few lines not understood; a few odd
lines in a complete dump are kept as the snapshot's diagnostics) never stops the poller and
never replaces the last good snapshot. ``ring`` holds the last ``ring_size`` good
snapshots (default 30; only the newest keeps its raw dump text, for recording).

Re-parsing is incremental (:class:`IncrementalParser`): when every line of a new
``iptables-save -c`` dump equals the previous one apart from its ``[packets:bytes]`` prefix
(and the comment lines), the new Ruleset is built from the previous one with plain string work,
reusing each rule's parse (:meth:`Rule.recounted`) and reading only the counters. Otherwise the
full parser runs and every rule whose text is unchanged takes the previous rule's resolved spec.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ruleset.delta import (
    Delta,
    Rate,
    RuleDelta,
    diff_rulesets,
    format_family,
    paused_gc,
    text_key,
)
from ruleset.model import Chain, Counters, Rule, Ruleset, RuleSpec, Table
from ruleset.snapshot import ParseFn, Snapshot, TimeSource

# (argv, timeout) -> (returncode, stdout, stderr). Raises FileNotFoundError / PermissionError
# when the program cannot be started, subprocess.TimeoutExpired on timeout.
Runner = Callable[[Sequence[str], float], tuple[int, str, str]]

DEFAULT_INTERVAL = 2.0
DEFAULT_RING = 30  # a kube-proxy node's 55,000-rule snapshot is ~10 MB in memory
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10")


class PollError(Exception):
    """A poll that produced no snapshot. ``hint`` says what to do about it."""

    kind = "error"

    def __init__(self, message: str, hint: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class CommandNotFound(PollError):
    kind = "command-not-found"


class NotPermitted(PollError):
    """The dump command needs CAP_NET_ADMIN (root)."""

    kind = "permission"


class SshFailed(PollError):
    kind = "ssh"


class CommandFailed(PollError):
    kind = "command-failed"


class CommandTimeout(PollError):
    kind = "timeout"


class MalformedSnapshot(PollError):
    kind = "malformed"


def build_command(
    *, ipv6: bool = False, ssh: str | None = None, cmd: str | Sequence[str] | None = None,
    ssh_options: Sequence[str] = SSH_OPTIONS,
) -> list[str]:
    """The argument list to run: the dump command, wrapped in ssh for a remote host."""
    if cmd is not None:
        words = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        if not words:
            raise ValueError("empty --cmd")
    else:
        words = ["ip6tables-save" if ipv6 else "iptables-save", "-c"]
    if ssh:
        if ssh.startswith("-"):
            raise ValueError(f"bad ssh host {ssh!r}")
        # ssh joins the words after the host with spaces for the remote shell: quote each so
        # that the remote side sees exactly these words (locally there is no shell at all).
        return ["ssh", *ssh_options, ssh, "--", *(shlex.quote(w) for w in words)]
    return words


def run_command(argv: Sequence[str], timeout: float) -> tuple[int, str, str]:
    """The default runner: subprocess without a shell, stdin closed, text decoded leniently."""
    proc = subprocess.run(
        list(argv), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False,
    )
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


_DENIED_MARKERS = ("permission denied", "you must be root", "operation not permitted",
                   "can't initialize", "cap_net_admin")


def _classify_failure(argv: Sequence[str], is_ssh: bool, rc: int, stderr: str) -> PollError:
    shown = shlex.join(argv)
    err = stderr.strip()
    last = err.splitlines()[-1] if err else ""
    low = err.lower()
    if is_ssh and rc == 255:
        return SshFailed(
            f"ssh failed: {last or f'exit code {rc}'}",
            "check the host name, that key-based login works without a password "
            "(ssh runs in batch mode) and that the host is reachable",
            err,
        )
    if is_ssh and rc == 127:
        return CommandNotFound(
            f"the remote host has no {argv[-2] if len(argv) > 1 else argv[0]}: {last}",
            "install iptables on the remote host or pass --cmd", err,
        )
    if any(m in low for m in _DENIED_MARKERS):
        return NotPermitted(
            f"{shown} was refused: {last}",
            "reading the ruleset needs CAP_NET_ADMIN: run as root (e.g. `sudo iptscope ...`)"
            + (" or give the remote user sudo rights" if is_ssh else ""),
            err,
        )
    if rc == 127 and "not found" in low:
        return CommandNotFound(f"command not found: {last}", "check --cmd", err)
    hint = ""
    if not is_ssh and hasattr(os, "geteuid") and os.geteuid() != 0:
        hint = ("not running as root: iptables-save needs CAP_NET_ADMIN, try sudo")
    return CommandFailed(f"{shown} exited with code {rc}: {last or '(no message)'}", hint, err)


# ---------------------------------------------------------------------------------------------
# Incremental parsing


# Re-polled copies are built without the keyword-argument constructors (object creation is
# most of a re-poll's cost), setting exactly the slots those constructors set; if the model's
# slots ever change, the constructors are used instead.
_RULE_SLOTS = frozenset(("_raw", "_resolver", "_spec", "chain", "counters", "edited", "goto",
                         "line", "position", "target_name", "text"))
_CHAIN_SLOTS = frozenset(("builtin", "line", "name", "policy", "policy_counters", "references",
                          "rules", "table"))
_FAST_OBJECTS = (frozenset(Rule.__slots__) == _RULE_SLOTS
                 and frozenset(Chain.__slots__) == _CHAIN_SLOTS)


def _copy_chain(ch: Chain, table: Table) -> Chain:
    """A new empty Chain like `ch`, added to `table`."""
    if not _FAST_OBJECTS:
        return table.add_chain(Chain(ch.name, builtin=ch.builtin, policy=ch.policy,
                                     policy_counters=ch.policy_counters,
                                     references=ch.references, line=ch.line))
    nc: Chain = object.__new__(Chain)
    nc.name = ch.name
    nc.table = table
    nc.builtin = ch.builtin
    nc.policy = ch.policy
    nc.policy_counters = ch.policy_counters
    nc.references = ch.references
    nc.rules = []
    nc.line = ch.line
    table.chains[ch.name] = nc
    return nc


class _Slot:
    """A rule line of the dump: the rule first parsed from it (the *root*), the index of its
    chain, and the latest counters read from it. Also the resolver of the root's re-polled
    copies: their spec is the root's (its own resolver runs once, whichever copy asks first)."""

    __slots__ = ("chain", "counters", "root")

    def __init__(self, root: Rule, chain: int) -> None:
        self.root = root
        self.chain = chain
        self.counters = root.counters

    def __call__(self, rule: Rule) -> RuleSpec:
        return self.root.spec


class _Layout:
    """How the lines of one iptables-save dump map to the objects of its Ruleset.

    ``lines``: the latest poll's lines. ``objects[n]``: a _Slot for a rule line, the chain index
    (int, in Ruleset order) for a chain line, None for the rest.
    """

    __slots__ = ("header_full", "lines", "objects", "ruleset", "text_is_line")

    def __init__(self, ruleset: Ruleset, lines: list[str], objects: list[_Slot | int | None],
                 text_is_line: bool, header_full: bool) -> None:
        self.ruleset = ruleset
        self.lines = lines
        self.objects = objects
        self.text_is_line = text_is_line
        self.header_full = header_full


def _parse_counter(text: str) -> Counters | None:
    """`12:3456` (the inside of `[12:3456]`) -> Counters."""
    p, sep, b = text.partition(":")
    if not sep or not p.isdigit() or not b.isdigit():
        return None
    return Counters(int(p), int(b))


def _rule_chain_name(line: str) -> str | None:
    """The CHAIN of `[p:b] -A CHAIN ...` or `-A CHAIN ...` (None for anything else)."""
    if line[:1] == "[":
        i = line.find("] -A ")
        if i < 0:
            return None
        start = i + 5
    elif line.startswith("-A "):
        start = 3
    else:
        return None
    stop = line.find(" ", start)
    return line[start:stop] if stop > 0 else line[start:]


def _map_layout(ruleset: Ruleset, lines: list[str]) -> _Layout | None:
    """Walk the dump lines alongside the parsed Ruleset; None if they do not line up (then the
    fast path is off for the next poll)."""
    index: dict[int, int] = {}
    for t in ruleset.tables.values():
        for ch in t.chains.values():
            index[id(ch)] = len(index)
    objects: list[_Slot | int | None] = []
    append = objects.append
    table: Table | None = None
    chains: dict[str, Chain] = {}
    seen: dict[str, int] = {}
    for line in lines:
        c = line[:1]
        if c == "[" or c == "-":
            name = _rule_chain_name(line) or ""
            chain = chains.get(name)
            if chain is None:
                return None
            n = seen.get(name, 0)
            if n >= len(chain.rules):
                return None
            seen[name] = n + 1
            append(_Slot(chain.rules[n], index[id(chain)]))
        elif c == "#" or (c == "C" and line.strip() == "COMMIT") or not line.strip():
            append(None)
        elif c == ":":
            found = chains.get(line[1:].split(" ", 1)[0])
            if found is None:
                return None
            append(index[id(found)])
        elif c == "*":
            if table is not None:
                for name, chain in chains.items():
                    if seen.get(name, 0) != len(chain.rules):
                        return None
            table = ruleset.tables.get(line[1:].strip())
            if table is None:
                return None
            chains = table.chains
            seen = {}
            append(None)
        else:
            return None
    if table is not None:
        for name, chain in chains.items():
            if seen.get(name, 0) != len(chain.rules):
                return None
    first = next((o for o in objects if isinstance(o, _Slot)), None)
    text_is_line = first is not None and first.root.text == lines[objects.index(first)]
    header_full = bool(ruleset.generated and ruleset.generated.startswith("#"))
    return _Layout(ruleset, lines, objects, text_is_line, header_full)


class IncrementalParser:
    """Parse successive dumps of the same ruleset, reusing what did not change.

    ``parse(text, source)`` returns the new Ruleset; ``last_incremental`` says whether the
    fast path (counters only) was taken. The fast path applies to ``iptables-save [-c]``
    output whose lines all equal the previous dump's apart from counters and comments: the
    new Rules take the spec of the rule first parsed from the same line (resolved once, when
    any copy needs it). Otherwise the full parser runs, and each rule whose text (without
    counters) is unchanged takes the previous snapshot's resolved spec.
    """

    def __init__(self, parse: ParseFn) -> None:
        self._parse = parse
        self._layout: _Layout | None = None
        self._last: Ruleset | None = None
        self.last_incremental = False
        self.full_parses = 0
        self.fast_parses = 0

    def reset(self) -> None:
        self._layout = None
        self._last = None

    def parse(self, text: str, source: str = "-") -> Ruleset:
        lines = text.splitlines()
        if self._layout is not None:
            with paused_gc():
                fast = self._fast(lines)
            if fast is not None:
                self.last_incremental = True
                self.fast_parses += 1
                self._last = fast
                return fast
        ruleset = self._parse(text, source)
        self.last_incremental = False
        self.full_parses += 1
        self._reuse_specs(ruleset)
        self._layout = None
        if format_family(ruleset.format) == "save" and not ruleset.errors:
            with paused_gc():
                self._layout = _map_layout(ruleset, lines)
        self._last = ruleset
        return ruleset

    def _reuse_specs(self, ruleset: Ruleset) -> None:
        """After a full parse: a rule whose text (without counters) is unchanged since the last
        snapshot takes that snapshot's resolved spec (only resolved specs are worth reusing)."""
        prev = self._last
        if prev is None:
            return
        old: dict[tuple[str, str, str], Rule] = {}
        fam = format_family(prev.format)
        for table in prev.tables.values():
            for chain in table.chains.values():
                for rule in chain.rules:
                    if rule.resolved:
                        old.setdefault((table.name, chain.name, text_key(rule.text, fam)), rule)
        if not old:
            return
        fam = format_family(ruleset.format)
        for table in ruleset.tables.values():
            for chain in table.chains.values():
                for rule in chain.rules:
                    if rule.resolved:
                        continue
                    origin = old.get((table.name, chain.name, text_key(rule.text, fam)))
                    if origin is not None:
                        rule.set_spec(origin.spec)

    def _fast(self, lines: list[str]) -> Ruleset | None:
        """One pass over the lines: an unchanged line reuses everything, a line whose text
        without counters is unchanged reads its counters, anything else gives up (None)."""
        layout = self._layout
        assert layout is not None
        if len(lines) != len(layout.lines):
            return None
        prev = layout.ruleset
        rs = Ruleset(family=prev.family, format=prev.format, path=prev.path,
                     diagnostics=list(prev.diagnostics), generated=prev.generated,
                     variant=prev.variant)
        chains: list[Chain] = []
        for t in prev.tables.values():
            nt = rs.add_table(Table(t.name, line=t.line))
            for ch in t.chains.values():
                chains.append(_copy_chain(ch, nt))
        text_is_line = layout.text_is_line
        header_full = layout.header_full
        fast_objects = _FAST_OBJECTS
        new_rule = object.__new__
        for line, old, obj in zip(lines, layout.lines, layout.objects, strict=True):
            if line == old:
                if obj is None:
                    continue
                if type(obj) is _Slot:
                    counters = obj.counters
                else:
                    continue  # chain line: the copied chain has these counters already
            else:
                c = line[:1]
                if c == "[":
                    end = line.find("]")
                    if (type(obj) is not _Slot or old[:1] != "["
                            or line[end + 1:] != old[old.find("]") + 1:]):
                        return None
                    counters = _parse_counter(line[1:end])
                    if counters is None:
                        return None
                    obj.counters = counters
                elif c == "#":
                    if old[:1] != "#":
                        return None
                    if header_full and line.startswith("# Generated"):
                        rs.generated = line
                    continue
                elif c == ":":
                    cut = line.rfind(" [")
                    if (type(obj) is not int or cut < 0
                            or line[:cut] != old[:old.rfind(" [")]):
                        return None
                    if chains[obj].policy is not None:  # user chains carry no counters
                        chains[obj].policy_counters = _parse_counter(line[cut + 2:-1])
                    continue
                else:
                    return None
            root = obj.root
            if fast_objects:
                nr = new_rule(Rule)
                nr.target_name = root.target_name
                nr.goto = root.goto
                nr.counters = counters
                nr.text = line if text_is_line else root.text
                nr.line = root.line
                nr.edited = False
                nr._raw = None
                if root.resolved:
                    nr._spec = root.spec
                    nr._resolver = None
                else:
                    nr._spec = None
                    nr._resolver = obj
            elif root.resolved:
                nr = Rule(target_name=root.target_name, goto=root.goto, counters=counters,
                          text=line if text_is_line else root.text, line=root.line,
                          spec=root.spec)
            else:
                nr = Rule(target_name=root.target_name, goto=root.goto, counters=counters,
                          text=line if text_is_line else root.text, line=root.line,
                          resolver=obj)
            nc = chains[obj.chain]
            nr.chain = nc
            rules = nc.rules
            rules.append(nr)
            nr.position = len(rules)
        layout.ruleset = rs
        layout.lines = lines
        return rs


# ---------------------------------------------------------------------------------------------
# The poller


def _looks_truncated(text: str, fmt: str) -> bool:
    """A save dump whose last statement is not COMMIT (the command died mid-output)."""
    if format_family(fmt) != "save":
        return False
    for line in reversed(text.splitlines()):
        word = line.strip()
        if word and not word.startswith("#"):
            return word != "COMMIT"
    return True


@dataclass(slots=True)
class PollResult:
    """The outcome of one poll. On error, ``snapshot`` is the last good snapshot (or None)
    and ``delta``/``baseline_delta`` are None."""

    seq: int
    snapshot: Snapshot | None
    delta: Delta | None = None
    baseline_delta: Delta | None = None
    error: PollError | None = None
    command_seconds: float = 0.0
    parse_seconds: float = 0.0
    diff_seconds: float = 0.0
    incremental: bool = False
    _rates: list[tuple[RuleDelta, Rate]] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rates(self) -> list[tuple[RuleDelta, Rate]]:
        """Packets/s and bytes/s of the rules whose counters changed since the previous poll,
        largest first (empty on the first poll and on errors)."""
        if self._rates is None:
            self._rates = self.delta.rates() if self.delta is not None else []
        return self._rates


class Poller:
    """Poll a dump command every ``interval`` seconds (see the module docstring).

    ``parse``: ``(text, source) -> Ruleset``. ``command``: the argument list (default from
    ``ipv6``/``ssh``/``cmd`` via :func:`build_command`). ``runner``: how to run it (tests inject
    one). ``check_counters``: reject dumps without counters as malformed.
    """

    def __init__(
        self,
        parse: ParseFn,
        *,
        command: Sequence[str] | None = None,
        ipv6: bool = False,
        ssh: str | None = None,
        cmd: str | Sequence[str] | None = None,
        interval: float = DEFAULT_INTERVAL,
        ring_size: int = DEFAULT_RING,
        timeout: float = 30.0,
        runner: Runner = run_command,
        clock: Callable[[], float] = time.time,
        compute_deltas: bool = True,
    ) -> None:
        self.command = list(command) if command is not None else build_command(
            ipv6=ipv6, ssh=ssh, cmd=cmd)
        self.is_ssh = ssh is not None or (bool(self.command) and self.command[0] == "ssh")
        self.interval = interval
        self.timeout = timeout
        self.runner = runner
        self.clock = clock
        self.compute_deltas = compute_deltas
        self.parser = IncrementalParser(parse)
        self.ring: deque[Snapshot] = deque(maxlen=max(ring_size, 2))
        self.baseline: Snapshot | None = None
        self.seq = 0
        self.errors = 0
        self.last_error: PollError | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def source(self) -> str:
        return shlex.join(self.command)

    @property
    def latest(self) -> Snapshot | None:
        return self.ring[-1] if self.ring else None

    def reset_baseline(self, snapshot: Snapshot | None = None) -> None:
        """Deltas vs baseline count from `snapshot` (default: the latest good snapshot)."""
        with self._lock:
            self.baseline = snapshot if snapshot is not None else self.latest

    # -- one poll -----------------------------------------------------------------------------

    def fetch(self) -> tuple[str, float]:
        """Run the command; (stdout, the time it was taken). Raises PollError."""
        argv = self.command
        start = self.clock()
        try:
            rc, out, err = self.runner(argv, self.timeout)
        except FileNotFoundError as exc:
            prog = argv[0] if argv else "?"
            hint = ("install iptables (iptables-save) or pass --cmd" if prog.endswith("-save")
                    else "install the OpenSSH client" if prog == "ssh" else "check --cmd")
            raise CommandNotFound(f"command not found: {prog}", hint, str(exc)) from exc
        except PermissionError as exc:
            raise NotPermitted(f"cannot run {argv[0]}: {exc}", "check its permissions",
                               str(exc)) from exc
        except subprocess.TimeoutExpired as exc:
            raise CommandTimeout(
                f"{self.source} did not finish within {self.timeout:g} s",
                "the host may be overloaded or ssh may be waiting", str(exc)) from exc
        except OSError as exc:
            raise CommandFailed(f"cannot run {self.source}: {exc}", "", str(exc)) from exc
        end = self.clock()
        if rc != 0:
            raise _classify_failure(argv, self.is_ssh, rc, err)
        return out, (start + end) / 2

    def _to_snapshot(self, text: str, taken: float) -> Snapshot:
        if not text.strip():
            raise MalformedSnapshot(f"{self.source} printed nothing",
                                    "is the command a dump command (iptables-save -c)?")
        try:
            ruleset = self.parser.parse(text, self.source)
        except Exception as exc:  # the injected parser's own error type
            self.parser.reset()
            raise MalformedSnapshot(f"malformed dump from {self.source}: {exc}",
                                    "the last good snapshot is kept", str(exc)) from exc
        errors = ruleset.errors
        if errors and (_looks_truncated(text, ruleset.format)
                       or len(errors) > max(5, ruleset.rule_count // 100)):
            first = errors[0]
            self.parser.reset()
            raise MalformedSnapshot(
                f"malformed dump from {self.source}: {len(errors)} error(s), first: "
                f"{first.one_line}", "the last good snapshot is kept", str(first))
        if not ruleset.tables:
            self.parser.reset()
            raise MalformedSnapshot(f"no tables in the output of {self.source}",
                                    "the last good snapshot is kept")
        when = datetime.fromtimestamp(taken, UTC).astimezone()
        return Snapshot(ruleset, when, TimeSource.POLL, self.source, text)

    def poll_once(self) -> PollResult:
        """Run the command once, parse, update the ring and compute the deltas."""
        self.seq += 1
        seq = self.seq
        t0 = time.perf_counter()
        try:
            text, taken = self.fetch()
            t1 = time.perf_counter()
            snap = self._to_snapshot(text, taken)
        except PollError as exc:
            self.errors += 1
            self.last_error = exc
            return PollResult(seq, self.latest, error=exc,
                              command_seconds=time.perf_counter() - t0)
        t2 = time.perf_counter()
        with self._lock:
            prev = self.latest
            if prev is not None and prev is not self.baseline:
                prev.text = None  # only the newest keeps its raw text (memory)
            self.ring.append(snap)
            if self.baseline is None:
                self.baseline = snap
            baseline = self.baseline
        delta = base_delta = None
        if self.compute_deltas:
            if prev is not None:
                delta = _diff(prev, snap)
            if baseline is not None and baseline is not snap:
                base_delta = delta if baseline is prev else _diff(baseline, snap)
        t3 = time.perf_counter()
        self.last_error = None
        return PollResult(seq, snap, delta, base_delta, None, t1 - t0, t2 - t1, t3 - t2,
                          self.parser.last_incremental)

    # -- loops ----------------------------------------------------------------------------------

    def results(self, count: int | None = None) -> Iterator[PollResult]:
        """Poll now and then every `interval` s, yielding each result, until stop() or `count`
        polls. Blocking: run it in a thread worker."""
        self._stop.clear()
        n = 0
        while not self._stop.is_set():
            started = time.monotonic()
            yield self.poll_once()
            n += 1
            if count is not None and n >= count:
                return
            wait = max(self.interval - (time.monotonic() - started), 0.0)
            if self._stop.wait(wait):
                return

    def start(self, on_result: Callable[[PollResult], None],
              count: int | None = None) -> None:
        """Poll in a daemon thread, calling `on_result` (from that thread) after each poll."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("poller already running")

        def loop() -> None:
            for result in self.results(count):
                on_result(result)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="iptscope-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout if timeout is not None else self.timeout + 1)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _diff(before: Snapshot, after: Snapshot) -> Delta:
    seconds = after.timestamp - before.timestamp
    return diff_rulesets(before.ruleset, after.ruleset, seconds=seconds if seconds > 0 else None,
                         check=False)

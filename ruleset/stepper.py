"""Step a packet through a ruleset rule by rule, as the kernel walks it.

    stepper = Stepper(ruleset, packet, "forward", host=host)
    for step in stepper:            # one Step per rule visited, policy, chain end, route
        ...
    trace = stepper.trace()         # verdict, deciding rule or policy, steps, assumptions

`simulate()` runs to the verdict with one assumption for UNKNOWN matches; `explore()` follows
both outcomes of every UNKNOWN rule (a branch per outcome, with probabilities for statistic).
`matched_rules(trace)` is the set of rules whose counters the kernel would grow.

Engine notes (see /work/shared/NETFILTER.md): `-j CHAIN` pushes a return frame, `-g CHAIN`
replaces the current frame (so returning from the goto'd chain resumes the caller's caller);
RETURN or the end of a built-in chain applies its policy; ACCEPT ends the current table at this
hook; nat is walked only by NEW packets; DNAT in PREROUTING can turn a forwarded packet into a
local one (the caller gives the local addresses).
"""

from __future__ import annotations

import gc
import ipaddress
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import overload

from ruleset.matches import (
    MATCH,
    NO_MATCH,
    UNKNOWN,
    Check,
    CheckResult,
    Env,
    Result,
    compile_spec,
    evaluate,
)
from ruleset.model import Chain, Family, Rule, Ruleset, RuleSpec
from ruleset.packet import CtState, Host, Packet
from ruleset.paths import HOOK_DEVICES, HOOKS, PHYSOUT_HOOKS, Path, hook_tables
from ruleset.targets import Action, Effect, apply_target


class StepKind(StrEnum):
    RULE = "rule"
    POLICY = "policy"
    RETURN = "return"  # fell off the end of a user chain
    ROUTE = "route"  # the routing decision after PREROUTING changed the path
    NOTE = "note"  # something the kernel skipped (nat for non-NEW packets)


class Verdict(StrEnum):
    ACCEPT = "ACCEPT"
    DROP = "DROP"
    REJECT = "REJECT"
    QUEUE = "QUEUE"
    UNKNOWN = "UNKNOWN"


RuleRef = tuple[str, str, int]


@dataclass(slots=True)
class Step:
    """One thing the walk did. `result` is the rule's match result (MATCH for a policy);
    `assumed` the outcome taken when it was UNKNOWN; `stack` the chains being walked
    (built-in first); `packet` the packet after the step. Treat as read-only (not frozen:
    frozen dataclasses are slow to build, and a walk makes one Step per rule visited)."""

    index: int
    kind: StepKind
    hook: str
    table: str
    chain: str
    position: int | None
    rule: Rule | None
    result: Result
    assumed: Result | None
    _checks: tuple[CheckResult, ...] | None
    target: str | None
    action: Action
    stack: tuple[str, ...]
    packet: Packet
    note: str = ""
    probability: float | None = None
    # The compiled checks and the env to make `checks` on demand (the walk's fast path; the
    # packet they saw is `packet`, since a rule that does not match changes nothing).
    _lazy: tuple[Check, ...] | None = None
    _env: Env | None = None

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        """Each match evaluated, in order, with its result and reason."""
        if self._checks is None:
            if self._lazy is None or self._env is None:
                self._checks = ()
            else:
                self._checks = evaluate(self._lazy, self.packet, self._env)[1]
                self._lazy = self._env = None
        return self._checks

    @property
    def taken(self) -> Result:
        """The outcome the walk went on with (the assumption for UNKNOWN)."""
        return self.assumed if self.result is UNKNOWN and self.assumed is not None else (
            self.result)

    @property
    def matched(self) -> bool | None:
        return self.result.json

    @property
    def where(self) -> str:
        if self.kind is StepKind.POLICY:
            return f"{self.table}:{self.chain}:policy"
        if self.kind is StepKind.RULE:
            return f"{self.table}:{self.chain}:rule:{self.position}"
        return f"{self.table}:{self.chain}:{self.kind.value}"

    @property
    def ref(self) -> RuleRef | None:
        if self.kind is StepKind.RULE and self.position is not None:
            return (self.table, self.chain, self.position)
        return None

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks]


class StepRun:
    """Consecutive rules of one chain that did not match, walked in one go. Their Steps are
    made (and kept) on first access."""

    __slots__ = ("chain", "checks", "env", "first", "hook", "made", "packet", "rules", "stack",
                 "start", "table")

    def __init__(self, start: int, hook: str, table: str, chain: str, first: int,
                 rules: list[Rule], checks: list[tuple[Check, ...]], stack: tuple[str, ...],
                 packet: Packet, env: Env) -> None:
        self.start = start
        self.hook = hook
        self.table = table
        self.chain = chain
        self.first = first  # position of the first rule
        self.rules = rules
        self.checks = checks
        self.stack = stack
        self.packet = packet
        self.env = env
        self.made: list[Step | None] | None = None

    def __len__(self) -> int:
        return len(self.rules)

    def step(self, i: int) -> Step:
        made = self.made
        if made is None:
            made = self.made = [None] * len(self.rules)
        step = made[i]
        if step is None:
            step = made[i] = Step(self.start + i, StepKind.RULE, self.hook, self.table,
                                  self.chain, self.first + i, self.rules[i], NO_MATCH, None,
                                  None, None, Action.CONTINUE, self.stack, self.packet, "", None,
                                  self.checks[i], self.env)
        return step


class StepLog(Sequence[Step]):
    """The steps of a walk, in order: a sequence of Step whose runs of non-matching rules are
    stored compactly (a walk through 5,000 kube-proxy service rules makes 5,000 steps)."""

    __slots__ = ("_items", "_len", "_starts")

    def __init__(self) -> None:
        self._items: list[Step | StepRun] = []
        self._starts: list[int] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def append(self, step: Step) -> None:
        self._starts.append(self._len)
        self._items.append(step)
        self._len += 1

    def add_run(self, run: StepRun) -> None:
        if len(run):
            self._starts.append(self._len)
            self._items.append(run)
            self._len += len(run)

    def _at(self, i: int) -> Step:
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("step index out of range")
        k = bisect_right(self._starts, i) - 1
        item = self._items[k]
        return item if isinstance(item, Step) else item.step(i - self._starts[k])

    @overload
    def __getitem__(self, index: int) -> Step: ...

    @overload
    def __getitem__(self, index: slice) -> list[Step]: ...

    def __getitem__(self, index: int | slice) -> Step | list[Step]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(self._len))]
        return self._at(index)

    def __iter__(self) -> Iterator[Step]:
        for item in self._items:
            if isinstance(item, Step):
                yield item
            else:
                for j in range(len(item)):
                    yield item.step(j)

    def __reversed__(self) -> Iterator[Step]:
        for item in reversed(self._items):
            if isinstance(item, Step):
                yield item
            else:
                for j in range(len(item) - 1, -1, -1):
                    yield item.step(j)

    def real(self, *, reverse: bool = False) -> Iterator[Step]:
        """The steps outside runs: rules that matched or were UNKNOWN, policies, chain ends,
        notes (every step a verdict or a counter can come from)."""
        items = reversed(self._items) if reverse else iter(self._items)
        for item in items:
            if isinstance(item, Step):
                yield item

    def copy(self) -> StepLog:
        other = StepLog()
        other._items = list(self._items)
        other._starts = list(self._starts)
        other._len = self._len
        return other

    def __repr__(self) -> str:
        return f"<StepLog {self._len} steps>"


@dataclass(frozen=True, slots=True)
class Assumption:
    """An UNKNOWN rule the walk went past by assuming an outcome."""

    step: int
    table: str
    chain: str
    position: int
    result: Result
    probability: float | None
    why: str

    def describe(self) -> str:
        word = "matches" if self.result is MATCH else "does not match"
        p = f" (p={self.probability:.3g})" if self.probability is not None else ""
        return f"{self.table}:{self.chain} rule {self.position} {word}{p}: {self.why}"


@dataclass(slots=True)
class Trace:
    """The outcome of one walk: the verdict, the rule or policy that decided it, every step."""

    verdict: Verdict
    decided_by: Step | None
    steps: StepLog
    packet: Packet  # as it started
    final_packet: Packet
    path: Path  # as asked
    final_path: Path  # after DNAT re-routing
    assumptions: list[Assumption] = field(default_factory=list)
    probability: float | None = 1.0

    def rule_steps(self) -> list[Step]:
        return [s for s in self.steps if s.kind in (StepKind.RULE, StepKind.POLICY)]

    def matched_rules(self) -> set[RuleRef]:
        """See the module-level `matched_rules`."""
        return matched_rules(self)

    def matched_policies(self) -> set[tuple[str, str]]:
        return matched_policies(self)


class NeedChoice(Exception):
    """Raised inside the walk when an UNKNOWN rule needs an outcome (explore mode)."""


class UnknownPath(ValueError):
    """A path other than input, forward or output."""


class PacketFamilyError(ValueError):
    """An IPv4 packet given to an IPv6 ruleset or the other way round."""


_COMPILED: dict[Family, dict[int, tuple[RuleSpec, tuple[Check, ...]]]] = {
    Family.IPV4: {}, Family.IPV6: {}}
_CACHE_LIMIT = 2_000_000


def compiled(rule: Rule, family: Family) -> tuple[Check, ...]:
    """The rule's checks, compiled once per spec object (cached by identity)."""
    spec = rule.spec
    cache = _COMPILED[family]
    hit = cache.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    checks = compile_spec(spec, family)
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    cache[id(spec)] = (spec, checks)
    return checks


def _as_path(path: Path | str) -> Path:
    try:
        return Path(path)
    except ValueError:
        raise UnknownPath(f"unknown path {path!r} (input, forward or output)") from None


class Walker:
    """The walk's state machine. `advance()` makes one Step (None when the verdict is in)."""

    def __init__(
        self,
        ruleset: Ruleset,
        packet: Packet,
        path: Path | str,
        *,
        host: Host | None = None,
        assume: Result | None = NO_MATCH,
        overrides: dict[RuleRef, Result] | None = None,
    ) -> None:
        self.rs = ruleset
        self.family = ruleset.family
        if packet.family is not ruleset.family:
            raise PacketFamilyError(f"an {packet.family.value} packet cannot cross an "
                                    f"{ruleset.family.value} ruleset")
        self.path = _as_path(path)
        self.start_path = self.path
        self.start_packet = packet
        self.pkt = packet
        host = host or Host()
        if self.path is Path.INPUT:
            host = host.with_local([packet.dst])
        elif self.path is Path.OUTPUT:
            host = host.with_local([packet.src])
        self.host = host
        self.assume = assume
        self.overrides = dict(overrides or {})
        self.choices: list[Result] = []
        self.hooks: list[str] = list(HOOKS[self.path])
        self.hook = ""
        self.table = ""
        self.tables_left: list[str] = []
        self.frames: list[list[object]] = []  # [Chain, next index]
        self.stack: tuple[str, ...] = ()
        self.base: Chain | None = None
        self.untracked = packet.state is CtState.UNTRACKED
        self.ct_target = False
        self.env: Env | None = None
        self.steps = StepLog()
        self.assumptions: list[Assumption] = []
        self.probability: float | None = 1.0
        self.done = False
        self.verdict: Verdict | None = None
        self.decided_by: Step | None = None
        self.prerouting_dst = packet.dst
        self.local_dnat = False
        self.looped = False
        self.reroute_out: str | None = None
        self._cache = _COMPILED[self.family]
        self._given = 0  # steps handed out by advance()

    # -- cloning for explore -----------------------------------------------------------------
    def clone(self) -> Walker:
        other = Walker.__new__(Walker)
        for name in self.__dict__:
            setattr(other, name, getattr(self, name))
        other.overrides = dict(self.overrides)
        other.choices = list(self.choices)
        other.hooks = list(self.hooks)
        other.tables_left = list(self.tables_left)
        other.frames = [list(f) for f in self.frames]
        other.steps = self.steps.copy()
        other.assumptions = list(self.assumptions)
        return other

    # -- helpers -----------------------------------------------------------------------------
    def _make_env(self) -> Env:
        hook, pkt = self.hook, self.pkt
        has_in, has_out = HOOK_DEVICES[hook]
        indev = (pkt.in_iface if has_in else "")
        outdev = (pkt.out_iface if has_out else "")
        bridged = pkt.bridged and self.start_path is not Path.OUTPUT
        physout_hook = hook in PHYSOUT_HOOKS and self.path is not Path.INPUT
        if self.table == "raw" and not self.looped:
            state = (CtState.UNTRACKED if self.untracked else
                     CtState.NEW if self.ct_target else CtState.INVALID)
        else:
            state = CtState.UNTRACKED if self.untracked else pkt.state
        return Env(
            hook=hook,
            table=self.table,
            indev=indev,
            outdev=outdev,
            bridged=bridged,
            # A bridge port the caller did not name is "some other port": no rule's name.
            physin=(pkt.physdev_in or "") if bridged else None,
            physout=(pkt.physdev_out or "") if bridged and physout_hook else None,
            physin_unknown=False,
            physout_unknown=False,
            state=state,
            host=self.host,
            local_packet=self.start_path is Path.OUTPUT,
        )

    def _step(self, kind: StepKind, *, chain: str, position: int | None = None,
              rule: Rule | None = None, result: Result = MATCH, assumed: Result | None = None,
              checks: tuple[CheckResult, ...] = (), target: str | None = None,
              action: Action = Action.CONTINUE, note: str = "",
              probability: float | None = None, table: str | None = None) -> Step:
        step = Step(len(self.steps), kind, self.hook, self.table if table is None else table,
                    chain, position, rule, result, assumed, checks, target, action, self.stack,
                    self.pkt, note, probability)
        self.steps.append(step)
        return step

    def _finish(self, verdict: Verdict, step: Step | None) -> None:
        self.done = True
        self.verdict = verdict
        self.decided_by = step
        self.frames = []

    def _push(self, chain: Chain) -> None:
        self.frames.append([chain, 0])
        self.stack = (*self.stack, chain.name)

    def _pop(self) -> None:
        self.frames.pop()
        self.stack = self.stack[:-1]

    def _tables_of(self, hook: str) -> list[str]:
        return [t for t in hook_tables(self.rs.variant)[hook] if t in self.rs.tables]

    # -- moving between tables and hooks ------------------------------------------------------
    def _next_table(self) -> Step | None:
        """Set up the next table to walk; a NOTE/ROUTE step when something is worth saying.
        Returns None with `self.frames` set (or `self.done`)."""
        while not self.frames and not self.done:
            if self.tables_left:
                table = self.tables_left.pop(0)
                chain = self.rs.tables[table].chains.get(self.hook)
                if chain is None:
                    continue
                if table == "nat" and self.looped:
                    self.table = table
                    return self._step(StepKind.NOTE, chain=self.hook,
                                      note=f"nat {self.hook} not walked: the connection's nat "
                                           "was set up on the way out")
                if table == "nat" and (self.untracked or self.pkt.state is not CtState.NEW):
                    state = "UNTRACKED" if self.untracked else self.pkt.state.value
                    self.table = table
                    return self._step(StepKind.NOTE, chain=self.hook,
                                      note=f"nat {self.hook} not walked: only the first packet "
                                           f"of a connection (NEW) walks nat; this one is {state}")
                self.table = table
                self.base = chain
                self.stack = ()
                self._push(chain)
                self.env = self._make_env()
                return None
            # This hook is finished.
            if self.hook == "PREROUTING":
                routed = self._route()
                if isinstance(routed, Step):
                    return routed
            if self.done:
                return None
            if not self.hooks and self._loop_back():
                return self.steps[-1]
            if not self.hooks:
                self._finish(Verdict.ACCEPT, self._accepting_step())
                return None
            self.hook = self.hooks.pop(0)
            self.tables_left = self._tables_of(self.hook)
            if self.hook == "POSTROUTING" and self.reroute_out is not None:
                self.pkt = replace(self.pkt, out_iface=self.reroute_out)
                self.reroute_out = None
            if self.hook == "FORWARD" and not self.pkt.bridged:
                if self.pkt.ttl <= 1:
                    self.table = ""
                    step = self._step(StepKind.NOTE, chain="FORWARD", action=Action.DROP,
                                      note=f"ttl {self.pkt.ttl}: expires when forwarded "
                                           "(dropped before FORWARD, ICMP time exceeded)")
                    self._finish(Verdict.DROP, step)
                    return step
                self.pkt = replace(self.pkt, ttl=self.pkt.ttl - 1)
        return None

    def _route(self) -> Step | bool:
        """The routing decision after PREROUTING: DNAT to a local address means INPUT."""
        if self.path is Path.OUTPUT:
            return False
        dst = self.pkt.dst
        if dst == self.prerouting_dst and not self.local_dnat:
            return False
        if self.local_dnat:
            local: bool | None = True
        else:
            local = self.host.is_local(dst)
        note = ""
        if local is None:
            local = False
            note = f" (assuming {dst} is not an address of this host: give --local-addr)"
        new_path = Path.INPUT if local else Path.FORWARD
        old = self.path
        self.prerouting_dst = dst
        self.local_dnat = False
        self.path = new_path
        self.hooks = list(HOOKS[new_path][1:])
        self.table = ""
        if new_path is old and not note:
            return False
        where = "a local address: INPUT" if local else "not local: FORWARD"
        return self._step(StepKind.ROUTE, chain="routing",
                          note=f"routing: dst {dst} is {where}{note}")

    def _loop_back(self) -> bool:
        """A locally generated packet for an address of this host (its own, or one DNAT in
        OUTPUT chose) comes back in on lo: PREROUTING and INPUT, without nat (set up on the
        way out) and with its conntrack entry already attached (so raw sees its state)."""
        if self.start_path is not Path.OUTPUT or self.looped:
            return False
        if not self.host.is_local(self.pkt.dst):
            return False
        self.looped = True
        self.prerouting_dst = self.pkt.dst
        self.pkt = replace(self.pkt, in_iface="lo", out_iface=None)
        self.path = Path.INPUT
        self.hooks = ["PREROUTING", "INPUT"]
        self.table = ""
        self._step(StepKind.ROUTE, chain="routing",
                   note=f"dst {self.pkt.dst} is an address of this host: the packet comes "
                        "back in on lo (PREROUTING, INPUT)")
        return True

    def _accepting_step(self) -> Step | None:
        """For ACCEPT: the filter table's accepting rule or policy, else the last accept."""
        last: Step | None = None
        for step in self.steps.real(reverse=True):
            accepting = (step.kind is StepKind.POLICY and step.action is Action.ACCEPT) or (
                step.kind is StepKind.RULE and step.action is Action.ACCEPT)
            if not accepting:
                continue
            if step.table == "filter":
                return step
            if last is None:
                last = step
        return last

    # -- the walk ------------------------------------------------------------------------------
    def _decide(self, ref: RuleRef) -> Result:
        forced = self.overrides.get(ref)
        if forced is not None:
            return forced
        if self.choices:
            return self.choices.pop(0)
        if self.assume is None:
            raise NeedChoice
        return self.assume

    def _scan(self, frame: list[object]) -> None:
        """The fast path: the run of rules of the current chain that do not match, from the
        frame's position, kept as one StepRun (its Steps and their reasons are made only if
        someone looks)."""
        chain: Chain = frame[0]  # type: ignore[assignment]
        start: int = frame[1]  # type: ignore[assignment]
        rules = chain.rules
        n = len(rules)
        env, pkt, cache, family = self.env, self.pkt, self._cache, self.family
        assert env is not None
        found: list[tuple[Check, ...]] = []
        keep = found.append
        idx = start
        while idx < n:
            rule = rules[idx]
            spec = rule._spec
            if spec is None:
                spec = rule.spec
            hit = cache.get(id(spec))
            checks = hit[1] if hit is not None and hit[0] is spec else compiled(rule, family)
            for check in checks:
                if check.test(pkt, env) is NO_MATCH:  # type: ignore[misc]
                    break
            else:
                break  # matches or UNKNOWN: the full path decides
            keep(checks)
            idx += 1
        if idx > start:
            frame[1] = idx
            self.steps.add_run(StepRun(len(self.steps), self.hook, self.table, chain.name,
                                       start + 1, rules[start:idx], found, self.stack, pkt,
                                       env))

    def _work(self) -> bool:
        """Do the next piece of the walk (a run of rules that do not match, or one step);
        False once the verdict is in."""
        if self.done:
            return False
        if not self.frames:
            if self._next_table() is not None:
                return True
            if self.done:
                return False
        frame = self.frames[-1]
        before = len(self.steps)
        self._scan(frame)
        if len(self.steps) > before:
            return True
        chain: Chain = frame[0]  # type: ignore[assignment]
        idx: int = frame[1]  # type: ignore[assignment]
        if idx >= len(chain.rules):
            self._chain_end(chain)
        else:
            self._rule(frame, chain, idx)
        return True

    def finish(self) -> None:
        """Walk on to the verdict without handing steps out one by one."""
        while self._work():
            pass
        self._given = len(self.steps)

    def skip_to(self, given: int) -> None:
        """Mark the first `given` steps as handed out (a caller replayed them from history)."""
        self._given = max(self._given, given)

    def advance(self) -> Step | None:
        """The next step (None once the verdict is in)."""
        steps = self.steps
        while self._given >= len(steps):
            if not self._work():
                return None
        self._given += 1
        return steps[self._given - 1]

    def _rule(self, frame: list[object], chain: Chain, idx: int) -> Step:
        """A rule that matches or is UNKNOWN (non-matching ones go through _scan)."""
        rule = chain.rules[idx]
        env = self.env
        assert env is not None
        pkt = self.pkt
        compiled_checks = compiled(rule, self.family)
        overall, checks = evaluate(compiled_checks, pkt, env)
        assumed: Result | None = None
        probability: float | None = None
        ref = (self.table, chain.name, idx + 1)
        if overall is UNKNOWN:
            assumed = self._decide(ref)  # may raise NeedChoice before anything changes
            probability = self._probability(rule, checks)
            p_taken = None if probability is None else (
                probability if assumed is MATCH else 1.0 - probability)
            if self.probability is not None:
                self.probability = None if p_taken is None else self.probability * p_taken
            why = "; ".join(c.reason for c in checks if c.result is UNKNOWN)
            self.assumptions.append(Assumption(len(self.steps), self.table, chain.name, idx + 1,
                                               assumed, probability, why))
        frame[1] = idx + 1
        taken = assumed if assumed is not None else overall
        if taken is not MATCH:
            return self._step(StepKind.RULE, chain=chain.name, position=idx + 1, rule=rule,
                              result=overall, assumed=assumed, checks=checks,
                              probability=probability)
        target = rule.spec.target
        effect = apply_target(target, pkt, hook=self.hook, table=self.table,
                              chains=self.rs.tables[self.table].chains,  # type: ignore[arg-type]
                              indev=env.indev, outdev=env.outdev, host=self.host,
                              ct_target_seen=self.ct_target,
                              has_ct=env.state not in (CtState.INVALID, CtState.UNTRACKED))
        return self._act(rule, chain, idx + 1, overall, assumed, checks, effect, probability)

    def _probability(self, rule: Rule, checks: tuple[CheckResult, ...]) -> float | None:
        """P(match) when every UNKNOWN check is a statistic with a known probability."""
        p = 1.0
        for check, result in zip(compiled(rule, self.family), checks, strict=False):
            if result.result is UNKNOWN:
                if check.probability is None:
                    return None
                p *= check.probability
        return p

    def _act(self, rule: Rule, chain: Chain, position: int, overall: Result,
             assumed: Result | None, checks: tuple[CheckResult, ...], effect: Effect,
             probability: float | None) -> Step:
        action = effect.action
        target_name = rule.target_name
        pkt_before = self.pkt
        if effect.packet is not None:
            self.pkt = effect.packet
        if effect.untrack:
            self.untracked = True
        if effect.ct_target:
            self.ct_target = True
        if effect.local_dnat:
            self.local_dnat = True
        if (effect.packet is not None and self.hook == "OUTPUT" and action is Action.ACCEPT
                and effect.packet.dst != pkt_before.dst and self.host.is_local(
                    effect.packet.dst)):
            # DNAT/REDIRECT in nat OUTPUT to an address of this host: re-routed to lo. The
            # rest of OUTPUT still sees the old device (fixed when the hook started, seen on
            # the kernel); POSTROUTING sees lo.
            self.reroute_out = "lo"
        if effect.packet is not None or effect.ct_target:
            self.env = self._make_env()
        step = self._step(StepKind.RULE, chain=chain.name, position=position, rule=rule,
                          result=overall, assumed=assumed, checks=checks, target=target_name,
                          action=action, note=effect.note, probability=probability)
        if action is Action.JUMP:
            self._push(self.rs.tables[self.table].chains[target_name or ""])
        elif action is Action.GOTO:
            # No return address: the goto'd chain takes the place of the current one.
            self._pop()
            self._push(self.rs.tables[self.table].chains[target_name or ""])
        elif action is Action.RETURN:
            self._return_from()
        elif action is Action.ACCEPT:
            self.frames = []
            self.stack = ()
        elif action is Action.DROP:
            self._finish(Verdict.DROP, step)
        elif action is Action.REJECT:
            self._finish(Verdict.REJECT, step)
        elif action is Action.QUEUE:
            self._finish(Verdict.QUEUE, step)
        elif action is Action.UNKNOWN:
            self._finish(Verdict.UNKNOWN, step)
        return step

    def _return_from(self) -> None:
        """RETURN (or the end of a user chain): resume the caller; none left: the policy."""
        self._pop()
        if not self.frames:
            # Returning from the bottom frame (a built-in chain, or a chain reached by goto
            # from it) applies the built-in chain's policy next.
            assert self.base is not None
            self.frames = [[self.base, len(self.base.rules)]]
            self.stack = (self.base.name,)

    def _chain_end(self, chain: Chain) -> Step:
        if chain is self.base and len(self.frames) == 1:
            policy = chain.policy or "ACCEPT"
            action = {"ACCEPT": Action.ACCEPT, "DROP": Action.DROP}.get(policy, Action.UNKNOWN)
            step = self._step(StepKind.POLICY, chain=chain.name, target=policy, action=action,
                              note="" if action is not Action.UNKNOWN else
                              f"policy {policy} is not known")
            if action is Action.ACCEPT:
                self.frames = []
                self.stack = ()
            elif action is Action.DROP:
                self._finish(Verdict.DROP, step)
            else:
                self._finish(Verdict.UNKNOWN, step)
            return step
        step = self._step(StepKind.RETURN, chain=chain.name, action=Action.RETURN,
                          note=f"end of {chain.name}: return")
        self._return_from()
        return step

    def trace(self) -> Trace:
        return Trace(
            verdict=self.verdict or Verdict.UNKNOWN,
            decided_by=self.decided_by,
            steps=self.steps.copy(),
            packet=self.start_packet,
            final_packet=self.pkt,
            path=self.start_path,
            final_path=self.path,
            assumptions=list(self.assumptions),
            probability=self.probability,
        )


MAX_STEPS = 1_000_000


def _run(walker: Walker) -> Walker:
    # With a large model resident, the collector's passes would dominate a walk, and a walk
    # creates no reference cycles.
    enabled = gc.isenabled()
    gc.disable()
    try:
        work = walker._work
        steps = walker.steps
        while work():
            if len(steps) > MAX_STEPS:  # a jump loop the loader let through
                walker._finish(Verdict.UNKNOWN, steps[-1])
                break
    finally:
        if enabled:
            gc.enable()
    return walker


def caller_steps(trace: Trace, decided: Step) -> list[Step]:
    """For each chain on the stack at `decided` (deepest caller first), the step of the rule
    that called the next chain: the jumps that led there."""
    out: list[Step] = []
    depth = len(decided.stack)
    for step in reversed(trace.steps[: decided.index]):
        if depth <= 1:
            break
        if (step.kind is StepKind.RULE and step.action in (Action.JUMP, Action.GOTO)
                and step.table == decided.table and len(step.stack) == depth - 1
                and step.stack == decided.stack[: depth - 1]):
            out.append(step)
            depth -= 1
    return out


def parse_result(value: Result | str | None) -> Result | None:
    """`match`/`nomatch` (and spellings like "no match", "true") as a Result; None stays None."""
    if value is None or isinstance(value, Result):
        return value
    text = str(value).lower().replace("-", "").replace("_", "").replace(" ", "")
    if text in ("match", "matches", "true", "yes"):
        return MATCH
    if text in ("nomatch", "false", "no"):
        return NO_MATCH
    raise ValueError(f"assume must be match or nomatch, not {value!r}")


def simulate(ruleset: Ruleset, packet: Packet, path: Path | str = Path.FORWARD, *,
             host: Host | None = None, assume: Result | str = NO_MATCH,
             overrides: dict[RuleRef, Result] | None = None) -> Trace:
    """Run to the verdict, taking `assume` for every UNKNOWN rule (unless overridden)."""
    walker = Walker(ruleset, packet, path, host=host, assume=parse_result(assume),
                    overrides=overrides)
    return _run(walker).trace()


@dataclass(slots=True)
class Exploration:
    """All branches of a walk with UNKNOWN rules (one branch when nothing was unknown)."""

    branches: list[Trace]
    truncated: bool = False

    @property
    def verdicts(self) -> set[Verdict]:
        return {b.verdict for b in self.branches}

    @property
    def decided(self) -> bool:
        return len(self.verdicts) == 1 and Verdict.UNKNOWN not in self.verdicts

    @property
    def first(self) -> Trace:
        return self.branches[0]


def explore(ruleset: Ruleset, packet: Packet, path: Path | str = Path.FORWARD, *,
            host: Host | None = None, overrides: dict[RuleRef, Result] | None = None,
            max_branches: int = 64) -> Exploration:
    """Follow both outcomes of each UNKNOWN rule, depth first: MATCH before NO_MATCH."""
    start = Walker(ruleset, packet, path, host=host, assume=None, overrides=overrides)
    pending = [start]
    done: list[Trace] = []
    truncated = False
    while pending:
        walker = pending.pop()
        try:
            _run(walker)
        except NeedChoice:
            if len(done) + len(pending) + 2 > max_branches:
                truncated = True
                walker.assume = NO_MATCH
                pending.append(walker)
                continue
            yes, no = walker.clone(), walker.clone()
            yes.choices.append(MATCH)
            no.choices.append(NO_MATCH)
            pending.append(no)
            pending.append(yes)
            continue
        done.append(walker.trace())
    return Exploration(done, truncated)


class Stepper:
    """Interactive stepping: forward one step, backward (history kept), breakpoints, run.

    Breakpoints are (table, chain, position) or (table, chain, None) for any rule of a chain.
    """

    def __init__(self, ruleset: Ruleset, packet: Packet, path: Path | str = Path.FORWARD, *,
                 host: Host | None = None, assume: Result | str = NO_MATCH,
                 overrides: dict[RuleRef, Result] | None = None,
                 breakpoints: Iterable[tuple[str, str, int | None]] = ()) -> None:
        self.walker = Walker(ruleset, packet, path, host=host, assume=parse_result(assume),
                             overrides=overrides)
        self.breakpoints: set[tuple[str, str, int | None]] = set(breakpoints)
        self.cursor = -1  # index of the current step in history (-1: before the first)

    @property
    def history(self) -> StepLog:
        return self.walker.steps

    @property
    def current(self) -> Step | None:
        return self.history[self.cursor] if self.cursor >= 0 else None

    @property
    def done(self) -> bool:
        return self.walker.done and self.cursor == len(self.history) - 1

    def step(self) -> Step | None:
        """The next step (replayed from history after `back`); None at the verdict."""
        history = self.history
        if self.cursor + 1 < len(history):
            self.cursor += 1
            return history[self.cursor]
        # A run of rules that do not match lands in history at once; those steps were handed
        # out by the replay above, so the walker must not hand them out again.
        self.walker.skip_to(len(history))
        step = self.walker.advance()
        if step is None:
            return None
        self.cursor = step.index
        return step

    def back(self) -> Step | None:
        """Go one step back; returns the step now current (None before the first)."""
        if self.cursor >= 0:
            self.cursor -= 1
        return self.current

    def __iter__(self) -> Iterator[Step]:
        while True:
            step = self.step()
            if step is None:
                return
            yield step

    def at_breakpoint(self, step: Step) -> bool:
        if step.kind is not StepKind.RULE:
            return False
        return ((step.table, step.chain, step.position) in self.breakpoints
                or (step.table, step.chain, None) in self.breakpoints)

    def run(self) -> Step | None:
        """Step until a breakpoint (the step there is returned) or the verdict (None)."""
        if not self.breakpoints:
            try:
                self.walker.finish()
            finally:  # an UNKNOWN that needs a choice stops the walk where it is
                self.cursor = len(self.history) - 1
            return None
        while True:
            step = self.step()
            if step is None:
                return None
            if self.at_breakpoint(step):
                return step

    def run_to_verdict(self) -> Trace:
        while self.step() is not None:
            pass
        return self.trace()

    def trace(self) -> Trace:
        """The trace so far (verdict UNKNOWN until the walk is done)."""
        return self.walker.trace()


def matched_rules(trace: Trace) -> set[RuleRef]:
    """(table, chain, position) of every rule whose counters the kernel would grow."""
    return {s.ref for s in trace.steps.real()
            if s.kind is StepKind.RULE and s.taken is MATCH and s.ref is not None}


def matched_policies(trace: Trace) -> set[tuple[str, str]]:
    """(table, chain) of every built-in chain whose policy decided (its counters grow)."""
    return {(s.table, s.chain) for s in trace.steps.real() if s.kind is StepKind.POLICY}


def local_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)

"""Fix suggestions: the smallest iptables command that lets a dropped packet through,
proven by re-stepping the packet through an edited copy of the ruleset.

Two kinds of candidate, both checked by simulation:
- `-I <built-in chain> 1 -s SRC -d DST -p PROTO -j ACCEPT` in the table that dropped the
  packet (the blunt fix, always first);
- a narrower rule in the right chain: `-I <calling chain> N -s SRC -p PROTO --dport P -j RETURN`
  placed just before the rule that sent the packet to the chain that dropped it (for neutron:
  the per-port chain, before its jump to the fallback chain).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruleset.commands import Command
from ruleset.matches import NO_MATCH, Result
from ruleset.model import Family, Match, Option, Ruleset, RuleSpec, Target
from ruleset.packet import Host, Packet
from ruleset.stepper import (
    Trace,
    Verdict,
    caller_steps,
    explore,
    simulate,
)
from ruleset.whatif import WhatIfError, apply_commands

BLOCKING = frozenset({Verdict.DROP, Verdict.REJECT})


@dataclass(slots=True)
class Suggestion:
    """Commands that let the packet through, and how that was checked."""

    commands: list[Command]
    proven: bool
    verdict_after: Verdict
    alternatives: list[list[Command]] = field(default_factory=list)
    note: str = ""

    @property
    def text(self) -> str:
        return "; ".join(c.render() for c in self.commands)


def _host_len(packet: Packet) -> str:
    return "/32" if packet.family is Family.IPV4 else "/128"


def _accept_spec(pkt: Packet, *, ports: bool, target: str) -> RuleSpec:
    generic = [Option("-s", (str(pkt.src),)), Option("-d", (str(pkt.dst),))]
    if pkt.proto_num:
        generic.append(Option("-p", (pkt.proto,)))
    matches: list[Match] = []
    if ports and pkt.has_ports and pkt.dport is not None:
        matches.append(Match(pkt.proto, (Option("--dport", (str(pkt.dport),)),)))
    return RuleSpec(generic=tuple(generic), matches=tuple(matches), target=Target(target))


def _passes(ruleset: Ruleset, packet: Packet, path: str, host: Host | None,
            assume: Result | None, commands: list[Command]) -> tuple[bool, Verdict]:
    try:
        edited = apply_commands(ruleset, commands).ruleset
    except WhatIfError:
        return False, Verdict.UNKNOWN
    if assume is None:
        ex = explore(edited, packet, path, host=host)
        verdicts = ex.verdicts
        ok = verdicts == {Verdict.ACCEPT}
        return ok, Verdict.ACCEPT if ok else (next(iter(verdicts)) if len(verdicts) == 1
                                               else Verdict.UNKNOWN)
    trace = simulate(edited, packet, path, host=host, assume=assume)
    return trace.verdict is Verdict.ACCEPT, trace.verdict


def suggest_fix(ruleset: Ruleset, trace: Trace, *, host: Host | None = None,
                assume: Result | None = NO_MATCH, max_rounds: int = 4) -> Suggestion | None:
    """A command (or a few, one per table that blocks) that makes the verdict ACCEPT, or None
    when the verdict is not DROP/REJECT. `assume` as in simulate (None: every branch of
    explore must accept)."""
    if trace.verdict not in BLOCKING or trace.decided_by is None:
        return None
    packet, path = trace.packet, trace.path.value
    family_flag = "ip6tables" if ruleset.family is Family.IPV6 else "iptables"
    commands: list[Command] = []
    current = trace
    alternatives: list[list[Command]] = []
    for _ in range(max_rounds):
        decided = current.decided_by
        if decided is None or current.verdict not in BLOCKING:
            break
        seen = decided.packet
        base_chain = decided.stack[0] if decided.stack else decided.chain
        blunt = Command("-I", decided.table, base_chain, 1,
                        _accept_spec(seen, ports=False, target="ACCEPT"),
                        family_flag=family_flag)
        if not commands:
            # A narrower rule in the right chain: RETURN before the call into the dropper.
            for caller in caller_steps(current, decided)[:1]:
                if len(caller.stack) < 2 or caller.position is None:
                    continue
                narrow = Command("-I", caller.table, caller.chain, caller.position,
                                 _accept_spec(seen, ports=True, target="RETURN"),
                                 family_flag=family_flag)
                ok, _ = _passes(ruleset, packet, path, host, assume, [narrow])
                if ok:
                    alternatives.append([narrow])
        commands.append(blunt)
        try:
            edited = apply_commands(ruleset, commands).ruleset
        except WhatIfError:
            commands.pop()
            break
        current = simulate(edited, packet, path, host=host,
                           assume=assume if assume is not None else NO_MATCH)
    ok, verdict = _passes(ruleset, packet, path, host, assume, commands)
    note = "" if ok else "re-stepping with this edit still does not accept the packet"
    return Suggestion(commands, ok, verdict, alternatives, note)

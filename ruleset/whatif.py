"""What-if edits: apply iptables commands to a COPY of a ruleset in memory.

    edited = apply_commands(ruleset, [parse_command("-I FORWARD 1 -s 10.0.0.1 -j ACCEPT")])
    trace = simulate(edited.ruleset, packet, "forward")
    edited.edits  # ["iptables -I FORWARD 1 -s 10.0.0.1 -j ACCEPT"], for the user to run

The original ruleset is never changed and the host's firewall is never touched. The copy is
copy-on-write: tables and chains are copied when a command touches them; untouched chains are
shared with the original (read them, do not edit them in place). Copied rules keep their lazy
spec resolvers, so a copy of a 50,000-rule table does not parse anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ruleset.commands import Command
from ruleset.model import BUILTIN_CHAINS, Chain, Counters, Rule, Ruleset, Table
from ruleset.spec import TargetKind, spec_key, target_kind


class Error(Exception):
    """Base class of the what-if module's errors."""


class WhatIfError(Error, ValueError):
    """A command iptables itself would refuse (no such chain, index too big, ...)."""


def copy_rule(rule: Rule) -> Rule:
    """A detached copy that keeps the lazy spec (nothing is parsed)."""
    new = Rule(
        target_name=rule.target_name,
        goto=rule.goto,
        counters=rule.counters,
        text=rule.text,
        line=rule.line,
        spec=rule._spec,
        raw=rule._raw,
        resolver=rule._resolver if rule._spec is None else None,
    )
    new.edited = rule.edited
    return new


@dataclass(slots=True)
class WhatIf:
    """The edited copy and the commands that made it."""

    ruleset: Ruleset
    commands: list[Command] = field(default_factory=list)

    @property
    def edits(self) -> list[str]:
        return [c.render() for c in self.commands]


class _Editor:
    def __init__(self, original: Ruleset) -> None:
        self.rs = Ruleset(
            family=original.family,
            format=original.format,
            path=original.path,
            tables=dict(original.tables),
            diagnostics=list(original.diagnostics),
            generated=original.generated,
            variant=original.variant,
        )
        self.copied_tables: set[str] = set()
        self.copied_chains: set[tuple[str, str]] = set()

    def table(self, name: str) -> Table:
        if name in self.copied_tables:
            return self.rs.tables[name]
        old = self.rs.tables.get(name)
        new = Table(name, line=old.line if old else 0)
        new.ruleset = self.rs
        if old is not None:
            new.chains = dict(old.chains)  # shared until edited
        else:
            if name not in BUILTIN_CHAINS:
                raise WhatIfError(f"can't initialize iptables table `{name}': Table does not "
                                  "exist")
            for chain_name in BUILTIN_CHAINS[name]:
                chain = Chain(chain_name, builtin=True, policy="ACCEPT")
                chain.table = new
                new.chains[chain_name] = chain
                self.copied_chains.add((name, chain_name))
        self.rs.tables[name] = new
        self.copied_tables.add(name)
        return new

    def chain(self, table_name: str, name: str | None) -> Chain:
        if name is None:
            raise WhatIfError("a chain name is needed")
        table = self.table(table_name)
        old = table.chains.get(name)
        if old is None:
            raise WhatIfError(f"No chain/target/match by that name: {table_name} {name}")
        if (table_name, name) in self.copied_chains:
            return old
        new = Chain(name, builtin=old.builtin, policy=old.policy,
                    policy_counters=old.policy_counters, references=old.references,
                    line=old.line)
        for rule in old.rules:
            new.append(copy_rule(rule))
        new.table = table
        table.chains[name] = new
        self.copied_chains.add((table_name, name))
        return new

    def check_target(self, table: Table, cmd: Command) -> None:
        spec = cmd.spec
        if spec is None or spec.target is None:
            return
        kind = target_kind(spec.target.name, spec.target.goto, frozenset(table.chains))
        if kind is TargetKind.UNKNOWN:
            raise WhatIfError(f"Couldn't load target `{spec.target.name}': no such chain "
                              f"in table {table.name}")
        if spec.target.name in BUILTIN_CHAINS.get(table.name, ()):
            raise WhatIfError(f"cannot jump to the built-in chain {spec.target.name}")

    def apply(self, cmd: Command) -> None:
        op = cmd.op
        tname = cmd.table or "filter"
        if op in ("-A", "-I", "-R"):
            if cmd.spec is None:
                raise WhatIfError(f"{op} needs a rule")
            chain = self.chain(tname, cmd.chain)
            self.check_target(self.rs.tables[tname], cmd)
            rule = Rule.from_spec(cmd.spec, counters=Counters(0, 0), text=cmd.render())
            rule.edited = True
            if op == "-A":
                chain.append(rule)
            elif op == "-I":
                pos = cmd.position or 1
                if not 1 <= pos <= len(chain.rules) + 1:
                    raise WhatIfError(f"Index of insertion too big: {pos} in {chain.name}")
                chain.insert(pos, rule)
            else:
                pos = cmd.position or 0
                if not 1 <= pos <= len(chain.rules):
                    raise WhatIfError(f"Index of replacement too big: {pos} in {chain.name}")
                chain.delete(pos)
                chain.insert(pos, rule)
        elif op == "-D":
            chain = self.chain(tname, cmd.chain)
            if cmd.position is not None:
                if not 1 <= cmd.position <= len(chain.rules):
                    raise WhatIfError(f"Index of deletion too big: {cmd.position}")
                chain.delete(cmd.position)
            elif cmd.spec is not None:
                want = spec_key(cmd.spec, self.rs.family)
                for rule in chain.rules:
                    if spec_key(rule.spec, self.rs.family) == want:
                        chain.delete(rule.position)
                        break
                else:
                    raise WhatIfError("Bad rule (does a matching rule exist in that chain?)")
            else:
                raise WhatIfError("-D needs a rule number or a rule")
        elif op == "-P":
            chain = self.chain(tname, cmd.chain)
            if not chain.builtin:
                raise WhatIfError(f"Bad built-in chain name: {chain.name}")
            policy = (cmd.policy or "").upper()
            if policy not in ("ACCEPT", "DROP"):
                raise WhatIfError(f"Bad policy name: {cmd.policy}")
            chain.policy = policy
        elif op == "-N":
            table = self.table(tname)
            if cmd.chain is None:
                raise WhatIfError("-N needs a chain name")
            if cmd.chain in table.chains:
                raise WhatIfError("Chain already exists.")
            chain = Chain(cmd.chain, builtin=False)
            chain.table = table
            table.chains[cmd.chain] = chain
            self.copied_chains.add((tname, cmd.chain))
        elif op == "-X":
            table = self.table(tname)
            names = [cmd.chain] if cmd.chain else [c.name for c in table.chains.values()
                                                   if not c.builtin]
            for name in names:
                found = table.chains.get(name)
                if found is None:
                    raise WhatIfError(f"No chain/target/match by that name: {name}")
                if found.builtin:
                    raise WhatIfError(f"Can't delete built-in chain {name}")
                if found.rules:
                    raise WhatIfError(f"Directory not empty: chain {name} has rules")
                if any(r.target_name == name for c in table.chains.values() for r in c.rules):
                    raise WhatIfError(f"Too many links: chain {name} is still referenced")
                del table.chains[name]
        elif op == "-F":
            table = self.table(tname)
            names = [cmd.chain] if cmd.chain else list(table.chains)
            for name in names:
                chain = self.chain(tname, name)
                chain.rules = []
        elif op == "-Z":
            table = self.table(tname)
            names = [cmd.chain] if cmd.chain else list(table.chains)
            for name in names:
                chain = self.chain(tname, name)
                rules = ([chain.rules[cmd.position - 1]] if cmd.position is not None
                         and 1 <= cmd.position <= len(chain.rules) else chain.rules)
                for rule in rules:
                    rule.counters = Counters(0, 0)
                if chain.builtin and cmd.position is None:
                    chain.policy_counters = Counters(0, 0)
        elif op == "-E":
            table = self.table(tname)
            old_name, new_name = cmd.chain, cmd.new_name
            if not old_name or not new_name:
                raise WhatIfError("-E needs the old and the new chain name")
            chain = self.chain(tname, old_name)
            if chain.builtin:
                raise WhatIfError("Can't rename a built-in chain")
            if new_name in table.chains:
                raise WhatIfError("File exists: chain already exists")
            del table.chains[old_name]
            chain.name = new_name
            table.chains[new_name] = chain
            self.copied_chains.discard((tname, old_name))
            self.copied_chains.add((tname, new_name))
            for other in list(table.chains.values()):
                if any(r.target_name == old_name for r in other.rules):
                    edited = self.chain(tname, other.name)
                    for rule in edited.rules:
                        if rule.target_name == old_name:
                            from dataclasses import replace as _replace

                            spec = rule.spec
                            assert spec.target is not None
                            rule.set_spec(_replace(spec, target=_replace(spec.target,
                                                                          name=new_name)))
        else:
            raise WhatIfError(f"unsupported command {op}")


def apply_commands(ruleset: Ruleset, commands: Iterable[Command]) -> WhatIf:
    """Apply the commands in order to a copy of `ruleset`; raises WhatIfError like iptables
    would refuse. The original is unchanged."""
    editor = _Editor(ruleset)
    done: list[Command] = []
    for cmd in commands:
        editor.apply(cmd)
        done.append(cmd)
    return WhatIf(editor.rs, done)

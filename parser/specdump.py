"""`iptables -S` and `iptables -S -v` dumps (ip6tables alike).

Lines are `-P CHAIN POLICY [-c PKTS BYTES]`, `-N CHAIN` and `-A CHAIN words [-c PKTS BYTES]
words` (the counters sit inside the rule, before the target, in `-S -v`). One block per table;
the output has no table marker, so a block's table comes from a hint line (`# table: nat`,
`*nat`, or a prompt such as `root@h:~# iptables -t nat -S`) or is inferred from its built-in
chains (PREROUTING/POSTROUTING...) and targets (DNAT, MASQUERADE...) with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parser.detect import LISTING, SAVE, TABLE_HINT, line_kind, prompt_args, prompt_kind
from parser.diagnostics import LineMap, Reporter
from parser.errors import ParseError
from parser.resolve import make_resolver, target_of_line
from parser.save import KNOWN_TABLES, VALID_POLICIES
from parser.tokens import TokenError, is_count, split_quoted
from ruleset.model import BUILTIN_CHAINS, Chain, Counters, Family, Rule, Ruleset, Severity

NAT_TARGETS = frozenset(("DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP"))
RAW_TARGETS = frozenset(("NOTRACK", "CT", "TRACE"))
MANGLE_TARGETS = frozenset(("TOS", "TTL", "HL", "DSCP", "CHECKSUM", "TPROXY", "ECN", "CLASSIFY",
                            "TCPMSS"))


@dataclass(slots=True)
class _Block:
    hint: str | None = None
    hint_line: int = 0
    start: int = 0
    policies: list[tuple[int, str, list[str]]] = field(default_factory=list)
    new_chains: list[tuple[int, str, str]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    rule_chains: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.policies or self.new_chains or self.rules)


def _counters_in(line: str, args_start: int) -> tuple[Counters | None, bool]:
    """The `-c P B` counters inside a -S -v rule (None when absent); True if malformed."""
    i = line.rfind(" -c ")
    if i < args_start - 1:
        return None, False
    if line.find('"', i) < 0:
        parts = line[i + 4:].split(None, 2)
        if len(parts) >= 2 and is_count(parts[0]) and is_count(parts[1]):
            return Counters(int(parts[0]), int(parts[1])), False
        return None, True
    try:
        words, quoted = split_quoted(line[args_start:])
    except TokenError:
        return None, False
    for k, w in enumerate(words[:-2]):
        if w in ("-c", "--set-counters") and (quoted is None or k not in quoted):
            if is_count(words[k + 1]) and is_count(words[k + 2]):
                return Counters(int(words[k + 1]), int(words[k + 2])), False
            return None, True
    return None, False


def infer_table(chains: set[str], targets: set[str]) -> str:
    """The table a block of `-S` output most likely came from."""
    if "FORWARD" in chains and ("PREROUTING" in chains or "POSTROUTING" in chains):
        return "mangle"
    if "POSTROUTING" in chains:
        return "nat" if not targets & MANGLE_TARGETS else "mangle"
    if "PREROUTING" in chains:
        if targets & NAT_TARGETS or "INPUT" in chains:
            return "nat"
        if targets & RAW_TARGETS or chains <= {"PREROUTING", "OUTPUT"}:
            return "raw"
        return "mangle"
    if targets & NAT_TARGETS:
        return "nat"
    if targets & RAW_TARGETS:
        return "raw"
    if targets & MANGLE_TARGETS:
        return "mangle"
    return "filter"


class _Stop(Exception):
    """Another dump format starts here: stop consuming lines."""


class _SpecLoader:
    def __init__(
        self, rs: Ruleset, path: str, strict: bool, table_hint: str | None,
        linemap: LineMap | None = None,
    ) -> None:
        self.rs = rs
        self.report = Reporter(path, rs.diagnostics, strict)
        self.resolver = make_resolver(rs, path, strict, linemap)
        self.blocks: list[_Block] = [_Block(hint=table_hint)]
        self.saw_counters = False

    def line(self, raw_line: str, lineno: int) -> None:
        line = raw_line.rstrip()
        stripped = line.lstrip()
        if not stripped:
            return
        indent = len(line) - len(stripped)
        block = self.blocks[-1]
        c = stripped[0]
        if c == "-":
            op = stripped[:3]
            if op in ("-P ", "-N ", "-A "):
                parts = stripped.split(None, 2)
            else:
                parts = stripped.split(None, 2)
                op = parts[0] + " "
            if op == "-P ":
                if block.rules or block.new_chains or (
                        len(parts) > 1 and any(p[1] == parts[1] for p in block.policies)):
                    self.blocks.append(_Block(start=lineno))
                    block = self.blocks[-1]
                if len(parts) < 3:
                    self.report.add(Severity.ERROR, lineno, len(line) + 1,
                                    "-P needs a chain and a policy", line)
                    return
                rest = parts[2].split()
                block.policies.append((lineno, parts[1], rest))
                if len(rest) > 1:
                    self.saw_counters = True
            elif op == "-N ":
                if len(parts) < 2:
                    self.report.add(Severity.ERROR, lineno, len(line) + 1, "-N needs a chain name",
                                    line)
                    return
                if len(parts) > 2:
                    self.report.add(Severity.WARNING, lineno, line.find(parts[2], indent + 3) + 1,
                                    "unexpected words after the chain name", line)
                block.new_chains.append((lineno, parts[1], line))
            elif op == "-A ":
                if len(parts) < 2:
                    self.report.add(Severity.ERROR, lineno, len(line) + 1, "-A needs a chain name",
                                    line)
                    return
                name = parts[1]
                args_start = len(line) - len(parts[2]) if len(parts) == 3 else len(line)
                counters, bad = _counters_in(line, args_start)
                if bad:
                    self.report.add(Severity.ERROR, lineno, line.rfind(" -c ") + 2,
                                    "-c needs packet and byte counts", line)
                if counters is not None:
                    self.saw_counters = True
                target_name, goto = target_of_line(line, args_start)
                rule = Rule(target_name=target_name, goto=goto, counters=counters, text=line,
                            line=lineno, raw=args_start, resolver=self.resolver)
                block.rules.append(rule)
                block.rule_chains.append(name)
                if self.report.strict:
                    _ = rule.spec  # strict: rule errors in line order
            else:
                self.report.add(Severity.ERROR, lineno, indent + 1,
                                f"{parts[0]} is not an iptables -S line (expected -P, -N or -A)",
                                line)
            return
        hint = TABLE_HINT.match(line)
        if hint is None and c == "*" and stripped[1:].strip().isalnum():
            table = stripped[1:].strip()
            if not block.empty:
                self.blocks.append(_Block(start=lineno))
            self.blocks[-1].hint, self.blocks[-1].hint_line = table, lineno
            return
        if hint is not None:
            if not block.empty:
                self.blocks.append(_Block(start=lineno))
            self.blocks[-1].hint, self.blocks[-1].hint_line = hint.group("table"), lineno
            return
        prompt = prompt_args(stripped)
        if prompt is not None and prompt_kind(*prompt) in (LISTING, SAVE) and not all(
                b.empty for b in self.blocks):
            raise _Stop  # the next dump's command (before any line: a mislabelled paste)
        if prompt is not None and (not prompt[0] or prompt_kind(*prompt) in (LISTING, SAVE)):
            self.report.add(Severity.INFO, lineno, indent + 1, "skipped a shell prompt line",
                            line)
            return
        if prompt is not None:
            words = prompt[1].split()
            table = "filter"
            for k, w in enumerate(words[:-1]):
                if w in ("-t", "--table"):
                    table = words[k + 1]
                elif w.startswith("-t") and len(w) > 2 and w[1] == "t":
                    table = w[2:]
            if prompt[0].startswith("ip6"):
                self.rs.family = Family.IPV6
            if not block.empty:
                self.blocks.append(_Block(start=lineno))
            self.blocks[-1].hint, self.blocks[-1].hint_line = table, lineno
            self.report.add(Severity.INFO, lineno, indent + 1,
                            f"skipped a shell command line (table {table})", line)
            return
        if c == "#":
            return
        kind = line_kind(line)
        if kind is not None and kind != "spec":
            raise _Stop
        self.report.add(Severity.ERROR, lineno, indent + 1,
                        "unrecognised line (expected -P, -N or -A)", line)


def parse_spec(
    lines: list[str],
    path: str,
    *,
    strict: bool = False,
    family: Family = Family.IPV4,
    first_line: int = 1,
    table_hint: str | None = None,
    linemap: LineMap | None = None,
) -> tuple[Ruleset, int]:
    """Load `iptables -S [-v]` lines; returns the Ruleset and how many lines were consumed
    (fewer than given when another format starts, e.g. a `-L` listing after the dump)."""
    rs = Ruleset(family=family, path=path, format="iptables -S")
    loader = _SpecLoader(rs, path, strict, table_hint, linemap)
    consumed = len(lines)
    rows = enumerate(lines)
    lineno = first_line - 1
    while True:
        try:
            for index, raw_line in rows:
                lineno = first_line + index
                loader.line(raw_line, lineno)
            break
        except _Stop:
            consumed = _rewind(lines, index)
            break
        except ParseError:
            raise
        except Exception as exc:  # never a traceback: the line gets a diagnostic
            loader.report.add(Severity.ERROR, lineno, 1,
                              f"internal error while reading this line: {exc!r}",
                              lines[lineno - first_line].rstrip())
    _build(rs, loader.blocks, loader.report, strict)
    if loader.saw_counters:
        rs.format = "iptables -S -v"
    return rs, consumed


def _rewind(lines: list[str], index: int) -> int:
    """Where the next dump starts when it is found at `lines[index]`: its `*table` line and its
    `# Generated by` header, read here as a hint and a comment, belong to it (an iptables-save
    dump pasted after `iptables -S` output)."""
    start = index
    k = index - 1
    while k >= 0:
        s = lines[k].strip()
        if not s:
            k -= 1
            continue
        if (s[0] == "*" and s[1:].strip().isalnum()) or s.startswith("# Generated by"):
            start = k
            k -= 1
            continue
        break
    return start


def _build(rs: Ruleset, blocks: list[_Block], report: Reporter, strict: bool) -> None:
    for block in blocks:
        if block.empty:
            continue
        table_name = block.hint
        if table_name is None:
            chains = {p[1] for p in block.policies}
            targets = {r.target_name for r in block.rules if r.target_name}
            table_name = infer_table(chains, targets)
            where = block.policies[0][0] if block.policies else (
                block.new_chains[0][0] if block.new_chains else block.rules[0].line)
            if table_name == "filter":
                report.add(Severity.INFO, where, 1,
                           "no table named for this -S block; assuming filter")
            else:
                why = ", ".join(sorted(chains)) or ", ".join(sorted(targets & (
                    NAT_TARGETS | RAW_TARGETS | MANGLE_TARGETS)))
                report.add(Severity.WARNING, where, 1,
                           f"no table named for this -S block; inferred {table_name} from "
                           f"{why} (add a '# table: NAME' line to say)")
        elif table_name not in KNOWN_TABLES:
            report.add(Severity.WARNING, block.hint_line, 1, f"unknown table {table_name!r}")
        if table_name in rs.tables:
            report.add(Severity.WARNING, block.start or block.hint_line or 1, 1,
                       f"a second -S block for table {table_name!r}; merged into the first")
        table = rs.ensure_table(table_name, line=block.hint_line or block.start)
        builtin_names = BUILTIN_CHAINS.get(table_name, ())
        for lineno, name, rest in block.policies:
            policy = rest[0]
            pcounters: Counters | None = None
            if len(rest) >= 3 and rest[1] in ("-c", "--set-counters"):
                if is_count(rest[2]) and len(rest) > 3 and is_count(rest[3]):
                    pcounters = Counters(int(rest[2]), int(rest[3]))
                else:
                    report.add(Severity.ERROR, lineno, 1, "-c needs packet and byte counts")
            elif len(rest) > 1:
                report.add(Severity.WARNING, lineno, 1, "unexpected words after the policy")
            if policy not in VALID_POLICIES:
                report.add(Severity.WARNING, lineno, 1, f"unusual policy {policy!r}")
            if builtin_names and name not in builtin_names:
                report.add(Severity.WARNING, lineno, 1,
                           f"{name} is not a built-in chain of table {table_name}")
            chain = table.chains.get(name)
            if chain is None:
                table.add_chain(Chain(name, builtin=True, policy=policy,
                                      policy_counters=pcounters, line=lineno))
            else:
                chain.builtin, chain.policy, chain.policy_counters = True, policy, pcounters
        for lineno, name, line in block.new_chains:
            if name in table.chains:
                report.add(Severity.ERROR, lineno, line.find(name) + 1,
                           f"chain {name!r} created twice (first at line "
                           f"{table.chains[name].line})", line)
                continue
            table.add_chain(Chain(name, builtin=False, policy=None, line=lineno))
        for rule, name in zip(block.rules, block.rule_chains, strict=True):
            chain = table.chains.get(name)
            if chain is None:
                if name not in builtin_names:
                    report.add(Severity.ERROR, rule.line, rule.text.find(name) + 1,
                               f"chain {name!r} is used but not created (no '-N {name}' line)",
                               rule.text)
                chain = table.ensure_chain(name, line=rule.line)
            chain.append(rule)
            if strict:
                _ = rule.spec

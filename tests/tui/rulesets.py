"""Rulesets for the app's tests.

`load(path)` uses the project's loader (`parser.load.load_path`) when it exists; until then it
reads iptables-save text with a tiny reader of our own, good enough for the samples below.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from ruleset.model import Counters, Match, Option, Rule, Ruleset, RuleSpec, Table, Target

ROOT = Path(__file__).resolve().parents[2]
NEUTRON_LISTING = ROOT / "samples" / "neutron" / "iptables-L-vn-line-numbers.txt"
NEUTRON_SAVE = ROOT / "samples" / "neutron" / "lab-seed-c.save"
KUBE_AFTER = ROOT.parent / "shared" / "large" / "kube-5000-after.save"
KUBE_BEFORE = ROOT.parent / "shared" / "large" / "kube-5000-before.save"


def have_loader() -> bool:
    try:
        import parser.load  # noqa: F401
    except ImportError:
        return False
    return True


def load(path: Path | str) -> Ruleset:
    if have_loader():
        from parser.load import load_path

        return load_path(str(path))
    return read_save(Path(path).read_text(), str(path))


def _spec(words: list[str]) -> RuleSpec:
    generic: list[Option] = []
    matches: list[Match] = []
    target: Target | None = None
    current: tuple[str, list[Option]] | None = None
    target_opts: list[Option] | None = None
    negate = False
    i = 0
    while i < len(words):
        word = words[i]
        if word == "!":
            negate = True
            i += 1
            continue
        if word == "-m":
            if current:
                matches.append(Match(current[0], tuple(current[1])))
            current = (words[i + 1], [])
            i += 2
            continue
        if word in ("-j", "-g"):
            if current:
                matches.append(Match(current[0], tuple(current[1])))
                current = None
            target = Target(words[i + 1], goto=word == "-g")
            target_opts = []
            i += 2
            continue
        values = []
        j = i + 1
        while j < len(words) and not words[j].startswith("-") and words[j] != "!":
            values.append(words[j])
            j += 1
        opt = Option(word, tuple(values), negate)
        negate = False
        if target_opts is not None:
            target_opts.append(opt)
        elif current is not None:
            current[1].append(opt)
        else:
            generic.append(opt)
        i = j
    if current:
        matches.append(Match(current[0], tuple(current[1])))
    if target is not None and target_opts:
        target = Target(target.name, tuple(target_opts), target.goto)
    return RuleSpec(tuple(generic), tuple(matches), target)


def read_save(text: str, path: str = "-") -> Ruleset:
    rs = Ruleset(format="iptables-save -c", path=path)
    table: Table | None = None
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = rs.ensure_table(line[1:], line=n)
            continue
        assert table is not None
        if line.startswith(":"):
            name, policy, counts = line[1:].split()
            p, b = counts.strip("[]").split(":")
            chain = table.ensure_chain(name, line=n)
            chain.builtin = policy != "-"
            chain.policy = None if policy == "-" else policy
            chain.policy_counters = Counters(int(p), int(b))
            continue
        counters = None
        if line.startswith("["):
            head, _, line = line.partition("] ")
            p, b = head.strip("[").split(":")
            counters = Counters(int(p), int(b))
        words = shlex.split(line)
        chain = table.ensure_chain(words[1])
        rule = Rule.from_spec(_spec(words[2:]), counters=counters, text=line, line=n)
        chain.append(rule)
    return rs


def neutron() -> Ruleset:
    """The seed's listing when the loader exists, else the same rules as iptables-save."""
    if have_loader():
        listing = load(NEUTRON_LISTING)
        if listing.tables and listing.rule_count:
            return listing
    return load(NEUTRON_SAVE)

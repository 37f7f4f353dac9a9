"""A tiny stdlib builder of rulesets for the stepper's tests (independent of the parser):

    rs = build('''
        *filter
        :FORWARD DROP
        :web -
        -A FORWARD -p tcp -m tcp --dport 80 -j web
        -A web -s 10.0.0.0/8 -j ACCEPT
    ''')

Options keep their dashes; `!` before an option negates it; `-m MOD` starts a module;
`-j`/`-g` the target. Enough for tests, not a parser.
"""

from __future__ import annotations

import shlex

from ruleset.matches import Env
from ruleset.model import Chain, Family, Match, Option, Rule, Ruleset, RuleSpec, Target
from ruleset.packet import CtState, Host, Packet

GENERIC = ("-s", "-d", "-i", "-o", "-p", "-f")


def spec(text: str) -> RuleSpec:
    words = shlex.split(text)
    generic: list[Option] = []
    matches: list[Match] = []
    target: Target | None = None
    module: tuple[str, list[Option]] | None = None
    tgt: tuple[str, bool, list[Option]] | None = None
    negate = False
    i = 0

    def close_module() -> None:
        nonlocal module
        if module is not None:
            matches.append(Match(module[0], tuple(module[1])))
            module = None

    while i < len(words):
        w = words[i]
        if w == "!":
            negate = True
            i += 1
            continue
        if w == "-m":
            close_module()
            module = (words[i + 1], [])
            i += 2
            continue
        if w in ("-j", "-g"):
            close_module()
            tgt = (words[i + 1], w == "-g", [])
            i += 2
            continue
        values: list[str] = []
        j = i + 1
        while j < len(words) and not words[j].startswith("-") and words[j] != "!":
            values.append(words[j])
            j += 1
        opt = Option(w, tuple(values), negate)
        negate = False
        if tgt is not None:
            tgt[2].append(opt)
        elif module is not None:
            module[1].append(opt)
        elif w in GENERIC:
            generic.append(opt)
        else:
            raise ValueError(f"option {w} outside a module")
        i = j
    close_module()
    if tgt is not None:
        target = Target(tgt[0], tuple(tgt[2]), tgt[1])
    return RuleSpec(generic=tuple(generic), matches=tuple(matches), target=target)


def build(text: str, family: Family = Family.IPV4) -> Ruleset:
    rs = Ruleset(family=family, format="iptables-save")
    table = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = rs.ensure_table(line[1:])
            continue
        assert table is not None, line
        if line.startswith(":"):
            name, policy = line[1:].split()[:2]
            chain = table.ensure_chain(name)
            if policy != "-":
                chain.builtin = True
                chain.policy = policy
            else:
                chain.builtin = False
                chain.policy = None
            continue
        if line.startswith("-A "):
            _, name, rest = line.split(" ", 2) if line.count(" ") >= 2 else (*line.split(), "")
            found = table.chains.get(name)
            chain = found if found is not None else table.add_chain(Chain(name, builtin=False))
            chain.append(Rule.from_spec(spec(rest)))
            continue
        raise ValueError(line)
    return rs


def env(hook: str = "FORWARD", table: str = "filter", *, indev: str | None = "eth0",
        outdev: str | None = "eth1", bridged: bool = False, physin: str | None = None,
        physout: str | None = None, state: CtState = CtState.NEW, host: Host | None = None,
        local: bool = False) -> Env:
    return Env(hook=hook, table=table, indev=indev, outdev=outdev, bridged=bridged,
               physin=physin, physout=physout, physin_unknown=False, physout_unknown=False,
               state=state, host=host or Host(), local_packet=local)


def pkt(src: str = "10.0.0.1", dst: str = "10.0.0.2", proto: str = "tcp",
        sport: int | None = 40000, dport: int | None = 80, **kw: object) -> Packet:
    return Packet.make(src, dst, proto, sport, dport, **kw)


def test_kit_builds_what_it_reads() -> None:
    rs = build("""
        *filter
        :FORWARD DROP
        :web -
        -A FORWARD -p tcp -m tcp --dport 80 -j web
        -A web ! -s 10.0.0.0/8 -g other
    """)
    fwd = rs.tables["filter"].chains["FORWARD"]
    assert fwd.policy == "DROP" and fwd.builtin
    web = rs.tables["filter"].chains["web"]
    assert not web.builtin
    s = web.rules[0].spec
    assert s.generic == (Option("-s", ("10.0.0.0/8",), True),)
    assert s.target == Target("other", (), True)

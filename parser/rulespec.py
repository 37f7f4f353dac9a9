"""The grammar of a rule's words (`-s 10.0.0.1 -p tcp -m tcp --dport 80 -j ACCEPT`).

Speed design: a dump of 75,000 rules has only a few dozen rule *shapes*. A rule's shape is its
words with every value replaced by a slot (`-s $ -p $ -m tcp --dport $ -j $`): option words,
`!` and module names are kept. The pyparsing grammar below parses a shape once; the result is
compiled into a small `_Plan` (which slots become which Option of which Match), cached by shape,
and each rule of that shape is built by filling the plan with its value words.

Which word is a value: a word that does not start with `-` (or `-` plus a digit), any quoted
word, and the word after an option known to take a free-form value (`--comment -foo`, which
iptables-save prints bare). `!` before an option negates it (`! -s x`, `! --dport 80`); `!`
after an option and before its value is the old 1.3/1.4 spelling (`-d ! x`, `--dport ! 80`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pyparsing as pp

from parser.diagnostics import RuleSyntaxError
from parser.errors import ParseError, error
from parser.tokens import TokenError, is_count, split_quoted, split_shell, split_words_at
from ruleset.commands import Command
from ruleset.model import Family, Match, Option, RuleSpec, Target
from ruleset.spec import PROTOCOL_NAMES

# --- word classification -------------------------------------------------------------------

GENERIC_LONG: dict[str, str] = {
    "--source": "-s", "--src": "-s", "--destination": "-d", "--dst": "-d",
    "--in-interface": "-i", "--out-interface": "-o", "--protocol": "-p", "--fragment": "-f",
}
GENERIC_NAMES = frozenset(("-s", "-d", "-i", "-o", "-p", "-f", *GENERIC_LONG))
# Options whose value is free text that iptables-save may print bare even when it starts
# with a dash (`--comment -foo`); the word after them is always a value.
FREE_VALUE_OPTIONS = frozenset((
    "--comment", "--log-prefix", "--nflog-prefix", "--ulog-prefix", "--string", "--hex-string",
    "--name", "--hashlimit-name", "--helper", "--uid-owner", "--gid-owner", "--label",
    "--physdev-in", "--physdev-out", "--match-set", "--add-set", "--del-set", "--map-set",
    "--queue-num", "--set-mark",
))
# Protocols whose match module `-p X` loads implicitly for options typed without `-m X`.
IMPLICIT_MODULES: dict[str, str] = {
    "tcp": "tcp", "udp": "udp", "udplite": "udplite", "sctp": "sctp", "dccp": "dccp",
    "icmp": "icmp", "icmpv6": "icmp6", "ipv6-icmp": "icmp6", "icmp6": "icmp6",
}

SLOT = "$"
STRUCTURE_WORDS = frozenset((
    "-m", "--match", "-j", "--jump", "-g", "--goto", "-c", "--set-counters", "-f",
    "--fragment", *GENERIC_NAMES,
))


def _is_option_word(word: str) -> bool:
    return len(word) > 1 and word[0] == "-" and (word[1] == "-" or word[1].isalpha())


# What the word after an option word is: 1 a module name (kept in the shape), 2 a value.
_PENDING: dict[str, int] = {"-m": 1, "--match": 1, **{o: 2 for o in FREE_VALUE_OPTIONS}}


def _shape_bare(words: list[str], key: list[str], vals: list[str], pending: int) -> int:
    """Add bare (unquoted) words to a shape; returns the pending state for the next word."""
    add_key = key.append
    add_val = vals.append
    pending_of = _PENDING.get
    for w in words:
        if pending:
            if pending == 1:
                add_key(w)
            elif w == "!":
                add_key(w)
                continue
            else:
                add_key(SLOT)
                add_val(w)
            pending = 0
        elif w[:1] == "-" and (w[1:2] == "-" or w[1:2].isalpha()):
            if "=" in w and w[1] == "-":  # getopt's `--dport=80`
                name, _eq, value = w.partition("=")
                add_key(name)
                add_key(SLOT)
                add_val(value)
                continue
            add_key(w)
            pending = pending_of(w, 0)
        elif w == "!":
            add_key(w)
        else:
            add_key(SLOT)
            add_val(w)
    return pending


def shape_of(words: Sequence[str], quoted: set[int] | None) -> tuple[tuple[str, ...], list[str]]:
    """The shape key of a rule's words and its value words in order."""
    key: list[str] = []
    vals: list[str] = []
    if quoted is None:
        _shape_bare(list(words), key, vals, 0)
        return tuple(key), vals
    pending = 0
    for i, w in enumerate(words):
        if i in quoted:
            if pending == 1:
                key.append(w)
            else:
                key.append(SLOT)
                vals.append(w)
            pending = 0
        else:
            pending = _shape_bare([w], key, vals, pending)
    return tuple(key), vals


def shape_text(text: str) -> tuple[tuple[str, ...], list[str]]:
    """Tokenise (iptables-save quoting) and shape in one pass; raises TokenError."""
    key: list[str] = []
    vals: list[str] = []
    if '"' not in text:
        _shape_bare(text.split(), key, vals, 0)
        return tuple(key), vals
    if "\\" not in text:
        parts = text.split('"')
        n = len(parts)
        if n % 2 == 1:
            pending = 0
            last = n - 1
            i = 0
            while i <= last:
                out = parts[i]
                if out:
                    if (i > 0 and not out[0].isspace()) or (i < last and not out[-1].isspace()):
                        break  # a quote glued to bare characters: slow path
                elif 0 < i < last:
                    break
                pending = _shape_bare(out.split(), key, vals, pending)
                if i < last:
                    if pending == 1:
                        key.append(parts[i + 1])
                    else:
                        key.append(SLOT)
                        vals.append(parts[i + 1])
                    pending = 0
                i += 2
            else:
                return tuple(key), vals
    words, quoted = split_quoted(text)
    return shape_of(words, quoted)


# --- the grammar (of shapes) ----------------------------------------------------------------

_END = r"(?=\s|$)"
NEG = pp.Regex(r"!" + _END).set_name("'!'")
VALUE = pp.Regex(r"\$" + _END).set_name("value")
MATCH_KW = pp.Regex(r"(?:-m|--match)" + _END).set_name("-m")
JUMP_KW = pp.Regex(r"(?:-j|--jump)" + _END).set_name("-j")
GOTO_KW = pp.Regex(r"(?:-g|--goto)" + _END).set_name("-g")
COUNTERS_KW = pp.Regex(r"(?:-c|--set-counters)" + _END).set_name("-c")
generic_name = pp.Regex(
    r"(?:-[sdiop]|--source|--src|--destination|--dst|--in-interface|--out-interface"
    r"|--protocol)" + _END
).set_name("generic option")
fragment_name = pp.Regex(r"(?:-f|--fragment)" + _END).set_name("-f")
option_name = pp.Regex(r"--?[A-Za-z0-9][\w.+-]*" + _END).set_name("option")
option_name.add_condition(
    lambda toks: toks[0] not in STRUCTURE_WORDS, message="not a match or target option"
)
module_name = pp.Regex(r"[A-Za-z0-9_][\w.+-]*" + _END).set_name("module name")


def _option(name_expr: pp.ParserElement, kind: str) -> pp.ParserElement:
    return pp.Group(
        pp.Tag("kind", kind)
        + pp.Opt(NEG)("neg")
        + name_expr("name")
        + pp.Opt(NEG + pp.FollowedBy(VALUE))("old_neg")
        + pp.Group(pp.ZeroOrMore(VALUE))("values")
    )


generic_option = (
    pp.Group(
        pp.Tag("kind", "generic")
        + pp.Opt(NEG)("neg")
        + generic_name("name")
        + pp.Opt(NEG)("old_neg")
        + pp.Group(VALUE)("values")
    )
    | pp.Group(
        pp.Tag("kind", "generic") + pp.Opt(NEG)("neg") + fragment_name("name")
        + pp.Group(pp.Empty())("values")
    )
).set_name("generic option")
module_option = _option(option_name, "option").set_name("option")
loose_option = _option(option_name, "loose").set_name("option")
match_block = pp.Group(
    pp.Tag("kind", "match")
    + MATCH_KW
    + module_name("module")
    + pp.Group(pp.ZeroOrMore(module_option))("options")
).set_name("match")
target_block = pp.Group(
    pp.Tag("kind", "target")
    + (JUMP_KW | GOTO_KW)("kw")
    + VALUE
    + pp.Group(pp.ZeroOrMore(module_option))("options")
).set_name("target")
counters_item = pp.Group(pp.Tag("kind", "counters") + COUNTERS_KW + VALUE + VALUE).set_name(
    "counters"
)
rule_item = generic_option | counters_item | match_block | target_block | loose_option
rule_shape = (pp.ZeroOrMore(rule_item) + pp.StringEnd()).set_name("rule")


# --- plans: a parsed shape compiled for filling -----------------------------------------------

_OptPlan = tuple[str, bool, int, int]  # name, negated, first slot, end slot
_Getter = Callable[[list[str]], Any]


def _getter(slots: list[int]) -> _Getter | None:
    """A fast key maker for the values in `slots` (None when there are none)."""
    return itemgetter(*slots) if slots else None


def _slots(options: Sequence[_OptPlan]) -> list[int]:
    return [i for _, _, s, e in options for i in range(s, e)]


@dataclass(slots=True)
class _MatchPlan:
    module: str | None  # None: the implicit module of the -p protocol
    options: tuple[_OptPlan, ...]
    cache: dict[Any, Match]
    getter: _Getter | None = None


@dataclass(slots=True)
class _Plan:
    generic: tuple[_OptPlan, ...]
    matches: tuple[_MatchPlan, ...]
    target_slot: int | None
    goto: bool
    target_options: tuple[_OptPlan, ...]
    counters: tuple[int, int] | None
    proto_slot: int | None
    proto_word: int  # index of the -p value among the words (for error columns)
    nslots: int
    generic_cache: dict[Any, tuple[Option, ...]]
    target_cache: dict[Any, Target]
    generic_getter: _Getter | None = None
    target_getter: _Getter | None = None


_CACHE_LIMIT = 4096


# Options that take exactly one word in every module and target that has them. A second word
# after one of them is an error, never a second value: a copy truncated or re-wrapped by a
# terminal (`--to-destination 192.16 8.1.1:22`, `--limit 25/s ec`) must not load as a rule
# that means something else. (`--tcp-flags` and `--match-set` take two; unknown options any.)
ONE_VALUE = frozenset({
    "--dport", "--sport", "--destination-port", "--source-port", "--dports", "--sports",
    "--ports", "--destination-ports", "--source-ports", "--icmp-type", "--icmpv6-type",
    "--state", "--ctstate", "--ctproto", "--ctorigsrc", "--ctorigdst", "--ctreplsrc",
    "--ctrepldst", "--ctorigsrcport", "--ctorigdstport", "--ctstatus", "--mac-source",
    "--physdev-in", "--physdev-out", "--src-type", "--dst-type", "--src-range", "--dst-range",
    "--length", "--limit", "--limit-burst", "--mark", "--comment", "--uid-owner",
    "--gid-owner", "--to-destination", "--to-source", "--to-ports", "--to-port",
    "--reject-with", "--log-prefix", "--log-level", "--set-mark", "--set-xmark",
    "--and-mark", "--or-mark", "--xor-mark", "--queue-num", "--nflog-group", "--nflog-prefix",
    "--on-port", "--on-ip", "--tproxy-mark", "--probability", "--every", "--packet",
    "--mode", "--hitcount", "--seconds", "--ttl-eq", "--ttl-gt", "--ttl-lt", "--hl-eq",
    "--set-dscp", "--set-dscp-class", "--dscp", "--dscp-class", "--pkt-type", "--zone",
    "--helper", "--notrack", "--ctmask", "--nfmask", "--save-mark", "--restore-mark",
})


def _opt_plans(options: Any, slot: int, word: int | None = None
               ) -> tuple[tuple[_OptPlan, ...], int]:
    """Plans of options whose values start at `slot`; given `word` (the key index of the
    first option's first word), an option of ONE_VALUE with more words raises there."""
    plans: list[_OptPlan] = []
    for opt in options:
        n = len(opt["values"])
        negated = bool(opt.get("neg")) or bool(opt.get("old_neg"))
        name = str(opt["name"])
        if word is not None:
            first = word + (1 if opt.get("neg") else 0) + 1 + (1 if opt.get("old_neg") else 0)
            if n > 1 and name in ONE_VALUE:
                raise RuleSyntaxError(
                    f"{name} takes one value: the word after it is left over (a line cut "
                    "or wrapped by a terminal?)", -(first + 2))
            word = first + n
        plans.append((name, negated, slot, slot + n))
        slot += n
    return tuple(plans), slot


def _compile(key: tuple[str, ...]) -> _Plan:
    """Parse a shape with the grammar and compile it into a plan (raises RuleSyntaxError)."""
    words = [w if w and not any(c.isspace() for c in w) else "\x00" for w in key]
    text = " ".join(words)
    try:
        parsed = rule_shape.parse_string(text, parse_all=True)
    except pp.ParseBaseException as exc:
        index = text.count(" ", 0, exc.loc)
        raise _shape_error(key, index) from None
    generic: list[_OptPlan] = []
    matches: list[_MatchPlan] = []
    target_slot: int | None = None
    goto = False
    target_options: list[_OptPlan] = []
    counters: tuple[int, int] | None = None
    proto_slot: int | None = None
    proto_word = 0
    current: list[_OptPlan] | None = None  # where a loose option goes (last -m or -j block)
    options_of: dict[int, list[_OptPlan]] = {}
    slot = 0
    word = 0  # index into key of the item's first word, for error columns
    first_loose: tuple[str, int] | None = None
    for item in parsed:
        kind = item["kind"]
        if kind == "generic":
            name = str(item["name"])
            name = GENERIC_LONG.get(name, name)
            n = len(item["values"])
            if any(g[0] == name for g in generic):
                raise RuleSyntaxError(f"multiple {name} options are not allowed", -(word + 1))
            if name == "-p":
                proto_slot = slot
                proto_word = word + _nwords(item.as_list()) - 1
            negated = bool(item.get("neg")) or bool(item.get("old_neg"))
            generic.append((name, negated, slot, slot + n))
            slot += n
        elif kind == "counters":
            counters = (slot, slot + 1)
            slot += 2
        elif kind == "match":
            opts, slot = _opt_plans(item["options"], slot, word + 2)
            current = list(opts)
            options_of[len(matches)] = current
            matches.append(_MatchPlan(str(item["module"]), (), {}))
        elif kind == "target":
            if target_slot is not None:
                raise RuleSyntaxError("more than one -j/-g target", -(word + 1))
            goto = str(item["kw"]) in ("-g", "--goto")
            target_slot = slot
            opts, slot = _opt_plans(item["options"], slot + 1, word + 2)
            target_options.extend(opts)
            current = target_options
        else:  # a loose option: the last block's, else the implicit protocol module's
            (opt_plan,), slot = _opt_plans([item], slot, word)
            if current is None:
                if first_loose is None:
                    first_loose = (opt_plan[0], word + (1 if item.get("neg") else 0))
                current = []
                options_of[len(matches)] = current
                matches.append(_MatchPlan(None, (), {}))
            current.append(opt_plan)
        word += _nwords(item.as_list())
    if first_loose is not None and proto_slot is None:
        name, at = first_loose
        raise RuleSyntaxError(
            f"unknown option {name!r}: no -m module before it and no -p protocol to load one",
            -(at + 1),
        )
    for index, opts_list in options_of.items():
        mp = matches[index]
        mp.options = tuple(opts_list)
        slots = _slots(opts_list)
        if mp.module is None and proto_slot is not None:
            slots = [proto_slot, *slots]
        mp.getter = _getter(slots)
    return _Plan(
        tuple(generic), tuple(matches), target_slot, goto, tuple(target_options), counters,
        proto_slot, proto_word, slot, {}, {}, _getter(_slots(generic)),
        None if target_slot is None else _getter([target_slot, *_slots(target_options)]),
    )


def _nwords(tokens: list[Any]) -> int:
    return sum(_nwords(t) if isinstance(t, list) else 1 for t in tokens)


def _shape_error(key: tuple[str, ...], index: int) -> RuleSyntaxError:
    """A message for the word where the grammar stopped (col is -(word index + 1))."""
    marker = -(index + 1)
    if index >= len(key):
        return RuleSyntaxError("unexpected end of rule", marker)
    w = key[index]
    nxt = key[index + 1] if index + 1 < len(key) else None
    if w == SLOT:
        return RuleSyntaxError("unexpected value: no option takes it", marker)
    if w == "!":
        return RuleSyntaxError("'!' must be followed by an option (or a value)", marker)
    if w in ("-m", "--match"):
        return RuleSyntaxError(f"{w} needs a module name", marker)
    if w in ("-j", "--jump", "-g", "--goto"):
        return RuleSyntaxError(f"{w} needs a target name", marker)
    if w in ("-c", "--set-counters"):
        return RuleSyntaxError(f"{w} needs packet and byte counts", marker)
    if w in GENERIC_NAMES:
        return RuleSyntaxError(f"{w} needs a value", marker)
    if index > 0 and key[index - 1] in ("-m", "--match"):
        return RuleSyntaxError(f"bad module name {w!r}", marker)
    if nxt is None and w.startswith("-"):
        return RuleSyntaxError(f"bad option {w!r}", marker)
    return RuleSyntaxError(f"unexpected {w!r}", marker)


_PLANS: dict[tuple[str, ...], _Plan | RuleSyntaxError] = {}


def _plan_for(key: tuple[str, ...]) -> _Plan:
    plan = _PLANS.get(key)
    if plan is None:
        try:
            plan = _compile(key)
        except RuleSyntaxError as exc:
            plan = exc
        if len(_PLANS) >= 16384:
            _PLANS.clear()
        _PLANS[key] = plan
    if isinstance(plan, RuleSyntaxError):
        raise RuleSyntaxError(plan.message, plan.col)
    return plan


def _implicit_module(proto: str, family: Family) -> str:
    low = proto.lower()
    if is_count(low):
        low = PROTOCOL_NAMES.get(int(low), low)
    module = IMPLICIT_MODULES.get(low)
    if module is None:
        raise RuleSyntaxError(f"protocol {proto!r} has no options of its own", 0)
    if module == "icmp" and family is Family.IPV6:
        return "icmp6"
    return module


def _options(opts: tuple[_OptPlan, ...], vals: list[str]) -> tuple[Option, ...]:
    return tuple([Option(n, tuple(vals[s:e]), neg) for n, neg, s, e in opts])


def _fill(plan: _Plan, vals: list[str], family: Family) -> RuleSpec:
    if len(vals) != plan.nslots:  # pragma: no cover - shapes guarantee this
        raise RuleSyntaxError("internal: slot count mismatch", 0)
    getter = plan.generic_getter
    key: Any = getter(vals) if getter is not None else None
    generic = plan.generic_cache.get(key)
    if generic is None:
        generic = _options(plan.generic, vals)
        if len(plan.generic_cache) < _CACHE_LIMIT:
            plan.generic_cache[key] = generic
    matches: list[Match] = []
    for mp in plan.matches:
        getter = mp.getter
        key = getter(vals) if getter is not None else None
        if mp.module is None:
            key = (family, key)
        match = mp.cache.get(key)
        if match is None:
            module = mp.module
            if module is None:
                assert plan.proto_slot is not None
                try:
                    module = _implicit_module(vals[plan.proto_slot], family)
                except RuleSyntaxError as exc:
                    raise RuleSyntaxError(exc.message, -(plan.proto_word + 1)) from None
            match = Match(module, _options(mp.options, vals))
            if len(mp.cache) < _CACHE_LIMIT:
                mp.cache[key] = match
        matches.append(match)
    target: Target | None = None
    getter = plan.target_getter
    if getter is not None:
        key = getter(vals)
        target = plan.target_cache.get(key)
        if target is None:
            assert plan.target_slot is not None
            target = Target(vals[plan.target_slot], _options(plan.target_options, vals),
                            plan.goto)
            if len(plan.target_cache) < _CACHE_LIMIT:
                plan.target_cache[key] = target
    return RuleSpec(generic, tuple(matches), target)


# --- entry points ------------------------------------------------------------------------------


def spec_from_words(
    words: Sequence[str], quoted: set[int] | None, family: Family = Family.IPV4
) -> RuleSpec:
    """Build a RuleSpec from already split words. Raises RuleSyntaxError whose `col` is
    -(word index + 1) (callers map it to a column) or 0 when no word is to blame."""
    key, vals = shape_of(words, quoted)
    return _fill(_plan_for(key), vals, family)


def spec_from_text(text: str, start: int = 0, family: Family = Family.IPV4) -> RuleSpec:
    """The RuleSpec of the rule words in `text[start:]` (iptables-save quoting).

    Raises RuleSyntaxError with a 1-based column into `text`.
    """
    body = text[start:] if start else text
    try:
        key, vals = shape_text(body)
        plan = _PLANS.get(key)
        if plan is None or isinstance(plan, RuleSyntaxError):
            plan = _plan_for(key)
        return _fill(plan, vals, family)
    except TokenError as exc:
        raise RuleSyntaxError(exc.message, start + exc.col) from None
    except RuleSyntaxError as exc:
        col, message = _locate(body, exc)
        raise RuleSyntaxError(message, col + start) from None


def _locate(body: str, exc: RuleSyntaxError) -> tuple[int, str]:
    """The 1-based column in `body` of a word marker (-(index+1)), and the message naming the
    word when it is a value."""
    if exc.col >= 0:
        return exc.col or 1, exc.message
    located = split_words_at(body)
    index = -exc.col - 1
    if index < len(located.starts):
        message = exc.message
        if message.startswith("unexpected value"):
            message = f"unexpected value {located.words[index]!r}" + message[16:]
        return located.starts[index] + 1, message
    return len(body.rstrip()) + 1, exc.message


def _diag_error(exc: RuleSyntaxError, text: str, path: str) -> ParseError:
    return ParseError(error(path, 1, max(exc.col, 1), exc.message, text))


def parse_rule_args(
    text_or_words: str | Sequence[str], *, family: Family = Family.IPV4
) -> RuleSpec:
    """The RuleSpec of the words after `-A CHAIN` (a string with shell quoting, or words).

    Raises ParseError (with a column) on bad input.
    """
    if isinstance(text_or_words, str):
        text = text_or_words
        try:
            located = split_shell(text)
        except TokenError as exc:
            raise ParseError(error("<rule>", 1, exc.col, exc.message, text)) from None
        words, starts = located.words, located.starts
        quoted = {i for i, q in enumerate(located.quoted) if q} or None
    else:
        words = list(text_or_words)
        text = " ".join(words)
        starts = []
        pos = 0
        for w in words:
            starts.append(pos)
            pos += len(w) + 1
        quoted = None
    try:
        return spec_from_words(words, quoted, family)
    except RuleSyntaxError as exc:
        col, message = exc.col, exc.message
        if col < 0:
            index = -col - 1
            col = starts[index] + 1 if index < len(starts) else len(text) + 1
            if index < len(words) and message.startswith("unexpected value"):
                message = f"unexpected value {words[index]!r}" + message[16:]
        raise _diag_error(RuleSyntaxError(message, col), text, "<rule>") from None


# --- whole commands ----------------------------------------------------------------------------

_OPS: dict[str, str] = {
    "-A": "-A", "--append": "-A", "-I": "-I", "--insert": "-I", "-D": "-D", "--delete": "-D",
    "-R": "-R", "--replace": "-R", "-P": "-P", "--policy": "-P", "-N": "-N",
    "--new-chain": "-N", "--new": "-N", "-X": "-X", "--delete-chain": "-X", "-F": "-F",
    "--flush": "-F", "-Z": "-Z", "--zero": "-Z", "-E": "-E", "--rename-chain": "-E",
}
_PROGRAMS = frozenset((
    "iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy", "iptables-nft",
    "ip6tables-nft",
))
_TAKES_A_WORD = frozenset((
    *FREE_VALUE_OPTIONS, "-m", "--match", "-j", "--jump", "-g", "--goto",
    *(GENERIC_NAMES - {"-f", "--fragment"}),
))
_IGNORED_FLAGS = frozenset(("-v", "--verbose", "-n", "--numeric", "-x", "--exact",
                            "--line-numbers", "-4", "--ipv4", "-6", "--ipv6"))


def parse_command(
    text_or_words: str | Sequence[str], *, family: Family = Family.IPV4
) -> Command:
    """Parse one iptables command line (`-t nat -I FORWARD 1 -s 1.2.3.4 -j ACCEPT`).

    A leading `sudo` and `iptables`/`ip6tables` word are allowed. Raises ParseError.
    """
    if isinstance(text_or_words, str):
        text = text_or_words
        try:
            located = split_shell(text)
        except TokenError as exc:
            raise ParseError(error("<command>", 1, exc.col, exc.message, text)) from None
        words, starts, qflags = located.words, located.starts, located.quoted
    else:
        words = list(text_or_words)
        text = " ".join(words)
        starts, pos = [], 0
        for w in words:
            starts.append(pos)
            pos += len(w) + 1
        qflags = [False] * len(words)

    def fail(message: str, index: int) -> ParseError:
        col = starts[index] + 1 if index < len(starts) else len(text) + 1
        return ParseError(error("<command>", 1, col, message, text))

    i = 0
    if i < len(words) and words[i] == "sudo":
        i += 1
    family_flag = "ip6tables" if family is Family.IPV6 else "iptables"
    if i < len(words) and words[i] in _PROGRAMS:
        family_flag = "ip6tables" if words[i].startswith("ip6") else "iptables"
        if family_flag == "ip6tables":
            family = Family.IPV6
        i += 1
    table = "filter"
    op: str | None = None
    op_index = 0
    rest: list[int] = []  # indices of the words that are not -t/op/flags
    while i < len(words):
        w = words[i]
        if i > 0 and words[i - 1] in _TAKES_A_WORD and not qflags[i - 1]:
            rest.append(i)  # a value (`--comment --zero`), never a command or -t
            i += 1
            continue
        if not qflags[i] and w in ("-t", "--table"):
            if i + 1 >= len(words):
                raise fail(f"{w} needs a table name", i)
            table = words[i + 1]
            i += 2
            continue
        if not qflags[i] and w in ("-w", "--wait", "-W", "--wait-interval"):
            i += 2 if i + 1 < len(words) and is_count(words[i + 1]) else 1
            continue
        if not qflags[i] and w in _IGNORED_FLAGS:
            i += 1
            continue
        if not qflags[i] and w in _OPS and op is None:
            op = _OPS[w]
            op_index = i
            i += 1
            continue
        if not qflags[i] and w in _OPS:
            raise fail(f"more than one command ({op} and {w})", i)
        rest.append(i)
        i += 1
    if op is None:
        raise fail("no command (-A, -I, -D, -R, -P, -N, -X, -F, -Z or -E)", 0)
    if op not in ("-X", "-F", "-Z") and (not rest or rest[0] != op_index + 1):
        raise fail(f"{op} needs a chain name", op_index + 1)
    chain: str | None = None
    position: int | None = None
    k = 0
    if rest and rest[0] == op_index + 1 and not _is_option_word(words[rest[0]]):
        chain = words[rest[0]]
        k = 1

    def number(idx: int) -> int | None:
        if k < len(rest) and is_count(words[rest[idx]]):
            value = int(words[rest[idx]])
            if value < 1:
                raise fail("rule positions start at 1", rest[idx])
            return value
        return None

    spec_words: list[int] = []
    policy: str | None = None
    new_name: str | None = None
    if op in ("-I", "-R", "-D", "-Z"):
        position = number(k)
        if position is not None:
            k += 1
        if op == "-R" and position is None:
            raise fail("-R needs a rule position", rest[k] if k < len(rest) else len(words))
    if op == "-P":
        if k >= len(rest):
            raise fail("-P needs a policy (ACCEPT or DROP)", len(words))
        policy = words[rest[k]]
        k += 1
    elif op == "-E":
        if k >= len(rest):
            raise fail("-E needs the new chain name", len(words))
        new_name = words[rest[k]]
        k += 1
    spec_words = rest[k:]
    spec: RuleSpec | None = None
    if op in ("-A", "-I", "-R") or (op == "-D" and position is None):
        sub = [words[j] for j in spec_words]
        subq = {n for n, j in enumerate(spec_words) if qflags[j]} or None
        try:
            spec = spec_from_words(sub, subq, family)
        except RuleSyntaxError as exc:
            message = exc.message
            if exc.col < 0 and -exc.col - 1 < len(spec_words):
                idx = spec_words[-exc.col - 1]
                if message.startswith("unexpected value"):
                    message = f"unexpected value {words[idx]!r}" + message[16:]
            else:
                idx = len(words)
            raise fail(message, idx) from None
    elif spec_words:
        raise fail(f"unexpected {words[spec_words[0]]!r} after {op}", spec_words[0])
    return Command(op=op, table=table, chain=chain, position=position, spec=spec,
                   policy=policy, new_name=new_name, family_flag=family_flag)

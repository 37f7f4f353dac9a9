"""Damage the loader repairs: ANSI colours, smart punctuation, lines wrapped at a fixed width.

Every real dump in ../shared/corpus outside `other/` (skipped when the corpus is absent) and
every bundled sample dump (samples/neutron, samples/catalog, samples/deltas) is damaged the way
a terminal, a mail client, a blog or a word processor damages it, and each damaged copy must load
to the same ruleset as the original (tables, chains, policies and counters, rule order, canonical
spec and counters per rule) with no error and with a diagnostic saying what was repaired:

- wrapped by a terminal at 80 and 72 columns (cut mid-word at exactly the width), and by a mail
  client at 72 and 76 (broken at the last space that fits, the space dropped);
- coloured by `grep --color=always` (each match of a word highlighted in the middle of a line)
  and by `less -R` / a coloured prompt (whole lines, `ESC[K` erase-line codes too);
- "smart" punctuation: option dashes as en/em dashes and minus signs, the listing's `--` opt
  column as an em dash, quote delimiters as curly quotes, some spaces outside quoted strings as
  no-break / thin / narrow no-break spaces (text inside quotes and `/* comments */` untouched);
- the three at once (a coloured, smart-quoted blog paste wrapped by a mail client).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from parser.errors import ParseError
from parser.load import load_text
from parser.repair import TERMINAL_WIDTHS, RepairMap
from ruleset.model import Ruleset, Severity
from ruleset.spec import render_spec
from tests.parser.dumps import CORPUS, SAMPLES, Snapshot, dump_id, dumps, snapshot

DUMPS = dumps(catalog=True)
_id = dump_id


def _load(text: str, name: str = "t", **kw: bool) -> Ruleset:
    rs = load_text(text, name, **kw)
    rs.resolve_all()
    return rs


def _errors(rs: Ruleset) -> list[str]:
    return [str(d) for d in rs.diagnostics if d.severity is Severity.ERROR]


# --- damages -----------------------------------------------------------------------------


def terminal_wrap(width: int) -> Callable[[str], str]:
    """A terminal: every line cut into pieces of exactly `width` characters."""
    def damage(text: str) -> str:
        out: list[str] = []
        for ln in text.splitlines():
            out += [ln[k:k + width] for k in range(0, len(ln), width)] or [""]
        return "".join(ln + "\n" for ln in out)
    return damage


def mail_wrap(width: int) -> Callable[[str], str]:
    """A mail client: broken at the last space that fits (a single space dropped, a run of
    spaces kept at the end of the line), a word longer than the width cut where it must."""
    def damage(text: str) -> str:
        out: list[str] = []
        for ln in text.splitlines():
            while len(ln) > width:
                cut = ln.rfind(" ", 1, width + 1)
                if cut <= 0:
                    out.append(ln[:width])
                    ln = ln[width:]
                    continue
                start = end = cut
                while start > 0 and ln[start - 1] == " ":
                    start -= 1
                while end + 1 < len(ln) and ln[end + 1] == " ":
                    end += 1
                if start == end:
                    out.append(ln[:cut])
                else:
                    out.append(ln[:end + 1])
                ln = ln[end + 1:]
            out.append(ln)
        return "".join(ln + "\n" for ln in out)
    return damage


_GREP_ON = "\x1b[01;31m\x1b[K"
_GREP_OFF = "\x1b[m\x1b[K"


def grep_color(word: str) -> Callable[[str], str]:
    """`grep --color=always -e WORD -e ''`: every match highlighted, every line kept."""
    def damage(text: str) -> str:
        return text.replace(word, f"{_GREP_ON}{word}{_GREP_OFF}")
    return damage


def less_color(text: str) -> str:
    """Whole lines coloured by kind (a highlighter through `less -R`), a coloured prompt."""
    out = ["\x1b]0;root@node: ~\x07\x1b[01;32mroot@node\x1b[00m:\x1b[01;34m~\x1b[00m# cat fw"]
    for ln in text.splitlines():
        if ln.startswith(("*", "Chain")):
            out.append(f"\x1b[1;33m{ln}\x1b[0m")
        elif ln.startswith("#"):
            out.append(f"\x1b[2m{ln}\x1b[0m\x1b[K")
        elif ln:
            head, _, rest = ln.partition(" ")
            out.append(f"\x1b[36m{head}\x1b[39m {rest}" if rest else f"\x1b[36m{head}\x1b[0m")
        else:
            out.append(ln)
    return "".join(ln + "\n" for ln in out)


_FREE = {"--comment", "--log-prefix", "--nflog-prefix", "--string", "--hex-string"}
_SPACE_KINDS = ("\u00a0", "\u2009", "\u202f")


def _smart_line(line: str, n: int) -> str:
    out: list[str] = []
    i = 0
    words_seen = 0
    prev = ""
    while i < len(line):
        ch = line[i]
        if ch == " ":
            j = i
            while j < len(line) and line[j] == " ":
                j += 1
            run = line[i:j]
            if (n + words_seen) % 3 == 0:
                run = _SPACE_KINDS[(n + words_seen) % len(_SPACE_KINDS)] + run[1:]
            out.append(run)
            i = j
            continue
        j = i
        if line.startswith("/*", i):  # a listing's comment: untouched
            end = line.find("*/", i)
            j = len(line) if end < 0 else end + 2
            out.append(line[i:j])
        elif ch == '"':  # a quoted string: curly delimiters, text untouched
            k = i + 1
            while k < len(line) and line[k] != '"':
                k += 2 if line[k] == "\\" else 1
            j = min(k + 1, len(line))
            inner = line[i + 1:k]
            out.append("\u201c" + inner + ("\u201d" if k < len(line) else ""))
        else:
            while j < len(line) and line[j] != " ":
                j += 1
            word = line[i:j]
            if prev not in _FREE:
                if re.fullmatch(r"--[a-z][\w-]+", word):
                    word = ("\u2014" if (n + words_seen) % 2 else "\u2013") + word[2:]
                elif re.fullmatch(r"-[A-Za-z]", word):
                    word = ("\u2013", "\u2212", "\u2013")[(n + words_seen) % 3] + word[1:]
                elif word == "--" or (word == "-" and line.startswith(":")):
                    word = "\u2014" if word == "--" else "\u2013"
            out.append(word)
            prev = line[i:j]
        words_seen += 1
        i = j
    return "".join(out)


def smart(text: str) -> str:
    """A blog or a word processor: dashes, curly quote delimiters, Unicode spaces."""
    return "".join(_smart_line(ln, n) + "\n" for n, ln in enumerate(text.splitlines()))


def blog(text: str) -> str:
    return less_color(mail_wrap(72)(smart(text)))


DAMAGES: dict[str, Callable[[str], str]] = {
    "wrap-terminal-80": terminal_wrap(80),
    "wrap-terminal-72": terminal_wrap(72),
    "wrap-mail-72": mail_wrap(72),
    "wrap-mail-76": mail_wrap(76),
    "ansi-grep-ACCEPT": grep_color("ACCEPT"),
    "ansi-grep-dash-A": grep_color("-A "),
    "ansi-less": less_color,
    "smart-punctuation": smart,
    "blog-all-three": blog,
}
EXPECT = {"wrap": "joined", "ansi": "ANSI", "smart": "replaced", "blog": "replaced"}


@pytest.fixture(scope="module")
def originals() -> dict[Path, tuple[str, Snapshot]]:
    return {}


def _original(path: Path, cache: dict[Path, tuple[str, Snapshot]]) -> tuple[str, Snapshot]:
    if path not in cache:
        text = path.read_text(encoding="utf-8")
        rs = _load(text, str(path))
        assert _errors(rs) == []
        cache[path] = (text, snapshot(rs))
    return cache[path]


@pytest.mark.skipif(not DUMPS, reason="no dumps to damage")
@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("path", DUMPS, ids=_id)
def test_damaged_copy_is_repaired(
    path: Path, damage: str, originals: dict[Path, tuple[str, Snapshot]]
) -> None:
    text, want = _original(path, originals)
    damaged = DAMAGES[damage](text)
    rs = _load(damaged, str(path))
    assert _errors(rs) == []
    assert snapshot(rs) == want
    if damaged != text and (not damage.startswith("wrap") or damaged.count("\n") >
                            text.count("\n")):
        said = " ".join(d.message for d in rs.diagnostics)
        assert EXPECT[damage.split("-")[0]] in said


# --- what each repair says, and where ----------------------------------------------------------

_SAVE = ("*filter\n:INPUT ACCEPT [0:0]\n:web - [0:0]\n"
         "-A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"ssh from the office\" "
         "-j ACCEPT\n-A INPUT -j web\n-A web -j DROP\nCOMMIT\n")


def test_ansi_columns_point_into_the_original_line() -> None:
    line = f"-A INPUT {_GREP_ON}--bogus{_GREP_OFF} 1 -j {_GREP_ON}ACCEPT{_GREP_OFF}"
    rs = _load(_SAVE.replace("-A INPUT -j web", line), "grep.txt")
    info = [d for d in rs.diagnostics if "ANSI" in d.message]
    assert [(d.line, d.col, d.severity) for d in info] == [(5, 10, Severity.INFO)]
    assert "removed 8 ANSI escape sequences" in info[0].message
    (error,) = rs.errors
    assert error.line == 5
    assert line[error.col - 1:].startswith("--bogus")  # the column in the line as it was
    assert "\x1b" not in error.text and error.text == line.replace("\x1b", "\u241b")
    rule = rs.tables["filter"].chains["INPUT"].rules[1]
    assert rule.text == "-A INPUT --bogus 1 -j ACCEPT"


def test_ansi_with_a_quote_prefix_keeps_both_shifts() -> None:
    line = "> -A web \x1b[1;31m--nope\x1b[0m -j DROP"
    text = "".join(f"> {ln}\n" for ln in _SAVE.splitlines()).replace("> -A web -j DROP", line)
    rs = _load(text, "mail.txt")
    (error,) = rs.errors
    assert (error.line, line[error.col - 1:].startswith("--nope")) == (6, True)
    assert {"quote", "ANSI"} <= {w for d in rs.diagnostics for w in ("quote", "ANSI")
                                 if w in d.message}


def test_smart_punctuation_keeps_a_curly_quote_inside_the_comment() -> None:
    text = ("*filter\n:INPUT ACCEPT [0:0]\n:web \u2013 [0:0]\n"
            "\u2013A INPUT \u2212p tcp \u2014dport 22 \u2013m comment \u2013comment "
            "\u201cit\u2019s fine\u201d \u2013j ACCEPT\n"
            "-A INPUT -m comment --comment \"it\u2019s \u201cquoted\u201d\" -j web\n"
            "-A\u00a0web\u2009-j\u202fDROP\nCOMMIT\n")
    rs = _load(text, "blog.txt")
    assert _errors(rs) == []
    rules = rs.tables["filter"].chains["INPUT"].rules
    assert rules[0].text == ('-A INPUT -p tcp --dport 22 -m comment --comment "it\u2019s fine" '
                             "-j ACCEPT")
    assert rules[0].comment == "it\u2019s fine"
    assert rules[1].comment == "it\u2019s \u201cquoted\u201d"  # already ASCII-quoted: as is
    assert rs.tables["filter"].chains["web"].policy is None
    said = {d.line: d.message for d in rs.diagnostics}
    assert sorted(said) == [3, 4, 6]
    assert "(-A, -p, --dport, -m, --comment, -j)" in said[4]
    assert "curly quotes" in said[4]
    assert "3 Unicode spaces" in said[6]
    assert all(d.severity is Severity.INFO for d in rs.diagnostics)


def test_smart_punctuation_in_a_listing_and_its_comments() -> None:
    text = ("Chain INPUT (policy ACCEPT)\ntarget prot opt source destination\n"
            "ACCEPT tcp \u2014 0.0.0.0/0 0.0.0.0/0 tcp dpt:22 /* it\u2019s \u2014 ok */\n")
    rs = _load(text, "l.txt")
    assert _errors(rs) == []
    (rule,) = rs.rules()
    assert rule.comment == "it\u2019s \u2014 ok"
    assert rule.text.startswith("ACCEPT tcp -- 0.0.0.0/0")


def test_a_dash_inside_a_bare_comment_word_is_kept() -> None:
    rs = _load(_SAVE.replace('"ssh from the office"', "\u2013x"), "t")
    assert rs.tables["filter"].chains["INPUT"].rules[0].comment == "\u2013x"


def test_a_wrapped_rule_is_joined_and_said() -> None:
    wrapped = terminal_wrap(40)(_SAVE)
    rs = _load(wrapped, "wrapped.txt")
    assert _errors(rs) == []
    assert snapshot(rs) == snapshot(_load(_SAVE))
    joins = [d for d in rs.diagnostics if "joined" in d.message]
    assert [(d.line, d.col, d.severity) for d in joins] == [
        (5, 1, Severity.WARNING), (6, 1, Severity.WARNING)]
    assert "line 4" in joins[0].message and "mid-word" in joins[0].message
    rule = rs.tables["filter"].chains["INPUT"].rules[0]
    assert rule.line == 4
    assert rs.tables["filter"].chains["INPUT"].rules[1].line == 7  # later lines keep numbers


def test_a_diagnostic_in_a_joined_rule_points_at_its_physical_line() -> None:
    bad = _SAVE.replace("-j ACCEPT", "-j NOWHERE")  # a warning: the chain does not exist
    wrapped = mail_wrap(60)(bad)
    lines = wrapped.splitlines()
    rs = _load(wrapped, "wrapped.txt")
    assert _errors(rs) == []
    (warning,) = [d for d in rs.diagnostics if "NOWHERE" in d.message]
    assert warning.line == 5
    assert lines[warning.line - 1][warning.col - 1:].startswith("NOWHERE")
    assert warning.text == lines[warning.line - 1]


def test_a_wrapped_rule_with_an_error_is_not_joined() -> None:
    """The joined rule would not parse: its lines stay errors of their own, as before."""
    wrapped = mail_wrap(60)(_SAVE.replace("-j ACCEPT", "-p udp -j ACCEPT"))
    rs = _load(wrapped, "wrapped.txt")
    assert not [d for d in rs.diagnostics if "joined" in d.message]
    assert {d.line for d in rs.errors} == {4, 5}


def test_strict_load_repairs_too_and_says_so() -> None:
    rs = _load(terminal_wrap(80)(smart(_SAVE)), "strict.txt", strict=True)
    assert snapshot(rs) == snapshot(_load(_SAVE))
    assert any("joined" in d.message for d in rs.diagnostics)
    assert any("replaced" in d.message for d in rs.diagnostics)
    with pytest.raises(ParseError) as info:
        _load(terminal_wrap(72)(_SAVE.replace("-j ACCEPT", "-p udp -j ACCEPT")), "s",
              strict=True)
    assert info.value.diagnostic.line in (4, 5)


@pytest.mark.parametrize("text", [
    # a short line after a complete rule: garbage, not a wrap (the rule parser would take
    # `what is this` as more values of --reject-with)
    _SAVE.replace("-A web -j DROP", "-A web -j REJECT --reject-with icmp-port-unreachable\n"
                  "what is this"),
    # a line that does not start a statement, but does not parse joined either
    _SAVE.replace("-A web -j DROP", "-A web -j DROP\n~garbage"),
    # listing rows that are valid on their own are never joined
    "Chain INPUT (policy ACCEPT)\ntarget prot opt source destination\n"
    "ACCEPT all -- 0.0.0.0/0 0.0.0.0/0 /* a long comment that goes on and on and on */\n"
    "nonsense words\n",
], ids=["values", "garbage", "listing"])
def test_garbage_is_not_joined(text: str) -> None:
    rs = _load(text, "g.txt")
    assert not [d for d in rs.diagnostics if "joined" in d.message]
    assert len(rs.errors) == 1


def test_a_wrapped_listing_header_and_rows() -> None:
    text = (SAMPLES / "neutron" / "iptables-L-vn-line-numbers.txt").read_text(encoding="utf-8")
    want = snapshot(_load(text))
    for width in (60, 72, 80):
        rs = _load(terminal_wrap(width)(text), "l.txt")
        assert _errors(rs) == [], width
        assert snapshot(rs) == want, width


def test_clean_input_gets_no_repair_map() -> None:
    from parser import load

    calls: list[int] = []
    real = load._rejoin

    def spy(*args: object, **kw: object) -> object:
        calls.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(load, "_rejoin", spy)
        rs = _load(_SAVE)
    assert calls == [] and rs.diagnostics == []


def test_repair_map_composes_stages() -> None:
    originals = ["> -A x \x1b[1mY\x1b[0m"]
    rmap = RepairMap(originals, [{0: [(0, 0, 0), (6, 0, 10)]}, {0: [(0, 0, 2)]}])
    assert rmap.locate(1, 1) == (1, 3)  # `-` after the quote
    assert rmap.locate(1, 5) == (1, 11)  # `Y` after the escape


# --- Hypothesis: any rule, any wrap width ----------------------------------------------------

_WORDS = st.sampled_from([
    "-p tcp -m tcp --dport 22", "-s 10.0.0.0/8", "! -d 192.168.1.1/32", "-i eth0",
    "-m comment --comment \"a b  c\"", "-m conntrack --ctstate RELATED,ESTABLISHED",
    "-m set --match-set allow-list src", "-m limit --limit 5/min --limit-burst 10",
    "-m multiport --dports 80,443,8080:8090", "-m mark --mark 0x4000/0x4000",
    "-m comment --comment \"kube:svc/default/kubernetes:https cluster IP\"",
])
_TARGETS = st.sampled_from(["-j ACCEPT", "-j DROP", "-j LOG --log-prefix \"dropped: \"",
                            "-j REJECT --reject-with icmp-port-unreachable", "-g web"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(st.tuples(st.lists(_WORDS, max_size=5, unique=True), _TARGETS), min_size=1,
                      max_size=6),
       width=st.integers(40, 132), how=st.sampled_from(["terminal", "mail"]))
@example(rules=[(["-m comment --comment \"a b  c\""] * 5, "-j ACCEPT")], width=40,
         how="mail")
@example(rules=[(["-p tcp -m tcp --dport 22"], "-j ACCEPT")] * 2, width=40, how="mail")
def test_wrapped_rules_load_as_the_original(
    rules: list[tuple[list[str], str]], width: int, how: str
) -> None:
    body = "".join(f"-A INPUT {' '.join(words)} {target}\n".replace("  -", " -")
                   for words, target in rules)
    text = f"*filter\n:INPUT ACCEPT [0:0]\n:web - [0:0]\n{body}COMMIT\n"
    want = snapshot(_load(text))
    wrap = terminal_wrap(width) if how == "terminal" else mail_wrap(width)
    damaged = wrap(text)
    # one break at exactly the width is a terminal's cut or a mail client's break: the loader
    # tells them by how many breaks are at exactly the widest line (and by usual widths)
    pieces = [wrap(ln + "\n").splitlines() for ln in text.splitlines()]
    widest = max(len(p.rstrip()) for ps in pieces for p in ps)
    ambiguous = [ps[k] for ps in pieces for k in range(len(ps) - 1)
                 if not (ps[k][-1:].isspace() or ps[k + 1][:1].isspace())]
    exact = sum(1 for p in ambiguous if len(p.rstrip()) == widest)
    terminal = exact * 5 > len(ambiguous) * 4 and (exact >= 2 or widest in TERMINAL_WIDTHS)
    broken = ambiguous
    assume(terminal == (how == "terminal") or not broken)
    rs = _load(damaged, "h.txt")
    assert _errors(rs) == []
    assert snapshot(rs) == want


# --- screen-capture padding -------------------------------------------------------------------

OPENWRT = CORPUS / "other" / "openwrt-ticket18787-broken-capture.txt"


def test_the_openwrt_screen_capture_loads_whole() -> None:
    # Lines cut at 80 columns and padded with spaces to the next row (SOURCES.md): every one
    # of its 65 rules loads, the mid-word wraps glued, the at-a-space ones read as they are.
    if not OPENWRT.is_file():
        pytest.skip("corpus not available")
    rs = _load(OPENWRT.read_text(encoding="utf-8"), "openwrt.txt")
    assert _errors(rs) == []
    specs = {r.line: render_spec(r.spec) for r in rs.rules()}
    assert len(specs) == 65
    assert specs[24].endswith("-j DNAT --to-destination 192.168.1.1:22")
    assert specs[86].endswith("--ctstate NEW -j ACCEPT")
    assert "--limit 25/sec --limit-burst 50" in specs[103]
    assert specs[121].endswith("--ctstate DNAT -j ACCEPT")  # wrapped at a space: unchanged
    pads = [d for d in rs.diagnostics if "screen capture" in d.message]
    assert (pads[0].line, pads[0].col) == (24, 81)


def _padded(head: str, tail: str, width: int = 80) -> str:
    return head + " " * (width + 40 - len(head)) + tail


@pytest.mark.parametrize(("line", "want"), [
    (_padded("-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment x -j ACC",
             "EPT"), "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment x"
             " -j ACCEPT"),
    (_padded("-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment x -j",
             "ACCEPT"), "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment x"
             " -j ACCEPT"),
])
def test_padding_is_glued_only_where_the_line_needs_it(line: str, want: str) -> None:
    rs = _load(f"*filter\n:INPUT ACCEPT [0:0]\n{line}\nCOMMIT\n", "p.save")
    assert _errors(rs) == []
    (rule,) = rs.rules()
    assert "-A INPUT " + render_spec(rule.spec) == want


def test_padding_inside_a_quoted_comment_is_kept() -> None:
    comment = "a" * 40 + " " * 12 + "b"
    rs = _load(f'*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "{comment}" -j '
               'ACCEPT\nCOMMIT\n', "q.save")
    assert _errors(rs) == [] and not [d for d in rs.diagnostics if "screen" in d.message]
    (rule,) = rs.rules()
    assert rule.spec.matches[0].options[0].values == (comment,)


def test_a_listing_keeps_its_column_padding() -> None:
    text = (SAMPLES / "neutron" / "iptables-L-vn-line-numbers.txt").read_text()
    padded = text.replace(" all ", " all" + " " * 10, 3)
    rs = _load(padded, "l.txt")
    assert not [d for d in rs.diagnostics if "screen" in d.message]

"""Pasted copies load to the same ruleset as the dump they were copied from.

For every real dump in ../shared/corpus outside `other/` (skipped when the corpus is absent)
and every bundled sample dump, damaged copies are generated the way tickets, chats, e-mails and
blogs damage them, and each must give the same tables, chains, policies (and their counters),
rule order, canonical spec per rule (`ruleset.spec.spec_key`) and rule counters as the
original, with no error diagnostics:

(a) runs of spaces/tabs collapsed to one space, blank lines removed (chat/blog pastes; the seed
    sample is like this). Exception: whitespace inside a quoted string (a `--log-prefix
    "DNS  "` in a `-L` listing) is collapsed too and cannot be restored, so under (a) specs are
    compared with runs of spaces collapsed (every other damage compares them exactly);
(b) CRLF line endings; (c) trailing spaces; (d) indented by 4 spaces and by a tab (a Markdown
    code block); (e) an e-mail quote `> ` on every line (and `> > `); (f) a shell prompt line
    before the dump and a bare one after it.
(g) Long lines wrapped by a mail client or a terminal, ANSI colours and smart punctuation are
    repaired by parser/repair.py: see tests/parser/test_repair.py, which damages the same dumps
    that way. A continuation that does not look like a wrap stays an error of its own
    (test_a_wrapped_rule_line_is_reported).

A Hypothesis property adds: garbage lines in place of random lines of a save dump are each
reported at their own line number, and every untouched rule is still loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parser.errors import LoadError
from parser.load import load_path, load_text
from ruleset.model import Ruleset, Severity
from tests.parser.dumps import SAMPLES, Snapshot, dump_id, dumps, snapshot

DUMPS = dumps(catalog=False)
_id = dump_id


# --- damages -----------------------------------------------------------------------------


def collapse(text: str) -> str:
    lines = (re.sub(r"[ \t]+", " ", ln).strip() for ln in text.splitlines())
    return "".join(ln + "\n" for ln in lines if ln)


def crlf(text: str) -> str:
    return "".join(ln + "\r\n" for ln in text.splitlines())


def trailing(text: str) -> str:
    return "".join(ln + "  \t \n" for ln in text.splitlines())


def indent(prefix: str) -> Callable[[str], str]:
    def damage(text: str) -> str:
        return "".join((prefix + ln if ln.strip() else ln) + "\n" for ln in text.splitlines())
    return damage


def quote(prefix: str) -> Callable[[str], str]:
    def damage(text: str) -> str:  # mail clients write an empty quoted line as bare `>`
        return "".join((prefix + ln if ln else prefix.rstrip()) + "\n"
                       for ln in text.splitlines())
    return damage


DAMAGES: dict[str, Callable[[str], str]] = {
    "collapsed": collapse,
    "crlf": crlf,
    "trailing-spaces": trailing,
    "indent-4": indent("    "),
    "indent-tab": indent("\t"),
    "quote": quote("> "),
    "quote-nested": quote("> > "),
    "quote-indented": lambda text: quote("> ")(indent("    ")(text)),
}


def prompts_for(rs: Ruleset) -> list[tuple[str, str]]:
    """(before, after) prompt lines: the command that printed this dump, and the brief's two."""
    first = rs.ordered_tables()[0].name if rs.tables else "filter"
    table = "" if first == "filter" else f"-t {first} "
    if rs.format.startswith("iptables-save"):
        own = "root@node:~# iptables-save -c"
    elif rs.format.startswith("iptables -S"):
        own = f"$ sudo iptables {table}-S"
    else:
        own = f"[root@node ~]# iptables {table}-L -n -v"
    pairs = [(own, "root@node:~# "), ("root@node:~# iptables-save -c", "$ ")]
    if rs.format.startswith(("iptables-save", "iptables -S")):
        pairs.append(("$ sudo iptables -L -n -v", "$"))
    return pairs


def _errors(rs: Ruleset) -> list[str]:
    return [str(d) for d in rs.diagnostics if d.severity is Severity.ERROR]


def _load(text: str, name: str) -> tuple[Ruleset, Snapshot]:
    rs = load_text(text, name)
    rs.resolve_all()
    return rs, snapshot(rs)


@pytest.fixture(scope="module")
def originals() -> dict[Path, tuple[str, Ruleset]]:
    cache: dict[Path, tuple[str, Ruleset]] = {}
    return cache


def _original(path: Path, cache: dict[Path, tuple[str, Ruleset]]) -> tuple[str, Ruleset]:
    if path not in cache:
        text = path.read_text(encoding="utf-8")
        rs = load_text(text, str(path))
        rs.resolve_all()
        assert _errors(rs) == []
        cache[path] = (text, rs)
    return cache[path]


@pytest.mark.skipif(not DUMPS, reason="no dumps to damage")
@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("path", DUMPS, ids=_id)
def test_damaged_copy_loads_the_same(
    path: Path, damage: str, originals: dict[Path, tuple[str, Ruleset]]
) -> None:
    text, rs = _original(path, originals)
    collapse_specs = damage == "collapsed"
    rs2, got = _load(DAMAGES[damage](text), str(path))
    assert _errors(rs2) == []
    assert got == snapshot(rs, collapse_specs=collapse_specs)
    if damage.startswith(("quote", "indent")):
        infos = [d.message for d in rs2.diagnostics if d.severity is Severity.INFO]
        assert any("removed the" in m for m in infos), infos


@pytest.mark.skipif(not DUMPS, reason="no dumps to damage")
@pytest.mark.parametrize("path", DUMPS, ids=_id)
def test_prompt_lines_around_the_dump(
    path: Path, originals: dict[Path, tuple[str, Ruleset]]
) -> None:
    text, rs = _original(path, originals)
    want = snapshot(rs)
    for before, after in prompts_for(rs):
        pasted = f"{before}\n{text.rstrip()}\n{after}\n"
        rs2, got = _load(pasted, str(path))
        assert _errors(rs2) == [], (before, after)
        assert got == want, (before, after)
        skipped = [d for d in rs2.diagnostics if d.severity is Severity.INFO and
                   "shell" in d.message]
        assert pasted.count("\n") in {d.line for d in skipped}, (after, skipped)
        assert not [d for d in rs2.diagnostics if "mixed input" in d.message], before


def test_quote_prefix_keeps_columns_of_the_original() -> None:
    """Diagnostics point into the file as it is: the line, and the column with the `> `."""
    text = ("> *filter\n> :INPUT ACCEPT [0:0]\n>\n> -A INPUT --bogus x -j ACCEPT\n"
            "> -A INPUT -j NOWHERE\n> COMMIT\n")
    rs = load_text(text, "mail.txt")
    rs.resolve_all()
    info = rs.diagnostics[0]
    assert (info.line, info.severity) == (1, Severity.INFO)
    assert "quote" in info.message
    [error] = rs.errors
    assert error.line == 4
    assert error.text == "> -A INPUT --bogus x -j ACCEPT"
    assert error.text[error.col - 1:].startswith("--bogus")
    [warn] = [d for d in rs.diagnostics if d.severity is Severity.WARNING]
    assert warn.line == 5 and warn.text[warn.col - 1:].startswith("NOWHERE")
    rule = rs.tables["filter"].chains["INPUT"].rules[0]
    assert rule.text == "-A INPUT --bogus x -j ACCEPT"  # the rule without the quote


def test_indentation_removed_only_when_common() -> None:
    text = "    *filter\n    :INPUT ACCEPT [0:0]\n      -A INPUT -j ACCEPT\n    COMMIT\n"
    rs = load_text(text, "md.txt")
    assert [d.message for d in rs.diagnostics] == [
        "removed the indentation common to every line (4 spaces; a code block?)"]
    assert rs.tables["filter"].chains["INPUT"].rules[0].text == "  -A INPUT -j ACCEPT"
    mixed = "Here is my firewall:\n    *filter\n    -A INPUT -j ACCEPT\n    COMMIT\n"
    rs2 = load_text(mixed, "blog.txt")
    assert not [d for d in rs2.diagnostics if "removed" in d.message]
    assert [d.line for d in rs2.errors] == [1]
    assert rs2.rule_count == 1


def test_quote_prefix_strict_error_points_into_the_original() -> None:
    from parser.errors import ParseError

    text = "> *filter\n> :INPUT ACCEPT [0:0]\n> :INPUT ACCEPT [0:0]\n> COMMIT\n"
    with pytest.raises(ParseError) as info:
        load_text(text, "mail.txt", strict=True)
    diag = info.value.diagnostic
    assert (diag.line, diag.col, diag.text) == (3, 4, "> :INPUT ACCEPT [0:0]")


def test_a_wrapped_rule_line_is_reported() -> None:
    """A rule line broken where no terminal or mail client would have broken it (its next
    word fits in the widest line) is not joined: the continuation is an error on its own line
    and the rest of the dump still loads. A real wrap is joined, with a warning."""
    text = ('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -m comment\n'
            '--comment "ssh" -j ACCEPT\n-A INPUT -m comment --comment "the longest line of all" '
            '-j DROP\nCOMMIT\n')
    rs = load_text(text, "wrapped.txt")
    assert [d.line for d in rs.errors] == [4]
    assert rs.rule_count == 2
    wrapped = ('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -m comment\n'
               '--comment "ssh" -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n')  # now the widest line
    rs = load_text(wrapped, "wrapped.txt")
    rs.resolve_all()
    assert rs.errors == [] and rs.rule_count == 2
    assert [(d.line, d.severity) for d in rs.diagnostics] == [(4, Severity.WARNING)]


# --- garbage lines (Hypothesis) --------------------------------------------------------------

_SAVE = SAMPLES / "neutron" / "lab-seed-c.save"
_GARBAGE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1, max_size=40,
).map(lambda s: "~" + s.strip())  # never a dump line of any kind (nor a blank one)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_garbage_lines_are_reported_at_their_line_and_the_rest_loads(data: st.DataObject) -> None:
    lines = _SAVE.read_text(encoding="utf-8").splitlines()
    rule_rows = [i for i, ln in enumerate(lines) if "-A " in ln]
    picked = data.draw(st.sets(st.integers(0, len(lines) - 1), min_size=1, max_size=6))
    # the *table / COMMIT lines frame the whole dump: keep them (their loss is its own error)
    picked = {i for i in picked if not lines[i].startswith(("*", "COMMIT"))}
    damaged = list(lines)
    for i in picked:
        damaged[i] = data.draw(_GARBAGE)
    rs = load_text("\n".join(damaged) + "\n", "garbage.txt")
    rs.resolve_all()
    error_lines = {d.line for d in rs.errors}
    assert {i + 1 for i in picked} <= error_lines
    kept = {r.line for r in rs.rules()}
    untouched = {i + 1 for i in rule_rows if i not in picked}
    assert untouched <= kept
    # other errors only follow from a lost line: a rule whose `:CHAIN` line was garbled
    others = [d for d in rs.errors if d.line - 1 not in picked]
    assert all("not declared" in d.message for d in others), [str(d) for d in others]


# --- other damage: encodings, stray bytes, concatenated and cut dumps --------------------------

_SMALL_SAVE = ("# Generated by iptables-save v1.8.9 on Fri Nov 27 19:32:57 2026\n*filter\n"
               ":INPUT ACCEPT [0:0]\n:web - [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -j web\n"
               "-A web -j ACCEPT\nCOMMIT\n")
_SMALL_SPEC = ("-P INPUT ACCEPT\n-N web\n-A INPUT -p tcp -m tcp --dport 80 -j web\n"
               "-A web -j ACCEPT\n")
_SMALL_LIST = ("Chain INPUT (policy ACCEPT)\ntarget prot opt source destination\n"
               "web tcp -- 0.0.0.0/0 0.0.0.0/0 tcp dpt:80\n\nChain web (1 references)\n"
               "target prot opt source destination\nACCEPT all -- 0.0.0.0/0 0.0.0.0/0\n")


@pytest.mark.parametrize("text", [_SMALL_SAVE, _SMALL_SPEC, _SMALL_LIST],
                         ids=["save", "spec", "listing"])
def test_utf8_byte_order_mark(tmp_path: Path, text: str) -> None:
    """Notepad's BOM at the start, and another one where two files were concatenated."""
    want = snapshot(_resolved(load_text(text, "a")))
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    rs = _resolved(load_path(str(path)))
    assert _errors(rs) == [] and snapshot(rs) == want
    second = text.replace("INPUT", "OUTPUT").replace("web", "ssh")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode() + b"\xef\xbb\xbf" + second.encode())
    rs = _resolved(load_path(str(path)))
    assert _errors(rs) == []
    assert rs.rule_count == 4


def test_utf16_with_byte_order_mark(tmp_path: Path) -> None:
    """PowerShell's `iptables-save > fw.txt` (over ssh) writes UTF-16LE with a BOM."""
    path = tmp_path / "ps.txt"
    path.write_bytes(_SMALL_SAVE.replace("\n", "\r\n").encode("utf-16"))
    rs = _resolved(load_path(str(path)))
    assert _errors(rs) == [] and rs.rule_count == 2
    assert "UTF-16" in rs.diagnostics[0].message
    assert snapshot(rs) == snapshot(_resolved(load_text(_SMALL_SAVE, "a")))


def test_a_few_nul_bytes_are_warnings_on_their_lines(tmp_path: Path) -> None:
    data = _SMALL_SAVE.encode().replace(b"-A web -j", b"-A web\x00 -j")
    path = tmp_path / "nul.save"
    path.write_bytes(data + b"\x00" * 300)  # and a crash's NUL padding at the end
    rs = _resolved(load_path(str(path)))
    assert rs.rule_count == 2  # nothing is lost
    nul = [d for d in rs.diagnostics if "NUL" in d.message]
    assert [(d.line, d.col, d.severity) for d in nul] == [
        (6, 7, Severity.WARNING), (8, 1, Severity.INFO)]
    assert nul[0].text == "-A web\ufffd -j ACCEPT"
    assert [d.line for d in rs.errors] == [6]  # `web\ufffd` is not a chain that exists
    assert load_text("*filter\x00\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "t").diagnostics[0].line == 1
    with pytest.raises(LoadError, match="binary"):
        load_text("\x00\x01" * 50 + "\n*filter\n", "bin")


def test_latin1_bytes_in_a_comment_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "latin1.save"
    path.write_bytes(_SMALL_SAVE.replace("-A web -j", '-A web -m comment --comment "caf\xe9" -j')
                     .encode("latin-1"))
    rs = _resolved(load_path(str(path)))
    assert rs.tables["filter"].chains["web"].rules[0].comment == "caf\xe9"
    (diag,) = rs.diagnostics
    assert (diag.line, diag.col, diag.severity) == (6, 33, Severity.WARNING)
    assert "Latin-1" in diag.message


def test_save_dump_pasted_after_spec_output_keeps_its_header_and_table() -> None:
    text = _SMALL_SPEC + _SMALL_SAVE.replace("filter", "nat").replace("INPUT", "PREROUTING")
    rs = _resolved(load_text(text, "both.txt"))
    assert _errors(rs) == []
    assert sorted(rs.tables) == ["filter", "nat"]
    assert rs.tables["nat"].line == 6  # the `*nat` line, not swallowed as a -S table hint
    assert rs.generated is not None and rs.generated.startswith("Generated by iptables-save")


def test_second_dump_of_the_same_table_is_reported_not_merged_silently() -> None:
    for second in (_SMALL_LIST, _SMALL_SPEC):
        rs = load_text(_SMALL_SAVE + second, "twice.txt")
        assert rs.rule_count == 2
        assert any("appears again" in d.message and d.severity is Severity.WARNING
                   for d in rs.diagnostics)
    rs = _resolved(load_text(_SMALL_SPEC + _SMALL_SPEC, "two-S.txt"))
    assert rs.rule_count == 4  # a doubled paste: both copies kept, and said
    assert any("second -S block" in d.message for d in rs.diagnostics)


def test_listing_cut_in_the_middle_of_a_row() -> None:
    cut = _SMALL_LIST.rstrip("\n")[:-12]
    rs = _resolved(load_text(cut, "cut.txt"))
    assert [d.line for d in rs.errors] == [7]
    assert rs.rule_count == 1


@pytest.mark.parametrize("line", [
    "-A INPUT " + "-m comment --comment x " * 5000 + "-j ACCEPT",
    "x" * 100_000,
    "-A INPUT -m comment --comment \"" + "y" * 100_000 + "\" -j ACCEPT",
])
def test_a_line_of_100k_characters(line: str) -> None:
    text = _SMALL_SAVE.replace("COMMIT", line + "\nCOMMIT")
    rs = _resolved(load_text(text, "long.txt"))
    assert {d.line for d in rs.errors} <= {7}
    assert rs.rule_count == 2 + (line.startswith("-A"))
    row = "ACCEPT all -- 0.0.0.0/0 0.0.0.0/0 " + "z" * 100_000
    rs = _resolved(load_text(_SMALL_LIST + row + "\n", "long.txt"))
    assert rs.rule_count == 3 and rs.errors == []


def _resolved(rs: Ruleset) -> Ruleset:
    rs.resolve_all()
    return rs


@pytest.mark.parametrize("row", ["² Chain", "1 ² 0 ACCEPT all -- * * 0.0.0.0/0 0.0.0.0/0",
                                 "ACCEPT ² -- 0.0.0.0/0 0.0.0.0/0",
                                 "LOG all -- 0.0.0.0/0 0.0.0.0/0 LOG flags 0 level ²"])
def test_unicode_digits_in_a_listing_are_bad_words_not_a_crash(row: str) -> None:
    """`'²'.isdigit()` is True but `int('²')` fails: found by test_listing's fuzz test."""
    rs = _resolved(load_text(f"Chain INPUT (policy ACCEPT)\n{row}\n", "digits.txt"))
    assert not [d for d in rs.diagnostics if "internal error" in d.message]


def test_an_unexpected_failure_in_a_listing_row_costs_that_row_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import parser.listing as listing

    real = listing._Loader.row_line

    def flaky(self: listing._Loader, line: str, text: str, lineno: int) -> None:
        if "tcp" in line:
            raise ValueError("boom")
        real(self, line, text, lineno)

    monkeypatch.setattr(listing._Loader, "row_line", flaky)
    rs = load_text(_SMALL_LIST, "flaky.txt")
    assert [(d.line, d.severity) for d in rs.errors] == [(3, Severity.ERROR)]
    assert "internal error" in rs.errors[0].message
    assert rs.rule_count == 1 and sorted(rs.tables["filter"].chains) == ["INPUT", "web"]


def test_family_detection_is_linear_in_a_long_hex_run() -> None:
    """A 100k-character hex string (`--hex-string`, a u32 match) used to be rescanned from each
    of its characters while looking for IPv6 addresses (~13 s)."""
    import time

    from parser.load import detect_family
    from ruleset.model import Family

    start = time.perf_counter()
    assert detect_family("-A INPUT -s ::1 -m comment --comment " + "ab" * 50_000) is Family.IPV6
    assert detect_family("-m string --hex-string |" + "0a" * 50_000 + "|") is Family.IPV4
    assert time.perf_counter() - start < 2.0


def test_deep_quote_levels() -> None:
    text = "".join(f"{'> ' * 3}{ln}\n" for ln in _SMALL_SAVE.splitlines())
    rs = _resolved(load_text(text, "thread.txt"))
    assert _errors(rs) == [] and rs.rule_count == 2
    assert "(>>>)" in rs.diagnostics[0].message
    rs = _resolved(load_text("> " * 50_000 + "*filter\n", "deep.txt"))  # no slow pass per level
    assert rs.tables == {} or rs.rule_count == 0


@pytest.mark.parametrize("between", ["", "\n$ sudo iptables -t nat -L -n -v\n"],
                         ids=["bare", "prompt"])
def test_a_cut_save_dump_then_a_listing_keeps_the_listing(between: str) -> None:
    """The save dump lost its COMMIT; the listing after it used to become errors, line by line."""
    cut = _SMALL_SAVE.replace("COMMIT\n", "")
    nat = ("Chain POSTROUTING (policy ACCEPT)\ntarget prot opt source destination\n"
           "MASQUERADE all -- 10.0.0.0/8 0.0.0.0/0\n")
    rs = _resolved(load_text(cut + between + nat, "cut.txt"))
    assert sorted(rs.tables) == ["filter", "nat"] and rs.rule_count == 3
    (error,) = rs.errors
    assert "no COMMIT" in error.message
    assert (error.line, error.text) == (6, "-A web -j ACCEPT")  # the dump's last line


@pytest.mark.parametrize("text", ["\ufeff\n", ">\n>\n", "> \n \n>\n", "\n\n\x00\x00"])
def test_nothing_left_after_the_paste_damage_is_empty_input(text: str) -> None:
    with pytest.raises(LoadError, match="empty input"):
        load_text(text, "empty.txt")


def test_prompt_lines_only_say_there_is_no_dump() -> None:
    rs = load_text("root@node:~# iptables-save\nroot@node:~#\n", "prompts.txt")
    assert rs.tables == {}
    assert any(d.severity is Severity.WARNING and "no table, chain or rule" in d.message
               for d in rs.diagnostics)


def test_indentation_note_names_tabs() -> None:
    rs = load_text("\t\t*filter\n\t\tCOMMIT\n", "tabs.txt")
    assert "(2 tabs;" in rs.diagnostics[0].message

"""Splitting rule text into words: iptables-save quoting and shell quoting."""

from __future__ import annotations

import pytest

from parser.tokens import (
    TokenError,
    is_count,
    split_quoted,
    split_shell,
    split_words,
    split_words_at,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("-s 1.2.3.4 -j ACCEPT", ["-s", "1.2.3.4", "-j", "ACCEPT"]),
        ('--comment "a \\"b\\""', ["--comment", 'a "b"']),
        ('--comment "it\\\'s"', ["--comment", "it's"]),
        ('--comment "back\\\\slash"', ["--comment", "back\\slash"]),
        ('--comment ""', ["--comment", ""]),
        ('x"y z"w', ["xy zw"]),
        ("--match-set weave-;rGqyMIl1HN^cfDki~Z$3]6!N dst",
         ["--match-set", "weave-;rGqyMIl1HN^cfDki~Z$3]6!N", "dst"]),
        ("  a\t b  ", ["a", "b"]),
    ],
)
def test_split_words(text: str, words: list[str]) -> None:
    assert split_words(text) == words


def test_split_quoted_marks_quoted_words() -> None:
    assert split_quoted('-m comment --comment "-j X" -j Y') == (
        ["-m", "comment", "--comment", "-j X", "-j", "Y"], {3})
    assert split_quoted("-j Y") == (["-j", "Y"], None)


@pytest.mark.parametrize(("text", "col"), [('a "b', 3), ('a "b\\"', 3), ('"', 1)])
def test_unterminated_quote(text: str, col: int) -> None:
    with pytest.raises(TokenError) as info:
        split_quoted(text)
    assert info.value.col == col


def test_split_words_at_gives_columns() -> None:
    located = split_words_at('  -s x --c "a b"', offset=10)
    assert located.words == ["-s", "x", "--c", "a b"]
    assert located.starts == [12, 15, 17, 21]
    assert located.quoted == [False, False, False, True]


def test_split_shell() -> None:
    located = split_shell("iptables -A X -m comment --comment 'hi there' -j \"A B\" c\\ d")
    assert located.words == ["iptables", "-A", "X", "-m", "comment", "--comment", "hi there",
                             "-j", "A B", "c d"]
    assert located.quoted[6] and located.quoted[8] and not located.quoted[7]
    with pytest.raises(TokenError) as info:
        split_shell("-A X --comment 'open")
    assert info.value.col == 16


def test_is_count() -> None:
    assert is_count("123")
    assert not is_count("²")
    assert not is_count("")
    assert not is_count("-1")

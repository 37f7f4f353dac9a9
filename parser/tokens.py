"""Split rule text into words the way iptables-restore does.

iptables-save prints a word that needs it in double quotes, escaping `"`, `\\` and `'` with a
backslash (`--comment "a \\"b\\""`); every other word is printed bare, whatever characters it
holds (ipset names such as `weave-;rGqyMIl1HN^cfDki~Z$3]6!N`). `split_words` is the fast path
used for every rule of a dump; `split_words_at` also returns where each word starts (for
diagnostics) and `split_shell` accepts the single quotes a user types in a shell command line.
"""

from __future__ import annotations

import re
from typing import NamedTuple


def is_count(word: str) -> bool:
    """True for a plain ASCII decimal number (`str.isdigit` also accepts `²` and `٣`)."""
    return word.isascii() and word.isdigit()


class TokenError(ValueError):
    """Text that cannot be split into words; `col` is 1-based."""

    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.col = col


class Words(NamedTuple):
    """Words of a line, the 0-based column where each starts, and which were quoted."""

    words: list[str]
    starts: list[int]
    quoted: list[bool]


# A word is a run of bare characters and double-quoted segments (`--x "a b"c` is one word, as in
# iptables-restore). Inside quotes a backslash escapes the next character.
_WORD = re.compile(r'(?:[^\s"]|"(?:[^"\\]|\\.)*")+', re.DOTALL)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_QUOTED_SEGMENT = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


def _unquote(word: str) -> str:
    return _QUOTED_SEGMENT.sub(lambda m: _UNESCAPE.sub(r"\1", m.group(1)), word)


def _check_balanced(text: str) -> None:
    """Raise TokenError when a double quote is never closed."""
    in_quote = False
    escaped = False
    start = 0
    for i, ch in enumerate(text):
        if in_quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
            start = i
    if in_quote:
        raise TokenError("unterminated quoted string (line cut mid-quote?)", start + 1)


def split_words(text: str) -> list[str]:
    """The words of `text`, unquoted. Raises TokenError on an unterminated quote."""
    if '"' not in text:
        return text.split()
    return split_quoted(text)[0]


def split_quoted(text: str) -> tuple[list[str], set[int] | None]:
    """Words of `text` and the indices of those that were (partly) quoted (None if none)."""
    if '"' not in text:
        return text.split(), None
    words = _WORD.findall(text)
    # findall skips only whitespace and quotes that open no closed segment
    if sum(w.count('"') for w in words) != text.count('"'):
        _check_balanced(text)
        raise TokenError("stray double quote", text.index('"') + 1)  # pragma: no cover
    quoted = {i for i, w in enumerate(words) if '"' in w}
    return [_unquote(w) if '"' in w else w for w in words], quoted


def split_words_at(text: str, offset: int = 0) -> Words:
    """Words with their 0-based start columns (plus `offset`) and quoted flags."""
    _check_balanced(text)
    words: list[str] = []
    starts: list[int] = []
    quoted: list[bool] = []
    for m in _WORD.finditer(text):
        w = m.group(0)
        q = '"' in w
        words.append(_unquote(w) if q else w)
        starts.append(m.start() + offset)
        quoted.append(q)
    return Words(words, starts, quoted)


_SHELL_WORD = re.compile(r"""(?:[^\s"'\\]|\\.|"(?:[^"\\]|\\.)*"|'[^']*')+""", re.DOTALL)
_SHELL_PART = re.compile(r"""\\(.)|"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"'\\]+)""", re.DOTALL)


def _shell_unquote(word: str) -> str:
    out: list[str] = []
    for m in _SHELL_PART.finditer(word):
        esc, dq, sq, bare = m.groups()
        if esc is not None:
            out.append(esc)
        elif dq is not None:
            out.append(_UNESCAPE.sub(r"\1", dq))
        elif sq is not None:
            out.append(sq)
        else:
            out.append(bare or "")
    return "".join(out)


def split_shell(text: str) -> Words:
    """Words of a shell command line: double and single quotes, backslash escapes."""
    words: list[str] = []
    starts: list[int] = []
    quoted: list[bool] = []
    pos = 0
    n = len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        m = _SHELL_WORD.match(text, pos)
        if m is None:
            quote_char = text[pos] if text[pos] in "\"'" else '"'
            raise TokenError(f"unterminated {quote_char} quote", pos + 1)
        w = m.group(0)
        end = m.end()
        if end < n and not text[end].isspace():
            # a quote that never closes stops the word short
            raise TokenError(f"unterminated {text[end]} quote", end + 1)
        q = any(c in w for c in "\"'\\")
        words.append(_shell_unquote(w) if q else w)
        starts.append(pos)
        quoted.append(q)
        pos = end
    return Words(words, starts, quoted)

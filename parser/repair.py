"""Repairs for the damage a paste does to a dump, each one reported where it was made.

Three kinds of damage that used to be reported as errors are undone here, mechanically:

- ANSI escape sequences (`grep --color=always`, `less -R`, a coloured prompt): removed.
- "Smart" punctuation from blogs and word processors, outside quoted text only: an en dash,
  em dash or minus sign where an option dash belongs (`–A`, `—dport`, a lone `–dport` means
  `--dport`, a `—` opt column in a listing means `--`), curly quotes delimiting a quoted string
  (`“ssh access”`), non-breaking and other Unicode spaces. Text inside a quoted string or a
  listing's `/* comment */` is kept as it is: `--comment "it’s fine"` keeps its apostrophe.
- Lines wrapped by a terminal or a mail client at a fixed width: a line that cannot start a
  statement is joined to the rule line before it (with no space when the break was mid-word,
  which a terminal-wrapped line at exactly the wrap width tells) when the joined line parses;
  otherwise nothing is joined and the lines stay errors. Continuation lines are left blank, so
  line numbers of everything else are unchanged.
- Lines a screen capture wrapped and padded with spaces to the next row (`-j ACC<spaces>EPT`):
  the padding is removed where the rule only parses that way (the wrap was mid-word).

Every change is an info (characters) or warning (joins) `Diagnostic` naming FILE:LINE:COL in
the input as it was, and `RepairMap` moves the columns of later diagnostics back into the
original lines. The loader gates each repair behind a cheap check (`"\\x1b" in text`,
`text.isascii()`, errors from a first load), so clean dumps pay nothing for it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from parser.detect import LISTING, detect_kind, line_kind, prompt_args
from parser.diagnostics import LineMap, RuleSyntaxError
from ruleset.model import Diagnostic, Family, Severity

if TYPE_CHECKING:  # parser.listing (and pyparsing) only load when a listing is repaired
    from collections.abc import Callable

    from parser.listing import _Layout

__all__ = [
    "TERMINAL_WIDTHS", "RepairMap", "Stage", "join_wrapped", "repair_chars", "stage_of_shifts",
    "unpad",
]

# (first column in the repaired line, line in the stage's input, its column): 0-based. A column
# c >= first maps to (line, column + c - first) through the last segment starting at or before c.
Segment = tuple[int, int, int]
Stage = dict[int, list[Segment]]  # repaired line index (0-based) -> segments; absent: unchanged

NOTE_LIMIT = 10  # per kind of repair: one diagnostic per line up to here, then a summary


class RepairMap(LineMap):
    """Where each column of the repaired lines came from, through every repair stage (ANSI
    and punctuation, prefix removal, joins): diagnostics are moved back into the input."""

    __slots__ = ("stages",)

    def __init__(self, originals: list[str], stages: list[Stage]) -> None:
        super().__init__(originals, {})
        self.stages = stages

    def locate(self, line: int, col: int) -> tuple[int, int]:
        """The 1-based (line, column) in the input of a 1-based position in the repaired
        lines."""
        ln, c = line - 1, col - 1
        for stage in reversed(self.stages):
            segments = stage.get(ln)
            if not segments:
                continue
            seg = segments[0]
            for s in segments:
                if s[0] > c:
                    break
                seg = s
            ln, c = seg[1], max(seg[2] + c - seg[0], 0)
        return ln + 1, c + 1

    def touched(self, line: int) -> bool:
        ln = line - 1
        return any(ln in stage for stage in self.stages)

    def fix(self, diag: Diagnostic) -> Diagnostic:
        if not self.touched(diag.line):
            return diag
        line, col = self.locate(diag.line, diag.col)
        text = ""
        if diag.text and 0 < line <= len(self.originals):
            text = shown(self.originals[line - 1])
        return replace(diag, line=line, col=col, text=text)


def shown(line: str) -> str:
    """An input line as a diagnostic shows it: an escape character as `␛` (same column), so
    printing it never recolours the terminal."""
    return line.rstrip().replace("\x1b", "\u241b")


def stage_of_shifts(shifts: dict[int, int]) -> Stage:
    """The stage of `strip_prefixes`' LineMap: characters removed from the start of lines."""
    return {line - 1: [(0, line - 1, k)] for line, k in shifts.items()}


class _Notes:
    """Repair diagnostics of one kind: one per line up to NOTE_LIMIT, then a summary."""

    def __init__(self, path: str, severity: Severity) -> None:
        self.path = path
        self.severity = severity
        self.out: list[Diagnostic] = []
        self.more: list[int] = []
        self.summary = ""

    def add(
        self, line: int, col: int, message: Callable[[], str], text: str, summary: str
    ) -> None:
        """A note made by `message()` (called only for the first NOTE_LIMIT lines)."""
        if len(self.out) < NOTE_LIMIT:
            self.out.append(Diagnostic(self.path, line, col, self.severity, message(),
                                       shown(text)))
        else:
            self.more.append(line)
            self.summary = summary

    def done(self) -> list[Diagnostic]:
        if self.more:
            first = self.more[0]
            self.out.append(Diagnostic(
                self.path, first, 1, self.severity,
                f"{self.summary} on {len(self.more)} more lines too (lines {first}-"
                f"{self.more[-1]})"))
        return self.out


# --------------------------------------------------------------------------------------------
# Characters: ANSI escape sequences and smart punctuation
# --------------------------------------------------------------------------------------------

# CSI (`ESC [ ... m`, `ESC [ K`), OSC (`ESC ] 0;title BEL`, a prompt's window title), and the
# two-character escapes; a lone ESC is removed too.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]|)")
_DASHES = "\u2013\u2014\u2212"
_OPEN_QUOTES = {"\u201c": '"', "\u201d": '"', '"': '"', "\u2018": "'", "\u2019": "'"}
_CLOSE_OF = {'"': '"\u201c\u201d', "'": "\u2018\u2019"}
_SPACES = frozenset("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                    "\u2009\u200a\u202f\u205f\u3000")
_SMART = frozenset(_DASHES) | frozenset("\u201c\u201d\u2018\u2019") | _SPACES
# Options whose value is free text: their bare (unquoted) value word is never touched.
_FREE_TEXT = frozenset({"--comment", "--log-prefix", "--nflog-prefix", "--ulog-prefix",
                        "--string", "--hex-string"})
_FREE_LENGTHS = frozenset(len(w) for w in _FREE_TEXT)
_OPT_CHARS = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_WORD_REST = re.compile("[^ \t" + "".join(sorted(_SPACES)) + "]*")


def repair_chars(
    lines: list[str], path: str, *, ansi: bool, smart: bool
) -> tuple[list[str], Stage, list[Diagnostic], dict[int, tuple[int, int]]]:
    """The lines without ANSI escapes (`ansi`) and with smart punctuation made ASCII where an
    option or a delimiter belongs (`smart`); the stage mapping columns back; the notes; the
    width each line and its first word had on screen where the punctuation was repaired (a
    wrap happened at those widths: `join_wrapped` measures with them)."""
    out = list(lines)
    stage: Stage = {}
    widths: dict[int, tuple[int, int]] = {}
    escapes = _Notes(path, Severity.INFO)
    punct = _Notes(path, Severity.INFO)
    carry: str | None = None
    carried = 0
    for i, line in enumerate(lines):
        src: list[int] | None = None
        text = line
        if ansi and "\x1b" in line:
            text, src, count, first = _strip_ansi(line)
            if count:
                escapes.add(i + 1, first + 1, partial(_ansi_message, count), line,
                            "removed ANSI escape sequences")
        if smart and (carry is not None or (
                not text.isascii() and not _SMART.isdisjoint(text))):
            fixed, src2, changes, carry = _fix_punctuation(text, carry)
            carried = carried + 1 if carry is not None else 0
            if carried > 3:  # not a wrapped quoted string: an unclosed quote
                carry, carried = None, 0
            if changes:
                first_col = (src[src2[changes[0][0]]] if src else src2[changes[0][0]])
                punct.add(i + 1, first_col + 1, partial(_describe, changes), line,
                          "replaced smart punctuation")
                src = [src[k] for k in src2] if src else src2
                # as it was on screen: a no-break space held words together
                lead = text.lstrip(" \t")
                cut = min((k for k in (lead.find(" "), lead.find("\t")) if k >= 0),
                          default=len(lead))
                widths[i] = (len(text.rstrip()), cut)
                text = fixed
        if src is not None and text != line:
            out[i] = text
            stage[i] = _segments(src, i)
    return out, stage, escapes.done() + punct.done(), widths


def _ansi_message(count: int) -> str:
    return (f"removed {count} ANSI escape sequence{'s' if count > 1 else ''} (terminal "
            "colours: grep --color, less -R, a coloured prompt)")


def _describe(changed: list[tuple[int, str]]) -> str:
    """`replaced 2 dashes (U+2013, U+2014) with option dashes (-A, --dport), ...` from the
    change keys of `_fix_punctuation` (`dash U+2013 -A`, `quote U+201C "`, `space U+00A0 `)."""
    changes = [c[1] for c in changed]
    parts: list[str] = []
    for kind, plural, what in (("dash", "dashes", "option dashes"), ("quote", "quotes", ""),
                               ("space", "Unicode spaces", "spaces")):
        found = [c.split(" ", 2) for c in changes if c.startswith(kind)]
        if not found:
            continue
        codes = ", ".join(dict.fromkeys(f[1] for f in found))
        if kind == "dash":
            dashes = ", ".join(dict.fromkeys(f[2] for f in found))
            parts.append(f"{len(found)} {'dash' if len(found) == 1 else plural} ({codes}) "
                         f"with {what} ({dashes})")
        elif kind == "quote":
            parts.append(f"{len(found)} curly {'quote' if len(found) == 1 else plural} "
                         f"({codes}) delimiting a string with ASCII quotes")
        else:
            parts.append(f"{len(found)} {'Unicode space' if len(found) == 1 else plural} "
                         f"({codes}) with {what}")
    return "replaced " + "; ".join(parts)


def _strip_ansi(line: str) -> tuple[str, list[int], int, int]:
    """The line without escapes, the source column of each kept character (and of the end),
    how many escapes there were, and the first one's column."""
    parts: list[str] = []
    src: list[int] = []
    pos = 0
    count = 0
    first = -1
    for m in _ANSI.finditer(line):
        if first < 0:
            first = m.start()
        count += 1
        parts.append(line[pos:m.start()])
        src.extend(range(pos, m.start()))
        pos = m.end()
    parts.append(line[pos:])
    src.extend(range(pos, len(line) + 1))
    return "".join(parts), src, count, first


def _segments(src: list[int], line: int) -> list[Segment]:
    segs: list[Segment] = []
    prev = -2
    for c, s in enumerate(src):
        if s != prev + 1:
            segs.append((c, line, s))
        prev = s
    return segs


def _fix_punctuation(
    line: str, carry: str | None = None
) -> tuple[str, list[int], list[tuple[int, str]], str | None]:
    """(repaired line, source column per character and end, [(output column, what)], the
    quote still open at its end). `carry`: the line starts inside a quoted string (the
    previous line was wrapped inside it)."""
    out: list[str] = []
    src: list[int] = []
    changes: list[tuple[int, str]] = []
    n = len(line)
    i = 0
    word_start = True
    word_begin = word_end = 0  # the last word in `out`
    chain_line = line.lstrip().startswith(":")

    def emit(chars: str, at: int, what: str | None = None, copied: bool = False) -> None:
        """Append `chars` made from `line[at]` (`copied`: `line[at:at + len(chars)]`)."""
        if what is not None:
            changes.append((len(out), what))
        out.extend(chars)
        if copied:
            src.extend(range(at, at + len(chars)))
        else:
            src.extend([at] * len(chars))

    if carry is not None:
        i, carry = _quoted_body(line, 0, _closer(line, 0, carry), carry, emit)
    while i < n:
        ch = line[i]
        if ch in _SPACES or ch == " " or ch == "\t":
            if ch in _SPACES:
                emit(" ", i, f"space U+{ord(ch):04X} ")
            else:
                emit(ch, i)
            if not word_start:
                word_end = len(out) - 1
            word_start = True
            i += 1
            continue
        if word_start:
            free = word_end - word_begin in _FREE_LENGTHS and (
                "".join(out[word_begin:word_end]) in _FREE_TEXT)
            word_begin = len(out)
            word_start = False
            if line.startswith("/*", i):  # a listing's comment: kept up to `*/`
                end = line.find("*/", i + 2)
                end = n if end < 0 else end + 2
                emit(line[i:end], i, None, True)
                i = end
                continue
            if ch in _OPEN_QUOTES:
                after_quote = _quoted(line, i, emit)
                if after_quote is not None:
                    i, carry = after_quote
                    continue
            if free:  # a bare comment word: as it is
                j = i
                while j < n and not (line[j].isspace() or line[j] in _SPACES):
                    j += 1
                emit(line[i:j], i, None, True)
                i = j
                continue
            if ch in _DASHES or (ch == "-" and i + 1 < n and line[i + 1] in _DASHES):
                j = i
                while j < n and j - i < 2 and (line[j] in _DASHES or line[j] == "-"):
                    j += 1
                run = line[i:j]
                if any(c in _DASHES for c in run):
                    m = _OPT_CHARS.match(line, j)
                    after = line[j] if j < n else " "
                    names = " ".join(f"U+{ord(c):04X}" for c in run if c in _DASHES)
                    if m is not None:
                        dash = "--" if len(run) == 2 or m.end() - j > 1 else "-"
                        emit(dash, i, f"dash {names} {dash}{m.group(0)}")
                        i = j
                        continue
                    if after.isspace() or after in _SPACES:  # `all — 0.0.0.0/0`: opt `--`
                        dash = "-" if chain_line else "--"  # `:web – [0:0]`: no policy
                        emit(dash, i, f"dash {names} {dash}")
                        i = j
                        continue
        m = _WORD_REST.match(line, i)  # the rest of the word: copied as it is
        j = m.end() if m is not None and m.end() > i else i + 1
        out.extend(line[i:j])
        src.extend(range(i, j))
        i = j
    src.append(n)
    return "".join(out), src, changes, carry


def _quoted(line: str, i: int, emit: Callable[..., None]) -> tuple[int, str | None] | None:
    """Copy a quoted string starting at `line[i]`: curly delimiters become ASCII, its text is
    kept as it is. Returns the index after it and, when the line ends inside it (a wrapped
    line), the ASCII quote still open; None when a curly single quote opens nothing (`’tis`:
    copied as any character)."""
    opener = line[i]
    ascii_quote = _OPEN_QUOTES[opener]
    close = _closer(line, i + 1, ascii_quote)
    if close < 0 and ascii_quote == "'":
        return None
    if opener != ascii_quote:
        emit(ascii_quote, i, f"quote U+{ord(opener):04X} {ascii_quote}")
    else:
        emit(opener, i)
    return _quoted_body(line, i + 1, close, ascii_quote, emit)


def _closer(line: str, j: int, ascii_quote: str) -> int:
    """Where the quoted string going on at `line[j]` closes (-1: not on this line)."""
    closers = _CLOSE_OF[ascii_quote]
    n = len(line)
    while j < n:
        c = line[j]
        if c == "\\" and ascii_quote == '"':
            j += 2
            continue
        if c in closers and (j + 1 >= n or line[j + 1].isspace() or line[j + 1] in _SPACES):
            return j
        j += 1
    return -1


def _quoted_body(
    line: str, j: int, close: int, ascii_quote: str, emit: Callable[..., None]
) -> tuple[int, str | None]:
    end = len(line) if close < 0 else close
    emit(line[j:end], j, None, True)
    if close < 0:
        return end, ascii_quote
    c = line[close]
    if c != ascii_quote:
        emit(ascii_quote, close, f"quote U+{ord(c):04X} {ascii_quote}")
    else:
        emit(c, close)
    return close + 1, None


# --------------------------------------------------------------------------------------------
# Wrapped lines
# --------------------------------------------------------------------------------------------

_SAVE_START = re.compile(
    r"\s*(?:\*\w+\s*$|:\S+\s+(?:ACCEPT|DROP|RETURN|QUEUE|-)(?:\s+\[\d+:\d+\])?\s*$"
    r"|\[\d+:\d+\]\s|COMMIT\s*$|#"
    r"|-[AINPDRXFZE](?:\s|$))")
_RULE_HEAD = re.compile(r"\s*(?:\[\d+:\d+\]\s+)?-[AIR]\s+\S+(?:\s+\d+(?=\s+-))?\s*")
_TABLE_HINT = re.compile(r"\*\w+\s*$")
_OPT_COLUMN = frozenset({"--", "-f", "!f", "!-f", "-?", "!?"})
# usual terminal widths: one cut at exactly such a width is a terminal's (72, 76: mail's)
TERMINAL_WIDTHS = frozenset({80, 100, 120, 132, 160, 200})

# roles of a line for joining
_CONT = 0  # cannot start anything: a continuation candidate
_RULE = 1  # a rule line of iptables-save / -S: takes continuations
_ROW = 2  # a listing row, whole or cut: takes continuations
_HEAD = 3  # a comment line of a save / -S dump: takes its wrapped end
_COLS = 4  # a listing's column header: takes its last words
_OTHER = 5  # anything else: takes none
_TAKERS = (_RULE, _ROW, _HEAD, _COLS)
_HEADER_WORDS = frozenset({"num", "pkts", "bytes", "target", "prot", "opt", "in", "out",
                           "source", "destination"})

# start line, its role, listing layout, continuations, listing rows have an opt column
Group = tuple[int, int, "_Layout | None", list[int], bool]


def join_wrapped(
    lines: list[str], path: str, forced: str | None, family: Family,
    widths: dict[int, tuple[int, int]] | None = None,
) -> tuple[list[str], Stage, list[Diagnostic]] | None:
    """Lines with wrapped rule lines joined (continuations left blank), the stage mapping the
    joined columns back, and a warning per join; None when nothing was joined. `widths`: the
    width on screen of lines, and of their first word, where a repair changed them."""
    groups = _groups(lines, forced, family)
    if not groups:
        return None
    sizes = [len(ln.rstrip()) for ln in lines]  # a run of spaces may end a line past it
    firsts: dict[int, int] = {}
    for i, (w, first) in (widths or {}).items():
        sizes[i] = w
        firsts[i] = first
    width = max(sizes)
    # breaks with no whitespace on either side: a terminal's cut at exactly the width, or a
    # mail client's break at a space it dropped (anywhere up to the width)
    ambiguous = [p for start, _r, _l, conts, _o in groups
                 for p, c in zip([start, *conts[:-1]], conts, strict=False)
                 if not (lines[p][-1:].isspace() or lines[c][:1].isspace())]
    exact = sum(1 for p in ambiguous if sizes[p] == width)
    # a terminal cuts at exactly its width, mid-word; a mail client breaks at a space, which
    # it drops. The groups whose joins read better one way vote; else the widths tell.
    votes = sum(_vote(lines, sizes, g, width, family) for g in groups[:200])
    if votes:
        terminal = votes < 0
    else:
        terminal = (exact * 5 > len(ambiguous) * 4
                    and (exact >= 2 or width in TERMINAL_WIDTHS))
    out = list(lines)
    stage: Stage = {}
    notes = _Notes(path, Severity.WARNING)
    for group in groups:
        start, all_conts = group[0], group[3]
        k = 0  # only the continuations up to the first break that is not a wrap
        prev = start
        while k < len(all_conts) and _fits(lines[prev], sizes[prev], lines[all_conts[k]],
                                           width, firsts.get(all_conts[k])):
            prev = all_conts[k]
            k += 1
        conts = all_conts[:k]
        if not conts:
            continue
        found = _best_join(lines, sizes, group, conts, width, terminal, family)
        if found is None:
            continue
        used, seps = found
        pieces = [start, *used]
        text_parts: list[str] = []
        segs: list[Segment] = []
        col = 0
        for n, idx in enumerate(pieces):
            if n and seps[n - 1]:
                segs.append((col, pieces[n - 1], len(lines[pieces[n - 1]])))
                text_parts.append(seps[n - 1])
                col += len(seps[n - 1])
            segs.append((col, idx, 0))
            text_parts.append(lines[idx])
            col += len(lines[idx])
        out[start] = "".join(text_parts)
        stage[start] = segs
        for n, idx in enumerate(used):
            before = lines[pieces[n]]
            spaced = seps[n] != "" or before[-1:].isspace() or lines[idx][:1].isspace()
            notes.add(idx + 1, 1, partial(_join_message, start + 1, spaced, sizes[pieces[n]]),
                      lines[idx], "joined wrapped lines")
            out[idx] = ""
    if not stage:
        return None
    return out, stage, notes.done()


def _join_message(line: int, spaced: bool, width: int) -> str:
    return (f"joined this line to line {line}: a long line wrapped "
            f"{'at a space' if spaced else 'mid-word'} (after {width} columns)")


def _fits(prev: str, size: int, cont: str, width: int, first_width: int | None) -> bool:
    """True when the break between `prev` (`size` columns wide without trailing blanks) and
    `cont` looks like a wrap: the first word of `cont` (`first_width` columns on screen when
    known) would not have fitted after it within the widest line (after its trailing blanks:
    a listing's padding)."""
    first = cont.split(None, 1)[0] if cont.strip() else ""
    if first_width is not None:
        first = "x" * first_width
    if len(prev) >= width:
        return True
    if prev[-1:].isspace():
        return len(prev) + len(first) > width
    return size + 1 + len(first) > width


def _groups(lines: list[str], forced: str | None, family: Family) -> list[Group]:
    """(start line, its role, listing layout, continuation lines) of every line followed by
    continuation candidates."""
    mode = forced or detect_kind(lines, 0)
    layout: _Layout | None = None
    opt = family is Family.IPV4  # rows have an opt column (ip6tables leaves it blank)
    groups: list[Group] = []
    taker: Group | None = None
    last = -2
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            taker = None
            continue
        role = -1
        if forced is None:
            kind = line_kind(s)
            if kind is not None and kind != mode:
                if taker is not None and last == i - 1:  # `:1:65535 flags: ...` goes on
                    role = _role(mode, line, s, layout, opt)[0]
                if role != _CONT:
                    mode, role = kind, -1
        if role == -1:
            role, layout, opt = _role(mode, line, s, layout, opt)
        if role == _CONT and prompt_args(s) is not None:
            role = _OTHER
        if role == _CONT:
            if taker is not None and last == i - 1:
                if not taker[3]:
                    groups.append(taker)
                taker[3].append(i)
                last = i
                if taker[1] == _COLS:  # a column header's last words: its layout
                    words = " ".join(lines[k] for k in (taker[0], *taker[3])).split()
                    layout = _layout_of(words)
            continue
        taker = ((i, role, layout if mode == LISTING else None, [], opt) if role in _TAKERS
                 else None)
        last = i
    return groups


def _role(
    mode: str, line: str, s: str, layout: _Layout | None, opt: bool
) -> tuple[int, _Layout | None, bool]:
    if mode == LISTING:
        return _listing_role(line, s, layout, opt)
    return _save_role(s), layout, opt


def _save_role(s: str) -> int:
    if _SAVE_START.match(s) is None:
        return _CONT
    if s.startswith("#"):  # a comment: its wrapped end is more comment
        return _HEAD
    if _RULE_HEAD.match(s) is not None:
        return _RULE
    return _OTHER


def _listing_role(
    line: str, s: str, layout: _Layout | None, opt: bool
) -> tuple[int, _Layout | None, bool]:
    """The role of a listing line, and the layout and opt column the rows after it have."""
    from parser.listing import _parse_row, _RowError

    if s.startswith("Chain ") or s[0] in "#$" or _TABLE_HINT.match(s):
        return _OTHER, layout, opt
    words = s.split()
    if "target" in words and "prot" in words and "source" in words:
        return _COLS, _layout_of(words), opt
    use = layout or _guess_layout(words)
    try:
        row = _parse_row(line, use)
    except _RowError:
        pass
    else:
        # a row without its opt column under a header with one is a wrapped line's end
        # (`4789 /* vxlan */` reads as protocol 4789, source `/*`)
        if not (row.missing_opt and opt):
            return _ROW, layout, opt
    return (_ROW if _row_prefix(words, use) else _CONT), layout, opt


def _layout_of(words: list[str]) -> _Layout:
    from parser.listing import _Layout

    return _Layout(num=words[0] == "num", counters="pkts" in words,
                   ifaces="in" in words and "out" in words)


def _guess_layout(words: list[str]) -> _Layout:
    from parser.listing import _counter, _Layout

    if len(words) >= 3 and words[0].isdigit() and _counter(words[1]) and _counter(words[2]):
        return _Layout(num=True, counters=True, ifaces=True)
    if len(words) >= 2 and _counter(words[0]) and _counter(words[1]):
        return _Layout(counters=True, ifaces=True)
    return _Layout()


def _row_prefix(words: list[str], layout: _Layout) -> bool:
    """True when the words start like a row of `layout` (a row cut before its last columns)."""
    from parser.listing import _counter, _is_protocol

    i = 0
    if layout.num:
        if not (words[0].isascii() and words[0].isdigit()):
            return False
        i = 1
    if layout.counters:
        if len(words) < i + 2 or not (_counter(words[i]) and _counter(words[i + 1])):
            return False
        i += 2
    rest = words[i:i + 3]
    if len(rest) >= 2 and rest[1] in _OPT_COLUMN:
        return True
    if len(rest) >= 3 and rest[2] in _OPT_COLUMN:
        return True
    if i == 0 or not rest:  # `tcp dpt:22` may be the end of a row as well
        return False
    return _is_protocol(rest[0]) or (len(rest) >= 2 and _is_protocol(rest[1]))


def _separators(
    lines: list[str], sizes: list[int], pieces: list[int], glue: bool, width: int
) -> tuple[list[str], list[int]]:
    """The separator before each continuation (`""` where the break has its whitespace, else
    `""` mid-word or `" "` at a dropped space, as `glue` says for breaks at exactly `width`),
    and the indexes of the ambiguous breaks."""
    seps: list[str] = []
    ambiguous: list[int] = []
    for k in range(1, len(pieces)):
        prev = lines[pieces[k - 1]]
        cont = lines[pieces[k]]
        if prev[-1:].isspace() or cont[:1].isspace():
            seps.append("")
        else:
            ambiguous.append(k - 1)
            seps.append("" if glue and sizes[pieces[k - 1]] == width else " ")
    return seps, ambiguous


def _score(
    lines: list[str], start: int, used: list[int], seps: list[str], role: int,
    check: Callable[[str], int | None],
) -> int | None:
    """How odd the joined line is (lower is better), None when it does not parse or a break
    is no plausible place for a new word."""
    text = lines[start]
    for sep, idx in zip(seps, used, strict=False):
        cont = lines[idx]
        if role == _RULE and (sep or text[-1:].isspace() or cont[:1].isspace()) and \
                not _new_word_fits(text, cont):
            return None
        text += sep + cont
    return check(text)


def _vote(lines: list[str], sizes: list[int], group: Group, width: int, family: Family) -> int:
    """-1 when this group reads better with its ambiguous breaks joined mid-word, 1 when at
    spaces, 0 when it cannot tell."""
    start, role, _layout, conts, _opt = group
    pieces = [start, *conts]
    spaced, ambiguous = _separators(lines, sizes, pieces, False, width)
    at_width = [k for k in ambiguous if sizes[pieces[k]] == width]
    if not at_width:
        return 0
    glued = ["" if k in at_width else sep for k, sep in enumerate(spaced)]
    check = _checker(lines[start], group, family)
    a = _score(lines, start, conts, glued, role, check)
    b = _score(lines, start, conts, spaced, role, check)
    if a is None or b is None or a == b:  # garbage glues on as well as anything
        return 0
    return -1 if a < b else 1


def _best_join(
    lines: list[str], sizes: list[int], group: Group, conts: list[int], width: int,
    terminal: bool, family: Family,
) -> tuple[list[int], list[str]] | None:
    """The continuations to join and the separator before each: of the separators the wrap
    tells, each ambiguous one flipped and all flipped, the one whose joined line parses and
    reads best; else the same with fewer continuations."""
    start, role = group[0], group[1]
    check = _checker(lines[start], group, family)
    for m in range(len(conts), 0, -1):
        used = conts[:m]
        seps, ambiguous = _separators(lines, sizes, [start, *used], terminal, width)
        # a space may be wrong (`--dp ort`); a glued mid-word break only where a terminal
        # (or a mail client's hard break of a long word) cut at exactly the width
        pieces = [start, *used]
        flippable = [k for k in ambiguous if seps[k] == "" or (
            sizes[pieces[k]] == width and (terminal or width <= 100))]
        tries = [seps]
        for k in flippable[:8]:
            flipped = list(seps)
            flipped[k] = " " if seps[k] == "" else ""
            tries.append(flipped)
        if len(flippable) > 1:
            tries.append([(" " if seps[k] == "" else "") if k in flippable else seps[k]
                          for k in range(len(seps))])
        best: tuple[int, list[str]] | None = None
        alone = check(lines[start]) if role == _RULE else None
        for attempt in tries:
            score = _score(lines, start, used, attempt, role, check)
            if score is not None and alone is not None and score > alone:
                continue  # the rule alone reads better: what follows is no part of it
            if score is not None and (best is None or score < best[0]):
                best = (score, attempt)
                if score == 0:
                    break
        if best is not None:
            return used, best[1]
    return None


_TWO_VALUES = frozenset({"--tcp-flags", "--match-set", "--add-set", "--del-set", "--map-set",
                         "--chunk-types", "-c", "--set-counters"})


def _new_word_fits(before: str, cont: str) -> bool:
    """Whether the first word of `cont` can follow the rule text `before` as a new word: an
    option (`-j`, `! -s`), the value of an option awaiting one, or inside an open quote (the
    rule parser takes extra values after an option, so `-j ACCEPT what is this` would parse)."""
    first = cont.lstrip()[:1]
    if first in ("-", "!"):
        return True
    words = before.split()
    if not words:
        return False
    if words[-1].startswith(("-", "!")) or (len(words) > 1 and words[-2] in _TWO_VALUES):
        return True
    return _open_quote(before)


def _open_quote(text: str) -> bool:
    """True when `text` ends inside a double-quoted string (iptables-save quoting)."""
    inside = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and inside:
            i += 2
            continue
        if c == '"':
            inside = not inside
        i += 1
    return inside


def _checker(first: str, group: Group, family: Family) -> Callable[[str], int | None]:
    """How odd a joined line is for the role of its first line (None: it does not parse)."""
    role, layout, opt = group[1], group[2], group[4]
    if role == _HEAD:
        return lambda text: 0
    if role == _COLS:
        return lambda text: (0 if set(text.split()) <= _HEADER_WORDS and "destination" in text
                             else None)
    if role == _ROW:
        return _listing_checker(first, layout, opt, family)
    return lambda text: _rule_score(text, family)


_MULTI_VALUE = _TWO_VALUES


def _rule_score(text: str, family: Family) -> int | None:
    """None when the rule words do not parse; else a count of oddities a wrong join makes
    (the rule parser is lenient): no target, an option with more values than one, an unknown
    single-dash option glued to its value (`-jACCEPT`), opaque words."""
    from parser.rulespec import spec_from_text

    m = _RULE_HEAD.match(text)
    if m is None:
        return None
    try:
        spec = spec_from_text(text, m.end(), family)
    except (RuleSyntaxError, ValueError):
        return None
    except Exception:
        return None
    score = 3 if spec.target is None else 0
    options = [*spec.generic, *(o for match in spec.matches for o in match.options)]
    if spec.target is not None:
        options += spec.target.options
    for o in options:
        if len(o.values) > 1 and o.name not in _MULTI_VALUE:
            score += len(o.values) - 1
        if o.name[:1] == "-" and o.name[1:2] != "-" and len(o.name) > 2:
            score += 2  # `-jACCEPT`
        elif o.name[-1:].isdigit() and o.name != "--u32":
            score += 2  # `--limit-burst10`
    return score + len(spec.opaque)


def _listing_checker(
    first: str, layout: _Layout | None, opt: bool, family: Family
) -> Callable[[str], int | None]:
    from parser.listing import _parse_row, _RowError, resolve_row

    def opaque(text: str) -> int | None:
        use = layout or _guess_layout(text.split())
        try:
            row = _parse_row(text, use)
            if row.missing_opt and opt:
                return None
            return len(resolve_row(row.raw, row.target, family).opaque)
        except _RowError:
            return None
        except Exception:
            return None

    alone = opaque(first)

    def row_score(text: str) -> int | None:
        joined = opaque(text)
        if joined is None or (alone is not None and joined > alone):
            return None
        return joined

    return row_score


# --- padded wraps -------------------------------------------------------------------------

_PAD = re.compile(r"(?<=\S) {8,}(?=\S)")  # a screen capture's padding where a line wrapped


def unpad(
    lines: list[str], path: str, forced: str | None, family: Family,
) -> tuple[list[str], Stage, list[Diagnostic]] | None:
    """Rule lines of a save or -S dump in which a screen capture padded a wrap with spaces
    (`-j ACC<spaces>EPT`, `--to-destination 192.16<spaces>8.1.1:22`): the padding removed
    where the line only parses that way, i.e. the wrap was mid-word. Where the line parses
    with a space there, the loader's whitespace splitting already reads it right. None when
    nothing was changed. Listings are left alone: their columns are padded by design."""
    if (forced or detect_kind(lines, 0)) == LISTING:
        return None
    out = list(lines)
    stage: Stage = {}
    notes = _Notes(path, Severity.WARNING)
    for i, line in enumerate(lines):
        if "        " not in line or _RULE_HEAD.match(line) is None:
            continue
        pads = [m for m in _PAD.finditer(line) if not _open_quote(line[:m.start()])]
        if len(pads) != 1:
            continue
        start, end = pads[0].span()
        glued = line[:start] + line[end:]
        spaced_score = _rule_score(line[:start] + " " + line[end:], family)
        glued_score = _rule_score(glued, family)
        if glued_score is None or (spaced_score is not None and spaced_score <= glued_score):
            continue
        out[i] = glued
        stage[i] = [(0, i, 0), (start, i, end)]
        notes.add(i + 1, start + 1, partial(_unpad_message, start), line,
                  "removed screen-capture padding")
    if not stage:
        return None
    return out, stage, notes.done()


def _unpad_message(width: int) -> str:
    return (f"removed the spaces a screen capture put where this line wrapped mid-word "
            f"(after {width} columns)")

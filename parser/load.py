"""Load a dump from a file, standard input or a string, whatever its format.

`load_path` / `load_text` detect the format (iptables-save [-c], iptables -S [-v], iptables -L
[...]; ip6tables alike), split mixed inputs into runs of one format each, and build one
`Ruleset`. Lenient by default (bad lines become diagnostics, good lines are kept); `strict=True`
raises `ParseError` at the first error. `LoadError` is for input that cannot be read at all
(missing, unreadable, empty, binary).

Rules are browsable at once; their specs are parsed on first access (`Rule.spec`) or all at once
with `Ruleset.resolve_all()` (or `resolve=True` here). Errors in a rule's words are reported
when it is resolved: call `resolve_all()` before reading `diagnostics` for a complete list.
"""

from __future__ import annotations

import gc
import re
import sys
from typing import Any

from parser.detect import (
    LISTING,
    SAVE,
    SPEC,
    UNKNOWN,
    detect_kind,
    line_kind,
    normalize_format,
    prompt_args,
)
from parser.diagnostics import Reporter
from parser.errors import LoadError, ParseError
from parser.save import parse_save
from parser.specdump import parse_spec
from ruleset.model import Diagnostic, Family, Ruleset, Severity

KIND_NAMES = {SAVE: "iptables-save", SPEC: "iptables -S", LISTING: "iptables -L"}

_V6_ADDRESS = re.compile(r"(?<![\w:])[0-9a-fA-F]{0,4}::?[0-9a-fA-F:]*(?:/\d{1,3})?(?![\w:])")
_V6_WORDS = ("ip6tables", "icmp6", "ipv6-icmp", "icmpv6")
_V6_CONTEXT = re.compile(
    r"ip6tables|-p\s+(?:ipv6-icmp|icmpv6)\b|-m\s+icmp6\b|--icmpv6-type|--reject-with\s+icmp6"
    r"|^\S*\s+\S+\s+(?:ipv6-icmp|icmpv6)\s|(?:ipv6-icmp|icmpv6)\s+(?:--\s+)?\S+\s+\S+\s+(?:::|[0-9a-f]+:)",
    re.MULTILINE,
)


def detect_family(text: str) -> Family:
    """IPv6 when the text names ip6tables or icmp6 in a rule, or holds IPv6 addresses."""
    if any(word in text for word in _V6_WORDS) and _V6_CONTEXT.search(text):
        return Family.IPV6
    if "::" in text:
        for m in re.finditer(r"[0-9a-fA-F:]*::[0-9a-fA-F:]*(?:/\d{1,3})?", text):
            token = m.group(0)
            if "/" in token or token.count(":") >= 3 or token in ("::", "::1"):
                start = m.start()
                before = text[start - 1] if start else " "
                if before in " \t\n!,[" and token.strip(":"):
                    return Family.IPV6
                if token.startswith("::/"):
                    return Family.IPV6
    return Family.IPV4


def _decode(data: bytes, path: str) -> tuple[str, Diagnostic | None]:
    if not data.strip():
        raise LoadError(path, "empty input: nothing to load")
    if b"\x00" in data:
        raise LoadError(path, "binary input (NUL bytes): not a text dump")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        first = exc.start
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if bad * 20 > len(text) or controls * 20 > min(len(text), 4096):
        raise LoadError(path, f"binary input: {bad} undecodable bytes (not UTF-8 text)")
    line = data.count(b"\n", 0, first) + 1
    col = first - (data.rfind(b"\n", 0, first) + 1) + 1
    text_line = text.split("\n")[line - 1] if line - 1 < text.count("\n") + 1 else ""
    diag = Diagnostic(path, line, col, Severity.WARNING,
                      f"{bad} byte(s) are not UTF-8; shown as U+FFFD", text_line.rstrip("\r"))
    return text, diag


def load_path(
    path: str,
    *,
    strict: bool = False,
    format: str | None = None,  # noqa: A002 - the public keyword
    resolve: bool = False,
) -> Ruleset:
    """Load the dump at `path` (`-` reads standard input)."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except FileNotFoundError:
        raise LoadError(path, "no such file") from None
    except IsADirectoryError:
        raise LoadError(path, "is a directory") from None
    except PermissionError:
        raise LoadError(path, "permission denied") from None
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from None
    text, diag = _decode(data, path)
    return _load(text, path, strict=strict, format=format, resolve=resolve, pre=diag)


def load_text(
    text: str,
    path: str = "-",
    *,
    strict: bool = False,
    format: str | None = None,  # noqa: A002 - the public keyword
    resolve: bool = False,
) -> Ruleset:
    """Load a dump given as text (`path` is only used in diagnostics)."""
    if not text.strip():
        raise LoadError(path, "empty input: nothing to load")
    if "\x00" in text:
        raise LoadError(path, "binary input (NUL bytes): not a text dump")
    return _load(text, path, strict=strict, format=format, resolve=resolve, pre=None)


def split_lines(text: str) -> list[str]:
    """Lines without their endings (LF, CRLF or lone CR)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _load(
    text: str,
    path: str,
    *,
    strict: bool,
    format: str | None,  # noqa: A002
    resolve: bool,
    pre: Diagnostic | None,
) -> Ruleset:
    try:
        forced = normalize_format(format) if format else None
    except ValueError as exc:
        raise LoadError(path, str(exc)) from None
    paused = gc.isenabled()
    gc.disable()  # building the model makes no garbage cycles; GC scans would cost ~25%
    try:
        rs = _load_lines(split_lines(text), path, strict, forced, detect_family(text))
    except (ParseError, LoadError):
        raise
    except Exception as exc:  # never a traceback
        diag = Diagnostic(path, 1, 1, Severity.ERROR, f"internal error while loading: {exc!r}")
        if strict:
            raise ParseError(diag) from exc
        rs = Ruleset(path=path, diagnostics=[diag])
    finally:
        if paused:
            gc.enable()
    if pre is not None:
        rs.diagnostics.insert(0, pre)
    if resolve or strict:
        rs.resolve_all()
    return rs


def _load_lines(
    lines: list[str], path: str, strict: bool, forced: str | None, family: Family
) -> Ruleset:
    parts: list[tuple[str, int, int, Ruleset]] = []
    skipped: list[Diagnostic] = []
    report = Reporter(path, skipped, strict)
    i = 0
    n = len(lines)
    while i < n:
        kind = forced or detect_kind(lines, i)
        if kind == UNKNOWN:
            j = i
            while j < n and not lines[j].strip():
                j += 1
            if j >= n:
                break
            if not parts:
                report.error(j + 1, 1, "cannot tell the dump format: expected iptables-save "
                             "(*table), iptables -S (-P/-N/-A) or iptables -L (Chain ...) lines",
                             lines[j].rstrip())
            else:
                report.error(j + 1, 1, "unrecognised line after the dump", lines[j].rstrip())
            i = j + 1
            continue
        if kind == SAVE:
            part, used = parse_save(lines[i:], path, strict=strict, family=family,
                                    first_line=i + 1)
        elif kind == SPEC:
            part, used = parse_spec(lines[i:], path, strict=strict, family=family,
                                    first_line=i + 1)
        else:
            part, used = _parse_listing(lines, i, path, strict, family, forced is not None,
                                        report)
        if used <= 0:  # pragma: no cover - parsers always consume the line they start on
            used = 1
        parts.append((kind, i + 1, i + used, part))
        i += used
    if len(parts) > 1:  # each dump of a mixed input has its own family
        for _kind, first, last, part in parts:
            if part.generated is None or _kind == LISTING:
                part.family = detect_family("\n".join(lines[first - 1:last]))
    if not parts:
        rs = Ruleset(family=family, path=path, format="unknown")
        rs.diagnostics.extend(skipped)
        return rs
    return _merge(parts, skipped, path, family)


def _parse_listing(
    lines: list[str], start: int, path: str, strict: bool, family: Family, forced: bool,
    report: Reporter,
) -> tuple[Ruleset, int]:
    """Run the listing engineer's parser on the -L run starting at `start`."""
    end = len(lines)
    if not forced:
        for j in range(start, len(lines)):
            if line_kind(lines[j]) in (SAVE, SPEC):
                end = j
                break
    view = [""] * start + lines[start:end]
    for j in range(start, end):
        line = lines[j]
        if "@" in line and "tables" in line:  # `root@host:~# iptables -t nat -L`: as a hint
            prompt = prompt_args(line.strip())
            if prompt is not None and prompt[0]:
                view[j] = f"# {prompt[0]} {prompt[1]}".rstrip()
    try:
        from parser.listing import parse_listing
    except ImportError:
        report.error(start + 1, 1, "iptables -L listings cannot be loaded yet "
                     "(parser.listing is missing)", lines[start].rstrip())
        return Ruleset(family=family, path=path, format="iptables -L"), end - start
    listing: Any = parse_listing
    rs: Ruleset = listing(view, path, strict=strict)
    if family is Family.IPV6 and rs.family is Family.IPV4:
        rs.family = family
    return rs, end - start


def _merge(
    parts: list[tuple[str, int, int, Ruleset]], skipped: list[Diagnostic], path: str,
    family: Family,
) -> Ruleset:
    base = parts[0][3]
    base.path = path
    if len(parts) > 1:
        runs = ", ".join(f"lines {a}-{b}: {rs.format}" for _, a, b, rs in parts)
        base.diagnostics.append(Diagnostic(
            path, parts[1][1], 1, Severity.WARNING,
            f"mixed input: {len(parts)} dumps in one file ({runs})"))
    for _kind, first, last, part in parts[1:]:
        base.diagnostics.extend(part.diagnostics)
        if part.family is not base.family and part.tables:
            v = {Family.IPV4: "IPv4", Family.IPV6: "IPv6"}
            base.diagnostics.append(Diagnostic(
                path, first, 1, Severity.WARNING,
                f"lines {first}-{last} are an {v[part.family]} dump ({part.rule_count} rules); "
                f"this ruleset is {v[base.family]}, so they are not in the model "
                "(load them from a file of their own)"))
            continue
        if part.generated and base.generated is None:
            base.generated = part.generated
        for name, table in part.tables.items():
            if name in base.tables:
                base.diagnostics.append(Diagnostic(
                    path, table.line or first, 1, Severity.WARNING,
                    f"table {name!r} appears again in lines {first}-{last} ({part.format}); "
                    "kept the first one, these rules are not in the model"))
                continue
            base.add_table(table)
    base.diagnostics.extend(skipped)
    base.diagnostics.sort(key=lambda d: (d.line, d.col))
    return base

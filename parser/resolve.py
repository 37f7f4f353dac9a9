"""Lazy rule specs: the resolver the dump parsers attach to each Rule.

A Rule built by `parser.save` / `parser.specdump` keeps its source line in `Rule.text` and the
column where its rule words start in `Rule.raw`; the resolver parses those words on first
access to `Rule.spec` (pyparsing is imported only then). A rule that does not parse gets a
diagnostic (file, line, column) and a spec that keeps the words as opaque text.
"""

from __future__ import annotations

from collections.abc import Callable

from parser.diagnostics import LineMap, RuleSyntaxError
from parser.errors import ParseError
from parser.tokens import TokenError, split_quoted
from ruleset.model import (
    Diagnostic,
    Family,
    Rule,
    Ruleset,
    RuleSpec,
    Severity,
    SpecResolver,
    Target,
)


def target_of_line(line: str, args_start: int) -> tuple[str | None, bool]:
    """The target name and goto flag of a rule line whose words start at `args_start`,
    without parsing the rule: the last ` -j `/` -g ` when no quote follows it, else the words."""
    ij = line.rfind(" -j ")
    ig = line.rfind(" -g ")
    pos = ij if ij > ig else ig
    if pos >= args_start - 1 and line.find('"', pos) < 0:
        end = line.find(" ", pos + 4)
        name = line[pos + 4:end] if end >= 0 else line[pos + 4:]
        if name:
            return name, ig > ij
    return target_of_words(line[args_start:])


def target_of_words(args: str) -> tuple[str | None, bool]:
    """The target name and goto flag of a rule's words (slow path: tokenises)."""
    try:
        words, quoted = split_quoted(args)
    except TokenError:
        words, quoted = args.split(), None
    target: str | None = None
    goto = False
    for i, w in enumerate(words[:-1]):
        if quoted is not None and i in quoted:
            continue
        if w in ("-j", "--jump"):
            target, goto = words[i + 1], False
        elif w in ("-g", "--goto"):
            target, goto = words[i + 1], True
    return target, goto


def make_resolver(
    ruleset: Ruleset, path: str, strict: bool, linemap: LineMap | None = None
) -> SpecResolver:
    """A resolver parsing `rule.text[rule.raw:]` in the ruleset's family (`linemap`: where
    the loader removed a prefix from the lines, so diagnostics point into the original)."""

    parse: Callable[[str, int, Family], RuleSpec] | None = None

    def resolve(rule: Rule) -> RuleSpec:
        nonlocal parse
        if parse is None:  # pyparsing is imported on the first resolution only
            from parser.rulespec import spec_from_text

            parse = spec_from_text
        start = rule.raw if isinstance(rule.raw, int) else 0
        chain = rule.chain
        owner = ruleset
        if chain is not None and chain.table is not None and chain.table.ruleset is not None:
            owner = chain.table.ruleset  # tables move when mixed inputs are merged
        try:
            return parse(rule.text, start, owner.family)
        except RuleSyntaxError as exc:
            message, col = exc.message, exc.col
        except Exception as exc:  # never a traceback: an unexpected failure is a diagnostic
            message, col = f"internal error while parsing this rule: {exc!r}", start + 1
        diag = Diagnostic(path, rule.line, max(col, 1), Severity.ERROR, message, rule.text)
        if linemap is not None:
            diag = linemap.fix(diag)
        if strict:
            raise ParseError(diag)
        owner.diagnostics.append(diag)
        target = Target(rule.target_name, goto=rule.goto) if rule.target_name else None
        return RuleSpec(target=target, opaque=(rule.text[start:],))

    return resolve

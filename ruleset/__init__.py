"""iptscope's domain: the ruleset model, jump graph, packet stepping and counter deltas.

Stdlib only: this package imports neither `parser`, `tui`, `textual`, `rich` nor `pyparsing`.
"""

from ruleset.model import (
    Chain,
    Counters,
    Diagnostic,
    Family,
    Match,
    Option,
    Rule,
    Ruleset,
    RuleSpec,
    Severity,
    Table,
    Target,
)

__all__ = [
    "Chain",
    "Counters",
    "Diagnostic",
    "Family",
    "Match",
    "Option",
    "Rule",
    "RuleSpec",
    "Ruleset",
    "Severity",
    "Table",
    "Target",
]

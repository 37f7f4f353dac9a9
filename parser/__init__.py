"""iptscope's parsers: the only package that imports pyparsing.

Entry points (see `parser.load`):

- `load_path(path, strict=False) -> Ruleset` and `load_text(text, path="-", strict=False)`
  auto-detect the format (iptables-save [-c], iptables -S [-v], iptables -L [...], ip6tables
  forms) and build a `ruleset.Ruleset`. Lenient by default: bad lines become diagnostics on
  `Ruleset.diagnostics`; with `strict=True` the first error raises `ParseError`.
- `parse_command(text_or_words, family)` parses one iptables command line (`-I FORWARD 1 ...`).
"""

from parser.errors import LoadError, ParseError

__all__ = ["LoadError", "ParseError"]

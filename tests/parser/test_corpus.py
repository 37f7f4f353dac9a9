"""Every real dump in ../shared/corpus loads (lenient, no crash); outside `other/` with no error
diagnostics; rule counts agree with SOURCES.md. Skips cleanly when the corpus is absent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parser.errors import ParseError
from parser.load import load_path
from ruleset.model import Severity

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file()) if CORPUS.is_dir() else []
_ROW = re.compile(r"^\|\s*`(?P<path>[^`]+)`\s*\|(?P<cells>.*)\|\s*$")


def _expected_counts() -> dict[str, int]:
    sources = CORPUS / "SOURCES.md"
    if not sources.is_file():
        return {}
    counts: dict[str, int] = {}
    for line in sources.read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line)
        if m is None:
            continue
        cells = [c.strip() for c in m.group("cells").split("|")]
        # columns after the path: format, origin, license, what it shows, rules, notes
        if len(cells) >= 5 and cells[4].isdigit():
            counts[m.group("path")] = int(cells[4])
    return counts


EXPECTED = _expected_counts()


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not here")
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_corpus_file_loads(path: Path) -> None:
    rs = load_path(str(path))
    rs.resolve_all()
    name = _id(path)
    if path.parent.name != "other":
        errors = [str(d) for d in rs.diagnostics if d.severity is Severity.ERROR]
        assert errors == [], "\n".join(errors[:10])
    expected = EXPECTED.get(name)
    if expected is not None:
        assert rs.rule_count == expected, (
            f"{name}: {rs.rule_count} rules, SOURCES.md says {expected}")


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not here")
def test_every_corpus_file_has_a_rule_count() -> None:
    names = {_id(p) for p in FILES if p.suffix == ".txt"}
    assert names <= set(EXPECTED), sorted(names - set(EXPECTED))


@pytest.mark.skipif(not FILES, reason="../shared/corpus is not here")
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_corpus_file_strict(path: Path) -> None:
    """Strict loading passes outside `other/`, and fails there only with a ParseError."""
    if path.parent.name != "other":
        load_path(str(path), strict=True)
        return
    lenient = load_path(str(path))
    lenient.resolve_all()
    if not lenient.errors:
        load_path(str(path), strict=True)
        return
    with pytest.raises(ParseError) as info:
        load_path(str(path), strict=True)
    assert info.value.diagnostic == lenient.errors[0]

"""Real `-L` dumps: the shared corpus and the kernel lab's listings of the neutron ruleset.

Corpus tests skip cleanly when `../shared/corpus` is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parser.listing import looks_like_listing, parse_listing
from parser.load import load_path
from ruleset.model import Ruleset, Severity
from ruleset.spec import spec_key

ROOT = Path(__file__).resolve().parents[2]
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()
LAB = ROOT / "samples" / "neutron" / "lab"
LARGE = (ROOT.parent / "shared" / "large" / "kube-5000-nat-after.list").resolve()


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    files = sorted(CORPUS.glob("list/*")) + sorted(CORPUS.glob("list-verbose/*"))
    return files + sorted(CORPUS.glob("other/*-L.txt"))


def _rule_counts() -> dict[str, int]:
    sources = CORPUS / "SOURCES.md"
    if not sources.exists():
        return {}
    row = re.compile(r"^\| `([^`]+)` \|(?:[^|]*\|){4}\s*(\d+)\s*\|", re.MULTILINE)
    return {m.group(1): int(m.group(2)) for m in row.finditer(sources.read_text())}


def _load(path: Path) -> Ruleset:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return parse_listing(lines, str(path), strict=False)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus absent")
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_listing_loads_cleanly(path: Path) -> None:
    rel = f"{path.parent.name}/{path.name}"
    rs = _load(path)
    assert looks_like_listing(path.read_text(errors="replace").splitlines())
    assert [d.one_line for d in rs.diagnostics if d.severity is Severity.ERROR] == []
    expected = _rule_counts().get(rel)
    assert expected is not None, f"{rel} has no row in SOURCES.md"
    assert rs.rule_count == expected
    rs.resolve_all()
    unstructured = [(r.line, r.spec.opaque) for r in rs.rules() if r.spec.opaque]
    assert unstructured == []
    assert rs.format.startswith("iptables -L")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus absent")
def test_corpus_ip6tables_listing_is_ipv6() -> None:
    rs = _load(CORPUS / "list-verbose" / "tum-chair-fw-ip6-2016-06-27-Lnv.txt")
    assert rs.family.value == "ipv6"
    rs_v4 = _load(CORPUS / "list-verbose" / "tum-chair-fw-2016-06-27-Lnv.txt")
    assert rs_v4.family.value == "ipv4"


def _lab_pairs() -> list[tuple[Path, Path]]:
    pairs = []
    for save in sorted(LAB.glob("*.save.txt")):
        stem = save.name[: -len(".save.txt")]
        pairs += [(save, listing) for listing in sorted(LAB.glob(f"{stem}.L*.txt"))]
    return pairs


def _keys(rs: Ruleset) -> dict[tuple[str, str], list[str]]:
    return {
        (table.name, chain.name): [spec_key(r.spec, rs.family) for r in chain]
        for table in rs.tables.values()
        for chain in table.chains.values()
    }


@pytest.mark.skipif(not LAB.is_dir(), reason="kernel lab dumps absent")
@pytest.mark.parametrize(("save", "listing"), _lab_pairs(), ids=lambda p: p.name)
def test_lab_listing_describes_the_same_ruleset_as_iptables_save(save: Path,
                                                                  listing: Path) -> None:
    """`-L` with and without -n/-v/-x on the real kernel == iptables-save of the same state."""
    listed = _load(listing)
    assert [d.one_line for d in listed.diagnostics] == []
    assert _keys(listed) == _keys(load_path(str(save)))


@pytest.mark.skipif(not LAB.is_dir(), reason="kernel lab dumps absent")
def test_lab_counters_exact_with_x_and_bounded_without() -> None:
    exact = _load(LAB / "lab-nft-loaded.L-v-n-x-line-numbers.txt")
    rounded = _load(LAB / "lab-nft-loaded.L-v-n-line-numbers.txt")
    for a, b in zip(exact.rules(), rounded.rules(), strict=True):
        assert a.counters is not None and b.counters is not None
        assert a.counters.exact
        assert b.counters.packets_min <= a.counters.packets <= b.counters.packets_max
        assert b.counters.bytes_min <= a.counters.bytes <= b.counters.bytes_max


def test_load_path_hands_listings_to_parse_listing() -> None:
    seed = ROOT / "samples" / "neutron" / "iptables-L-vn-line-numbers.txt"
    rs = load_path(str(seed))
    assert rs.format == "iptables -L -v -n --line-numbers"
    assert rs.rule_count == 48


@pytest.mark.slow
@pytest.mark.skipif(not LARGE.exists(), reason="large kube listing absent")
def test_large_kube_listing() -> None:
    rs = _load(LARGE)
    assert rs.errors == []
    assert rs.rule_count > 50_000
    assert rs.format == "iptables -L -v -n -x --line-numbers"
    sample = rs.tables["nat"].chains["KUBE-MARK-MASQ"].rules[0]
    assert sample.spec.target is not None
    assert sample.spec.target.options[0].values == ("0x4000/0x4000",)

"""The address/port prefilter of the `/` search is sound: on real dumps (every format) and many
queries, a rule it skips never matches by the exact check, so `search` finds exactly the rules
`Query.matches_full` finds. Loads dumps with the parser (no Textual)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from parser.errors import LoadError
from parser.load import load_path, load_text
from ruleset.hosts import HOSTS_V4, HOSTS_V6
from ruleset.model import Option, Rule, Ruleset, RuleSpec
from ruleset.search import HOST_NAMES, PORT_OPTIONS, Query, search
from ruleset.targets import split_nat_to

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path("/work/shared/corpus")
KUBE = Path("/work/shared/large/kube-5000-after.save")
SAMPLES = [
    ROOT / "samples/neutron/iptables-L-vn-line-numbers.txt",
    ROOT / "samples/neutron/lab-seed-c.save",
    *sorted((ROOT / "samples/catalog").glob("*.rules")),
]
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*.txt")) if CORPUS.is_dir() else []

FIXED_ADDRESSES = (
    "0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "10.96.0.1", "10.0.0.0/8", "127.0.0.1",
    "169.254.0.0", "224.0.0.1", "255.255.255.255", "192.168.1.1", "::1", "ff02::1", "::/0",
    "2001:db8::1", "fe80::1", "::ffff:10.0.0.1",
)
FIXED_PORTS = (0, 1, 22, 53, 80, 443, 1024, 8080, 65535)


def rules(rs: Ruleset) -> Iterator[Rule]:
    for chain in rs.chains():
        yield from chain.rules


def _values(rule: Rule) -> Iterator[str]:
    spec = rule.spec
    for opt in (spec.source, spec.destination):
        if opt is not None:
            yield from opt.values
    iprange = spec.match("iprange")
    if iprange is not None:
        for name in ("--src-range", "--dst-range"):
            opt = iprange.get(name)
            if opt is not None:
                yield from opt.values
    if spec.target is not None:
        for opt in spec.target.options:
            if opt.name in ("--to-destination", "--to-source", "--to"):
                yield from (split_nat_to(v)[0] for v in opt.values)


def _address_texts(value: str) -> Iterator[str]:
    """A network's own queries: itself, its first, middle and last address, the neighbours
    just outside and its supernet."""
    for part in value.split(","):
        for piece in part.split("-") if "/" not in part else [part]:
            try:
                net = ipaddress.ip_network(piece, strict=False)
            except ValueError:
                continue
            first, last = int(net.network_address), int(net.broadcast_address)
            top = 2 ** net.max_prefixlen - 1
            yield str(net)
            for n in (first, last, first - 1, last + 1, (first + last) // 2):
                if 0 <= n <= top:
                    yield str(ipaddress.IPv4Address(n) if net.version == 4
                              else ipaddress.IPv6Address(n))
            if net.prefixlen:
                yield str(net.supernet())


def _port_texts(rule: Rule) -> Iterator[str]:
    for match in rule.spec.matches:
        for opt in match.options:
            if opt.name in PORT_OPTIONS:
                for value in opt.values:
                    for part in value.replace(":", ",").split(","):
                        if part.isdigit():
                            for p in (int(part) - 1, int(part), int(part) + 1):
                                if 0 <= p <= 65535:
                                    yield str(p)


def own_queries(rule: Rule) -> set[str]:
    """The queries a rule could match: derived from its own networks, ranges and ports."""
    out = set(_port_texts(rule))
    for value in _values(rule):
        out.update(_address_texts(value))
    return out


class Checker:
    """Checks every rule of a dump against its own queries, its neighbours' and a sample of the
    dump's (plus fixed ones: short prefixes, IPv6, the -L host names' addresses, common ports).
    """

    def __init__(self, rs: Ruleset, sample: int) -> None:
        self.rules = list(rules(rs))
        self.own = [own_queries(rule) for rule in self.rules]
        every = sorted(set().union(*self.own)) if self.own else []
        step = max(1, len(every) // sample)
        self.shared = {*FIXED_ADDRESSES, *map(str, FIXED_PORTS), *every[::step]}
        self.queries: dict[str, Query] = {}
        self.skipped = 0
        self.matched = 0

    def query(self, text: str) -> Query:
        q = self.queries.get(text)
        if q is None:
            q = self.queries[text] = Query.parse(text)
            assert q.kind in ("address", "port"), text
        return q

    def run(self) -> None:
        for i, rule in enumerate(self.rules):
            texts = self.shared.union(*self.own[max(0, i - 1):i + 2])
            for text in texts:
                q = self.query(text)
                if rule.text and not q.may_match(rule.text):
                    assert not q.matches_full(rule), (text, rule.text)
                    self.skipped += 1
                elif q.matches_full(rule):
                    self.matched += 1


def check_sound(rs: Ruleset, sample: int = 12) -> Checker:
    checker = Checker(rs, sample)
    checker.run()
    return checker


def load(path: Path) -> Ruleset:
    try:
        return load_path(str(path))
    except LoadError as exc:
        pytest.skip(f"{path.name}: {exc}")


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_prefilter_is_sound(path: Path) -> None:
    check_sound(load(path))


def test_corpus_present_or_skipped() -> None:
    if not CORPUS_FILES:
        pytest.skip("no corpus under /work/shared/corpus")
    assert len(CORPUS_FILES) > 10


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_prefilter_is_sound(path: Path) -> None:
    checker = check_sound(load(path))
    assert checker.skipped > 0
    assert checker.matched > 0


def test_search_equals_full_check_on_fresh_loads() -> None:
    """End to end: on a fresh (lazy) load, `search` returns what the exact check returns."""
    path = SAMPLES[0]
    for text in ("10.0.0.0/8", "0.0.0.0/1", "22", "53", "67", "169.254.169.254", "::1"):
        fresh = load(path)
        got = [(r.chain_name, r.position) for r in search(fresh, Query.parse(text))]
        ref = load(path)
        want = [(r.chain_name, r.position) for r in rules(ref)
                if Query.parse(text).matches_full(r)]
        assert got == want, text


@pytest.mark.slow
def test_kube_5000_prefilter_is_sound() -> None:
    if not KUBE.is_file():
        pytest.skip("no kube-5000 dump")
    checker = check_sound(load(KUBE), sample=4)
    assert checker.skipped > 0
    assert checker.matched > 0


HAND_WRITTEN = """\
*nat
:PREROUTING ACCEPT [0:0]
:X - [0:0]
-A X -d 10.0.0.0/8 -j ACCEPT
-A X -s 0.0.0.0/1 -j ACCEPT
-A X ! -d 10.96.0.1/32 -j ACCEPT
-A X -m iprange --dst-range 10.96.0.0-10.96.255.255 -j ACCEPT
-A X -p tcp -j DNAT --to-destination 10.1.1.1-10.1.1.9:80-90
-A X -p tcp -m multiport --dports 22,1000:2000 -j ACCEPT
-A X -p tcp -m tcp --sport 1024: -j ACCEPT
-A X -p tcp -m tcp ! --dport 443 -j ACCEPT
-A X -p udp -m udp --dport 53 -m comment --comment "port 7" -j ACCEPT
-A X -j REDIRECT --to-ports 8080
COMMIT
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.96.0.1", [1, 2, 4]),  # a /8 and a /1 contain it, the iprange too; `!` is no hit
        ("10.1.1.5", [1, 2, 5]),  # inside the DNAT range
        ("200.0.0.1", []),
        ("1500", [6, 7]),
        ("22", [6]),
        ("443", []),  # below --sport 1024:, and the negated --dport is no hit
        ("7", []),  # a comment is no port
        ("8080", [7]),  # --to-ports is no match port
    ],
)
def test_hand_written_forms(text: str, expected: list[int]) -> None:
    rs = load_text(HAND_WRITTEN)
    assert [r.position for r in search(rs, Query.parse(text))] == expected
    assert check_sound(load_text(HAND_WRITTEN)).matched > 0


def test_listing_named_ports_and_hosts_are_kept() -> None:
    """-L without -n: `dpt:ssh` and `localhost` are parsed to 22 and 127.0.0.1."""
    text = """\
Chain INPUT (policy ACCEPT)
target     prot opt source               destination
ACCEPT     tcp  --  anywhere             anywhere             tcp dpt:ssh
ACCEPT     all  --  localhost            anywhere
ACCEPT     udp  --  anywhere             anywhere             multiport dports domain,ntp
"""
    rs = load_text(text)
    assert [r.position for r in search(rs, Query.parse("22"))] == [1]
    assert [r.position for r in search(rs, Query.parse("53"))] == [3]
    assert [r.position for r in search(rs, Query.parse("127.0.0.1"))] == [2]


def test_host_names_cover_the_listing_parser() -> None:
    assert set(HOSTS_V4) | set(HOSTS_V6) <= set(HOST_NAMES)


def test_prefilter_skips_unresolved_rules_only() -> None:
    rs = load_text(HAND_WRITTEN)
    rule = next(r for r in rules(rs) if r.position == 1)
    assert not rule.resolved
    assert not Query.parse("200.0.0.1").matches(rule)
    assert not rule.resolved  # skipped without parsing
    # a resolved rule is checked on its spec, whatever its text says (what-if edits)
    rule.set_spec(RuleSpec(generic=(Option("-s", ("200.0.0.0/24",)),),
                          target=rule.spec.target))
    assert Query.parse("200.0.0.1").matches(rule)

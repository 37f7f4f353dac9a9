"""Kernel and iptables facts the differential tests and the format-agreement test ran into.

Each test shows the real behaviour (kernel 6.18, iptables 1.8.9 here), so that the stepper and
the parsers can be checked against it and /work/shared/NETFILTER.md corrected where needed.
"""

from __future__ import annotations

import pytest

from tests.kernel import lab as L
from tests.kernel.lab import CounterKey as K

FILTER_HEAD = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"


@pytest.mark.parametrize("backend", L.BACKENDS)
def test_connmark_never_matches_without_conntrack(lab: L.Lab, backend: str) -> None:
    """`-m connmark [!] --mark X` is false for a packet with no conntrack entry (INVALID, e.g. a
    SYN,ACK nobody asked for; UNTRACKED; anything in the raw table), negated or not."""
    r = L.RouterLab(lab, backend=backend)
    try:
        r.load("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
               "-A PREROUTING -m connmark --mark 0x0\n"
               "-A PREROUTING -m connmark ! --mark 0x0\nCOMMIT\n"
               + FILTER_HEAD +
               "-A FORWARD -m connmark --mark 0x0\n-A FORWARD -m connmark ! --mark 0x0\n"
               "-A FORWARD -m conntrack --ctstate INVALID\nCOMMIT\n")
        new = r.send(L.Packet("203.0.113.5", "10.0.2.2", "tcp", flags="SYN", ident=1),
                     "forward")
        assert [k for k in new.grown if k.position] == [K("filter", "FORWARD", 1)]
        invalid = r.send(L.Packet("203.0.113.5", "10.0.2.2", "tcp", flags="SYN,ACK", ident=2),
                         "forward")
        assert [k for k in invalid.grown if k.position] == [K("filter", "FORWARD", 3)]
    finally:
        r.close()


@pytest.mark.parametrize(("backend", "security_first"), [("nft", False), ("legacy", True)])
def test_input_order_of_security_and_nat(lab: L.Lab, backend: str,
                                         security_first: bool) -> None:
    """INPUT walks mangle, filter, then security and nat in an order that depends on the
    backend: legacy registers security at priority 50 (before nat's 100), iptables-nft at 150
    (after nat)."""
    r = L.RouterLab(lab, backend=backend)
    try:
        r.load("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
               ":POSTROUTING ACCEPT [0:0]\n-A INPUT -p udp\nCOMMIT\n"
               "*security\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
               "-A INPUT -p udp -j DROP\nCOMMIT\n")
        d = r.send(L.Packet("203.0.113.5", "10.0.1.1", ident=3), "input")
        nat_walked = K("nat", "INPUT", 1) in d.grown
        assert nat_walked is (not security_first)
        assert K("security", "INPUT", 1) in d.grown
        assert not d.delivered
    finally:
        r.close()


def test_nft_save_merges_repeated_l4_matches(lab: L.Lab) -> None:
    """iptables-nft-save prints `-m udp ! --sport 443 -m udp --sport 443` as
    `-m udp ! --sport 443`, while the kernel still evaluates both (the rule never matches): the
    dump does not say what the kernel does. Legacy keeps both matches."""
    ns = lab.netns("x")
    rule = "-A INPUT -p udp -m udp ! --sport 443 -m udp --sport 443"
    for backend, want in (("nft", "-A INPUT -p udp -m udp ! --sport 443"), ("legacy", rule)):
        ns.restore(FILTER_HEAD + rule + "\nCOMMIT\n", backend=backend)
        lines = [ln for ln in ns.save(backend=backend, counters=False).splitlines()
                 if ln.startswith("-A")]
        assert lines == [want]


def test_ip6tables_nft_restore_ignores_rule_counters(lab: L.Lab) -> None:
    """`ip6tables-nft-restore -c` keeps policy counters but sets rule counters to zero
    (iptables-nft-restore and the legacy tools keep both)."""
    ns = lab.netns("x")
    text = "*filter\n:INPUT ACCEPT [1:2]\n[5:500] -A INPUT -j ACCEPT\nCOMMIT\n"
    got = {}
    for backend in L.BACKENDS:
        for family in (4, 6):
            ns.restore(text, backend=backend, family=family, counters=True)
            snap = L.read_counters(ns.save(backend=backend, family=family))
            got[(backend, family)] = (snap.counters[K("filter", "INPUT", 0)],
                                      snap.counters[K("filter", "INPUT", 1)])
    assert got[("nft", 4)] == got[("legacy", 4)] == got[("legacy", 6)] == ((1, 2), (5, 500))
    assert got[("nft", 6)] == ((1, 2), (0, 0))


def test_load_refusals_differ_by_backend(lab: L.Lab) -> None:
    """Rules one backend refuses and the other loads (the catalog avoids them)."""
    ns = lab.netns("x")
    cases = {
        "-A INPUT -j QUEUE": {"nft": False, "legacy": True},
        "-A INPUT ! -s 0.0.0.0/0 -j DROP": {"nft": False, "legacy": True},
    }
    for rule, ok in cases.items():
        for backend in L.BACKENDS:
            ns.flush_all(backend=backend)
            try:
                ns.restore(FILTER_HEAD + rule + "\nCOMMIT\n", backend=backend)
                loaded = True
            except L.LabError:
                loaded = False
            assert loaded is ok[backend], (rule, backend)


def test_listing_prints_nul_after_bpf(lab: L.Lab) -> None:
    """`iptables -L` (1.8.9, both backends) ends a bpf match's text with a NUL byte."""
    ns = lab.netns("x")
    for backend in L.BACKENDS:
        ns.restore(FILTER_HEAD + '-A INPUT -m bpf --bytecode "1,6 0 0 0"\nCOMMIT\n',
                   backend=backend)
        assert "\0" in ns.iptables("-L", "-n", backend=backend)


@pytest.mark.parametrize("backend", L.BACKENDS)
def test_addrtype_several_types_ipv4_any_ipv6_all(lab: L.Lab, backend: str) -> None:
    """`-m addrtype --dst-type UNICAST,LOCAL` matches an address of ANY of the types in IPv4,
    but only one of ALL of them in IPv6 (addrtype_mt6 checks each type in turn). And in IPv6
    an address can have several types at once: a routable one is UNICAST, a local one
    UNICAST and LOCAL, one without a route UNICAST and UNREACHABLE."""
    rules = (FILTER_HEAD + "-A FORWARD -m addrtype --dst-type UNICAST,LOCAL\n"
             "-A FORWARD -m addrtype --dst-type UNICAST\n"
             "-A FORWARD -m addrtype --src-type UNICAST\n"
             "-A FORWARD -m addrtype --src-type UNREACHABLE\nCOMMIT\n")
    seen = {}
    for family, src, dst in ((4, "203.0.113.5", "198.51.100.7"),
                             (6, "2001:db8:ff::5", "2001:db8:100::7")):
        r = L.RouterLab(lab, backend=backend, family=family)
        try:
            r.load(rules)
            d = r.send(L.Packet(src, dst, "udp", ident=20 + family), "forward")
            seen[family] = [k.position for k in d.grown if k.table == "filter" and k.position]
        finally:
            r.close()
    assert seen[4] == [1, 2, 3]  # an unroutable IPv4 source is UNICAST only
    assert seen[6] == [2, 3, 4]

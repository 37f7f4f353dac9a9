"""Search rules by text, address, port or chain name (for the app's `/` search).

Stdlib only. `Query.parse(text)` decides what the words mean:
  * an IP address or network: rules whose source or destination contains it (`-s`/`-d`,
    iprange's `--src-range`/`--dst-range`), or whose DNAT/SNAT/NETMAP target rewrites to it
    (`--to-destination`, `--to-source`, `--to`), negations excluded;
  * a number (or `port N`): rules whose tcp/udp/sctp/multiport ports include it;
  * a chain name: rules in that chain or jumping/going to it;
  * anything else: a case-insensitive substring of the rule's text or rendered spec.

Address and port searches first look at `rule.text` (the dump's own line) of a rule whose spec
is not resolved yet: `may_match(text)` is a sound prefilter (False only when no spec parsed from
that line can match), so the first search over a large lazy dump parses only the survivors.
`Query.matches_full` is the exact check on the spec alone (the reference the tests compare with).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ruleset.hosts import HOSTS_V4, HOSTS_V6
from ruleset.model import Option, Rule, Ruleset
from ruleset.spec import render_spec
from ruleset.targets import split_nat_to

PORT_OPTIONS = frozenset({
    "--dport", "--sport", "--dports", "--sports", "--ports", "--destination-port",
    "--source-port", "--destination-ports", "--source-ports",
})
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _port_in(port: int, values: Iterable[str]) -> bool:
    for value in values:
        for part in value.split(","):
            low, sep, high = part.partition(":")
            try:
                lo = int(low) if low else 0
                hi = int(high) if sep and high else (65535 if sep else lo)
            except ValueError:
                continue
            if lo <= port <= hi:
                return True
    return False


def _net(value: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


NAT_OPTIONS = ("--to-destination", "--to-source", "--to")


def _contains(opt: Option | None, target: IPNetwork) -> bool:
    if opt is None or opt.negated:
        return False
    for value in opt.values:
        for part in value.split(","):
            if "-" in part and "/" not in part:
                lo_text, _, hi_text = part.partition("-")
                try:
                    lo, hi = ipaddress.ip_address(lo_text), ipaddress.ip_address(hi_text)
                except ValueError:
                    continue
                first, last = target.network_address, target.broadcast_address
                if lo.version == first.version and lo <= first and last <= hi:  # type: ignore[operator]
                    return True
                continue
            net = _net(part)
            if net is not None and net.version == target.version and target.subnet_of(
                net  # type: ignore[arg-type]
            ):
                return True
    return False

# --------------------------------------------------------------------------------------------
# Prefilter on the rule's text (sound: it may keep rules that cannot match, never drops one that
# can). Any form it does not understand keeps the rule for the exact check.
# --------------------------------------------------------------------------------------------

_V4 = r"\d{1,3}(?:\.\d{1,3}){3}"
# An IPv4 address, network (`/24` or `/255.255.0.0`) or range (`a-b`), as written in any format.
_V4_TOKEN = re.compile(rf"({_V4})(/(?:{_V4}|\d+))?(?:-({_V4}))?")
# Anything with two colons and hex digits: an IPv6 address, network or range (or noise: a MAC,
# `dpts:1:2`, which fails to parse and so keeps the rule).
_V6_CHARS = r"[0-9A-Fa-f.:]"
_V6_TOKEN = re.compile(
    rf"({_V6_CHARS}*:{_V6_CHARS}*:{_V6_CHARS}*)(/\d+)?(?:-({_V6_CHARS}+))?")
# What may follow an address in a dump: a space, a port (`:80`), a list comma, a bracket, a quote.
_NEGATED_V4 = frozenset({"! -s ", "! -d "})
_AFTER_ADDRESS = frozenset(" \t\r\n,:]\"')")
# Host names `iptables -L` prints without -n that the listing parser maps back to addresses.
HOST_NAMES = tuple(dict.fromkeys([*HOSTS_V4, *HOSTS_V6]))
_HOST_WORD = re.compile(
    r"(?:^|\s)!?(?:" + "|".join(re.escape(n) for n in HOST_NAMES) + r")(?=/|\s|$)")
# Where a port value can come from: `--dport`, `--dports`, `--sport(s)`, `--ports`,
# `--destination-port(s)`, `--source-port(s)` (save, -S) and `dpt:`, `spts:`, `multiport dports`
# (-L). A key whose value is not plain digits (`dpt:ssh`, `--dport=22`) keeps the rule.
_PORT_KEY = re.compile(r"(?i)ports?|pts?:")
_PORT_VALUE = re.compile(r"\s*(?:!\s*)?([0-9:,]+)(?=[\s\"]|$)")


def _v4_int(text: str) -> int | None:
    parts = text.split(".")
    value = 0
    for part in parts:
        if len(part) > 1 and part[0] == "0":  # ipaddress refuses leading zeros
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


def _v4_mask(text: str) -> int | None:
    """`24` -> its mask; a dotted netmask (never printed by iptables) -> None: keep the rule."""
    if not text.isdigit() or int(text) > 32:
        return None
    return (0xFFFFFFFF << (32 - int(text))) & 0xFFFFFFFF


def _may_contain_v4(text: str, first: int, last: int) -> bool:
    for m in _V4_TOKEN.finditer(text):
        end = m.end()
        if end < len(text) and text[end] not in _AFTER_ADDRESS:
            return True  # `1.2.3.4.5`, `1.2.3.4x`: not a form we know
        start = m.start()
        if text[start - 1:start] == "!" or text[start - 5:start] in _NEGATED_V4:
            continue  # `! -s 10.244.0.0/16` (save, -S) or `!10.244.0.0/16` (-L): never a hit
        address, mask_text, high = m.group(1, 2, 3)
        low = _v4_int(address)
        if low is None:
            continue  # not an address for ipaddress either
        if high is not None:
            if mask_text is not None:
                return True
            top = _v4_int(high)
            if top is not None and low <= first and last <= top:
                return True
            continue
        mask = 0xFFFFFFFF if mask_text is None else _v4_mask(mask_text[1:])
        if mask is None:
            return True
        if first & mask == low & mask and last & mask == low & mask:
            return True
    return False


def _may_contain_v6(text: str, target: IPNetwork) -> bool:
    for m in _V6_TOKEN.finditer(text):
        end = m.end()
        if end < len(text) and text[end] not in _AFTER_ADDRESS:
            return True
        address, prefix, high = m.group(1, 2, 3)
        try:
            if high is not None:
                low_addr, top = ipaddress.ip_address(address), ipaddress.ip_address(high)
                if prefix is not None or low_addr.version != 6 or top.version != 6:
                    return True
                if low_addr <= target.network_address and target.broadcast_address <= top:  # type: ignore[operator]
                    return True
                continue
            net = ipaddress.ip_network(address + (prefix or ""), strict=False)
        except ValueError:
            return True  # noise (a MAC, `dpts:1:2`) or a form we do not know
        if net.version == 6 and target.subnet_of(net):  # type: ignore[arg-type]
            return True
    return False


def _may_have_port(text: str, port: int) -> bool:
    for key in _PORT_KEY.finditer(text):
        value = _PORT_VALUE.match(text, key.end())
        if value is None or _port_in(port, (value.group(1),)):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    kind: str  # "address", "port", "chain", "text"
    network: IPNetwork | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str, chain_names: Iterable[str] = ()) -> Query:
        words = text.strip()
        net = _net(words) if words and (words[0].isdigit() or ":" in words) else None
        if net is not None and not words.isdigit():
            return cls(words, "address", network=net)
        port_text = words[5:].strip() if words.lower().startswith("port ") else words
        if port_text.isdigit() and int(port_text) <= 65535:
            return cls(words, "port", port=int(port_text))
        if words in set(chain_names):
            return cls(words, "chain")
        return cls(words, "text")

    def describe(self) -> str:
        return {
            "address": f"rules whose source, destination or NAT target contains {self.text}",
            "port": f"rules on port {self.port}",
            "chain": f"rules in or jumping to {self.text}",
            "text": f'rules containing "{self.text}"',
        }[self.kind]

    def may_match(self, text: str) -> bool:
        """False only when no rule parsed from this dump line can match an address or port
        query (always True for the other kinds)."""
        if self.kind == "port" and self.port is not None:
            return _may_have_port(text, self.port)
        if self.kind == "address" and self.network is not None:
            # only `-L` rows (never `-A ...` nor `[p:b] -A ...`) can carry host names
            if text[:1] not in ("-", "[") and _HOST_WORD.search(text):
                return True
            net = self.network
            if net.version == 4:
                return _may_contain_v4(
                    text, int(net.network_address), int(net.broadcast_address))
            return _may_contain_v6(text, net)
        return True

    def matches(self, rule: Rule) -> bool:
        """Whether the rule matches; a rule whose spec cannot be resolved only matches by
        its text. An address or port query parses only the rules whose text may match."""
        if (self.kind in ("address", "port") and not rule.resolved and rule.text
                and not self.may_match(rule.text)):
            return False
        return self.matches_full(rule)

    def matches_full(self, rule: Rule) -> bool:
        """The exact check on the rule's spec, without the prefilter."""
        try:
            return self._matches(rule)
        except Exception:  # a resolver error: the rule is still searchable by its text
            return self.kind == "text" and self.text.lower() in rule.text.lower()

    def _matches(self, rule: Rule) -> bool:
        if self.kind == "text":
            needle = self.text.lower()
            if needle in rule.text.lower():
                return True
            return bool(rule.resolved) and needle in render_spec(rule.spec).lower()
        if self.kind == "chain":
            return rule.target_name == self.text or rule.chain_name == self.text
        spec = rule.spec
        if self.kind == "port" and self.port is not None:
            for match in spec.matches:
                for opt in match.options:
                    if opt.name in PORT_OPTIONS and not opt.negated and _port_in(
                        self.port, opt.values
                    ):
                        return True
            return False
        if self.kind == "address" and self.network is not None:
            if _contains(spec.source, self.network) or _contains(spec.destination, self.network):
                return True
            iprange = spec.match("iprange")
            if iprange is not None and (
                _contains(iprange.get("--src-range"), self.network)
                or _contains(iprange.get("--dst-range"), self.network)
            ):
                return True
            target = spec.target
            if target is not None:
                for opt in target.options:
                    if opt.name in NAT_OPTIONS and _contains(
                        Option(opt.name, tuple(split_nat_to(v)[0] for v in opt.values)),
                        self.network,
                    ):
                        return True
        return False


def search(ruleset: Ruleset, query: Query) -> Iterator[Rule]:
    """Every rule of the ruleset that matches, in table and chain order."""
    for chain in ruleset.chains():
        for rule in chain.rules:
            if query.matches(rule):
                yield rule

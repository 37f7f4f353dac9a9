"""Search rules by text, address, port or chain name (for the app's `/` search).

Stdlib only. `Query.parse(text)` decides what the words mean:
  * an IP address or network: rules whose source or destination contains it (`-s`/`-d`,
    iprange's `--src-range`/`--dst-range`), or whose DNAT/SNAT/NETMAP target rewrites to it
    (`--to-destination`, `--to-source`, `--to`), negations excluded;
  * a number (or `port N`): rules whose tcp/udp/sctp/multiport ports include it;
  * a chain name: rules in that chain or jumping/going to it;
  * anything else: a case-insensitive substring of the rule's text or rendered spec.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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

    def matches(self, rule: Rule) -> bool:
        """Whether the rule matches; a rule whose spec cannot be resolved only matches by
        its text."""
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

"""Netfilter hook and table order (IPv4 and IPv6 alike), as the kernel walks them.

    input:   PREROUTING (raw, mangle, nat)  -> route -> INPUT (mangle, filter, security, nat)
    forward: PREROUTING (raw, mangle, nat)  -> route -> FORWARD (mangle, filter, security)
             -> POSTROUTING (mangle, nat)
    output:  OUTPUT (raw, mangle, nat, filter, security) -> route -> POSTROUTING (mangle, nat)

Only the tables present in a dump are walked. nat chains see only the first packet of a
connection (state NEW); INVALID and UNTRACKED packets never walk nat.
"""

from __future__ import annotations

from enum import StrEnum


class Path(StrEnum):
    INPUT = "input"
    FORWARD = "forward"
    OUTPUT = "output"


HOOKS: dict[Path, tuple[str, ...]] = {
    Path.INPUT: ("PREROUTING", "INPUT"),
    Path.FORWARD: ("PREROUTING", "FORWARD", "POSTROUTING"),
    Path.OUTPUT: ("OUTPUT", "POSTROUTING"),
}

HOOK_TABLES: dict[str, tuple[str, ...]] = {
    "PREROUTING": ("raw", "mangle", "nat"),
    "INPUT": ("mangle", "filter", "security", "nat"),
    "FORWARD": ("mangle", "filter", "security"),
    "OUTPUT": ("raw", "mangle", "nat", "filter", "security"),
    "POSTROUTING": ("mangle", "nat"),
}

# Which devices a rule can see at each hook: (input device, output device).
HOOK_DEVICES: dict[str, tuple[bool, bool]] = {
    "PREROUTING": (True, False),
    "INPUT": (True, False),
    "FORWARD": (True, True),
    "OUTPUT": (False, True),
    "POSTROUTING": (False, True),
}

# Hooks where a bridged packet's output port is known (physdev --physdev-out).
PHYSOUT_HOOKS = frozenset({"FORWARD", "POSTROUTING"})


# iptables-nft registers the security table's base chains at priority 150 (legacy: 50,
# NF_IP_PRI_SECURITY), after nat INPUT's 100 (NF_IP_PRI_NAT_SRC): seen on the kernel here by
# the differential test. Only INPUT has both tables.
HOOK_TABLES_NFT: dict[str, tuple[str, ...]] = {
    **HOOK_TABLES,
    "INPUT": ("mangle", "filter", "nat", "security"),
}


def hook_tables(variant: str | None) -> dict[str, tuple[str, ...]]:
    """The table order per hook for a dump's backend (`Ruleset.variant`: "nf_tables" or
    "legacy"; unknown means legacy's documented order)."""
    return HOOK_TABLES_NFT if variant == "nf_tables" else HOOK_TABLES


def walk_order(path: Path, tables: set[str] | frozenset[str]) -> list[tuple[str, str]]:
    """(hook, table) pairs of a path for the tables present, in kernel order."""
    return [(hook, table) for hook in HOOKS[path] for table in HOOK_TABLES[hook]
            if table in tables]


def hooks_after_routing(local: bool, path: Path) -> tuple[str, ...]:
    """The hooks after PREROUTING once the route is known."""
    if path is Path.OUTPUT:
        return ("POSTROUTING",)
    return ("INPUT",) if local else ("FORWARD", "POSTROUTING")

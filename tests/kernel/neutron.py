"""The seed story on a real kernel: the OpenStack Linux-bridge compute node of
`samples/neutron/`, the gateway's UDP packet 14.52.45.2:40000 -> 14.52.45.10:50000 dropped by
`neutron-openvswi-sg-fallback` rule 1, then let through by
`iptables -I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.kernel.lab import BridgeLab, CounterKey, Delivery, Lab, Packet, dump_formats

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "neutron"
SEED_RULES = SAMPLES / "lab-seed-c.save"
IPSET = "NIPv4b3a1256e-07fe-4e6b-bfc5-"
FIX = ("-I", "FORWARD", "1", "-s", "14.52.45.2", "-d", "14.52.45.10", "-p", "udp", "-j",
       "ACCEPT")
STORY_PACKET: dict[str, Any] = {"src": "14.52.45.2", "dst": "14.52.45.10", "proto": "udp",
                                 "sport": 40000, "dport": 50000}

# What the kernel must show for the story packet before the fix (table, chain, position).
EXPECTED_BEFORE = [
    CounterKey("filter", "FORWARD", 1),
    CounterKey("filter", "FORWARD", 2),
    CounterKey("filter", "neutron-filter-top", 1),
    CounterKey("filter", "neutron-openvswi-FORWARD", 3),
    CounterKey("filter", "neutron-openvswi-i6746373c-0", 5),
    CounterKey("filter", "neutron-openvswi-sg-chain", 3),
    CounterKey("filter", "neutron-openvswi-sg-fallback", 1),
]
EXPECTED_AFTER_FIX = [CounterKey("filter", "FORWARD", 1)]


@dataclass
class StoryRun:
    backend: str
    before: Delivery
    after_fix: Delivery
    dumps: dict[str, dict[str, str]] = field(default_factory=dict)  # stage -> format -> text


def seed_ruleset() -> str:
    return SEED_RULES.read_text()


def run_story(backend: str = "nft", *, trace: bool = False, collect_dumps: bool = False,
              tag: str = "neutron") -> StoryRun:
    """Build the compute node, load the seed ruleset (with its counters), send the story packet,
    apply the fix, send it again. With `collect_dumps`, dump every format at each stage:
    `loaded` (before the packet), `dropped` (after it), `fixed` (after the fix and the second
    packet)."""
    with Lab(tag) as lab:
        node = BridgeLab(lab, backend=backend)
        try:
            node.node.run("ipset", "create", IPSET, "hash:net")
            node.node.restore(seed_ruleset(), backend=backend, counters=True)
            dumps: dict[str, dict[str, str]] = {}
            if collect_dumps:
                dumps["loaded"] = dump_formats(node.node, backend=backend, prompts=False)
            if trace and backend == "nft":
                node.node.restore(
                    "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                    "-A PREROUTING -s 14.52.45.2/32 -p udp -m udp --dport 50000 -j TRACE\n"
                    "COMMIT\n", backend=backend, noflush=True)
            use_trace = trace and backend == "nft"
            before = node.send(Packet(**STORY_PACKET, ident=0x5EED), to_port="tap6746373c-01",
                               trace=use_trace)
            if collect_dumps:
                dumps["dropped"] = dump_formats(node.node, backend=backend, prompts=False)
            node.node.iptables(*FIX, backend=backend)
            after = node.send(Packet(**{**STORY_PACKET, "sport": 40001}, ident=0x5EEE),
                              to_port="tap6746373c-01", trace=use_trace)
            if collect_dumps:
                dumps["fixed"] = dump_formats(node.node, backend=backend, prompts=False)
            return StoryRun(backend, before, after, dumps)
        finally:
            node.close()

#!/usr/bin/env python3
"""Run iptscope's real-kernel lab by hand (needs root; everything happens in network namespaces
created for the run and removed at the end; the host's firewall is never touched).

    python scripts/lab.py neutron [--backend nft|legacy] [--trace] [--dumps DIR]
        Build the seed's OpenStack compute node (Linux bridge brq7f1a6c1d-2b with tap-named
        ports, br_netfilter on), load samples/neutron/lab-seed-c.save, send the gateway's UDP
        packet 14.52.45.2:40000 -> 14.52.45.10:50000, print which counters grew and whether the
        VM got it; insert `-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT` and send
        it again. --dumps writes every dump format at each stage into DIR.
    python scripts/lab.py router RULES --path input|forward|output [--src A --dst B --proto P
        --sport N --dport N --flags SYN] [--backend ...] [--trace]
        Load RULES (iptables-restore input) into the router between two hosts and send one
        packet on the path.
    python scripts/lab.py cleanup
        Remove the lab namespaces of runs that are gone (killed); a live run's are kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.kernel import lab as L
from tests.kernel import neutron as N


def _show(title: str, d: L.Delivery) -> None:
    print(f"{title}")
    for key in d.grown:
        rule = d.after.rules.get(key, "")
        what = "policy " + d.after.policies.get((key.table, key.chain), "") if key.is_policy \
            else rule
        print(f"  +1  {key!s:45} {what}")
    print(f"  delivered to: {', '.join(d.arrived) if d.arrived else 'nobody (dropped)'}")
    if d.trace is not None:
        print("  kernel trace (xtables-monitor --trace):")
        for e in d.trace:
            print(f"    {e.table}:{e.chain}:{e.kind}:{e.verdict}  {e.rule}")


def cmd_neutron(args: argparse.Namespace) -> int:
    run = N.run_story(args.backend, trace=args.trace, collect_dumps=bool(args.dumps))
    _show("story packet udp 14.52.45.2:40000 -> 14.52.45.10:50000 via tap6746373c-01:",
          run.before)
    print("\n$ iptables " + " ".join(N.FIX))
    _show("same packet again (sport 40001):", run.after_fix)
    if args.dumps:
        out = Path(args.dumps)
        out.mkdir(parents=True, exist_ok=True)
        for stage, formats in run.dumps.items():
            for fmt, text in formats.items():
                path = out / f"lab-{args.backend}-{stage}.{fmt}.txt"
                path.write_text(text)
                print(f"wrote {path}")
    ok = [k for k in run.before.grown if k.table == "filter"] == N.EXPECTED_BEFORE and \
        run.after_fix.delivered and not run.before.delivered
    print("\nreproduced: dropped at neutron-openvswi-sg-fallback rule 1, passes after the fix"
          if ok else "\nNOT reproduced as expected")
    return 0 if ok else 1


def cmd_router(args: argparse.Namespace) -> int:
    text = Path(args.rules).read_text()
    with L.Lab("cli") as lab:
        r = L.RouterLab(lab, backend=args.backend)
        try:
            r.load(L.with_trace_rules(text) if args.trace and args.backend == "nft" else text)
            src = args.src or ("10.0.2.1" if args.path == "output" else "203.0.113.5")
            dst = args.dst or {"input": "10.0.1.1"}.get(args.path, "10.0.2.2")
            pkt = L.Packet(src, dst, args.proto, sport=args.sport, dport=args.dport,
                           flags=args.flags, icmp_type=args.icmp_type, ident=4242)
            d = r.send(pkt, args.path, trace=args.trace and args.backend == "nft")
            _show(f"{args.path}: {args.proto} {src}:{args.sport} -> {dst}:{args.dport}", d)
        finally:
            r.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("neutron", help="the seed story on a real kernel")
    p.add_argument("--backend", choices=L.BACKENDS, default="nft")
    p.add_argument("--trace", action="store_true", help="also print the kernel trace (nft)")
    p.add_argument("--dumps", metavar="DIR", help="write every dump format at each stage")
    p.set_defaults(func=cmd_neutron)
    p = sub.add_parser("router", help="one packet through a router namespace")
    p.add_argument("rules")
    p.add_argument("--path", choices=("input", "forward", "output"), default="forward")
    p.add_argument("--backend", choices=L.BACKENDS, default="nft")
    p.add_argument("--src")
    p.add_argument("--dst")
    p.add_argument("--proto", default="udp")
    p.add_argument("--sport", type=int, default=40000)
    p.add_argument("--dport", type=int, default=50000)
    p.add_argument("--flags", default="SYN")
    p.add_argument("--icmp-type", type=int, default=8)
    p.add_argument("--trace", action="store_true")
    p.set_defaults(func=cmd_router)
    p = sub.add_parser("cleanup", help="remove stale iptscope-* namespaces")
    p.set_defaults(func=lambda a: print("\n".join(L.cleanup_stale(min_age=0))) or 0)
    args = ap.parse_args(argv)
    reason = L.unavailable_reason() if args.cmd != "cleanup" else None
    if reason:
        print(f"lab.py: {reason}", file=sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

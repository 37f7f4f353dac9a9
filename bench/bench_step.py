"""Benchmark: step a packet through kube-5000-after.save to the LAST service of KUBE-SERVICES.

    python bench/bench_step.py [DUMP] [--runs N]

The last ClusterIP rule of nat KUBE-SERVICES (read from the dump) is found, and a NEW TCP
packet from a pod to that service IP and port is stepped on the forward path (PREROUTING nat
walks all ~5000 KUBE-SERVICES rules, DNATs to an endpoint, then filter FORWARD). The model is
loaded (and each rule's spec resolved) once; the figure is the median of many runs of
`simulate` (assume nomatch for the random statistic rules) and of `explore` (all endpoints).
The first run (which also compiles each visited rule's matches) is reported separately.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT = REPO.parent / "shared" / "large" / "kube-5000-after.save"


def last_service(path: Path) -> tuple[str, int, str]:
    """(cluster IP, port, protocol) of the last `-A KUBE-SERVICES -d IP/32 ... --dport P` rule."""
    found: tuple[str, int, str] | None = None
    pattern = re.compile(r"-A KUBE-SERVICES -d (\S+?)(?:/32)? -p (\w+) .*--dport (\d+)")
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if "-A KUBE-SERVICES -d " in line:
                m = pattern.search(line)
                if m:
                    found = (m.group(1), int(m.group(3)), m.group(2))
    if found is None:
        raise SystemExit(f"{path}: no KUBE-SERVICES service rule")
    return found


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dump", nargs="?", default=str(DEFAULT))
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()

    from parser.load import load_path
    from ruleset.packet import Host, Packet
    from ruleset.stepper import Verdict, explore, simulate

    path = Path(args.dump)
    ip, port, proto = last_service(path)
    t0 = time.perf_counter()
    ruleset = load_path(str(path))
    t1 = time.perf_counter()
    ruleset.resolve_all()
    t2 = time.perf_counter()
    # The app's state after loading: the model is long-lived, so move it out of the cycle
    # collector's generations (otherwise a full collection can land inside a timed run).
    gc.collect()
    gc.freeze()
    # A client outside the pod network (so KUBE-MARK-MASQ marks it and KUBE-FORWARD accepts
    # the mark) to the last ClusterIP service; DNAT sends it on to an endpoint pod.
    packet = Packet.make("192.168.0.50", ip, proto, 40000, port, in_iface="eth0",
                         out_iface="cni0")
    host = Host.make(["192.168.0.10/24@eth0", "10.244.1.1/24@cni0"])

    first_start = time.perf_counter()
    trace = simulate(ruleset, packet, "forward", host=host)
    first = time.perf_counter() - first_start
    visited = sum(1 for s in trace.steps if s.kind.value == "rule")

    times: list[float] = []
    cpu: list[float] = []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        trace = simulate(ruleset, packet, "forward", host=host)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    ex_times: list[float] = []
    for _ in range(max(args.runs // 4, 5)):
        start = time.perf_counter()
        ex = explore(ruleset, packet, "forward", host=host)
        ex_times.append(time.perf_counter() - start)

    print(f"dump            {path.name}: {ruleset.rule_count} rules "
          f"(load {t1 - t0:.2f} s, resolve all {t2 - t1:.2f} s)")
    print(f"packet          {packet.summary()} (last service {ip}:{port}/{proto})")
    print(f"verdict         {trace.verdict.value} by "
          f"{trace.decided_by.where if trace.decided_by else '-'}; "
          f"{len(trace.steps)} steps, {visited} rules visited; final dst "
          f"{trace.final_packet.dst}:{trace.final_packet.dport}")
    print(f"first run       {first * 1000:.2f} ms (compiles the visited rules)")
    print(f"simulate        median {statistics.median(times) * 1000:.2f} ms, "
          f"min {min(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms "
          f"over {len(times)} runs (CPU time median {statistics.median(cpu) * 1000:.2f} ms)")
    print(f"explore         median {statistics.median(ex_times) * 1000:.2f} ms over "
          f"{len(ex_times)} runs, {len(ex.branches)} branches "
          f"({', '.join(sorted({b.verdict.value for b in ex.branches}))})")
    ok = statistics.median(times) < 0.020
    print(f"target          < 20 ms: {'met' if ok else 'NOT met'} "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    return 0 if ok and trace.verdict is not Verdict.UNKNOWN else 1


if __name__ == "__main__":
    raise SystemExit(main())

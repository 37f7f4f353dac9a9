"""The seed story on the real kernel (issue 3): dropped by neutron-openvswi-sg-fallback rule 1,
let through by `-I FORWARD 1 -s 14.52.45.2 -d 14.52.45.10 -p udp -j ACCEPT`."""

from __future__ import annotations

import shutil

import pytest

from tests.kernel import lab as L
from tests.kernel import neutron as N


@pytest.mark.parametrize("backend", L.BACKENDS)
def test_seed_story(kernel: None, bridge: None, backend: str) -> None:
    trace = backend == "nft" and shutil.which("xtables-monitor") is not None
    run = N.run_story(backend, trace=trace, tag=f"story{backend}")
    assert [k for k in run.before.grown if k.table == "filter"] == N.EXPECTED_BEFORE
    assert not run.before.delivered
    assert [k for k in run.after_fix.grown if k.table == "filter"] == N.EXPECTED_AFTER_FIX
    assert run.after_fix.arrived == ["tap6746373c-01"]
    if trace:
        assert run.before.trace is not None
        last = [e for e in run.before.trace if e.table == "filter"][-1]
        assert (last.chain, last.kind, last.verdict) == (
            "neutron-openvswi-sg-fallback", "rule", "DROP")
        chains = [e.chain for e in run.before.trace if e.table == "filter"]
        assert chains == ["FORWARD", "neutron-filter-top", "FORWARD",
                          "neutron-openvswi-FORWARD", "neutron-openvswi-sg-chain",
                          "neutron-openvswi-i6746373c-0", "neutron-openvswi-sg-fallback"]

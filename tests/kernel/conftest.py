"""Kernel tests: real netfilter in network namespaces this suite creates and removes.

Every test here is marked `kernel` and skips cleanly when not root, when `ip netns` cannot
create a namespace, or when iptables (nft and legacy) is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest

from tests.kernel import lab as labmod


@cache
def _reason() -> str | None:
    reason = labmod.unavailable_reason()
    if reason is None:
        labmod.cleanup_stale()
    return reason


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/kernel/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.kernel)


@pytest.fixture
def kernel() -> None:
    """Skip unless the kernel lab can run here."""
    reason = _reason()
    if reason:
        pytest.skip(reason)


@cache
def _bridge_reason() -> str | None:
    return labmod.bridge_unavailable_reason()


@pytest.fixture
def bridge(kernel: None) -> None:
    """Skip unless bridged frames walk iptables (br_netfilter)."""
    reason = _bridge_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def lab(kernel: None, request: pytest.FixtureRequest) -> Iterator[labmod.Lab]:
    """A Lab whose namespaces are removed after the test, whatever happens."""
    the_lab = labmod.Lab(request.node.name)
    try:
        yield the_lab
    finally:
        the_lab.destroy()

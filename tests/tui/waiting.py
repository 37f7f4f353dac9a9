"""Waiting for the app's background work in Pilot tests."""

from __future__ import annotations

from typing import Any


async def settle(pilot: Any) -> None:
    """Until the app's workers (a stepping run after `c`, a search) are done and what they
    handed back through the screen's queue has been shown."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()

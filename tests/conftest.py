"""Hypothesis profiles: `default` explores with a fresh seed each run (how bugs get found on
a developer's machine); `ci` (HYPOTHESIS_PROFILE=ci, set by .ci/run) replays a fixed set of
examples, so a merge is never refused for an input nobody changed code to produce. A failure
found either way becomes an `@example` next to its property."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

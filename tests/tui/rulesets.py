"""Rulesets and sample paths for the app's tests (loaded by the project's own loader)."""

from __future__ import annotations

from pathlib import Path

from parser.load import load_path
from ruleset.model import Ruleset

ROOT = Path(__file__).resolve().parents[2]
NEUTRON_LISTING = ROOT / "samples" / "neutron" / "iptables-L-vn-line-numbers.txt"
KUBE_AFTER = ROOT.parent / "shared" / "large" / "kube-5000-after.save"
KUBE_BEFORE = ROOT.parent / "shared" / "large" / "kube-5000-before.save"


def load(path: Path | str) -> Ruleset:
    return load_path(str(path))


def neutron() -> Ruleset:
    """The seed's `iptables -L -vn --line-numbers` listing, as pasted."""
    return load(NEUTRON_LISTING)

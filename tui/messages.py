"""App-wide messages (named in the past tense; widget-specific ones are nested in widgets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from ruleset.model import Ruleset


@dataclass
class LoadProgressed(Message):
    """A loader thread finished one more file (or a slice of one)."""

    done: int
    total: int
    label: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LoadProgressed)


@dataclass
class RulesetsLoaded(Message):
    """All the files given loaded (some perhaps with diagnostics); `errors` are files that
    could not be read at all."""

    rulesets: list[Ruleset]
    errors: list[str]
    snapshots: list[Any] | None = None  # ruleset.snapshot.Snapshot, timed, one per ruleset


@dataclass
class ChainRequested(Message):
    """Someone (palette, references, search) asks the main screen to show a chain."""

    table: str
    chain: str
    position: int = 0  # 1-based rule to put the cursor on, 0 for the first


@dataclass
class LivePolled(Message):
    """The live poller produced a snapshot (or an error)."""

    ruleset: Ruleset | None
    error: str | None
    when: float

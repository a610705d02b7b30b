"""The freeze of the public board: from the event YAML's ``event.freeze`` time or an admin's override."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from greenhack.config import EventConfig

__all__ = ["FreezeState", "freeze_state"]


@dataclass(frozen=True)
class FreezeState:
    """Whether the public board is frozen now, and from which cut (submissions created up to ``cut``)."""

    frozen: bool
    closed: bool
    cut: datetime | None


def freeze_state(
    config: EventConfig, *, now: datetime, override: bool | None, frozen_at: datetime | None
) -> FreezeState:
    """The freeze as it stands at ``now``."""
    closed = now >= config.event.closes
    if override is True:
        cut = frozen_at or config.event.freeze or now
        return FreezeState(frozen=True, closed=closed, cut=cut)
    if override is False or config.event.freeze is None:
        return FreezeState(frozen=False, closed=closed, cut=None)
    frozen = now >= config.event.freeze
    return FreezeState(frozen=frozen, closed=closed, cut=config.event.freeze)

"""The freeze of a public board: from its phase's freeze time (``event.freeze``, or ``phases[].freeze``) or an
admin's override.

Each phase (``greenhack.competition.phases``; an event without ``phases:`` is one implicit phase with the
event's times) has its own freeze and close: :func:`phase_freeze_state`. An admin's freeze or unfreeze
(``Event.frozen_override``) applies to one phase (:func:`override_phase`): the phase open when the admin froze
(``frozen_at``), or for an unfreeze the phase open now, so the next phase opens unfrozen.
:func:`freeze_state` is the state of the phase a visitor lands on (:func:`shown_phase`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from greenhack.competition import EventPhase, current_phase, event_phases, phase_at, phase_named
from greenhack.config import EventConfig

__all__ = ["FreezeState", "freeze_state", "override_phase", "phase_freeze_state", "shown_phase"]


@dataclass(frozen=True)
class FreezeState:
    """Whether a public board is frozen now, and from which cut (submissions created up to ``cut``).

    ``closed``: its private rows (the final board) are public: the phase closed and no later phase scores
    against the same truth file (``EventPhase.final_shown_at``; for an event without phases, its close).
    ``phase``: the phase's name (``""``: the event without phases).
    """

    frozen: bool
    closed: bool
    cut: datetime | None
    phase: str = ""


def override_phase(
    phases: Sequence[EventPhase], *, now: datetime, override: bool | None, frozen_at: datetime | None
) -> str | None:
    """The name of the phase an admin's freeze (or unfreeze) applies to; None: no override, or none applies."""
    if override is None:
        return None
    if len(phases) == 1 and phases[0].implicit:
        return phases[0].name
    if override is True and frozen_at is not None:
        frozen_in = phase_at(phases, frozen_at).phase
        return frozen_in.name if frozen_in is not None else None
    open_now = current_phase(phases, now)
    return open_now.name if open_now is not None else None


def phase_freeze_state(
    phase: EventPhase, *, now: datetime, override: bool | None, frozen_at: datetime | None
) -> FreezeState:
    """The freeze of one phase's boards at ``now``; ``override``/``frozen_at`` are the admin's, already known to
    apply to this phase (None otherwise)."""
    closed = now >= phase.final_shown_at
    if override is True:
        cut = frozen_at or phase.freeze or now
        return FreezeState(frozen=True, closed=closed, cut=cut, phase=phase.name)
    if override is False or phase.freeze is None:
        return FreezeState(frozen=False, closed=closed, cut=None, phase=phase.name)
    frozen = now >= phase.freeze
    return FreezeState(frozen=frozen, closed=closed, cut=phase.freeze, phase=phase.name)


def shown_phase(phases: Sequence[EventPhase], now: datetime) -> EventPhase:
    """The phase whose boards a visitor lands on: the one open now, else the last one that opened (between and
    after phases), else the first (before the event)."""
    open_now = current_phase(phases, now)
    if open_now is not None:
        return open_now
    started = [p for p in phases if p.opens <= now]
    return started[-1] if started else phases[0]


def freeze_state(
    config: EventConfig,
    *,
    now: datetime,
    override: bool | None,
    frozen_at: datetime | None,
    phase: str | None = None,
) -> FreezeState:
    """The freeze as it stands at ``now`` for ``phase`` (its name; None: :func:`shown_phase`).

    Raises:
        KeyError: no phase of that name.
    """
    phases = event_phases(config)
    chosen = shown_phase(phases, now) if phase is None else phase_named(phases, phase)
    applies = override_phase(phases, now=now, override=override, frozen_at=frozen_at) == chosen.name
    return phase_freeze_state(
        chosen, now=now, override=override if applies else None, frozen_at=frozen_at if applies else None
    )

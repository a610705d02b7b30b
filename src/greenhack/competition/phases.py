"""The event's phases (``phases:``): which one a submission belongs to, and what each one shows. Pure.

Not to be confused with a pipeline's train/predict jobs (:mod:`greenhack.scoring.pipeline_stages`): an event phase is a
period of the event (a practice phase on the public rows, then the final phase) with its own boards, limits,
ranking rule for a team's submission and, optionally, its own truth file.

A submission belongs to the phase open at its GitLab ``created_at`` (``opens <= created_at < closes``, so a
job created at the very moment one phase closes and the next opens is the next one's). A job created before
the first phase, between two phases or after the last belongs to none: :func:`phase_at` says so in a sentence,
and the boards list it nowhere. An event without ``phases:`` is one implicit phase (name ``""``) that holds
every submission whatever its time, exactly as before phases existed (jobs outside the event are refused
before they run, by the budget check).

**When a phase's private rows are shown.** A phase's final board ranks on the private rows of its truth file;
it is shown once the phase closes, unless a later phase scores against the same truth file: then it waits for
the last such phase to close (:attr:`EventPhase.final_shown_at`), or the practice phase's final board would
give away the private rows while the final phase still runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from greenhack.config import EventConfig, LimitsSection, PhaseSection, RankingSection, yaml_relative_path

__all__ = [
    "IMPLICIT_PHASE",
    "EventPhase",
    "MembershipCode",
    "PhaseMembership",
    "current_phase",
    "event_phases",
    "final_phase",
    "phase_at",
    "phase_named",
]

# the name of the one phase of an event without ``phases:`` (its boards are stored as they always were)
IMPLICIT_PHASE = ""


@dataclass(frozen=True)
class EventPhase:
    """One phase with everything the YAML left to the event filled in.

    Attributes:
        name: the phase's name (``practice``), ``""`` for the implicit phase of an event without phases.
        index: its position in ``phases:`` (0 for the implicit phase).
        opens / closes: when its submissions are created (``opens <= created_at < closes``).
        freeze: when its public board stops changing (its frozen board's cut), or None.
        truth_path: the truth file its submissions are scored against (task.truth unless it names its own).
        limits: the event's limits with the phase's overrides.
        ranking: the event's ranking section with the phase's ``per_team``.
        final_shown_at: from when its final board (private rows) is public: its close, or the close of the
            last later phase that scores against the same truth file.
        implicit: the event has no ``phases:``; this phase holds every submission.
    """

    name: str
    index: int
    opens: datetime
    closes: datetime
    freeze: datetime | None
    truth_path: Path
    limits: LimitsSection
    ranking: RankingSection
    final_shown_at: datetime
    implicit: bool = False

    @property
    def title(self) -> str:
        """How a sentence names it: ``phase 'practice'``, or ``the event`` for the implicit phase."""
        return "the event" if self.implicit else f"phase {self.name!r}"

    def holds(self, created_at: datetime) -> bool:
        """Whether a job created at ``created_at`` belongs to this phase."""
        return self.implicit or self.opens <= created_at < self.closes


def _limits(event: LimitsSection, phase: PhaseSection) -> LimitsSection:
    """The event's limits, with the keys the phase wrote (and only those) replaced."""
    if phase.limits is None:
        return event
    return event.model_copy(update={key: getattr(phase.limits, key) for key in phase.limits.model_fields_set})


def _truth_of(config: EventConfig, phase: PhaseSection) -> Path:
    own = yaml_relative_path(str(phase.truth), config.source) if phase.truth is not None else None
    return own if own is not None else config.truth_path


def _same_file(a: Path, b: Path) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def event_phases(config: EventConfig) -> tuple[EventPhase, ...]:
    """The event's phases in time order; one implicit phase when the YAML lists none."""
    if not config.phases:
        return (
            EventPhase(
                name=IMPLICIT_PHASE,
                index=0,
                opens=config.event.opens,
                closes=config.event.closes,
                freeze=config.event.freeze,
                truth_path=config.truth_path,
                limits=config.limits,
                ranking=config.ranking,
                final_shown_at=config.event.closes,
                implicit=True,
            ),
        )
    truths = [_truth_of(config, phase) for phase in config.phases]
    out = []
    for index, phase in enumerate(config.phases):
        truth = truths[index]
        # this phase and every later one scoring against the same file: the private rows wait for the last
        sharing = [config.phases[j].closes for j in range(index, len(truths)) if _same_file(truths[j], truth)]
        ranking = config.ranking
        if phase.per_team is not None:
            ranking = ranking.model_copy(update={"per_team": phase.per_team})
        out.append(
            EventPhase(
                name=phase.name,
                index=index,
                opens=phase.opens,
                closes=phase.closes,
                freeze=phase.freeze,
                truth_path=truth,
                limits=_limits(config.limits, phase),
                ranking=ranking,
                final_shown_at=max(sharing),
            )
        )
    return tuple(out)


MembershipCode = Literal["in_phase", "before_first", "between_phases", "after_last"]
"""Where a job's creation time fell: in a phase, or before, between or after them."""


@dataclass(frozen=True)
class PhaseMembership:
    """The phase a submission belongs to, or why it belongs to none.

    Attributes:
        phase: the phase, None when the job was created outside every phase.
        code: :data:`MembershipCode`.
        reason: a sentence for the team and the organisers when ``phase`` is None.
    """

    phase: EventPhase | None
    code: MembershipCode
    reason: str | None = None


def phase_at(phases: Sequence[EventPhase], created_at: datetime) -> PhaseMembership:
    """The phase a job created at ``created_at`` (GitLab's ``created_at``, timezone-aware) belongs to.

    Args:
        phases: :func:`event_phases` of the event, in time order.
        created_at: when GitLab created the job.
    """
    if created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware (GitLab's created_at carries its offset)")
    for phase in phases:
        if phase.holds(created_at):
            return PhaseMembership(phase=phase, code="in_phase")
    when = created_at.isoformat()
    if not phases or created_at < phases[0].opens:
        first = f"; {phases[0].title} opens at {phases[0].opens.isoformat()}" if phases else ""
        return PhaseMembership(
            None, "before_first", f"the job was created at {when}, before the event's first phase{first}"
        )
    if created_at >= phases[-1].closes:
        return PhaseMembership(
            None,
            "after_last",
            f"the job was created at {when}, after the event's last phase ({phases[-1].title}) closed at "
            f"{phases[-1].closes.isoformat()}",
        )
    before = max((p for p in phases if p.closes <= created_at), key=lambda p: p.closes)
    after = min((p for p in phases if p.opens > created_at), key=lambda p: p.opens)
    return PhaseMembership(
        None,
        "between_phases",
        f"the job was created at {when}, between {before.title} (closed at {before.closes.isoformat()}) and "
        f"{after.title} (opens at {after.opens.isoformat()}); it belongs to no phase",
    )


def current_phase(phases: Sequence[EventPhase], now: datetime) -> EventPhase | None:
    """The phase open at ``now`` (the one an admin's freeze applies to, whose limits a new job meets), or None
    between phases and outside them. The implicit phase is open from event.opens to event.closes."""
    for phase in phases:
        if phase.opens <= now < phase.closes:
            return phase
    return None


def phase_named(phases: Sequence[EventPhase], name: str) -> EventPhase:
    """The phase called ``name``; ``KeyError`` names the known ones."""
    for phase in phases:
        if phase.name == name:
            return phase
    known = ", ".join(repr(p.name) for p in phases)
    raise KeyError(f"no phase {name!r} in the event (known: {known})")


def final_phase(phases: Sequence[EventPhase]) -> EventPhase:
    """The last phase: its final board is the event's final board."""
    if not phases:
        raise ValueError("an event has at least one phase (the implicit one)")
    return phases[-1]

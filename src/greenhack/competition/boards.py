"""Which boards an event has once phases and tracks exist, and which boards a submission is on. Pure.

A board is keyed by (phase, track, board): the phase of the submissions it ranks (:mod:`.phases`), the
hardware track they ran on (:mod:`.tracks`) and one of the three boards each (phase, track) pair has, as
before: ``live`` (public rows, every scored submission), ``frozen`` (public rows, submissions created up to
the phase's freeze cut) and ``final`` (private rows of the phase's truth). An event without phases and tracks
has the three keys ``("", "", live|frozen|final)``: the boards it always had.

A submission is on the three boards of its (phase, track) pair (the frozen one only when it was created up to
the cut): :func:`place_submission`. The event's final board is the final board of the last phase, one per
track (:func:`final_board_keys`); with that phase's ``per_team: selected`` it ranks each team's selected
submission.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from greenhack.competition.phases import EventPhase, event_phases, final_phase, phase_at
from greenhack.competition.tracks import event_tracks, track_of_server
from greenhack.config import EventConfig

__all__ = [
    "BOARD_NAMES",
    "BoardKey",
    "BoardName",
    "Placement",
    "board_keys",
    "final_board_keys",
    "place_submission",
]

BoardName = Literal["live", "frozen", "final"]
"""One of a (phase, track) pair's three boards (the names web.visibility and store.models use)."""
BOARD_NAMES: Final[tuple[BoardName, ...]] = ("live", "frozen", "final")


@dataclass(frozen=True, order=True)
class BoardKey:
    """One board: a phase's (``""``: the event without phases), a track's (``""``: the event without tracks)
    and one of their three boards."""

    phase: str
    track: str
    board: BoardName

    @property
    def text(self) -> str:
        """The key written for a URL, a cache key or a log: ``practice/a100/live``; the implicit phase and
        track are left out, so the event without either reads ``live`` as it always did."""
        return "/".join(part for part in (self.phase, self.track, self.board) if part)

    @property
    def public_rows(self) -> bool:
        """Whether the board ranks on the public rows (live, frozen) or the private ones (final)."""
        return self.board != "final"


def board_keys(config: EventConfig) -> tuple[BoardKey, ...]:
    """Every board of the event: phases in time order, then tracks in the YAML's order, then live, frozen,
    final."""
    return tuple(
        BoardKey(phase.name, track, board)
        for phase in event_phases(config)
        for track in event_tracks(config)
        for board in BOARD_NAMES
    )


def final_board_keys(config: EventConfig) -> tuple[BoardKey, ...]:
    """The event's final boards: the last phase's final board on each track."""
    last = final_phase(event_phases(config))
    return tuple(BoardKey(last.name, track, "final") for track in event_tracks(config))


@dataclass(frozen=True)
class Placement:
    """The boards one submission is on, or why it is on none.

    Attributes:
        phase: its phase (None: created outside every phase).
        track: its track (None: its server is unknown).
        keys: the boards it is on (live and final; frozen too when it was created up to the phase's cut);
            empty when ``reason`` says why.
        reason: why it is on no board, for the organisers (and the team: the phase part is public).
    """

    phase: EventPhase | None
    track: str | None
    keys: tuple[BoardKey, ...]
    reason: str | None = None


def place_submission(
    config: EventConfig,
    phases: Sequence[EventPhase],
    *,
    created_at: datetime,
    server_name: str | None,
    cut: datetime | None,
) -> Placement:
    """The boards of a submission created at ``created_at`` (GitLab's time) that ran on ``server_name``.

    Args:
        config: the event (its servers' tracks).
        phases: :func:`~greenhack.competition.phases.event_phases` of the event.
        created_at: when GitLab created the job.
        server_name: the server the evaluation charged the job to (None: not recorded).
        cut: the frozen board's cut of the submission's phase (the phase's freeze, or an admin's freeze while
            it was open), None when that phase has no frozen board.
    """
    membership = phase_at(phases, created_at)
    track = track_of_server(config, server_name)
    reasons = [r for r in (membership.reason, track.reason) if r is not None]
    if membership.phase is None or track.track is None:
        return Placement(membership.phase, track.track, (), "; ".join(reasons))
    boards: list[BoardName] = ["live"]
    if cut is not None and created_at <= cut:
        boards.append("frozen")
    boards.append("final")
    keys = tuple(BoardKey(membership.phase.name, track.track, board) for board in boards)
    return Placement(membership.phase, track.track, keys)

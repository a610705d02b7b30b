"""Which jobs one (phase, track) pair's boards weigh: those created in the phase, on the track's servers.

A board's team quantities (``team_gwp_kgco2e``, ``team_energy_j``, ``team_jobs``, and the board page's team
totals) count the team's jobs of that board's phase and track, so a board weighs what its own jobs cost
(``docs/design-phases-tracks-baselines.md``). The implicit phase and the single track filter nothing: an event
without phases and tracks counts every job, as it always did. The event totals and the carbon budget count
every job whatever its board.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from greenhack.competition import event_phases, event_tracks, phase_named, servers_on_track
from greenhack.config import EventConfig

__all__ = ["EVERY_JOB", "BoardScope", "board_scope"]


@dataclass(frozen=True)
class BoardScope:
    """The jobs a (phase, track) pair counts: created in ``[since, before)`` (None: unbounded) on one of
    ``servers`` (None: any server, recorded or not)."""

    since: datetime | None = None
    before: datetime | None = None
    servers: tuple[str, ...] | None = None


# the scope of an event without phases and tracks
EVERY_JOB = BoardScope()


def board_scope(config: EventConfig, *, phase: str, track: str) -> BoardScope:
    """The scope of the boards of ``phase`` on ``track`` (their names, ``""`` for the implicit ones).

    Raises:
        KeyError: no such phase.
    """
    chosen = phase_named(event_phases(config), phase)
    since, before = (None, None) if chosen.implicit else (chosen.opens, chosen.closes)
    servers = None
    if len(event_tracks(config)) > 1:
        servers = tuple(server.name for server in servers_on_track(config, track))
    return BoardScope(since=since, before=before, servers=servers)

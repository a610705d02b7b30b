"""What an event is made of beyond one board: phases, hardware tracks, baselines, and the boards they imply.

Pure functions of the event YAML (:class:`greenhack.config.EventConfig`) and plain values, for the board
refresh, the intake, the budget check and the pages to call:

- :mod:`.phases`: the phase a submission belongs to (by GitLab's ``created_at``), each phase's limits, ranking
  rule, truth file and when its private rows may be shown;
- :mod:`.tracks`: the hardware track of a server, and so of the jobs it ran;
- :mod:`.boards`: the board keys (phase x track x live/frozen/final) and the boards a submission is on;
- :mod:`.baselines`: which projects are the organisers' baselines, and how a team's row compares with them.

``docs/design-phases-tracks-baselines.md`` says how the store and the pages use them.
"""

from __future__ import annotations

from greenhack.competition.baselines import (
    Baseline,
    BaselineComparison,
    Standing,
    baseline_for_project,
    compare_with_baselines,
    event_baselines,
    team_clashes,
)
from greenhack.competition.boards import (
    BOARD_NAMES,
    BoardKey,
    BoardName,
    Placement,
    board_keys,
    final_board_keys,
    place_submission,
)
from greenhack.competition.phases import (
    IMPLICIT_PHASE,
    EventPhase,
    PhaseMembership,
    current_phase,
    event_phases,
    final_phase,
    phase_at,
    phase_named,
)
from greenhack.competition.tracks import (
    IMPLICIT_TRACK,
    TrackMembership,
    event_tracks,
    servers_on_track,
    track_of,
    track_of_server,
)

__all__ = [
    "BOARD_NAMES",
    "IMPLICIT_PHASE",
    "IMPLICIT_TRACK",
    "Baseline",
    "BaselineComparison",
    "BoardKey",
    "BoardName",
    "EventPhase",
    "PhaseMembership",
    "Placement",
    "Standing",
    "TrackMembership",
    "baseline_for_project",
    "board_keys",
    "compare_with_baselines",
    "current_phase",
    "event_baselines",
    "event_phases",
    "event_tracks",
    "final_board_keys",
    "final_phase",
    "phase_at",
    "phase_named",
    "place_submission",
    "servers_on_track",
    "team_clashes",
    "track_of",
    "track_of_server",
]

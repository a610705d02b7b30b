"""Hardware tracks and the board keys they and the phases imply (issue 19): phase x track x live/frozen/final, the
boards a submission is on, and the three boards an event without either always had."""

from __future__ import annotations

from competition_support import CONTRACT, at

from greenhack.competition import (
    BoardKey,
    board_keys,
    event_phases,
    event_tracks,
    final_board_keys,
    place_submission,
    servers_on_track,
    track_of,
    track_of_server,
)
from greenhack.config import EventConfig, load_event


def test_the_event_without_phases_or_tracks_keeps_its_three_boards() -> None:
    config = load_event(CONTRACT)
    assert event_tracks(config) == ("",)
    keys = board_keys(config)
    assert keys == (BoardKey("", "", "live"), BoardKey("", "", "frozen"), BoardKey("", "", "final"))
    assert [k.text for k in keys] == ["live", "frozen", "final"]
    assert final_board_keys(config) == (BoardKey("", "", "final"),)
    # one track holds every job, its server recorded or not (as before tracks existed)
    assert track_of_server(config, None).track == "" and track_of_server(config, "gone").track == ""


def test_servers_are_on_their_tracks(config: EventConfig) -> None:
    assert event_tracks(config) == ("a100", "h100")
    assert [track_of(s) for s in config.servers] == ["a100", "a100", "h100"]
    assert [s.name for s in servers_on_track(config, "a100")] == ["gpu-1", "gpu-2"]
    assert track_of_server(config, "gpu-3").track == "h100"
    unknown = track_of_server(config, None)
    assert unknown.track is None and unknown.reason == (
        "the server that ran the job is not recorded, so its hardware track is unknown"
    )
    gone = track_of_server(config, "gpu-9")
    assert gone.track is None and gone.reason == (
        "the job ran on server 'gpu-9', which the event no longer lists (servers: gpu-1, gpu-2, gpu-3)"
    )


def test_every_phase_and_track_has_three_boards(config: EventConfig) -> None:
    keys = board_keys(config)
    assert len(keys) == 2 * 2 * 3 and len(set(keys)) == len(keys)
    assert [k.text for k in keys[:4]] == ["practice/a100/live", "practice/a100/frozen", "practice/a100/final", "practice/h100/live"]
    assert final_board_keys(config) == (BoardKey("final", "a100", "final"), BoardKey("final", "h100", "final"))
    assert BoardKey("final", "a100", "live").public_rows and not BoardKey("final", "a100", "final").public_rows


def test_a_submission_is_on_its_phase_and_tracks_boards(config: EventConfig) -> None:
    phases = event_phases(config)
    practice = place_submission(config, phases, created_at=at(1, 10), server_name="gpu-2", cut=None)
    assert practice.reason is None and practice.phase is phases[0] and practice.track == "a100"
    assert practice.keys == (BoardKey("practice", "a100", "live"), BoardKey("practice", "a100", "final"))
    # the final phase's frozen board holds what was created up to its cut
    early = place_submission(config, phases, created_at=at(2, 15), server_name="gpu-3", cut=at(2, 16))
    late = place_submission(config, phases, created_at=at(2, 16, 30), server_name="gpu-3", cut=at(2, 16))
    assert [k.text for k in early.keys] == ["final/h100/live", "final/h100/frozen", "final/h100/final"]
    assert [k.text for k in late.keys] == ["final/h100/live", "final/h100/final"]


def test_a_submission_on_no_board_says_why(config: EventConfig) -> None:
    phases = event_phases(config)
    outside = place_submission(config, phases, created_at=at(2, 18), server_name="gpu-9", cut=None)
    assert outside.keys == () and outside.phase is None and outside.track is None
    assert outside.reason is not None
    assert outside.reason.startswith("the job was created at 2026-12-02T18:00:00+01:00, after the event's last phase")
    assert outside.reason.endswith("; the job ran on server 'gpu-9', which the event no longer lists (servers: gpu-1, gpu-2, gpu-3)")

"""The board refresh of an event with phases and hardware tracks, on SQLite and PostgreSQL: each scored
submission is on the boards of its phase (by GitLab's created_at) and its track (by the server that ran it),
each board ranks only its own, the team quantities count the jobs of the board's phase and track, each phase
has its own freeze (an admin's freeze applies to the phase open when it was made), a job created between
phases is on no board, and editing the phases' times regroups the boards at the next refresh."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenhack.config import EventConfig, parse_event
from greenhack.feedback.summary import load_report
from greenhack.store import crud, queries
from greenhack.store.board_scope import board_scope
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Score, Submission
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

SERVERS = """
servers:
  - {name: gpu-1, track: a100, runner_tags: [a], scaphandre: '{instance="a"}', gpu: '{instance="b"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA A100 80GB}}}
  - {name: gpu-3, track: h100, runner_tags: [h], scaphandre: '{instance="c"}', gpu: '{instance="d"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA H100 SXM 80GB}}}
"""
HEAD = """
event: {name: Phased, opens: 2026-12-01T09:00:00Z, closes: 2026-12-01T17:00:00Z}
task: {predictions: p.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.5}
impact: {criterion: gwp, location: FRA, pue: 1.2}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
"""
# a gap from 11:00 to 12:00: a job created then belongs to no phase
PHASES = """
phases:
  - {name: practice, opens: 2026-12-01T09:00:00Z, closes: 2026-12-01T11:00:00Z}
  - {name: final, opens: 2026-12-01T12:00:00Z, closes: 2026-12-01T17:00:00Z, freeze: 2026-12-01T16:00:00Z}
"""
T = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
NOW = T + timedelta(hours=16, minutes=45)  # the final phase is frozen, not closed


def _config(tmp_path: Path, phases: str = PHASES) -> EventConfig:
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    return parse_event(HEAD + phases + SERVERS, source=tmp_path / "event.yaml")


@pytest.fixture
def config(tmp_path: Path) -> EventConfig:
    return _config(tmp_path)


# (team, server, created at): team a runs in both phases and on both tracks
JOBS = [
    ("a", "gpu-1", T + timedelta(hours=10)),  # practice / a100
    ("a", "gpu-1", T + timedelta(hours=12, minutes=10)),  # final / a100
    ("a", "gpu-3", T + timedelta(hours=13)),  # final / h100
    ("b", "gpu-3", T + timedelta(hours=14)),  # final / h100, before the freeze
    ("b", "gpu-3", T + timedelta(hours=16, minutes=30)),  # final / h100, after the freeze
    ("c", "gpu-1", T + timedelta(hours=11, minutes=30)),  # between the phases: on no board
]


def _store(sessions: SessionFactory, config: EventConfig) -> tuple[int, list[int]]:
    rng = random.Random(19)
    ids = []
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        factors = synthetic_factors("FRA", fetched_at=T)
        for job_id, (team, server, created) in enumerate(JOBS, start=1):
            team_row = crud.ensure_team(session=s, event_id=event.id, name=team)
            ids.append(
                write_synthetic_submission(
                    session=s,
                    config=config,
                    event_id=event.id,
                    team_id=team_row.id,
                    project_id=1,
                    job_id=job_id,
                    job=synthetic_job(rng, server=server, start=created + timedelta(seconds=5)),
                    factors=factors,
                )
            )
        return event.id, ids


def _keys(sessions: SessionFactory, event_id: int) -> dict[int, set[tuple[str, str, str]]]:
    with transaction(sessions) as s:
        rows = s.execute(
            sa.select(Score.submission_id, Score.phase, Score.track, Score.board).where(
                Score.event_id == event_id
            )
        ).all()
    out: dict[int, set[tuple[str, str, str]]] = {}
    for r in rows:
        out.setdefault(r.submission_id, set()).add((r.phase, r.track, r.board))
    return out


def test_each_submission_is_on_the_boards_of_its_phase_and_track(
    sessions: SessionFactory, config: EventConfig
) -> None:
    event_id, ids = _store(sessions, config)
    with transaction(sessions) as s:
        counts = refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
    assert counts == {
        "practice/a100/live": 1, "practice/a100/frozen": 0, "practice/a100/final": 1,
        "practice/h100/live": 0, "practice/h100/frozen": 0, "practice/h100/final": 0,
        "final/a100/live": 1, "final/a100/frozen": 1, "final/a100/final": 1,
        "final/h100/live": 3, "final/h100/frozen": 2, "final/h100/final": 3,
    }  # fmt: skip
    keys = _keys(sessions, event_id)
    assert keys[ids[0]] == {("practice", "a100", "live"), ("practice", "a100", "final")}
    assert keys[ids[1]] == {("final", "a100", b) for b in ("live", "frozen", "final")}
    assert keys[ids[2]] == {("final", "h100", b) for b in ("live", "frozen", "final")}
    assert keys[ids[4]] == {("final", "h100", "live"), ("final", "h100", "final")}  # after the cut
    assert ids[5] not in keys  # created between the phases
    with transaction(sessions) as s:
        # the h100 board ranks a and b against each other, never against a's A100 jobs
        h100 = queries.board(
            session=s, event_id=event_id, board_name="live", phase="final", track="h100",
            scope=board_scope(config, phase="final", track="h100"),
        )  # fmt: skip
        a100 = queries.board(
            session=s, event_id=event_id, board_name="live", phase="final", track="a100",
            scope=board_scope(config, phase="final", track="a100"),
        )  # fmt: skip
        practice = queries.board(session=s, event_id=event_id, board_name="live", phase="practice", track="a100")
        implicit = queries.board(session=s, event_id=event_id, board_name="live")
    assert {r.team_name for r in h100} == {"a", "b"} and [r.rank for r in h100] == [1, 2]
    assert [(r.team_name, r.submission_id, r.rank) for r in a100] == [("a", ids[1], 1)]
    assert [(r.team_name, r.submission_id) for r in practice] == [("a", ids[0])]
    assert implicit == []  # no board of the implicit phase and track in an event that has both
    # a board weighs its own jobs: team a ran one job in the final phase on the A100s, three in all
    assert a100[0].submissions_count == 1
    assert {r.team_name: r.submissions_count for r in h100} == {"a": 1, "b": 2}


def _jobs(session: Any, totals: sa.Subquery) -> dict[int, int]:
    return {r[0]: r[1] for r in session.execute(sa.select(totals.c.team_id, totals.c.submissions_count))}


def test_the_team_quantities_of_a_board_count_its_phase_and_track(
    sessions: SessionFactory, config: EventConfig
) -> None:
    event_id, _ = _store(sessions, config)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
        jobs = _jobs(s, queries.team_totals(event_id=event_id, scope=board_scope(config, phase="final", track="h100")))
        everything = _jobs(s, queries.team_totals(event_id=event_id))
    assert sorted(jobs.values()) == [1, 2] and sorted(everything.values()) == [1, 2, 3]


def test_an_admin_freeze_applies_to_the_phase_it_was_made_in(sessions: SessionFactory, config: EventConfig) -> None:
    event_id, ids = _store(sessions, config)
    with transaction(sessions) as s:  # frozen at 13:30, during the final phase: its cut moves there
        crud.set_frozen_override(session=s, event_id=event_id, frozen=True, now=T + timedelta(hours=13, minutes=30))
        counts = refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
    assert counts["final/h100/frozen"] == 1 and counts["final/a100/frozen"] == 1
    assert counts["practice/a100/frozen"] == 0  # the practice phase has no freeze of its own
    assert ("final", "h100", "frozen") not in _keys(sessions, event_id)[ids[3]]


def test_editing_the_phases_regroups_the_boards(sessions: SessionFactory, tmp_path: Path) -> None:
    config = _config(tmp_path)
    event_id, ids = _store(sessions, config)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
    moved = _config(
        tmp_path,
        PHASES.replace("closes: 2026-12-01T11:00:00Z", "closes: 2026-12-01T12:30:00Z").replace(
            "opens: 2026-12-01T12:00:00Z", "opens: 2026-12-01T12:30:00Z"
        ),
    )
    with transaction(sessions) as s:
        counts = refresh_boards(session=s, event_id=event_id, config=moved, now=NOW)
    keys = _keys(sessions, event_id)
    # the 12:10 job and the 11:30 one are now the practice phase's; their rows moved, none was added
    assert keys[ids[1]] == {("practice", "a100", "live"), ("practice", "a100", "final")}
    assert keys[ids[5]] == {("practice", "a100", "live"), ("practice", "a100", "final")}
    assert counts["practice/a100/live"] == 3 and counts["final/a100/live"] == 0


def test_the_event_totals_add_every_phase_and_track_up(sessions: SessionFactory, config: EventConfig) -> None:
    event_id, ids = _store(sessions, config)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
        totals = queries.event_totals(session=s, event_id=event_id)
        energy = s.execute(sa.select(sa.func.sum(Submission.energy_j))).scalar_one()
        job = {r[0]: r[1] for r in s.execute(sa.select(Submission.id, Submission.energy_j))}
        per_board = {
            track: queries.board(
                session=s, event_id=event_id, board_name="live", phase="final", track=track,
                scope=board_scope(config, phase="final", track=track),
            )
            for track in ("a100", "h100")
        }  # fmt: skip
    # both tracks, both phases and the job between them: every job's energy is the event's
    assert totals.measured_jobs == len(JOBS) and totals.energy_j == pytest.approx(energy)
    # a team on two tracks: each track's final-phase board counts that track's job of that phase alone
    team_a = {track: row.team_energy_j for track, rows in per_board.items() for row in rows if row.team_name == "a"}
    assert team_a == {"a100": pytest.approx(job[ids[1]]), "h100": pytest.approx(job[ids[2]])}


def test_the_gitlab_report_ranks_a_submission_among_its_own_phase_and_track(
    sessions: SessionFactory, config: EventConfig
) -> None:
    event_id, ids = _store(sessions, config)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
    now = T + timedelta(hours=15)  # the final phase is open, not frozen: its live board
    with transaction(sessions) as s:
        practice = load_report(s, config=config, submission_id=ids[0], public_url="http://board", now=now)
        h100 = load_report(s, config=config, submission_id=ids[2], public_url="http://board", now=now)
    # the practice job is first of one on its board (not "of 4" over every board of that name)
    assert (practice.rank, practice.ranked) == (1, 1)
    assert h100.ranked == 2 and h100.rank in (1, 2)  # a and b on the final phase's H100 board

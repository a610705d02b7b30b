"""Re-ranking from stored numbers on SQLite and PostgreSQL: who is ranked, listed, excluded, and frozen out."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from greenhack.config import EventConfig, parse_event
from greenhack.status import Reason, ReasonCode
from greenhack.store import crud, queries
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

YAML = """
event: {name: Boards, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00,
        freeze: 2026-12-02T16:00:00+01:00}
task: {predictions: p.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.5}
impact: {criterion: gwp, location: FRA, pue: 1.2}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
servers:
  - {name: gpu-1, runner_tags: [g], scaphandre: '{instance="a"}', gpu: '{instance="b"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA A100 80GB}}}
"""
FREEZE = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> EventConfig:
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    return parse_event(YAML, source=tmp_path / "event.yaml")


def _write(
    sessions: SessionFactory, config: EventConfig, plan: list[tuple[str, datetime, str]]
) -> dict[str, int]:
    rng = random.Random(3)
    ids = {}
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        factors = synthetic_factors("FRA", fetched_at=FREEZE)
        for n, (team, start, status) in enumerate(plan):
            t = crud.ensure_team(session=s, event_id=event.id, name=team)
            job = synthetic_job(rng, server="gpu-1", start=start)
            ids[f"{team}/{n}"] = write_synthetic_submission(
                session=s,
                config=config,
                event_id=event.id,
                team_id=t.id,
                project_id=1,
                job_id=n + 1,
                job=job,
                factors=factors,
                status=status,
                reason=Reason(code=ReasonCode.UNCLASSIFIED, text="gap") if status != "scored" else None,
            )
    return ids


def test_boards_rank_one_per_team_list_reviews_and_cut_at_the_freeze(
    sessions: SessionFactory, config: EventConfig
) -> None:
    early = FREEZE - timedelta(hours=3)
    ids = _write(
        sessions,
        config,
        [
            ("a", early, "scored"),
            ("a", early + timedelta(minutes=20), "scored"),
            ("b", early + timedelta(minutes=40), "scored"),
            ("c", early + timedelta(minutes=60), "needs_review"),
            ("d", FREEZE + timedelta(minutes=10), "scored"),  # after the cut
        ],
    )
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        counts = refresh_boards(session=s, event_id=event.id, config=config, now=FREEZE)
        assert counts == {"live": 5, "frozen": 4, "final": 5}
        live = queries.board(session=s, event_id=event.id, board_name="live")
        frozen = queries.board(session=s, event_id=event.id, board_name="frozen", until=FREEZE)
    # c's only submission needs review: the ranking does not pick it for the team; its score says why
    assert {r.team_name for r in live if r.rank is not None} == {"a", "b", "d"}
    with transaction(sessions) as s:
        scores = queries.submission_detail(session=s, submission_id=ids["c/3"]).scores
    assert scores and all(sc.rank is None and sc.note and "review" in sc.note for sc in scores)
    assert {r.team_name for r in frozen if r.rank is not None} == {"a", "b"}
    team_a = next(r for r in live if r.team_name == "a")
    assert team_a.submissions_count == 2 and team_a.submission_id in (ids["a/0"], ids["a/1"])
    # excluding a's pick hands the team's line to its other submission
    with transaction(sessions) as s:
        crud.set_excluded(session=s, submission_id=team_a.submission_id, excluded=True, reason="copied")
        refresh_boards(session=s, event_id=event.id, config=config, now=FREEZE)
        again = queries.board(session=s, event_id=event.id, board_name="live")
    other = ({ids["a/0"], ids["a/1"]} - {team_a.submission_id}).pop()
    line_a = [r for r in again if r.team_name == "a"]
    assert len(line_a) == 1 and line_a[0].submission_id == other


def test_unfrozen_by_hand_has_no_frozen_board_without_a_yaml_freeze(
    sessions: SessionFactory, config: EventConfig
) -> None:
    no_freeze = config.model_copy(update={"event": config.event.model_copy(update={"freeze": None})})
    _write(sessions, no_freeze, [("a", FREEZE, "scored")])
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        assert refresh_boards(session=s, event_id=event.id, config=no_freeze, now=FREEZE)["frozen"] == 0
        crud.set_frozen_override(session=s, event_id=event.id, frozen=True, now=FREEZE + timedelta(hours=1))
        assert refresh_boards(session=s, event_id=event.id, config=no_freeze, now=FREEZE)["frozen"] == 1

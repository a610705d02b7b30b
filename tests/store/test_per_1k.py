"""Energy and impacts per 1,000 predictions (issue 19): a job that predicts four times the rows for four times the
energy is as frugal per prediction, so the *_per_1k quantities rank them level where the raw figures do not, and
the board's per-1k columns show the same figures the ranking uses (on both databases, through the boards' refresh)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from greenhack.config import parse_event
from greenhack.store import crud, queries
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Impact, Performance, Score, Submission
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

YAML = """
event: {{name: Per 1k, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00}}
task: {{predictions: p.csv, truth: truth.csv, public_fraction: 0.3}}
performance: {{metric: accuracy}}
impact: {{criterion: gwp, location: FRA, pue: 1.2}}
ranking: {{method: expression, expression: "{expression}"}}
telemetry: {{prometheus: "http://127.0.0.1:9090"}}
boavizta: {{url: "http://127.0.0.1:5000"}}
servers:
  - {{name: gpu-1, runner_tags: [g], scaphandre: '{{instance="a"}}', gpu: '{{instance="b"}}',
     hardware: {{cpu: {{name: Intel Xeon Gold 6248}}, ram_gb: 64, gpu: {{name: NVIDIA A100 80GB}}}}}}
"""


def _store(sessions: SessionFactory, tmp_path: Path) -> tuple[int, dict[str, int]]:
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    config = parse_event(YAML.format(expression="accuracy"), source=tmp_path / "event.yaml")
    rng = random.Random(19)
    ids = {}
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        factors = synthetic_factors("FRA", fetched_at=NOW)
        job = synthetic_job(rng, server="gpu-1", start=NOW - timedelta(hours=2))
        for k, team in enumerate(("small-test-set", "large-test-set")):
            team_id = crud.ensure_team(session=s, event_id=event.id, name=team).id
            later = job.energy.model_copy(update={"start": job.energy.start + timedelta(minutes=10 * k),
                                                  "end": job.energy.end + timedelta(minutes=10 * k)})  # fmt: skip
            ids[team] = write_synthetic_submission(
                session=s, config=config, event_id=event.id, team_id=team_id, project_id=1, job_id=10 + 2 * k,
                job=type(job)(energy=later, performance_public=0.9, performance_private=0.9), factors=factors,
            )  # fmt: skip
        # the second predicted four times the rows (300 + 700 -> 1200 + 2800) for four times the footprint
        big = ids["large-test-set"]
        s.execute(sa.update(Performance).where(Performance.submission_id == big).values(rows=Performance.rows * 4))
        s.execute(sa.update(Impact).where(Impact.submission_id == big).values(total=Impact.total * 4))
        s.execute(sa.update(Submission).where(Submission.id == big).values(
            energy_j=Submission.energy_j * 4, gwp_kgco2e=Submission.gwp_kgco2e * 4,
            impact_total=Submission.impact_total * 4))  # fmt: skip
        return int(event.id), ids


@pytest.mark.parametrize(
    ("expression", "level"),
    [
        ("0 - energy_wh_per_1k", True),
        ("0 - gwp_g_per_1k", True),
        ("0 - impact_per_1k", True),
        ("0 - pe_mj_per_1k", True),
        ("0 - adpe_kgsbeq_per_1k", True),
        ("0 - energy_wh", False),  # the raw figure punishes the larger test set
    ],
)
def test_per_1k_quantities_rank_test_sets_of_any_size_level(
    sessions: SessionFactory, tmp_path: Path, expression: str, level: bool
) -> None:
    event_id, ids = _store(sessions, tmp_path)
    config = parse_event(YAML.format(expression=expression), source=tmp_path / "event.yaml")
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
        scores = dict(s.execute(sa.select(Score.submission_id, Score.score).where(Score.board == "live")).all())
    small, large = scores[ids["small-test-set"]], scores[ids["large-test-set"]]
    assert small is not None and large is not None
    if level:
        assert large == pytest.approx(small, rel=1e-9)
    else:
        assert large == pytest.approx(4 * small, rel=1e-9)


def test_the_board_shows_the_figures_the_ranking_uses(sessions: SessionFactory, tmp_path: Path) -> None:
    event_id, ids = _store(sessions, tmp_path)
    config = parse_event(YAML.format(expression="0 - energy_wh_per_1k"), source=tmp_path / "event.yaml")
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
        rows = {r.team_name: r for r in queries.board(session=s, event_id=event_id, board_name="live")}
        scores = dict(s.execute(sa.select(Score.submission_id, Score.score).where(Score.board == "live")).all())
    small, large = rows["small-test-set"], rows["large-test-set"]
    assert (small.scored_rows, large.scored_rows) == (1000, 4000)
    assert large.energy_j == pytest.approx(4 * small.energy_j)
    assert small.energy_wh_per_1k == pytest.approx(small.energy_j / 3600)  # 1,000 rows: per 1k is the job's own
    assert large.energy_wh_per_1k == pytest.approx(small.energy_wh_per_1k)
    assert large.gwp_g_per_1k == pytest.approx(small.gwp_g_per_1k)
    assert large.impact_per_1k == pytest.approx(small.impact_per_1k)
    assert -scores[ids["large-test-set"]] == pytest.approx(large.energy_wh_per_1k)

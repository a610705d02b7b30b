"""The board refresh ranks with ``ranking.ties: significant`` from what the evaluations stored (issue 17): two
submissions with identical predictions and energies within their measurement's noise share a rank (``=2``), one
clearly better in both keeps rank 1 alone; the same data ranks the same on every refresh; with ``ties: none`` the
ranks stay distinct. Each row keeps its energy, impact and performance intervals. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from greenhack.config import EventConfig, parse_event
from greenhack.impacts import impacts_from_factors
from greenhack.scoring.bootstrap import bootstrap_performance
from greenhack.scoring.evaluate import score_predictions, split_for
from greenhack.scoring.truth import load_truth
from greenhack.status import Status
from greenhack.store import crud, queue
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Score
from greenhack.store.outcomes import record_outcome
from greenhack.store.synthetic import synthetic_factors, synthetic_job
from greenhack.telemetry.models import EnergyUncertainty, JobEnergy

YAML = """
event: {{name: Ties, seed: ties-2026, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00}}
task: {{predictions: p.csv, truth: truth.csv, public_fraction: 0.3}}
performance: {{metric: accuracy, minimum: 0.5}}
impact: {{criterion: gwp, location: FRA, pue: 1.2}}
ranking: {{method: {method}, weights: {{performance: 0.5, impact: 0.5}}, ties: {ties}}}
telemetry: {{prometheus: "http://127.0.0.1:9090"}}
boavizta: {{url: "http://127.0.0.1:5000"}}
servers:
  - {{name: gpu-1, runner_tags: [g], scaphandre: '{{instance="a"}}', gpu: '{{instance="b"}}',
     hardware: {{cpu: {{name: Intel Xeon Gold 6248}}, ram_gb: 64, gpu: {{name: NVIDIA A100 80GB}}}}}}
"""
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ROWS = 1000


def _config(tmp_path: Path, *, ties: str, method: str = "weighted") -> EventConfig:
    labels = "".join(f"{i},{'ab'[i % 2]}\n" for i in range(ROWS))
    (tmp_path / "truth.csv").write_text("id,label\n" + labels, encoding="utf-8")
    return parse_event(YAML.format(ties=ties, method=method), source=tmp_path / "event.yaml")


def _predictions(wrong_every: int) -> bytes:
    """Every row right except one in ``wrong_every``."""
    rows = "".join(f"{i},{'ba'[i % 2] if i % wrong_every == 0 else 'ab'[i % 2]}\n" for i in range(ROWS))
    return ("id,label\n" + rows).encode()


def _energy(start: datetime, total_j: float, job_to_job_j: float) -> JobEnergy:
    base = synthetic_job(random.Random(7), server="gpu-1", start=start).energy
    parts = EnergyUncertainty(confidence=0.95, integration_j=job_to_job_j, edges_j=0.0, sensor_j=0.02 * total_j)
    return base.model_copy(update={"total_energy_j": total_j, "uncertainty": parts})


def _submit(sessions: SessionFactory, config: EventConfig, *, job: int, predictions: bytes, energy: JobEnergy) -> int:
    truth = load_truth(config)
    split = split_for(config, truth)
    result = score_predictions(predictions, config=config, truth=truth, split=split)
    assert result.performance is not None and result.predictions is not None
    replicates = bootstrap_performance(
        result.predictions, truth, metric="accuracy", split=split, seed=config.event.split_seed
    )
    factors = synthetic_factors("FRA", fetched_at=T0)
    impacts = impacts_from_factors(
        factors, config.impact, energy.total_energy_j, energy.duration_s,
        energy_low_j=energy.total_energy_low_j, energy_high_j=energy.total_energy_high_j,
    )  # fmt: skip
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        team = crud.ensure_team(session=s, event_id=event.id, name=f"team-{job}", gitlab_project_id=job)
        queued = queue.enqueue(session=s, event_id=event.id, team_id=team.id, gitlab_project_id=job,
                               gitlab_job_id=job, submitted_at=T0 + timedelta(minutes=job), now=T0)  # fmt: skip
    with transaction(sessions) as s:
        claimed = queue.claim(session=s, worker="w", lease_s=600, now=T0 + timedelta(hours=1))
        assert claimed is not None and claimed.submission_id == queued.submission_id
        record_outcome(session=s, submission_id=queued.submission_id, worker="w", status=Status.SCORED,
                       energy=energy, impacts=impacts, performance=result.performance, replicates=replicates,
                       now=T0 + timedelta(hours=1))  # fmt: skip
    return queued.submission_id


def _board(sessions: SessionFactory, config: EventConfig) -> dict[int, Score]:
    with transaction(sessions) as s:
        event_id = crud.ensure_event(session=s, name=config.event.name).id
        refresh_boards(session=s, event_id=event_id, config=config, now=T0 + timedelta(hours=2))
    with sessions() as s:
        return {r.submission_id: r for r in s.execute(sa.select(Score).where(Score.board == "live")).scalars()}


def _three(sessions: SessionFactory, config: EventConfig) -> tuple[int, int, int]:
    """a and b: the same predictions (90 % right), 1,000 J and 1,010 J each ± 30 J; best: 98 % right, 500 J."""
    a = _submit(sessions, config, job=1, predictions=_predictions(10), energy=_energy(T0, 1000.0, 30.0))
    b = _submit(sessions, config, job=2, predictions=_predictions(10), energy=_energy(T0, 1010.0, 30.0))
    best = _submit(sessions, config, job=3, predictions=_predictions(50), energy=_energy(T0, 500.0, 10.0))
    return a, b, best


@pytest.mark.parametrize("method", ["weighted", "ratio", "pareto", "threshold"])
def test_neighbours_within_the_noise_share_a_rank_and_a_clear_winner_does_not(
    sessions: SessionFactory, tmp_path: Path, method: str
) -> None:
    config = _config(tmp_path, ties="significant", method=method)
    a, b, best = _three(sessions, config)
    board = _board(sessions, config)
    assert (board[best].rank, board[best].tied) == (1, False)
    assert (board[a].rank, board[b].rank) == (2, 2) and board[a].tied and board[b].tied
    again = _board(sessions, config)  # deterministic: seeded by the event's seed and the board
    assert {k: (r.rank, r.tied) for k, r in again.items()} == {k: (r.rank, r.tied) for k, r in board.items()}


def test_without_significance_the_ranks_stay_distinct_and_the_rows_keep_their_intervals(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    config = _config(tmp_path, ties="none")
    a, b, best = _three(sessions, config)
    board = _board(sessions, config)
    assert [board[k].rank for k in (best, a, b)] == [1, 2, 3] and not any(r.tied for r in board.values())
    row = board[a]
    assert row.measurements == 1 and row.energy_j == 1000.0
    half = (30.0**2 + 20.0**2) ** 0.5  # job-to-job and sensor in quadrature
    assert (row.energy_low_j, row.energy_high_j) == pytest.approx((1000.0 - half, 1000.0 + half))
    assert row.impact_low is not None and row.impact_high is not None
    assert row.impact_low < row.impact < row.impact_high  # type: ignore[operator]
    assert row.performance_low is not None and row.performance_high is not None
    assert row.performance_low < 0.9 < row.performance_high
    assert board[best].performance_low > row.performance_high  # type: ignore[operator]


def test_a_rescore_keeps_the_measurement_interval_and_the_shared_ranks(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """A rescore recomputes the impacts from the stored factors with the stored energy interval (PUE changed: the
    interval moves with the impact), and ranks with the stored replicates again."""
    from greenhack.store.boards import rescore_event
    from greenhack.store.models import Impact, Submission

    config = _config(tmp_path, ties="significant")
    a, b, best = _three(sessions, config)
    with sessions() as s:
        before = s.get(Submission, a)
        assert before is not None and before.impact_measurement_low is not None
        low, total, high = before.impact_measurement_low, before.impact_total, before.impact_measurement_high
    changed = config.model_copy(update={"impact": config.impact.model_copy(update={"pue": 1.5})})
    with transaction(sessions) as s:
        event_id = crud.ensure_event(session=s, name=config.event.name).id
        report = rescore_event(session=s, event_id=event_id, config=changed, now=T0 + timedelta(hours=3))
    assert report.recomputed == 3 and not report.problems
    with sessions() as s:
        after = s.get(Submission, a)
        assert after is not None and after.impact_total is not None and total is not None
        assert after.impact_total > total
        low_after, high_after = after.impact_measurement_low, after.impact_measurement_high
        assert low_after is not None and high_after is not None and low_after < after.impact_total < high_after
        assert high_after - low_after > high - low  # type: ignore[operator]
        gwp = s.execute(sa.select(Impact).where(Impact.submission_id == a, Impact.criterion == "gwp")).scalar_one()
        assert gwp.measurement_low is not None and gwp.measurement_high is not None
        live = s.execute(sa.select(Score).where(Score.board == "live")).scalars()
        ranks = {r.submission_id: (r.rank, r.tied) for r in live}
    assert ranks == {best: (1, False), a: (2, True), b: (2, True)}

"""ranking.ties: significant. Neighbours the measurement cannot tell apart share a rank, for every method; a
clear difference does not; ties: none and rows without intervals rank exactly as before."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from greenhack.config import ImpactSection, PerformanceSection, RankingSection
from greenhack.scoring import RankInput, rank_submissions
from greenhack.scoring.bootstrap import ReplicateVector, board_resamples, metric_replicates
from greenhack.scoring.models import MeasurementSpread
from greenhack.scoring.significance import draw_replicates, standard_normals

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
N_ROWS = 2000
METHODS: dict[str, dict[str, object]] = {
    "weighted": {"weights": {"performance": 0.5, "impact": 0.5}},
    "ratio": {},
    "pareto": {"weights": {"performance": 0.5, "impact": 0.5}},
    "threshold": {},
    "expression": {"expression": "accuracy - 0.05 * log10(gwp_g) - 0.01 * log10(energy_wh)"},
}
PERFORMANCE = PerformanceSection(metric="accuracy", minimum=0.5)
IMPACT = ImpactSection(criterion="gwp")
TRUTH = [random.Random(0).choice("abc") for _ in range(N_ROWS)]


def predictions(accuracy: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [t if rng.random() < accuracy else next(c for c in "abc" if c != t) for t in TRUTH]


def replicates(pred: list[str]) -> ReplicateVector:
    resamples = board_resamples(seed="event", board="public", n_rows=N_ROWS, count=400)
    return metric_replicates("accuracy", TRUTH, pred, resamples)


def submission(
    sid: int, team: str, pred: list[str], energy_j: float, *, spread: float = 0.02, server: str = "gpu-1",
    sensor: float = 0.0, with_intervals: bool = True,
) -> RankInput:
    accuracy = sum(t == p for t, p in zip(TRUTH, pred, strict=True)) / N_ROWS
    gwp = energy_j / 3.6e6 * 0.06  # 60 gCO2e/kWh, use phase only
    return RankInput(
        submission_id=sid,
        team=team,
        submitted_at=T0 + timedelta(minutes=sid),
        performance=accuracy,
        impact=gwp,
        energy_j=energy_j,
        gwp_kgco2e=gwp,
        duration_s=60.0,
        performance_replicates=replicates(pred) if with_intervals else None,
        measurement=MeasurementSpread(energy_rel=spread, sensor_rel=sensor, group=server) if with_intervals else None,
    )


def ranking(method: str, ties: str = "significant") -> RankingSection:
    return RankingSection.model_validate({"method": method, "ties": ties, **METHODS[method]})


def ranks(inputs: list[RankInput], method: str, ties: str = "significant") -> dict[str, int | None]:
    rows = rank_submissions(inputs, ranking(method, ties), PERFORMANCE, impact=IMPACT, seed="event/public")
    return {row.team: row.rank for row in rows}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_identical_predictions_and_energies_within_the_noise_share_a_rank(method: str) -> None:
    same = predictions(0.8, 1)
    inputs = [
        submission(1, "twin-a", same, 5000.0),
        submission(2, "twin-b", same, 5060.0),  # 1.2 % apart, measured to ±2 %
        submission(3, "far", predictions(0.6, 3), 60000.0),  # sets the scales; clearly worse on both
    ]
    got = ranks(inputs, method)
    assert got["twin-a"] == got["twin-b"] == 1
    assert got["far"] == 3
    rows = rank_submissions(inputs, ranking(method), PERFORMANCE, impact=IMPACT, seed="event/public")
    assert [row.tied for row in rows] == [True, True, False]
    # today: distinct ranks, the earlier submission first
    assert ranks(inputs, method, ties="none") == {"twin-a": 1, "twin-b": 2, "far": 3}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_one_clearly_better_in_both_does_not_tie(method: str) -> None:
    inputs = [
        submission(1, "worse", predictions(0.72, 4), 9000.0),
        submission(2, "better", predictions(0.80, 5), 4000.0),
    ]
    rows = rank_submissions(inputs, ranking(method), PERFORMANCE, impact=IMPACT, seed="event/public")
    assert [(row.team, row.rank, row.tied) for row in rows] == [("better", 1, False), ("worse", 2, False)]
    assert rows[0].above_next_share is not None and rows[0].above_next_share >= 0.975


def test_ties_none_and_rows_without_intervals_rank_exactly_as_before() -> None:
    rng = random.Random(11)
    board = [
        submission(k, f"team-{k % 9}", predictions(rng.uniform(0.55, 0.9), 100 + k), rng.uniform(1e3, 1e5),
                   with_intervals=k % 3 != 0)
        for k in range(30)
    ]
    bare = [
        RankInput(r.submission_id, r.team, r.submitted_at, r.performance, r.impact, r.energy_j, r.gwp_kgco2e,
                  r.duration_s)
        for r in board
    ]
    for method in METHODS:
        today = rank_submissions(bare, ranking(method, "none"), PERFORMANCE, impact=IMPACT)
        assert rank_submissions(board, ranking(method, "none"), PERFORMANCE, impact=IMPACT) == today
        # old rows only: nothing to resample, nothing to tie
        assert rank_submissions(bare, ranking(method), PERFORMANCE, impact=IMPACT, seed="x") == today


def test_old_rows_with_equal_scores_keep_todays_order_under_significance() -> None:
    rows = [
        submission(1, "a", predictions(0.8, 1), 5000.0, with_intervals=False),
        submission(2, "b", predictions(0.8, 1), 5000.0, with_intervals=False),
    ]
    got = rank_submissions(rows, ranking("weighted"), PERFORMANCE, impact=IMPACT, seed="x")
    assert [(r.team, r.rank, r.tied) for r in got] == [("a", 1, False), ("b", 2, False)]


def test_a_run_of_indistinguishable_neighbours_shares_the_rank_of_its_first() -> None:
    same = predictions(0.8, 1)
    inputs = [
        submission(1, "a", same, 5000.0),
        submission(2, "b", same, 5030.0),
        submission(3, "c", same, 5060.0),
        submission(4, "d", predictions(0.65, 8), 30000.0),
    ]
    got = ranks(inputs, "threshold")
    assert (got["a"], got["b"], got["c"], got["d"]) == (1, 1, 1, 4)


def test_the_sensor_term_moves_one_servers_jobs_together() -> None:
    same = predictions(0.8, 1)
    # 3 % apart, each measured to ±0.5 % for itself and ±5 % for its sensor
    one_server = [
        submission(1, "a", same, 5000.0, spread=0.005, sensor=0.05, server="gpu-1"),
        submission(2, "b", same, 5150.0, spread=0.005, sensor=0.05, server="gpu-1"),
    ]
    two_servers = [
        submission(1, "a", same, 5000.0, spread=0.005, sensor=0.05, server="gpu-1"),
        submission(2, "b", same, 5150.0, spread=0.005, sensor=0.05, server="gpu-2"),
    ]
    assert ranks(one_server, "threshold") == {"a": 1, "b": 2}  # the shared sensor cannot reorder them
    assert ranks(two_servers, "threshold") == {"a": 1, "b": 1}  # two sensors can


def test_significance_is_deterministic_and_a_submissions_draws_are_its_own() -> None:
    rng = random.Random(3)
    board = [
        submission(k, f"team-{k}", predictions(rng.uniform(0.75, 0.8), 200 + k), rng.uniform(4800, 5200))
        for k in range(12)
    ]
    first = rank_submissions(board, ranking("weighted"), PERFORMANCE, impact=IMPACT, seed="event/public")
    assert rank_submissions(board, ranking("weighted"), PERFORMANCE, impact=IMPACT, seed="event/public") == first
    assert any(row.tied for row in first)
    # a newcomer does not reshuffle the others' draws
    alone = draw_replicates(board[:3], seed="s")
    crowded = draw_replicates([board[5], *board[:3]], seed="s")
    assert np.array_equal(alone.energy_error, crowded.energy_error[:, 1:])
    assert np.array_equal(standard_normals([7, 9], 50)[:, 1], standard_normals([9], 50)[:, 0])
    normals = standard_normals(list(range(400)), 200).ravel()
    assert abs(normals.mean()) < 0.01 and abs(normals.std() - 1.0) < 0.01


def test_confidence_is_a_config_key_with_a_clear_range() -> None:
    assert RankingSection.model_validate({"method": "threshold"}).ties == "none"
    assert RankingSection.model_validate({"method": "threshold"}).confidence == 0.95
    with pytest.raises(ValueError, match="confidence"):
        RankingSection.model_validate({"method": "threshold", "confidence": 1.0})
    with pytest.raises(ValueError, match="ties"):
        RankingSection.model_validate({"method": "threshold", "ties": "sometimes"})

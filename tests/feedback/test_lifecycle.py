"""Phases by job name, and the projected deployment footprint train + N x (predict per row)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fb_world import write_event

from greenhack.errors import ScoringError
from greenhack.scoring.models import RankInput
from greenhack.scoring.pipeline_stages import Phase, PhaseFootprint, fold_phases, phase_of, project_lifecycle


@pytest.mark.parametrize(
    ("name", "phase"),
    [
        ("submission-train", "train"),
        ("train", "train"),
        ("submission:training", "train"),
        ("submission-predict", "predict"),
        ("inference", "predict"),
        ("submission", "single"),
        ("retrain-everything", "single"),
        ("predictor", "single"),
    ],
)
def test_phase_of(name: str, phase: str) -> None:
    assert phase_of(name) == phase


def _phase(sid: int, phase: Phase, impact: float, energy_j: float, rows: int | None) -> PhaseFootprint:
    return PhaseFootprint(sid, 100 + sid, phase, energy_j, impact, impact, 10.0, rows)


def test_projection_is_train_plus_n_times_predict_per_row() -> None:
    train, predict = _phase(1, "train", 0.004, 36_000.0, None), _phase(2, "predict", 0.0002, 1_800.0, 2_000)
    raw = project_lifecycle(train, predict, inferences=None, unit="kgCO2e")
    assert raw.ranked_impact == pytest.approx(0.0042) and raw.projected_impact is None
    assert raw.formula == "train 0.004 + predict 0.0002 = 0.0042 kgCO2e"
    projected = project_lifecycle(train, predict, inferences=1_000_000, unit="kgCO2e")
    assert projected.projected_impact == pytest.approx(0.004 + 1_000_000 * 0.0002 / 2_000)
    assert projected.projected_energy_j == pytest.approx(36_000 + 1_000_000 * 1_800 / 2_000)
    assert projected.ranked_gwp_kgco2e == pytest.approx(0.104)
    assert "1,000,000 inferences x predict 0.0002 / 2,000 rows = 0.104 kgCO2e" in projected.formula
    with pytest.raises(ScoringError, match="no predicted rows"):
        project_lifecycle(train, _phase(2, "predict", 0.0002, 1_800.0, 0), inferences=10, unit="kgCO2e")
    with pytest.raises(ScoringError, match="impact is not measured"):
        project_lifecycle(
            PhaseFootprint(1, 101, "train", 1.0, None, None, 1.0, None), predict, inferences=None, unit="x"
        )


def test_fold_ranks_a_pipeline_once(tmp_path: Path) -> None:
    config = write_event(tmp_path, gitlab_url="http://gitlab.invalid")
    at = datetime(2026, 6, 1, tzinfo=UTC)
    inputs = [
        RankInput(1, "team-a", at, None, 0.004, 36_000.0, 0.004, 90.0),  # train
        RankInput(2, "team-a", at, 0.9, 0.0002, 1_800.0, 0.0002, 40.0),  # predict
        RankInput(3, "team-b", at, 0.8, 0.001, 9_000.0, 0.001, 60.0),  # a single-job pipeline
    ]
    phases = {7: [_phase(1, "train", 0.004, 36_000.0, None), _phase(2, "predict", 0.0002, 1_800.0, 2_000)],
              8: [_phase(3, "predict", 0.001, 9_000.0, 100)]}  # fmt: skip
    folded = fold_phases(inputs, pipelines={1: 7, 2: 7, 3: 8}, phases=phases, config=config)
    assert [i.submission_id for i in folded] == [2, 3]
    assert folded[0].impact == pytest.approx(0.0042) and folded[0].duration_s == pytest.approx(20.0)
    assert folded[1] == inputs[2]  # no train phase, no lifecycle: unchanged

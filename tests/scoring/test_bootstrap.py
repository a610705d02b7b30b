"""The seeded, paired bootstrap of a board's metric: the same definitions as the metrics, deterministic, paired,
and intervals that hold the true performance as often as they say."""

from __future__ import annotations

import random

import numpy as np
import pytest

from greenhack.errors import ScoringError
from greenhack.metrics import METRIC_SPECS
from greenhack.scoring import compute_metric
from greenhack.scoring.bootstrap import (
    ReplicateVector,
    board_resamples,
    bootstrap_performance,
    metric_replicates,
    paired_difference_interval,
    percentile_interval,
)
from greenhack.scoring.models import Predictions, Split, Truth


def labels(n: int, seed: int, classes: str = "abcd") -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    truth = [rng.choice(classes) for _ in range(n)]
    # right two times in three, else a skewed guess (one class predicted often, one rarely)
    pred = [t if rng.random() < 0.66 else rng.choice(classes[:2] * 3 + classes) for t in truth]
    return truth, pred


def numbers(n: int, seed: int) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    truth = [rng.gauss(10.0, 3.0) for _ in range(n)]
    return truth, [t + rng.gauss(0.5, 1.0) for t in truth]


@pytest.mark.parametrize("metric", sorted(METRIC_SPECS))
def test_each_replicate_is_the_metric_on_its_resampled_rows(metric: str) -> None:
    y_true, y_pred = labels(120, 1) if METRIC_SPECS[metric].kind == "classification" else numbers(120, 1)
    resamples = board_resamples(seed="event", board="public", n_rows=120, count=40)
    replicates = metric_replicates(metric, y_true, y_pred, resamples)
    assert len(replicates) == 40
    indices = np.concatenate(list(resamples.chunks()))
    for b in range(40):
        rows = indices[b]
        expected = compute_metric(metric, [y_true[i] for i in rows], [y_pred[i] for i in rows])
        assert replicates[b] == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_resamples_are_seeded_by_the_event_the_board_and_its_rows() -> None:
    y_true, y_pred = labels(300, 2)

    def vector(seed: str, board: str) -> bytes:
        return metric_replicates(
            "accuracy", y_true, y_pred, board_resamples(seed=seed, board=board, n_rows=300, count=200)
        ).to_bytes()

    assert vector("event", "public") == vector("event", "public")
    assert vector("event", "public") != vector("event", "private")
    assert vector("event", "public") != vector("other event", "public")
    # the stored form is 4 bytes a replicate and reads back exactly
    data = vector("event", "public")
    assert len(data) == 800
    assert ReplicateVector.from_bytes(data).to_bytes() == data
    with pytest.raises(ScoringError, match="float32"):
        ReplicateVector.from_bytes(b"abc")


def test_every_submission_of_a_board_reads_the_same_rows_so_equal_predictions_have_equal_replicates() -> None:
    y_true, y_pred = labels(500, 3)
    resamples = board_resamples(seed="event", board="public", n_rows=500, count=300)
    first = metric_replicates("f1_macro", y_true, y_pred, resamples)
    again = metric_replicates("f1_macro", y_true, list(y_pred), board_resamples(
        seed="event", board="public", n_rows=500, count=300))
    assert first.to_bytes() == again.to_bytes()
    assert paired_difference_interval(first, again) == (0.0, 0.0)


def test_a_paired_comparison_sees_a_difference_the_separate_intervals_cannot() -> None:
    # B is A with 12 of its 1,000 right answers turned wrong: 1.2 points apart, far inside each other's intervals
    y_true, y_pred_a = labels(1000, 4)
    right = [i for i in range(1000) if y_true[i] == y_pred_a[i]]
    y_pred_b = list(y_pred_a)
    for i in right[:12]:
        y_pred_b[i] = "z"
    resamples = board_resamples(seed="event", board="public", n_rows=1000, count=1000)
    a = metric_replicates("accuracy", y_true, y_pred_a, resamples)
    b = metric_replicates("accuracy", y_true, y_pred_b, resamples)
    low_a, _ = a.interval()
    _, high_b = b.interval()
    assert high_b > low_a  # the separate intervals overlap
    low, high = paired_difference_interval(a, b)
    assert 0.0 < low <= 0.012 <= high  # the paired one does not hold 0


def test_the_accuracy_interval_holds_the_true_accuracy_95_times_in_100() -> None:
    # 200 test sets of 400 rows drawn with a known accuracy of 0.8; each set's own 95 % interval
    inside = 0
    for trial in range(200):
        rng = random.Random(1000 + trial)
        y_true = [rng.choice("abc") for _ in range(400)]
        y_pred = [t if rng.random() < 0.8 else rng.choice([c for c in "abc" if c != t]) for t in y_true]
        resamples = board_resamples(seed=f"trial {trial}", board="public", n_rows=400, count=400)
        low, high = metric_replicates("accuracy", y_true, y_pred, resamples).interval(0.95)
        inside += low <= 0.8 <= high
    assert 0.90 <= inside / 200 <= 0.99


def test_the_rmse_interval_holds_the_true_error_95_times_in_100() -> None:
    inside = 0
    for trial in range(200):
        rng = random.Random(5000 + trial)
        y_true = [rng.uniform(0.0, 100.0) for _ in range(400)]
        y_pred = [t + rng.gauss(0.0, 2.0) for t in y_true]  # the true rmse is 2.0
        resamples = board_resamples(seed=f"trial {trial}", board="public", n_rows=400, count=400)
        low, high = metric_replicates("rmse", y_true, y_pred, resamples).interval(0.95)
        inside += low <= 2.0 <= high
    assert 0.90 <= inside / 200 <= 0.99


def test_bootstrap_performance_draws_each_board_on_its_own_rows_in_truth_order() -> None:
    ids = tuple(f"id{i}" for i in range(60))
    y_true, y_pred = labels(60, 7, "ab")
    truth = Truth("truth.csv", "id", "label", "classification", ids, tuple(y_true), (), frozenset(y_true),
                  {i: k for k, i in enumerate(ids)})
    predictions = Predictions("predictions.csv", "classification", tuple(y_pred), (), 60)
    public = frozenset(ids[::3])
    split = Split(public, frozenset(ids) - public, True, 1 / 3, "event")
    replicates = bootstrap_performance(predictions, truth, metric="accuracy", split=split, seed="event", count=50)
    rows = [k for k, i in enumerate(ids) if i in public]
    expected = metric_replicates("accuracy", [y_true[k] for k in rows], [y_pred[k] for k in rows],
                                 board_resamples(seed="event", board="public", n_rows=len(rows), count=50))
    assert replicates.public.to_bytes() == expected.to_bytes()
    assert len(replicates.private) == 50


def test_bad_input_is_a_clear_error() -> None:
    resamples = board_resamples(seed="e", board="public", n_rows=3, count=5)
    with pytest.raises(ScoringError, match="unknown metric"):
        metric_replicates("auc", ["a"] * 3, ["a"] * 3, resamples)
    with pytest.raises(ScoringError, match="resamples are of 3"):
        metric_replicates("accuracy", ["a"] * 4, ["a"] * 4, resamples)
    with pytest.raises(ScoringError, match="finite"):
        metric_replicates("rmse", [1.0, 2.0, float("nan")], [1.0, 2.0, 3.0], resamples)
    with pytest.raises(ScoringError, match="confidence"):
        percentile_interval([1.0, 2.0], 1.0)
    with pytest.raises(ScoringError, match="at least one row"):
        board_resamples(seed="e", board="public", n_rows=0)


def test_many_classes_count_per_class_without_the_whole_confusion_matrix() -> None:
    # 400 classes: a chunk's confusion matrices would not fit, so the per-class counts are taken one by one
    rng = random.Random(9)
    classes = [f"c{i}" for i in range(400)]
    y_true = [rng.choice(classes) for _ in range(600)]
    y_pred = [t if rng.random() < 0.5 else rng.choice(classes) for t in y_true]
    resamples = board_resamples(seed="event", board="public", n_rows=600, count=30)
    replicates = metric_replicates("f1_macro", y_true, y_pred, resamples)
    rows = next(iter(resamples.chunks()))[7]
    assert replicates[7] == pytest.approx(
        compute_metric("f1_macro", [y_true[i] for i in rows], [y_pred[i] for i in rows]), rel=1e-6
    )

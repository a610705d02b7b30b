"""The pure-Python metrics agree with scikit-learn to 1e-9 on random inputs."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

from greenhack import metrics
from greenhack.config import METRICS
from greenhack.errors import ScoringError
from greenhack.metrics import METRIC_SPECS, compute_metric

SKLEARN: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "f1_macro": lambda t, p: skm.f1_score(t, p, average="macro"),
    "f1_weighted": lambda t, p: skm.f1_score(t, p, average="weighted"),
    "precision_macro": lambda t, p: skm.precision_score(t, p, average="macro"),
    "recall_macro": lambda t, p: skm.recall_score(t, p, average="macro"),
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
    "r2": skm.r2_score,
}
CLASSIFICATION = [name for name, spec in METRIC_SPECS.items() if spec.kind == "classification"]
REGRESSION = [name for name, spec in METRIC_SPECS.items() if spec.kind == "regression"]


def sklearn_value(name: str, y_true: list[Any], y_pred: list[Any]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division and "y_pred contains classes not in y_true" warnings
        return float(SKLEARN[name](y_true, y_pred))


def test_every_metric_is_known_to_the_config_with_the_same_direction() -> None:
    assert {name: spec.higher_is_better for name, spec in METRIC_SPECS.items()} == METRICS
    assert set(SKLEARN) == set(METRIC_SPECS)


# Labels from a small alphabet, so that classes repeat, are sometimes missing from y_true or never predicted.
labels = st.sampled_from(["a", "b", "c", "d", "e"])
label_pairs = st.lists(st.tuples(labels, labels), min_size=1, max_size=60)


@pytest.mark.parametrize("name", CLASSIFICATION)
@settings(max_examples=150, deadline=None)
@given(pairs=label_pairs)
def test_classification_metrics_match_sklearn(name: str, pairs: list[tuple[str, str]]) -> None:
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    ours = compute_metric(name, y_true, y_pred)
    assert math.isclose(ours, sklearn_value(name, y_true, y_pred), rel_tol=1e-9, abs_tol=1e-9)


finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
value_pairs = st.lists(st.tuples(finite, finite), min_size=2, max_size=60).filter(
    # scikit-learn's r2 is rounding noise when y_true is (nearly) constant: r2_score([0.1]*3, [0.2]*3) gives
    # -5e31 because its mean of equal values is not exactly that value. Compare where the metric is defined.
    lambda pairs: max(t for t, _ in pairs) - min(t for t, _ in pairs) > 1e-3
)


@pytest.mark.parametrize("name", REGRESSION)
@settings(max_examples=150, deadline=None)
@given(pairs=value_pairs)
def test_regression_metrics_match_sklearn(name: str, pairs: list[tuple[float, float]]) -> None:
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    ours = compute_metric(name, y_true, y_pred)
    assert math.isclose(ours, sklearn_value(name, y_true, y_pred), rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_metrics_match_sklearn_on_large_random_inputs(name: str) -> None:
    rng = random.Random(name)
    classes = [f"class-{i}" for i in range(12)]
    y_true = [rng.choice(classes) for _ in range(20_000)]
    y_pred = [t if rng.random() < 0.6 else rng.choice(classes[:10]) for t in y_true]
    assert math.isclose(
        compute_metric(name, y_true, y_pred), sklearn_value(name, y_true, y_pred), rel_tol=1e-9
    )


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_metrics_match_sklearn_on_large_random_inputs(name: str) -> None:
    rng = random.Random(name)
    y_true = [rng.gauss(50.0, 20.0) for _ in range(20_000)]
    y_pred = [t + rng.gauss(0.0, 5.0) for t in y_true]
    assert math.isclose(
        compute_metric(name, y_true, y_pred), sklearn_value(name, y_true, y_pred), rel_tol=1e-9
    )


def test_hand_checked_values() -> None:
    y_true = ["a", "a", "b", "b"]
    y_pred = ["a", "b", "b", "b"]
    assert metrics.accuracy(y_true, y_pred) == 0.75
    assert metrics.balanced_accuracy(y_true, y_pred) == 0.75  # recalls 1/2 and 2/2
    assert math.isclose(metrics.precision_macro(y_true, y_pred), (1.0 + 2 / 3) / 2)
    assert metrics.rmse([1.0, 2.0], [2.0, 4.0]) == math.sqrt(2.5)
    assert metrics.mae([1.0, 2.0], [2.0, 4.0]) == 1.5
    assert metrics.r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0


def test_r2_on_a_constant_truth_follows_sklearn_force_finite() -> None:
    assert metrics.r2([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert metrics.r2([2.0, 2.0, 2.0], [2.0, 2.5, 2.0]) == 0.0


@pytest.mark.parametrize(
    ("name", "y_true", "y_pred", "message"),
    [
        ("accuracy", [], [], "no rows"),
        ("accuracy", ["a"], ["a", "b"], "1 true values but 2 predictions"),
        ("rmse", [1.0, float("nan")], [1.0, 2.0], "finite"),
        ("mae", [1.0], [float("inf")], "finite"),
        ("r2", [1.0], [1.0], "at least two rows"),
        ("logloss", ["a"], ["a"], "unknown metric"),
    ],
)
def test_rows_a_metric_cannot_score_raise(
    name: str, y_true: list[Any], y_pred: list[Any], message: str
) -> None:
    with pytest.raises(ScoringError, match=message):
        compute_metric(name, y_true, y_pred)

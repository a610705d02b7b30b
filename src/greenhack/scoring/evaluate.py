"""Scoring a predictions file: the metric on the public rows and on the private rows of the truth."""

from __future__ import annotations

from pathlib import Path

from greenhack.config import EventConfig
from greenhack.errors import PredictionsError, ScoringError
from greenhack.metrics import METRIC_SPECS
from greenhack.scoring.models import Performance, Predictions, ScoreResult, Split, Truth
from greenhack.scoring.predictions import read_predictions
from greenhack.scoring.split import split_rows

__all__ = ["evaluate_performance", "score_predictions", "split_for"]


def split_for(config: EventConfig, truth: Truth) -> Split:
    """The event's split of ``truth``: ``task.public_fraction`` seeded by ``event.split_seed``."""
    return split_rows(truth.ids, public_fraction=config.task.public_fraction, seed=config.event.split_seed)


def evaluate_performance(predictions: Predictions, truth: Truth, *, metric: str, split: Split) -> Performance:
    """The metric on the public rows and on the private rows.

    Raises:
        ScoringError: the predictions do not answer this truth, or a split has too few rows for the metric.
    """
    spec = METRIC_SPECS.get(metric)
    if spec is None:
        raise ScoringError(f"unknown metric {metric!r}")
    if spec.kind != truth.kind or predictions.kind != truth.kind:
        raise ScoringError(f"metric {metric!r} needs {spec.kind} truth and predictions")
    y_true = truth.labels if truth.kind == "classification" else truth.values
    y_pred = predictions.labels if predictions.kind == "classification" else predictions.values
    if len(y_pred) != len(y_true):
        raise ScoringError(f"{len(y_pred)} predictions for {len(y_true)} truth rows")

    def on(ids: frozenset[str]) -> tuple[float, int]:
        rows = [i for i, row_id in enumerate(truth.ids) if row_id in ids]
        try:
            value = spec.function([y_true[i] for i in rows], [y_pred[i] for i in rows])
        except ScoringError as exc:
            raise ScoringError(f"{metric} on {len(rows)} rows: {exc}") from exc
        return value, len(rows)

    public, n_public = on(split.public_ids)
    private, n_private = on(split.private_ids)
    return Performance(metric, spec.higher_is_better, public, private, n_public, n_private)


def score_predictions(
    data: bytes | Path, *, config: EventConfig, truth: Truth, split: Split, filename: str | None = None
) -> ScoreResult:
    """Read, validate and score one predictions file.

    A bad file is not an error of the platform: it gives ``ScoreResult(status="invalid")`` with the messages
    for the team. ``ScoringError`` is left to propagate only for problems of the event itself (truth, split).
    """
    try:
        predictions = read_predictions(
            data, truth=truth, task=config.task, metric=config.performance.metric, filename=filename
        )
    except PredictionsError as exc:
        return ScoreResult("invalid", None, tuple(exc.problems))
    performance = evaluate_performance(predictions, truth, metric=config.performance.metric, split=split)
    return ScoreResult("scored", performance, (), predictions)

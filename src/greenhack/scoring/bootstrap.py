"""A seeded, paired bootstrap of a board's metric: how sure a performance is, and whether two differ.

**One set of resamples per board.** A board (public or private) scores every submission on the same rows, in
truth order. :func:`board_resamples` draws B resamples of those n rows (with replacement) from a seed made of the
event's seed, the board's name and n, so the same event always draws the same resamples. A submission's
replicate b is its metric on resample b: every submission's replicate b reads the same rows, so two submissions
are paired by construction, and the difference of their replicates is the paired bootstrap of their difference
(the rows both find hard count for neither).

**Computed once.** A submission's replicates (:func:`metric_replicates`, or :func:`bootstrap_performance` for both
boards) depend only on its predictions and the board, so they are computed when it is scored and kept
(:class:`ReplicateVector`, 4 bytes a replicate) for the ranking to compare later
(:mod:`greenhack.scoring.ranking`, ``ranking.ties: significant``).

**Every metric** of :mod:`greenhack.metrics`, with the same definitions (a replicate equals
``compute_metric`` on the resampled rows): classification metrics from per-class counts, regression metrics from
the residuals, vectorised with NumPy over chunks of resamples.

**Deterministic everywhere.** Row indices come from the raw 64-bit outputs of NumPy's PCG64 bit generator (a
stream NumPy keeps stable across releases, unlike its Generator methods), reduced modulo n (a bias below
n / 2^64).

**Intervals** are percentile intervals of the replicates (:func:`percentile_interval`); a paired comparison is the
percentile interval of the replicate-wise difference (:func:`paired_difference_interval`).

Speed: 1,000 replicates of accuracy on 10,000 rows take a few tens of milliseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from greenhack.errors import ScoringError
from greenhack.metrics import METRIC_SPECS
from greenhack.scoring.models import Predictions, Split, Truth

__all__ = [
    "BOOTSTRAP_REPLICATES",
    "BoardName",
    "PerformanceReplicates",
    "ReplicateVector",
    "Resamples",
    "board_resamples",
    "bootstrap_performance",
    "metric_replicates",
    "paired_difference_interval",
    "percentile_interval",
]

BOOTSTRAP_REPLICATES = 1000
"""Replicates drawn per board: enough for the tails of a 95 % percentile interval (25 on each side)."""

BoardName = Literal["public", "private"]

# the most row indices held in memory at once (a chunk of resamples), and the most kept between submissions
_CHUNK_CELLS = 4_000_000
_CACHE_CELLS = 16_000_000


@dataclass(frozen=True)
class ReplicateVector:
    """A submission's bootstrap replicates of its metric on one board, in resample order (float32, read-only).

    ``values[b]`` is the metric on resample b of the board's shared resamples, so two vectors of the same board
    are paired index by index. ``to_bytes``/``from_bytes`` give the compact form to store (little-endian float32).
    """

    values: NDArray[np.float32] = field(repr=False)

    def __post_init__(self) -> None:
        array = np.ascontiguousarray(self.values, dtype="<f4")
        array.setflags(write=False)
        object.__setattr__(self, "values", array)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __array__(self, dtype: object = None, copy: object = None) -> NDArray[np.float64]:
        return np.asarray(self.values, dtype=np.float64 if dtype is None else dtype)

    def __getitem__(self, b: int) -> float:
        return float(self.values[b])

    def to_bytes(self) -> bytes:
        return self.values.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReplicateVector:
        if len(data) % 4:
            raise ScoringError(f"stored replicates are {len(data)} bytes, not a whole number of float32 values")
        return cls(np.frombuffer(data, dtype="<f4"))

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The percentile interval of the replicates at ``confidence``."""
        return percentile_interval(self, confidence)


@dataclass(frozen=True)
class PerformanceReplicates:
    """A submission's replicates on the public and on the private board."""

    public: ReplicateVector
    private: ReplicateVector


class Resamples:
    """B seeded resamples (with replacement) of the n rows of one board, shared by every submission of it.

    Build with :func:`board_resamples`. The row indices are drawn chunk by chunk (``chunks``), the same every
    time; a board small enough (n x B up to 16 million) keeps them between submissions.
    """

    def __init__(self, *, key: bytes, n_rows: int, count: int) -> None:
        if n_rows < 1:
            raise ScoringError("a bootstrap needs at least one row")
        if n_rows >= 2**31:
            raise ScoringError(f"{n_rows} rows are more than a bootstrap of int32 row indices can hold")
        if count < 1:
            raise ScoringError("a bootstrap needs at least one replicate")
        self.key = key
        self.n_rows = n_rows
        self.count = count
        self._cached: list[NDArray[np.int32]] | None = None

    def chunks(self) -> Iterator[NDArray[np.int32]]:
        """Arrays of row indices, shape (replicates in the chunk, n_rows), in replicate order."""
        if self._cached is not None:
            yield from self._cached
            return
        keep = self.n_rows * self.count <= _CACHE_CELLS
        kept: list[NDArray[np.int32]] = []
        generator = np.random.PCG64(int.from_bytes(self.key, "big"))
        per_chunk = max(1, min(self.count, _CHUNK_CELLS // self.n_rows))
        done = 0
        while done < self.count:
            size = min(per_chunk, self.count - done)
            raw = generator.random_raw(size * self.n_rows)
            indices = (raw % np.uint64(self.n_rows)).astype(np.int32).reshape(size, self.n_rows)
            if keep:
                kept.append(indices)
            yield indices
            done += size
        if keep:
            self._cached = kept


def board_resamples(*, seed: str, board: str, n_rows: int, count: int = BOOTSTRAP_REPLICATES) -> Resamples:
    """The shared resamples of one board: seeded by the event's seed (``event.split_seed``), the board's name and
    its number of rows, so every submission scored on that board gets the same ones."""
    key = hashlib.sha256(f"greenhack bootstrap\x00{seed}\x00{board}\x00{n_rows}".encode()).digest()[:16]
    return Resamples(key=key, n_rows=n_rows, count=count)


# ---------------------------------------------------------------------------------------------------------------
# Replicates, one metric at a time
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Classified:
    """Per-row class codes of a classification (over the union of labels, as scikit-learn takes them)."""

    true: NDArray[np.int64]
    pred: NDArray[np.int64]
    correct: NDArray[np.bool_]
    classes: int
    pair: NDArray[np.int64]  # true x classes + pred: one gather gives the whole confusion matrix


@dataclass(frozen=True)
class _Counts:
    """Per-replicate, per-class counts: true positives, support in y_true, predictions (shape (c, K))."""

    tp: NDArray[np.float64]
    support: NDArray[np.float64]
    predicted: NDArray[np.float64]
    n: int


def _classified(y_true: Sequence[str], y_pred: Sequence[str]) -> _Classified:
    labels = sorted(set(y_true) | set(y_pred))
    code = {label: i for i, label in enumerate(labels)}
    true = np.fromiter((code[v] for v in y_true), dtype=np.int64, count=len(y_true))
    pred = np.fromiter((code[v] for v in y_pred), dtype=np.int64, count=len(y_pred))
    return _Classified(true, pred, true == pred, len(labels), true * len(labels) + pred)


def _per_class(codes: NDArray[np.int64], weights: NDArray[np.bool_] | None, classes: int) -> NDArray[np.float64]:
    rows = codes.shape[0]
    offsets = (np.arange(rows, dtype=np.int64) * classes)[:, None]
    flat = (codes + offsets).ravel()
    counted = np.bincount(flat, weights=None if weights is None else weights.ravel(), minlength=rows * classes)
    return counted.reshape(rows, classes).astype(np.float64)


def _counts(data: _Classified, indices: NDArray[np.int32]) -> _Counts:
    k = data.classes
    if indices.shape[0] * k * k <= _CHUNK_CELLS:
        confusion = _per_class(data.pair[indices], None, k * k).reshape(indices.shape[0], k, k)
        return _Counts(
            tp=np.diagonal(confusion, axis1=1, axis2=2).copy(),
            support=confusion.sum(axis=2),
            predicted=confusion.sum(axis=1),
            n=indices.shape[1],
        )
    true, pred = data.true[indices], data.pred[indices]
    return _Counts(
        tp=_per_class(true, data.correct[indices], data.classes),
        support=_per_class(true, None, data.classes),
        predicted=_per_class(pred, None, data.classes),
        n=indices.shape[1],
    )


def _ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _mean_over(values: NDArray[np.float64], mask: NDArray[np.bool_]) -> NDArray[np.float64]:
    return np.where(mask, values, 0.0).sum(axis=1) / mask.sum(axis=1)


def _present(c: _Counts) -> NDArray[np.bool_]:
    # the union of the labels that appear in this resample's y_true or y_pred
    return (c.support + c.predicted) > 0


def _f1(c: _Counts) -> NDArray[np.float64]:
    return _ratio(2.0 * c.tp, c.predicted + c.support)


_ClassificationReplicates = Callable[["_Classified", NDArray[np.int32]], NDArray[np.float64]]


def _accuracy(data: _Classified, indices: NDArray[np.int32]) -> NDArray[np.float64]:
    return data.correct[indices].mean(axis=1)


def _from_counts(function: Callable[[_Counts], NDArray[np.float64]]) -> _ClassificationReplicates:
    return lambda data, indices: function(_counts(data, indices))

_CLASSIFICATION: Mapping[str, _ClassificationReplicates] = MappingProxyType(
    {
        "accuracy": _accuracy,
        "balanced_accuracy": _from_counts(lambda c: _mean_over(_ratio(c.tp, c.support), c.support > 0)),
        "precision_macro": _from_counts(lambda c: _mean_over(_ratio(c.tp, c.predicted), _present(c))),
        "recall_macro": _from_counts(lambda c: _mean_over(_ratio(c.tp, c.support), _present(c))),
        "f1_macro": _from_counts(lambda c: _mean_over(_f1(c), _present(c))),
        "f1_weighted": _from_counts(lambda c: (_f1(c) * c.support).sum(axis=1) / c.n),
    }
)


@dataclass(frozen=True)
class _Regressed:
    truth: NDArray[np.float64]
    residual: NDArray[np.float64]


def _r2(data: _Regressed, indices: NDArray[np.int32]) -> NDArray[np.float64]:
    y = data.truth[indices]
    ss_res = np.square(data.residual[indices]).sum(axis=1)
    ss_tot = np.square(y - y.mean(axis=1, keepdims=True)).sum(axis=1)
    constant = y.max(axis=1) == y.min(axis=1)
    fitted = 1.0 - _ratio(ss_res, ss_tot)
    # scikit-learn's force_finite: a constant truth scores 1.0 when predicted exactly, else 0.0
    return np.where(constant, np.where(ss_res == 0.0, 1.0, 0.0), fitted)


_REGRESSION: Mapping[str, Callable[[_Regressed, NDArray[np.int32]], NDArray[np.float64]]] = MappingProxyType(
    {
        "rmse": lambda d, i: np.sqrt(np.square(d.residual[i]).mean(axis=1)),
        "mae": lambda d, i: np.abs(d.residual[i]).mean(axis=1),
        "r2": _r2,
    }
)


def metric_replicates(
    metric: str,
    y_true: Sequence[str] | Sequence[float],
    y_pred: Sequence[str] | Sequence[float],
    resamples: Resamples,
) -> ReplicateVector:
    """The metric on each of the board's resamples of the rows (``y_true``/``y_pred`` aligned, in board order).

    Raises:
        ScoringError: an unknown metric, rows that do not match the resamples, or rows the metric cannot read.
    """
    spec = METRIC_SPECS.get(metric)
    if spec is None:
        raise ScoringError(f"unknown metric {metric!r}; known: {', '.join(METRIC_SPECS)}")
    if len(y_true) != len(y_pred):
        raise ScoringError(f"{len(y_true)} true values but {len(y_pred)} predictions")
    if len(y_true) != resamples.n_rows:
        raise ScoringError(f"{len(y_true)} rows, but the board's resamples are of {resamples.n_rows}")
    parts: list[NDArray[np.float64]] = []
    if spec.kind == "classification":
        data = _classified([str(v) for v in y_true], [str(v) for v in y_pred])
        function = _CLASSIFICATION[metric]
        for indices in resamples.chunks():
            parts.append(function(data, indices))
    else:
        truth = np.asarray(y_true, dtype=np.float64)
        predicted = np.asarray(y_pred, dtype=np.float64)
        if not (np.isfinite(truth).all() and np.isfinite(predicted).all()):
            raise ScoringError("regression metrics need finite numbers")
        if metric == "r2" and resamples.n_rows < 2:
            raise ScoringError("r2 needs at least two rows")
        regressed = _Regressed(truth, predicted - truth)
        rfunction = _REGRESSION[metric]
        for indices in resamples.chunks():
            parts.append(rfunction(regressed, indices))
    return ReplicateVector(np.concatenate(parts).astype(np.float32))


def bootstrap_performance(
    predictions: Predictions,
    truth: Truth,
    *,
    metric: str,
    split: Split,
    seed: str,
    count: int = BOOTSTRAP_REPLICATES,
) -> PerformanceReplicates:
    """A submission's replicates on the public and the private board (rows in truth order, like
    :func:`greenhack.scoring.evaluate.evaluate_performance`), from each board's shared resamples.

    Args:
        predictions: the submission's valid predictions, aligned with ``truth``.
        truth: the hidden truth.
        metric: the event's metric.
        split: the event's public/private split.
        seed: the event's seed (``event.split_seed``).
        count: replicates per board.
    """
    y_true = truth.labels if truth.kind == "classification" else truth.values
    y_pred = predictions.labels if predictions.kind == "classification" else predictions.values
    if len(y_true) != len(y_pred):
        raise ScoringError(f"{len(y_pred)} predictions for {len(y_true)} truth rows")

    def on(board: BoardName, ids: frozenset[str]) -> ReplicateVector:
        rows = [i for i, row_id in enumerate(truth.ids) if row_id in ids]
        resamples = board_resamples(seed=seed, board=board, n_rows=len(rows), count=count)
        return metric_replicates(metric, [y_true[i] for i in rows], [y_pred[i] for i in rows], resamples)

    return PerformanceReplicates(public=on("public", split.public_ids), private=on("private", split.private_ids))


# ---------------------------------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------------------------------


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ScoringError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def percentile_interval(replicates: ReplicateVector | Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """The (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the replicates."""
    _check_confidence(confidence)
    values = np.asarray(replicates, dtype=np.float64)
    if values.size == 0:
        raise ScoringError("no replicates to take an interval of")
    tail = 0.5 * (1.0 - confidence)
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def paired_difference_interval(
    a: ReplicateVector | Sequence[float], b: ReplicateVector | Sequence[float], confidence: float = 0.95
) -> tuple[float, float]:
    """The percentile interval of ``a - b`` replicate by replicate: the paired bootstrap of the difference of two
    submissions scored on the same board's resamples. Differing lengths use the common prefix."""
    left, right = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    common = min(left.size, right.size)
    if common == 0:
        raise ScoringError("no replicates to compare")
    return percentile_interval(left[:common] - right[:common], confidence)

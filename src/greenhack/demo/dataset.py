"""The demo's task: classify scikit-learn's bundled handwritten digits (1,797 8x8 images, 10 classes).

The dataset ships inside scikit-learn (no download). A fixed seed shuffles it once into a training part (labels
given to the teams) and a test part (features only for the teams; labels are the platform's hidden truth).
``numpy.random.RandomState`` is used because its stream is frozen across NumPy versions, so the split, the ids
and ``examples/demo/secrets/truth.csv`` are the same on every machine.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["SPLIT_SEED", "TEST_FRACTION", "DemoSplit", "digits_split", "write_public_data", "write_truth"]

SPLIT_SEED = 2026
TEST_FRACTION = 0.3


@dataclass(frozen=True)
class DemoSplit:
    """The digits split: training rows with labels, test rows with ids (their labels are the hidden truth).

    Attributes:
        train_features: training pixels, shape (n_train, 64), values 0..16.
        train_labels: training digits 0..9.
        test_ids: the ids teams must predict, 1..n_test.
        test_features: test pixels, shape (n_test, 64).
        test_labels: the hidden truth of the test rows.
    """

    train_features: NDArray[np.float64]
    train_labels: NDArray[np.int64]
    test_ids: NDArray[np.int64]
    test_features: NDArray[np.float64]
    test_labels: NDArray[np.int64]


def digits_split(*, seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION) -> DemoSplit:
    """Shuffle the bundled digits with ``seed`` and cut off ``test_fraction`` of the rows as the test part."""
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]  # the optional 'demo' extra

    digits = load_digits()
    features = np.asarray(digits.data, dtype=np.float64)
    labels = np.asarray(digits.target, dtype=np.int64)
    order = np.random.RandomState(seed).permutation(len(labels))
    n_test = round(len(labels) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return DemoSplit(
        train_features=features[train],
        train_labels=labels[train],
        test_ids=np.arange(1, n_test + 1, dtype=np.int64),
        test_features=features[test],
        test_labels=labels[test],
    )


def _pixel_columns() -> list[str]:
    return [f"pixel_{i}" for i in range(64)]


def write_public_data(split: DemoSplit, folder: Path) -> tuple[Path, Path]:
    """Write what teams receive: ``train.csv`` (pixels + label) and ``test.csv`` (id + pixels, no label)."""
    folder.mkdir(parents=True, exist_ok=True)
    train_path, test_path = folder / "train.csv", folder / "test.csv"
    with train_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*_pixel_columns(), "label"])
        for row, label in zip(split.train_features, split.train_labels, strict=True):
            writer.writerow([*(int(v) for v in row), int(label)])
    with test_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", *_pixel_columns()])
        for row_id, row in zip(split.test_ids, split.test_features, strict=True):
            writer.writerow([int(row_id), *(int(v) for v in row)])
    return train_path, test_path


def write_truth(split: DemoSplit, path: Path) -> Path:
    """Write the hidden truth (``id,label``) of the test rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label"])
        for row_id, label in zip(split.test_ids, split.test_labels, strict=True):
            writer.writerow([int(row_id), int(label)])
    return path

"""The organisers' baseline (baselines: in event.yaml): raw pixels and a plain logistic regression.

It runs, is measured and scored like a team's job, and the board lists it with a badge, never ranked: every
team's line says how it compares with it. Run as the CI job would: python submission.py DATA_DIR PREDICTIONS_CSV
DATA_DIR holds train.csv (pixel_0..pixel_63, label) and test.csv (id, pixel_0..pixel_63).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression


def main(data_dir: Path, predictions: Path) -> None:
    train = np.loadtxt(data_dir / "train.csv", delimiter=",", skiprows=1)
    test = np.loadtxt(data_dir / "test.csv", delimiter=",", skiprows=1)
    features, labels = train[:, :-1], train[:, -1].astype(int)
    ids, test_features = test[:, 0].astype(int), test[:, 1:]
    model = LogisticRegression(max_iter=500)
    model.fit(features, labels)
    predicted = model.predict(test_features)
    with predictions.open("w", encoding="utf-8") as out:
        out.write("id,label\n")
        for row_id, label in zip(ids, predicted):
            out.write(f"{row_id},{int(label)}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

"""Team deep-thinkers: a two-layer perceptron trained for 20 epochs (the costliest).

Run as the CI job would: python submission.py DATA_DIR PREDICTIONS_CSV
DATA_DIR holds train.csv (pixel_0..pixel_63, label) and test.csv (id, pixel_0..pixel_63).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main(data_dir: Path, predictions: Path) -> None:
    train = np.loadtxt(data_dir / "train.csv", delimiter=",", skiprows=1)
    test = np.loadtxt(data_dir / "test.csv", delimiter=",", skiprows=1)
    features, labels = train[:, :-1], train[:, -1].astype(int)
    ids, test_features = test[:, 0].astype(int), test[:, 1:]
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed epoch budget, on purpose
    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=20, random_state=0, tol=0.0, n_iter_no_change=1000),
    )
    model.fit(features, labels)
    predicted = model.predict(test_features)
    with predictions.open("w", encoding="utf-8") as out:
        out.write("id,label\n")
        for row_id, label in zip(ids, predicted):
            out.write(f"{row_id},{int(label)}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

"""greenhack score: the metric on the public and private rows, or exit 2 with every problem of a bad file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.config import EventConfig
from greenhack.scoring import load_truth, split_for

TRUTH = "id,label\n" + "".join(f"{i},{'cat' if i % 3 else 'dog'}\n" for i in range(1, 21))


def write_predictions(config: EventConfig, tmp_path: Path, *, wrong_private: bool) -> Path:
    truth = load_truth(config)
    split = split_for(config, truth)
    lines = ["id,label"]
    for row_id, label in zip(truth.ids, truth.labels, strict=True):
        flip = wrong_private and row_id in split.private_ids
        lines.append(f"{row_id},{('dog' if label == 'cat' else 'cat') if flip else label}")
    path = tmp_path / "predictions.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_score_prints_public_and_private(make_event: Callable[..., EventConfig], tmp_path: Path) -> None:
    config = make_event(TRUTH, public_fraction=0.5)
    predictions = write_predictions(config, tmp_path, wrong_private=True)
    result = CliRunner().invoke(
        app, ["score", "--config", str(config.source), "--predictions", str(predictions)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "accuracy (higher is better)\n  public   1.000000  on 10 rows\n  private  0.000000  on 10 rows\n"
    )


def test_score_as_json(make_event: Callable[..., EventConfig], tmp_path: Path) -> None:
    config = make_event(TRUTH, public_fraction=0.5)
    predictions = write_predictions(config, tmp_path, wrong_private=False)
    result = CliRunner().invoke(
        app, ["score", "--config", str(config.source), "--predictions", str(predictions), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "status": "scored",
        "metric": "accuracy",
        "higher_is_better": True,
        "public": {"value": 1.0, "rows": 10},
        "private": {"value": 1.0, "rows": 10},
        "holdout": True,
    }


def test_a_bad_file_exits_2_with_every_problem(
    make_event: Callable[..., EventConfig], tmp_path: Path
) -> None:
    config = make_event(TRUTH)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\n1,cat\n1,cat\n2,cow\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["score", "--config", str(config.source), "--predictions", str(bad)])
    assert result.exit_code == 2
    assert f"{bad} line 3: id '1' appears twice (first on line 2)" in result.stderr
    assert f"{bad} line 4, column 'label': label 'cow' never appears in the truth" in result.stderr
    assert "18 ids of the test set have no prediction" in result.stderr
    assert f"{bad}: invalid (3 problems listed)" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_file_as_json(make_event: Callable[..., EventConfig], tmp_path: Path) -> None:
    config = make_event(TRUTH)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\x01binary")
    result = CliRunner().invoke(
        app, ["score", "--config", str(config.source), "--predictions", str(bad), "--format", "json"]
    )
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["status"] == "invalid"
    assert payload["problems"][0].startswith(f"{bad} line 1: this is a binary file")


def test_a_bad_truth_exits_2_with_its_line(make_event: Callable[..., EventConfig], tmp_path: Path) -> None:
    config = make_event("id,label\n1,cat\n1,dog\n")
    predictions = tmp_path / "p.csv"
    predictions.write_text("id,label\n1,cat\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["score", "--config", str(config.source), "--predictions", str(predictions)]
    )
    assert result.exit_code == 2
    assert "truth.csv:3: task.truth: id '1' appears twice (first on line 2)" in result.stderr


def test_a_missing_predictions_file(make_event: Callable[..., EventConfig], tmp_path: Path) -> None:
    config = make_event(TRUTH)
    missing = tmp_path / "none.csv"
    result = CliRunner().invoke(app, ["score", "--config", str(config.source), "--predictions", str(missing)])
    assert result.exit_code == 2
    assert f"{missing}: file not found" in result.stderr

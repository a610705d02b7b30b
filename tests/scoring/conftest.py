"""Builders shared by the scoring tests: an event YAML with its truth file, and tasks/truths in memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from greenhack.config import EventConfig, TaskSection, load_event

EVENT_YAML = """\
event:
  name: Scoring Test Event
  opens: 2026-12-01T09:00:00+01:00
  closes: 2026-12-02T17:00:00+01:00
task:
  predictions: predictions.csv
  truth: truth.csv
  id_column: id
  target_column: label
  public_fraction: {public_fraction}
performance:
  metric: {metric}
impact:
  criterion: gwp
ranking:
  method: weighted
  weights: {{performance: 0.5, impact: 0.5}}
limits:
  submissions_per_day: 3
  carbon_budget_g: 100
telemetry:
  prometheus: http://127.0.0.1:9090
boavizta:
  url: http://127.0.0.1:5000
servers:
  - name: gpu-1
    runner_tags: [gpu-1]
    scaphandre: '{{instance="gpu-1:8080"}}'
    hardware:
      cpu: {{name: Intel Xeon Gold 6248, units: 1}}
      ram_gb: 64
"""

EventFactory = Callable[..., EventConfig]


@pytest.fixture
def make_event(tmp_path: Path) -> EventFactory:
    """``make_event(truth_csv, metric="accuracy", public_fraction=0.3)`` writes event.yaml and truth.csv."""

    def make(
        truth_csv: str | bytes, *, metric: str = "accuracy", public_fraction: float = 0.3
    ) -> EventConfig:
        truth_path = tmp_path / "truth.csv"
        # loading the event validates the truth too (check-config): load it with a valid one, then write the
        # truth under test, as a truth file changed after the event was loaded is still checked when scoring
        truth_path.write_text("id,label\n1,1\n2,2\n", encoding="utf-8")
        yaml_path = tmp_path / "event.yaml"
        yaml_path.write_text(
            EVENT_YAML.format(metric=metric, public_fraction=public_fraction), encoding="utf-8"
        )
        config = load_event(yaml_path)
        if isinstance(truth_csv, str):
            truth_path.write_text(truth_csv, encoding="utf-8")
        else:
            truth_path.write_bytes(truth_csv)
        return config

    return make


@pytest.fixture
def make_task() -> Callable[..., TaskSection]:
    """``make_task(**overrides)``: a task section with columns id/label and a 0.5 public fraction."""
    return _task_section


def _task_section(**overrides: object) -> TaskSection:
    values: dict[str, object] = {
        "predictions": "predictions.csv",
        "truth": "truth.csv",
        "id_column": "id",
        "target_column": "label",
        "public_fraction": 0.5,
    }
    values.update(overrides)
    return TaskSection.model_validate(values)

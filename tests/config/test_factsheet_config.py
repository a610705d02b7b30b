"""The keys of issue 19 in the event YAML: the total and in-flight limits and the fact sheet's questions, each
problem of their definitions located ``FILE:LINE: key: message`` by check-config; the example that shows them is
valid and its summary names them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from greenhack.config import event_summary
from greenhack.errors import ConfigError
from greenhack.preflight import load_checked_event

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quotas-and-factsheet.yaml"


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE, tmp_path / "event.yaml")
    (tmp_path / "secrets").mkdir()
    shutil.copy(ROOT / "examples" / "secrets" / "truth.csv", tmp_path / "secrets" / "truth.csv")
    return tmp_path


def test_the_example_is_valid_and_its_summary_names_the_new_keys() -> None:
    config = load_checked_event(EXAMPLE)
    assert (config.limits.submissions_total, config.limits.in_flight) == (30, 2)
    sheet = config.factsheet
    assert sheet is not None and sheet.file == "factsheet.yaml" and sheet.invalid == "rank"
    assert [q.key for q in sheet.questions] == [
        "model_family", "parameters", "quantised", "trained_from_scratch", "external_data",
    ]  # fmt: skip
    assert [q.header for q in sheet.board_questions] == ["Family", "parameters", "quantised"]
    lines = event_summary(config)
    assert any("10 submissions per team per day, 30 in the event, at most 2 in flight" in line for line in lines)
    assert "factsheet  factsheet.yaml: 5 questions (4 required), board columns: Family, parameters, quantised; " \
        "a missing or invalid one is ranked" in lines  # fmt: skip


CASES = [
    ("in_flight: 2", "in_flight: 0", "in_flight: 0", "limits.in_flight: Input should be greater than 0 (got 0)"),
    ("submissions_total: 30", "submissions_total: -1", "submissions_total: -1",
     "limits.submissions_total: Input should be greater than 0 (got -1)"),
    ("file: factsheet.yaml ", "file: predictions.csv ", "file: predictions.csv",
     "factsheet.file: 'predictions.csv' is also task.predictions: the fact sheet needs a file of its own"),
    ("file: factsheet.yaml ", "file: ../factsheet.yaml ", "file: ../factsheet.yaml",
     "factsheet.file: '../factsheet.yaml' must be a relative path inside the job's folder"),
    ("invalid: rank ", "invalid: skip ", "invalid: skip", "factsheet.invalid: Input should be 'rank' or 'unranked'"),
    ("choices: [linear, tree ensemble, nearest neighbours, neural network, other]", "choices: [linear, Linear]",
     "choices: [linear, Linear]",
     "factsheet.questions[0].choices: lists a choice twice (choices are compared without case)"),
    ("      type: choice ", "      type: text ", "choices: [linear",
     "factsheet.questions[0].choices: only a choice question has choices, this one is 'text'"),
    ("type: integer\n      min: 0", "type: integer\n      min: 10\n      max: 5", "max: 5",
     "factsheet.questions[1].max: 5 is below min 10"),
    ("    - key: quantised\n", "    - key: parameters\n", "- key: parameters\n      question: \"Are",
     "factsheet.questions[2].key: question key 'parameters' is used twice (also factsheet.questions[1])"),
    ("    - key: quantised\n", "    - key: Quantised weights\n", "- key: Quantised",
     "factsheet.questions[2].key: String should match pattern '^[a-z][a-z0-9_]*$'"),
    ("type: boolean\n      board: true", "type: yesno\n      board: true", "type: yesno",
     "factsheet.questions[2].type: Input should be 'choice', 'integer', 'number', 'boolean' or 'text' (got 'yesno')"),
    ("max_length: 200", "max_length: 200\n      min: 3", "min: 3",
     "factsheet.questions[4].min: only an integer or number question has bounds, not 'text'"),
    ("      board: true                       # a board column\n      label: Family",
     "      board: true                       # a board column\n      label: parameters", "- key: parameters",
     "factsheet.questions[1].key: board column 'parameters' is also the column of factsheet.questions[0]; give one "
     "a label of its own"),
    ("      required: false ", "      requried: false ", "requried",
     "factsheet.questions[4].requried: unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "line_of", "expected"), CASES, ids=[c[3].split(":")[0] for c in CASES])
def test_each_broken_definition_is_located(
    example_dir: Path, old: str, new: str, line_of: str, expected: str
) -> None:
    path = example_dir / "event.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    line = text[: text.index(line_of)].count("\n") + 1
    with pytest.raises(ConfigError) as caught:
        load_checked_event(path)
    shown = [str(p) for p in caught.value.problems]
    assert any(s.startswith(f"{path}:{line}: {expected}") for s in shown), shown

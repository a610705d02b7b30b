"""Reading a team's fact sheet (issue 19): every answer checked against its question's type, every problem located
``FILE:LINE: key: message`` as check-config locates the event YAML's, never an exception."""

from __future__ import annotations

import pytest

from greenhack.config import MAX_YAML_INT_DIGITS, FactsheetSection
from greenhack.factsheet import MAX_FACTSHEET_BYTES, answer_text, read_factsheet

SECTION = FactsheetSection.model_validate(
    {
        "questions": [
            {"key": "model_family", "question": "Which family?", "type": "choice",
             "choices": ["linear", "tree ensemble", "neural network"], "board": True},
            {"key": "parameters", "question": "How many parameters?", "type": "integer", "min": 0, "max": 1e12},
            {"key": "learning_rate", "question": "Learning rate?", "type": "number", "required": False},
            {"key": "quantised", "question": "Quantised?", "type": "boolean"},
            {"key": "external_data", "question": "Which data?", "type": "text", "required": False, "max_length": 20},
        ]
    }
)  # fmt: skip


def test_a_valid_fact_sheet_keeps_every_answer_in_its_question_s_form() -> None:
    # JSON is YAML too; a choice is compared without case and stored as the YAML writes it
    result = read_factsheet(
        b'{"model_family": "Neural Network", "parameters": 1.2e6, "learning_rate": 3e-4, "quantised": true}',
        section=SECTION,
    )
    assert result.valid and result.reason is None
    assert dict(result.answers) == {
        "model_family": "neural network", "parameters": 1_200_000, "learning_rate": 3e-4, "quantised": True,
    }  # fmt: skip
    assert isinstance(result.answers["parameters"], int)
    # YAML 1.1 reads 1.2e6 as text: it is read as the number it is written as
    assert read_factsheet(b"model_family: linear\nparameters: 1.2e6\nquantised: no\n", section=SECTION).valid


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("model_family: cnn\nparameters: 1\nquantised: false\n",
         "factsheet.yaml:1: model_family: 'cnn' is not one of the choices: linear, tree ensemble, neural network"),
        ("model_family: linear\nparameters: 2.5\nquantised: false\n",
         "factsheet.yaml:2: parameters: 2.5 is not a whole number"),
        ("model_family: linear\nparameters: -3\nquantised: false\n",
         "factsheet.yaml:2: parameters: -3 is below the smallest answer allowed, 0"),
        ("model_family: linear\nparameters: 'many'\nquantised: false\n",
         "factsheet.yaml:2: parameters: 'many' is not a number; write it in digits, e.g. 650 or 1.2e6"),
        ("model_family: linear\nparameters: 1,5\nquantised: false\n",
         "factsheet.yaml:2: parameters: '1,5' uses a decimal comma; write 1.5"),
        ("model_family: linear\nparameters: 1\nquantised: false\nlearning_rate: .nan\n",
         "factsheet.yaml:4: learning_rate: nan is not a finite number"),
        ("model_family: linear\nparameters: 1\nquantised: maybe\n",
         "factsheet.yaml:3: quantised: 'maybe' is not true or false"),
        ("model_family: linear\nparameters: 1\nquantised: false\nexternal_data: the whole of common crawl\n",
         "factsheet.yaml:4: external_data: 25 characters, over the 20 allowed"),
        ("model_family: linear\nparameters: 1\nquantised: false\nextra_data: none\n",
         "factsheet.yaml:4: extra_data: not a question of this event (its questions: model_family, parameters, "
         "learning_rate, quantised, external_data)"),
        ("model_family: linear\nparameters: 1\n",
         "factsheet.yaml:1: quantised: required answer missing (Quantised?)"),
        ("model_family: linear\nparameters: 1\nquantised: false\nparameters: 2\n",
         "factsheet.yaml:4: parameters: answered twice; the second would silently win"),
        ("- linear\n- 1\n",
         "factsheet.yaml:1: the file must be a mapping of question keys to answers, e.g. 'parameters: 650'"),
        ("model_family: [linear\n", "factsheet.yaml:2: not valid YAML: "),
    ],
)  # fmt: skip
def test_each_problem_is_located(text: str, problem: str) -> None:
    result = read_factsheet(text.encode(), section=SECTION)
    assert result.present and not result.valid
    assert any(p.startswith(problem) for p in result.problems), result.problems
    assert result.reason is not None and result.reason.startswith("fact sheet: ")


def test_valid_answers_are_kept_beside_the_problems() -> None:
    result = read_factsheet(b"model_family: linear\nparameters: many\nquantised: no\n", section=SECTION)
    assert dict(result.answers) == {"model_family": "linear", "quantised": False}
    assert result.reason == (
        "fact sheet: factsheet.yaml:2: parameters: 'many' is not a number; write it in digits, e.g. 650 or 1.2e6"
    )


def test_missing_oversized_empty_or_unreadable_files_say_so() -> None:
    missing = read_factsheet(None, section=SECTION)
    assert not missing.present and missing.reason == "no fact sheet: the job kept no factsheet.yaml artifact"
    big = read_factsheet(b"#" * (MAX_FACTSHEET_BYTES + 1), section=SECTION)
    assert big.problems == (
        f"factsheet.yaml: the file is {MAX_FACTSHEET_BYTES + 1:,} bytes, over the 64,000-byte limit of a fact sheet",
    )
    empty = read_factsheet(b"", section=SECTION)
    assert empty.present and len(empty.problems) == 3  # the three required answers
    assert read_factsheet("model_family: é".encode("latin-1"), section=SECTION).problems == (
        "factsheet.yaml: not UTF-8 text (byte 15 cannot be read); save it as UTF-8",
    )
    bomb = b'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + b"".join(
        f'{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n'.encode()
        for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    assert "factsheet.yaml:" in read_factsheet(bomb, section=SECTION).problems[0]  # refused by the loader's bounds


def test_many_problems_are_capped_and_counted() -> None:
    text = "".join(f"unknown_{k}: 1\n" for k in range(30)) + "model_family: linear\nparameters: 1\nquantised: false\n"
    problems = read_factsheet(text.encode(), section=SECTION).problems
    assert len(problems) == 21 and problems[-1] == "... and 10 more problems"


def test_answers_on_the_board() -> None:
    assert [answer_text(v) for v in (True, False, 1_200_000, 0.5, "linear", None)] == [
        "yes", "no", "1,200,000", "0.5", "linear", "–",
    ]  # fmt: skip


@pytest.mark.parametrize("digits", [5000, 4000, 400])
def test_a_number_too_large_for_any_answer_is_the_team_s_problem_not_a_crash(digits: int) -> None:
    # 5,000 digits: past Python's 4,300-digit int limit; 4,000 and 400: past a float's range (math.isfinite)
    text = f"model_family: linear\nparameters: {'9' * digits}\nquantised: false\n"
    result = read_factsheet(text.encode(), section=SECTION)
    assert result.present and not result.valid
    assert result.problems == (
        f"factsheet.yaml:2: parameters: a number past 10^{MAX_YAML_INT_DIGITS}, larger than any value here may be",
    )
    assert result.reason is not None and result.reason.startswith("fact sheet: ")

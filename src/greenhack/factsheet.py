"""A submission's fact sheet: the team's answers to the event's questions (``factsheet:`` in the event YAML),
read from a small file the job keeps as an artifact beside its predictions, and validated like them.

The contract for teams: a UTF-8 YAML file (JSON is YAML too) of at most :data:`MAX_FACTSHEET_BYTES` bytes, at
``factsheet.file`` (default ``factsheet.yaml``) in the repository, holding one mapping of question key to answer::

    # factsheet.yaml: answers to the event's fact sheet (factsheet.questions in the event YAML)
    model_family: linear
    parameters: 650
    quantised: false
    trained_from_scratch: true
    external_data: none

An answer must fit its question's type: ``choice`` one of its choices (compared without case), ``integer`` a whole
number, ``number`` a finite number (within ``min``/``max`` when given; ``1.2e6`` and ``"650"`` read as numbers),
``boolean`` ``true`` or ``false``, ``text`` at most ``max_length`` characters. Required questions must be
answered; a key that is no question of the event is a problem too (a typo must not pass as an unanswered one).

:func:`read_factsheet` never raises: it returns a :class:`FactsheetResult` with every answer that is valid and
every problem located as ``FILE:LINE: key: message`` (as check-config locates the event YAML's). What a missing or
invalid fact sheet does to the ranking is the YAML's ``factsheet.invalid`` (the board applies it:
:mod:`greenhack.store.factsheets`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

import yaml

from greenhack.config import FactsheetQuestion, FactsheetSection, LocatedYaml
from greenhack.errors import ConfigError
from greenhack.scoring.numbers import parse_number

__all__ = [
    "MAX_FACTSHEET_BYTES",
    "Answer",
    "FactsheetResult",
    "answer_text",
    "factsheet_reason",
    "missing_factsheet",
    "oversized_factsheet",
    "read_factsheet",
]

# a fact sheet is a few lines; far past that it is not one (the artifact download stops here)
MAX_FACTSHEET_BYTES: Final = 64_000
# problems listed, at most (the rest are counted)
_MAX_PROBLEMS: Final = 20

Answer = str | int | float | bool

_NO_ANSWERS: Mapping[str, Answer] = MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class FactsheetResult:
    """What was read from a job's fact sheet.

    Attributes:
        file: the artifact path it was read from.
        present: the job kept the file.
        answers: every valid answer, by question key (an invalid answer is left out and named in ``problems``).
        problems: each problem located, ``FILE:LINE: key: message``; empty when the fact sheet is valid.
    """

    file: str
    present: bool
    answers: Mapping[str, Answer] = field(default_factory=lambda: _NO_ANSWERS)
    problems: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.present and not self.problems

    @property
    def reason(self) -> str | None:
        """One sentence for the board and the team, or None when the fact sheet is valid."""
        return factsheet_reason(file=self.file, present=self.present, problems=self.problems)


def factsheet_reason(*, file: str, present: bool, problems: Sequence[str]) -> str | None:
    """Why a fact sheet is not valid, in one sentence (the ranking's note under ``factsheet.invalid:
    unranked``), or None when it is valid."""
    if not present:
        return f"no fact sheet: the job kept no {file} artifact"
    if not problems:
        return None
    if len(problems) == 1:
        return f"fact sheet: {problems[0]}"
    return f"fact sheet: {len(problems)} problems in {file}, the first: {problems[0]}"


class _Problems:
    """Located messages, in file order, capped; the total is still counted."""

    def __init__(self, located: LocatedYaml, file: str) -> None:
        self.located, self.file = located, file
        self.found: list[tuple[int, str]] = []

    def add(self, loc: tuple[str, ...], message: str, *, line: int | None = None) -> None:
        problem = self.located.problem(loc, message)
        if line is not None:
            problem = replace(problem, line=line)
        self.found.append((problem.line or 0, str(problem)))

    def all(self) -> tuple[str, ...]:
        ordered = [message for _, message in sorted(self.found, key=lambda p: p[0])]
        extra = len(ordered) - _MAX_PROBLEMS
        return (*ordered[:_MAX_PROBLEMS], *([f"... and {extra} more problems"] if extra > 0 else []))


def missing_factsheet(section: FactsheetSection) -> FactsheetResult:
    """The result for a job that kept no fact sheet."""
    return FactsheetResult(file=section.file, present=False)


def oversized_factsheet(section: FactsheetSection, *, size_bytes: int | None = None) -> FactsheetResult:
    """The result for a fact sheet over :data:`MAX_FACTSHEET_BYTES` (its download stopped at the limit)."""
    size = f"{size_bytes:,} bytes" if size_bytes is not None else "larger than that"
    message = f"{section.file}: the file is {size}, over the {MAX_FACTSHEET_BYTES:,}-byte limit of a fact sheet"
    return FactsheetResult(file=section.file, present=True, problems=(message,))


def read_factsheet(data: bytes | None, *, section: FactsheetSection) -> FactsheetResult:
    """Validate a job's fact sheet (``None``: the job kept none) against the event's questions."""
    file = section.file
    if data is None:
        return missing_factsheet(section)
    if len(data) > MAX_FACTSHEET_BYTES:
        return oversized_factsheet(section, size_bytes=len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"{file}: not UTF-8 text (byte {exc.start + 1} cannot be read); save it as UTF-8"
        return FactsheetResult(file=file, present=True, problems=(message,))
    try:
        located = LocatedYaml(text, file)
    except ConfigError as exc:  # past the loader's bounds
        return FactsheetResult(file=file, present=True, problems=tuple(str(p) for p in exc.problems))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        message = f"{file}{line}: not valid YAML: {exc.problem or exc}"
        return FactsheetResult(file=file, present=True, problems=(message,))
    except yaml.YAMLError as exc:
        return FactsheetResult(file=file, present=True, problems=(f"{file}: not valid YAML: {exc}",))
    problems = _Problems(located, file)
    for loc, line in located.duplicates:
        problems.add(tuple(str(p) for p in loc), "answered twice; the second would silently win", line=line)
    raw = located.data
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.add((), "the file must be a mapping of question keys to answers, e.g. 'parameters: 650'")
        return FactsheetResult(file=file, present=True, problems=problems.all())
    known = ", ".join(q.key for q in section.questions)
    for key in raw:
        if section.question(str(key)) is None:
            problems.add((str(key),), f"not a question of this event (its questions: {known})")
    answers: dict[str, Answer] = {}
    for question in section.questions:
        if question.key not in raw or raw[question.key] is None:
            if question.required:
                problems.add((question.key,), f"required answer missing ({question.question})")
            continue
        value, why = _answer(question, raw[question.key])
        if why is not None:
            problems.add((question.key,), why)
        elif value is not None:
            answers[question.key] = value
    return FactsheetResult(
        file=file, present=True, answers=MappingProxyType(answers), problems=problems.all()
    )


def _shown(value: Any) -> str:
    """A team's value as a message quotes it: at most 40 characters (the message may go on the board)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _answer(question: FactsheetQuestion, value: Any) -> tuple[Answer | None, str | None]:
    """The answer as stored, or why it does not fit the question."""
    kind = question.type
    if kind == "choice":
        choices = question.choices or []
        if isinstance(value, str):
            for choice in choices:
                if value.strip().casefold() == choice.strip().casefold():
                    return choice, None
        shown = _shown(value)
        if not isinstance(value, str):
            shown += " (write text, quoted if it reads as a number)"
        return None, f"{shown} is not one of the choices: {', '.join(choices)}"
    if kind == "boolean":
        if isinstance(value, bool):
            return value, None
        return None, f"{_shown(value)} is not true or false"
    if kind in ("integer", "number"):
        return _number(question, value)
    if isinstance(value, bool) or isinstance(value, dict | list):
        return None, "expected text, e.g. 'ImageNet, 1.2M images' (in quotes when it reads as true/false)"
    text = str(value).strip()
    if any(ord(c) < 32 and c not in "\t" for c in text):
        return None, "the text holds control characters (new lines included); write it on one line"
    if len(text) > question.text_limit:
        return None, f"{len(text)} characters, over the {question.text_limit} allowed"
    return text, None


def _number(question: FactsheetQuestion, value: Any) -> tuple[Answer | None, str | None]:
    whole = question.type == "integer"
    if isinstance(value, str):
        # YAML 1.1 (PyYAML) reads 1.2e6 or 3e-4, with no dot or sign in the exponent, as text: read it as written
        parsed = parse_number(value.strip())
        if isinstance(parsed, str):
            return None, f"{parsed}; write it in digits, e.g. 650 or 1.2e6"
        value = parsed
    if isinstance(value, bool) or not isinstance(value, int | float):
        what = "a whole number" if whole else "a number"
        return None, f"{_shown(value)} is not {what}; write it in digits, e.g. 650 or 1.2e6"
    if not math.isfinite(value):
        return None, f"{value!r} is not a finite number"
    if whole and isinstance(value, float):
        if not value.is_integer():
            return None, f"{value!r} is not a whole number"
        value = int(value)
    if question.min is not None and value < question.min:
        return None, f"{value!r} is below the smallest answer allowed, {question.min:g}"
    if question.max is not None and value > question.max:
        return None, f"{value!r} is above the largest answer allowed, {question.max:g}"
    return value, None


def answer_text(value: Answer | None) -> str:
    """An answer as a board cell shows it: ``yes``/``no`` for booleans, whole numbers with thousands separators."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return value

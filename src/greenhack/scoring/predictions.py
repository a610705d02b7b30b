"""Reading and validating a team's predictions file against the truth.

The contract for teams: a UTF-8, comma-separated file (at most ``task.max_predictions_mb`` MB, default 200)
whose first line names at least the columns ``task.id_column`` and ``task.target_column`` (other columns are
ignored), then one row per id of the test set, each id exactly once. For a classification metric the
prediction is a label that appears in the truth (compared as text after stripping white space); for a
regression metric it is a finite number written like ``12``, ``-0.5`` or ``1e-3``.

:func:`read_predictions` returns :class:`~greenhack.scoring.models.Predictions` aligned with the truth, or
raises :class:`~greenhack.errors.PredictionsError` listing *every* problem (capped at ``max_problems``
messages plus "... and N more"), each with its place: ``predictions.csv line 14, column 'label': 'abc' is not
a number``. The size limit is checked before the file is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from greenhack.config import TaskSection
from greenhack.errors import PredictionsError
from greenhack.metrics import METRIC_SPECS
from greenhack.scoring.csvfile import CsvIssue, check_bytes, read_header
from greenhack.scoring.models import Predictions, Truth
from greenhack.scoring.numbers import parse_number

__all__ = ["DEFAULT_MAX_PROBLEMS", "read_predictions"]

DEFAULT_MAX_PROBLEMS = 50
_SHOWN_IDS = 10
_SHOWN_LABELS = 20


class _Problems:
    """Messages for the team, in file order, capped; the total is still counted."""

    def __init__(self, source: str, cap: int) -> None:
        self.source = source
        self.cap = cap
        self.messages: list[str] = []
        self.total = 0

    def add(self, line: int | None, message: str, *, column: str | None = None) -> None:
        self.total += 1
        if len(self.messages) >= self.cap:
            return
        place = self.source
        if line is not None:
            place += f" line {line}"
        if column is not None:
            place += f", column {column!r}"
        self.messages.append(f"{place}: {message}")

    def fail(self, line: int | None, message: str) -> NoReturn:
        """Add a problem that stops the reading, and raise every problem so far."""
        self.add(line, message)
        raise self.error()

    def error(self) -> PredictionsError:
        extra = self.total - len(self.messages)
        return PredictionsError(self.messages + ([f"... and {extra} more problems"] if extra else []))

    def raise_if_any(self) -> None:
        if self.total:
            raise self.error()


def _size_mb(size: int) -> str:
    if size >= 100_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.1f} kB"


def _load(data: bytes | Path, *, limit: int, problems: _Problems) -> bytes:
    """The file's bytes; the size limit is checked before reading."""
    if isinstance(data, Path):
        try:
            size = data.stat().st_size
            if size > limit:
                problems.fail(None, f"the file is {_size_mb(size)}, over the {_size_mb(limit)} limit")
            return data.read_bytes()
        except FileNotFoundError:
            problems.fail(None, "file not found: the job did not produce it")
        except IsADirectoryError:
            problems.fail(None, "is a directory, not a file")
        except OSError as exc:
            problems.fail(None, f"cannot read the file: {exc.strerror}")
    if len(data) > limit:
        problems.fail(None, f"the file is {_size_mb(len(data))}, over the {_size_mb(limit)} limit")
    return data


def _quoted_list(items: list[str], total: int) -> str:
    shown = ", ".join(repr(item) for item in items)
    return shown + (f", ... ({total - len(items)} more)" if total > len(items) else "")


def read_predictions(
    data: bytes | Path,
    *,
    truth: Truth,
    task: TaskSection,
    metric: str,
    filename: str | None = None,
    max_problems: int = DEFAULT_MAX_PROBLEMS,
) -> Predictions:
    """Validate a predictions file (its bytes, or its path) against the truth.

    Args:
        data: the file's content, or its path (whose size is checked before it is read).
        truth: the hidden truth the predictions answer.
        task: the event's task section (column names, size limit).
        metric: the event metric; decides whether predictions are labels or numbers.
        filename: the name to show in messages (default: the path's name, else ``task.predictions``).
        max_problems: how many messages to list before "... and N more problems".

    Raises:
        PredictionsError: the file cannot be scored; ``problems`` holds a message per problem with its place.
    """
    spec = METRIC_SPECS[metric]
    if spec.kind != truth.kind:
        raise ValueError(
            f"metric {metric!r} reads {spec.kind} targets but the truth was loaded for {truth.kind}"
        )
    source = filename or (data.name if isinstance(data, Path) else Path(task.predictions).name)
    problems = _Problems(source, max_problems)
    content = _load(data, limit=task.max_predictions_bytes, problems=problems)
    issue = check_bytes(content)
    if issue is not None:
        problems.fail(issue.line, issue.message)
    opened = read_header(content, required=(task.id_column, task.target_column))
    if isinstance(opened, CsvIssue):
        problems.fail(opened.line, opened.message)
    header, rows = opened
    id_at, target_at = header.positions[task.id_column], header.positions[task.target_column]
    target = task.target_column
    regression = spec.kind == "regression"
    labels: list[str | None] = [None] * len(truth)
    values: list[float | None] = [None] * len(truth)
    first_line: list[int] = [0] * len(truth)
    index = truth.index
    label_set = truth.label_set
    n_rows = 0
    broken = False
    for item in rows:
        if isinstance(item, CsvIssue):
            problems.add(item.line, item.message)
            broken = True
            break
        line, fields = item
        n_rows += 1
        if len(fields) != header.width:
            problems.add(
                line,
                f"{len(fields)} field{'s' if len(fields) != 1 else ''}, but the header has {header.width} "
                "columns (a stray comma, or a value with a comma that is not quoted?)",
            )
            # the id is still known to be answered: do not report it missing as well
            position = index.get(fields[id_at].strip()) if id_at < len(fields) else None
            if position is not None and not first_line[position]:
                first_line[position] = line
            continue
        row_id = fields[id_at].strip()
        if not row_id:
            problems.add(line, "the id is empty", column=task.id_column)
            continue
        position = index.get(row_id)
        if position is None:
            shown = row_id if len(row_id) <= 40 else row_id[:37] + "..."
            problems.add(line, f"id {shown!r} is not in the test set", column=task.id_column)
            continue
        if first_line[position]:
            problems.add(line, f"id {row_id!r} appears twice (first on line {first_line[position]})")
            continue
        first_line[position] = line
        raw = fields[target_at].strip()
        if regression:
            number = parse_number(raw)
            if isinstance(number, str):
                problems.add(line, f"the prediction {number}", column=target)
            else:
                values[position] = number
        elif not raw:
            problems.add(line, "the prediction is empty", column=target)
        elif raw not in label_set:
            shown = raw if len(raw) <= 40 else raw[:37] + "..."
            known = sorted(label_set)
            problems.add(
                line,
                f"label {shown!r} never appears in the truth (labels: "
                f"{_quoted_list(known[:_SHOWN_LABELS], len(known))})",
                column=target,
            )
        else:
            labels[position] = raw
    if n_rows == 0 and not broken:
        problems.add(
            None,
            f"the file has a header (line {header.line}) but no data rows; expected {len(truth)} rows, "
            f"one per id of the test set",
        )
    elif not broken:
        missing = [truth.ids[i] for i, line in enumerate(first_line) if not line]
        if missing:
            problems.add(
                None,
                f"{len(missing)} id{'s' if len(missing) != 1 else ''} of the test set "
                f"{'have' if len(missing) != 1 else 'has'} no prediction: "
                f"{_quoted_list(missing[:_SHOWN_IDS], len(missing))}",
            )
    problems.raise_if_any()
    if regression:
        return Predictions(source, "regression", (), tuple(v for v in values if v is not None), n_rows)
    return Predictions(source, "classification", tuple(lb for lb in labels if lb is not None), (), n_rows)

"""Loading the hidden ground truth named by ``task.truth`` in the event YAML.

The truth is the admins' file, so its problems are reported like the YAML's own: a
:class:`~greenhack.errors.ConfigError` whose problems read ``FILE:LINE: task.truth: message``, every problem
at once. The file must be UTF-8 comma-separated values with a header naming ``task.id_column`` and
``task.target_column``; ids and targets are stripped of surrounding white space; ids must be unique and
non-empty; targets must be non-empty, and finite numbers when the metric is a regression metric.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from greenhack.config import EventConfig
from greenhack.errors import ConfigError, ConfigProblem
from greenhack.metrics import METRIC_SPECS
from greenhack.scoring.csvfile import CsvIssue, check_bytes, read_header
from greenhack.scoring.models import Truth
from greenhack.scoring.numbers import parse_number

__all__ = ["load_truth", "parse_truth"]

_MAX_PROBLEMS = 50
_KEY = "task.truth"


def load_truth(config: EventConfig, path: Path | None = None) -> Truth:
    """Read the truth file of ``config`` (``task.truth``, relative to the YAML's folder), or the one at ``path``
    (a phase's own, ``EventPhase.truth_path``) with the event's columns and metric.

    Raises:
        ConfigError: the file is missing, unreadable, or has bad rows; every problem is listed with its line.
    """
    path = config.truth_path if path is None else path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), None, _KEY, "truth file not found")]) from None
    except OSError as exc:
        message = f"cannot read the truth file: {exc.strerror}"
        raise ConfigError([ConfigProblem(str(path), None, _KEY, message)]) from None
    return parse_truth(
        data,
        source=str(path),
        id_column=config.task.id_column,
        target_column=config.task.target_column,
        metric=config.performance.metric,
    )


def parse_truth(data: bytes, *, source: str, id_column: str, target_column: str, metric: str) -> Truth:
    """Parse truth bytes; see :func:`load_truth`. ``source`` names the file in messages."""
    spec = METRIC_SPECS[metric]
    problems: list[ConfigProblem] = []
    more = 0

    def problem(line: int | None, message: str) -> None:
        nonlocal more
        if len(problems) < _MAX_PROBLEMS:
            problems.append(ConfigProblem(source, line, _KEY, message))
        else:
            more += 1

    def fail(issue: CsvIssue) -> ConfigError:
        return ConfigError([ConfigProblem(source, issue.line, _KEY, issue.message)])

    issue = check_bytes(data)
    if issue is not None:
        raise fail(issue)
    opened = read_header(data, required=(id_column, target_column))
    if isinstance(opened, CsvIssue):
        raise fail(opened)
    header, rows = opened
    id_at, target_at = header.positions[id_column], header.positions[target_column]
    ids: list[str] = []
    labels: list[str] = []
    values: list[float] = []
    lines: dict[str, int] = {}
    for item in rows:
        if isinstance(item, CsvIssue):
            problem(item.line, item.message)
            break
        line, fields = item
        if len(fields) != header.width:
            problem(line, f"{len(fields)} fields, but the header has {header.width} columns")
            continue
        row_id, target = fields[id_at].strip(), fields[target_at].strip()
        if not row_id:
            problem(line, f"empty {id_column!r}")
            continue
        if row_id in lines:
            problem(line, f"id {row_id!r} appears twice (first on line {lines[row_id]})")
            continue
        lines[row_id] = line
        if not target:
            problem(line, f"empty {target_column!r} for id {row_id!r}")
            continue
        if spec.kind == "regression":
            number = parse_number(target)
            if isinstance(number, str):
                problem(line, f"{target_column!r} {number} (the metric {metric} needs numbers)")
                continue
            values.append(number)
        labels.append(target)
        ids.append(row_id)
    if not lines and not problems:
        problem(header.line, "the truth file has a header but no rows")
    if spec.kind == "regression" and metric == "r2" and len(ids) < 2 and not problems:
        problem(None, "r2 needs at least two truth rows")
    if problems:
        if more:
            problems.append(ConfigProblem(source, None, _KEY, f"... and {more} more problems"))
        raise ConfigError(problems)
    return Truth(
        source=source,
        id_column=id_column,
        target_column=target_column,
        kind=spec.kind,
        ids=tuple(ids),
        labels=tuple(labels) if spec.kind == "classification" else (),
        values=tuple(values),
        label_set=frozenset(labels) if spec.kind == "classification" else frozenset(),
        index=MappingProxyType({row_id: position for position, row_id in enumerate(ids)}),
    )

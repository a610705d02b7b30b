"""An event checked against what it will meet later: its truth file's contents and BoaviztAPI's hardware names.

:func:`greenhack.config.load_event` checks the YAML against the event's own models. The checks here need more:
the truth file read by the very validator scoring uses, and the CPU and GPU names matched by the matcher the
impacts step uses, on the names BoaviztAPI ships. They sit above config, scoring and impacts (config must not
import those, which import config), and run on the raw YAML together with config's own checks, so that
``greenhack check-config`` reports every problem at once, each located (``FILE:LINE: key: message``; the truth
file's problems point into the truth file).

Every command that loads an event for real (``check-config``, ``serve``, ``worker``, the demo) uses
:func:`load_checked_event`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from greenhack.config import (
    METRICS,
    ContentCheck,
    EventConfig,
    Loc,
    LocatedYaml,
    format_key_path,
    load_event,
    raw_mapping,
    yaml_relative_path,
)
from greenhack.errors import ConfigError, ConfigProblem, HardwareNameError
from greenhack.impacts.names import SHIPPED_NAMES_VERSION, offline_matcher, resolve_name, shipped_names
from greenhack.scoring.truth import parse_truth

__all__ = ["CONTENT_CHECKS", "hardware_names", "load_checked_event", "truth_contents"]


def truth_contents(data: dict[str, Any], located: LocatedYaml, source: Path | None) -> Iterator[ConfigProblem]:
    """The truth files (task.truth and each phase's own, phases[].truth) read by the very validator scoring
    uses (header, target column, duplicate ids, empty labels, numbers for a regression metric); their problems
    point into the truth file. A missing file is config's own problem (reported there)."""
    task = raw_mapping(data.get("task"))
    metric = raw_mapping(data.get("performance")).get("metric")
    if not isinstance(metric, str) or metric not in METRICS:
        return
    id_column, target_column = task.get("id_column", "id"), task.get("target_column", "label")
    if not (isinstance(id_column, str) and id_column and isinstance(target_column, str) and target_column):
        return
    phases = data.get("phases") if isinstance(data.get("phases"), list) else []
    named: list[tuple[Loc, object]] = [(("task", "truth"), task.get("truth"))]
    named += [(("phases", i, "truth"), raw_mapping(phase).get("truth")) for i, phase in enumerate(phases)]
    for loc, truth in named:
        path = yaml_relative_path(truth, source)
        if path is None or not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            message = f"cannot read the truth file: {exc.strerror}"
            yield ConfigProblem(str(path), None, format_key_path(loc), message)
            continue
        try:
            parse_truth(
                content, source=str(path), id_column=id_column, target_column=target_column, metric=metric
            )
        except ConfigError as exc:
            yield from exc.problems


def hardware_names(data: dict[str, Any], located: LocatedYaml, source: Path | None) -> Iterator[ConfigProblem]:
    """CPU and GPU names BoaviztAPI would not match to their own model, with its matcher on the names it ships
    (greenhack.impacts.names: the verdict the impacts step gives with the live server)."""
    servers = data.get("servers")
    for index, raw in enumerate(servers if isinstance(servers, list) else []):
        hardware = raw_mapping(raw_mapping(raw).get("hardware"))
        for part, kind in (("cpu", "CPU"), ("gpu", "GPU")):
            name = raw_mapping(hardware.get(part)).get("name")
            if not isinstance(name, str) or not name.strip():
                continue
            loc: Loc = ("servers", index, "hardware", part, "name")
            try:
                resolve_name(
                    name,
                    offline_matcher(kind),
                    partial(shipped_names, kind),
                    kind=kind,
                    key=format_key_path(loc),
                    version=SHIPPED_NAMES_VERSION,
                )
            except HardwareNameError as exc:
                yield located.problem(loc, str(exc).removeprefix(f"{exc.key}: "))


CONTENT_CHECKS: tuple[ContentCheck, ...] = (truth_contents, hardware_names)


def load_checked_event(path: str | Path) -> EventConfig:
    """Read and validate an event YAML file with every check, its contents' included.

    Raises:
        ConfigError: every problem, located.
    """
    return load_event(path, content_checks=CONTENT_CHECKS)

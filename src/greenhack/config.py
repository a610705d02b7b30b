"""The event YAML: one file configures one Green AI Hack event.

``load_event(path)`` reads the file into :class:`EventConfig` or raises :class:`~greenhack.errors.ConfigError`
listing *every* problem as ``FILE:LINE: key.path: message``. Unknown keys are refused (a typo must not silently
fall back to a default); durations are written ``20m``, ``5s``, ``1h30m``; times carry their UTC offset; the
location is a BoaviztAPI zone code; exporter selectors are PromQL label selectors.

The loader is bounded before it builds anything: a file whose aliases expand past :data:`MAX_YAML_VALUES` values
("billion laughs") or that nests deeper than :data:`MAX_YAML_DEPTH` is refused at the line where it goes past
the bound, from PyYAML's event stream (which neither recurses nor expands aliases).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from greenhack.errors import ConfigError, ConfigProblem, ExpressionError
from greenhack.expression import check_expression
from greenhack.units import CRITERION_UNITS

__all__ = [
    "BOAVIZTA_ZONES",
    "ArtifactPath",
    "BaselineConfig",
    "JOB_TIMEOUT_PATTERN",
    "MAX_YAML_DEPTH",
    "MAX_YAML_INT_DIGITS",
    "MAX_YAML_VALUES",
    "METRICS",
    "METRIC_RANGES",
    "BoaviztaSection",
    "Duration",
    "EventConfig",
    "EventSection",
    "FactsheetQuestion",
    "FactsheetSection",
    "GitLabSection",
    "HardwareConfig",
    "IdleCalibration",
    "ImpactSection",
    "LabelSelector",
    "LimitsSection",
    "PerTeam",
    "PerformanceSection",
    "PhaseSection",
    "RankingSection",
    "RunnerRef",
    "ServerConfig",
    "TaskSection",
    "TelemetrySection",
    "load_event",
    "event_summary",
    "parse_duration",
    "parse_event",
    "parse_label_selector",
    "CpuHardware",
    "GpuHardware",
    "LifecycleSection",
    "Loc",
    "RankingWeights",
    "ZoneCode",
    "KeyName",
    "ProjectPath",
    "ContentCheck",
    "LocatedYaml",
    "format_key_path",
    "full_project_path",
    "raw_mapping",
    "yaml_relative_path",
]

# Performance metrics and whether a higher value is better.
METRICS: dict[str, bool] = {
    "accuracy": True,
    "balanced_accuracy": True,
    "f1_macro": True,
    "f1_weighted": True,
    "precision_macro": True,
    "recall_macro": True,
    "rmse": False,
    "mae": False,
    "r2": True,
}

# The values each metric can take, (lowest, highest): performance.minimum must lie inside, or no submission
# could ever be ranked (an error metric's minimum is the largest error allowed).
METRIC_RANGES: dict[str, tuple[float, float]] = {
    **{name: (0.0, 1.0) for name, higher in METRICS.items() if higher and name != "r2"},
    "rmse": (0.0, math.inf),
    "mae": (0.0, math.inf),
    "r2": (-math.inf, 1.0),
}

# limits.job_timeout as the CI component's `job_timeout` input accepts it (ci-templates/templates/*.yml,
# spec:inputs:job_timeout:regex; a test checks that every component carries this very pattern)
JOB_TIMEOUT_PATTERN = r"^[1-9][0-9]*[smh]$"

# Electricity zones BoaviztAPI 2.x knows (data/crowdsourcing/electrical_mix.csv): WOR (world), EEE (Europe)
# and ISO 3166-1 alpha-3 country codes. The impacts step checks again against the live /v1/utils/country_code.
BOAVIZTA_ZONES: frozenset[str] = frozenset(
    """
    WOR EEE ZWE ZMB ZAF YEM VNM VEN UZB URY USA UKR TZA TWN TTO TUR TUN TKM TJK THA TGO SYR SLV SEN SVK
    SVN SGP SWE SDN SAU RUS SCG ROU QAT PRY PRT POL PAK PHL PER PAN OMN NZL NPL NOR NLD NIC NGA NAM MOZ
    MYS MEX MLT MNG MMR MKD MDA MAR LBY LVA LUX LTU LKA LBN KAZ KWT KOR PRK KHM KGZ KEN JPN JOR JAM ITA
    ISL IRN IRQ IND ISR IRL IDN HUN HTI HRV HND HKG GTM GRC GIB GHA GEO GBR GAB FRA FIN ETH ESP ERI EGY
    EST ECU DZA DOM DNK DEU CZE CYP CUB CRI COL CHN CMR CHL CIV CHE COG COD CAN BLR BWA BRA BOL BRN BEN
    BHR BGR BEL BGD BIH AZE AUS AUT ARG AGO ANT ARM ALB ARE
    """.split()
)

# ---------------------------------------------------------------------------------------------------------------
# Value types
# ---------------------------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> timedelta:
    """Parse ``20m``, ``5s``, ``1h30m``, ``250ms`` (or a number of seconds) into a positive timedelta."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("expected a duration such as 5s, 20m or 1h30m")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNIT_S[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ValueError(f"{value!r} is not a duration; write it like 5s, 20m, 1h30m or 250ms")
    else:
        raise ValueError("expected a duration such as 5s, 20m or 1h30m")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)


def _format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(_format_duration, return_type=str)
]

# A PromQL label matcher: name, operator, quoted value (double, single or back quotes, with escapes).
_MATCHER = re.compile(
    r"""\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*"""
)


def parse_label_selector(value: object) -> str:
    """Check a PromQL label selector such as ``{instance="gpu-1:8080"}`` and return it normalised.

    The selector names series without a metric name; greenhack appends it to each exporter metric it queries.
    """
    if not isinstance(value, str):
        raise ValueError('expected a PromQL label selector such as {instance="gpu-1:8080"}')
    text = value.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(
            f'{value!r} is not a PromQL label selector; write it like {{instance="gpu-1:8080"}}'
        )
    body = text[1:-1].strip()
    matchers: list[str] = []
    pos = 0
    while pos < len(body):
        match = _MATCHER.match(body, pos)
        if match is None:
            raise ValueError(f"{value!r}: cannot read a label matcher at character {pos + 2}")
        name, op, quoted = match.groups()
        matchers.append(f"{name}{op}{quoted}")
        pos = match.end()
        if pos < len(body):
            if body[pos] != ",":
                raise ValueError(f"{value!r}: expected ',' between label matchers at character {pos + 2}")
            pos += 1
    if not matchers:
        raise ValueError(f"{value!r}: a selector needs at least one label matcher")
    if all(m.endswith(('=""', "=''", "=``", '=~""', "=~''")) for m in matchers):
        raise ValueError(f"{value!r}: at least one matcher must match a non-empty value")
    return "{" + ", ".join(matchers) + "}"


LabelSelector = Annotated[str, BeforeValidator(parse_label_selector)]


def _zone_code(value: str) -> str:
    if value not in BOAVIZTA_ZONES:
        hint = " (codes are upper case)" if value.upper() in BOAVIZTA_ZONES else ""
        raise ValueError(
            f"{value!r} is not an ISO 3166-1 alpha-3 code BoaviztAPI knows{hint}; e.g. FRA, DEU, USA, "
            "or WOR (world average), EEE (Europe)"
        )
    return value


ZoneCode = Annotated[str, AfterValidator(_zone_code)]


def _artifact_path(value: str) -> str:
    # the path is joined to a job's folder (the demo) and put into GitLab's artifact URL: it must stay inside
    parts = value.split("/")
    climbs = any(part in ("", ".", "..") for part in parts)
    if value.startswith("/") or "\\" in value or climbs or not value.isprintable():
        raise ValueError(
            f"{value!r} must be a relative path inside the job's folder, such as predictions.csv or "
            "out/predictions.csv (no leading /, no '.' or '..' parts, no backslashes)"
        )
    return value


ArtifactPath = Annotated[str, AfterValidator(_artifact_path)]


def _key_name(value: str) -> str:
    # a phase or a track names boards: it goes into URLs, cache keys and the stored board key
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", value):
        raise ValueError(
            f"{value!r} must be 1 to 40 lower-case letters, digits, '-' or '_', starting with a letter or "
            "digit (it names boards in URLs), e.g. practice, final, a100"
        )
    return value


KeyName = Annotated[str, AfterValidator(_key_name)]
"""The name of a phase or a track: lower case, digits, ``-`` and ``_``, at most 40 characters."""

# a GitLab project or group slug (docs.gitlab.com/user/reserved_names, "Rules for usernames, project and
# group names, and slugs"): letters, digits, '_', '.', '-', starting and ending with a letter or digit, no two
# special characters in a row, not ending in .git or .atom
_SLUG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|[_.-](?=[A-Za-z0-9]))*")


def _project_path(value: str) -> str:
    parts = value.split("/")
    bad = [p for p in parts if not _SLUG.fullmatch(p) or p.endswith((".git", ".atom"))]
    if bad:
        raise ValueError(
            f"{value!r} is not a GitLab project path: {bad[0]!r} must be letters, digits, '_', '.' or '-', "
            "start and end with a letter or digit, have no two of '_.-' in a row and not end in .git or "
            ".atom; write it like baselines/logreg (below gitlab.group) or "
            "green-ai-hack-2026/baselines/logreg"
        )
    return value


ProjectPath = Annotated[str, AfterValidator(_project_path)]
"""A GitLab project's path, one slug per namespace level (``group/subgroup/project``)."""


class _Section(BaseModel):
    # frozen: a loaded event is a value; extra=forbid: a typo is an error, not a silent default
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------------------------
# Sections of the file
# ---------------------------------------------------------------------------------------------------------------


def _check_window(
    opens_at: datetime, closes_at: datetime, freeze_at: datetime | None, *, opens: str, span: str
) -> None:
    """An event's or a phase's times in order: closes after ``opens``, the freeze within ``span``."""
    if closes_at <= opens_at:
        raise ValueError(f"@closes: must be after {opens}")
    if freeze_at is not None and not (opens_at <= freeze_at <= closes_at):
        raise ValueError(f"@freeze: must lie between {span}")


class EventSection(_Section):
    """When the event runs; all times carry a UTC offset."""

    name: str = Field(min_length=1)
    opens: AwareDatetime
    closes: AwareDatetime
    freeze: AwareDatetime | None = None
    # seeds the public/private split of the truth rows; defaults to the event name
    seed: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> EventSection:
        span = "event.opens and event.closes"
        _check_window(self.opens, self.closes, self.freeze, opens="event.opens", span=span)
        return self

    @property
    def split_seed(self) -> str:
        return self.seed if self.seed is not None else self.name


class TaskSection(_Section):
    """The prediction task: where the team's predictions are and the hidden truth they are scored against."""

    predictions: ArtifactPath = Field(min_length=1)
    truth: Path
    id_column: str = Field(default="id", min_length=1)
    target_column: str = Field(default="label", min_length=1)
    public_fraction: float = Field(gt=0.0, le=1.0)
    max_predictions_mb: float = Field(default=200.0, gt=0.0)

    @property
    def max_predictions_bytes(self) -> int:
        return int(self.max_predictions_mb * 1_000_000)


class PerformanceSection(_Section):
    metric: Literal[
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "f1_weighted",
        "precision_macro",
        "recall_macro",
        "rmse",
        "mae",
        "r2",
    ]
    minimum: float | None = None

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric]


class LifecycleSection(_Section):
    """Project a deployment footprint: train + inferences x (predict energy per row)."""

    inferences: int = Field(gt=0)


class ImpactSection(_Section):
    criterion: Literal["gwp", "adpe", "pe", "energy"]
    include: list[Literal["use", "embodied"]] = Field(default_factory=lambda: ["use", "embodied"], min_length=1)
    pue: float = Field(default=1.0, ge=1.0, le=5.0)
    location: ZoneCode = "WOR"
    carbon_intensity_g_per_kwh: float | None = Field(default=None, ge=0.0, le=3000.0)
    idle: Literal["include", "subtract"] = "include"
    lifecycle: LifecycleSection | None = None

    @model_validator(mode="after")
    def _no_duplicates(self) -> ImpactSection:
        if len(set(self.include)) != len(self.include):
            raise ValueError("@include: lists a phase twice")
        return self

    @property
    def unit(self) -> str:
        return CRITERION_UNITS[self.criterion]


PerTeam = Literal["best", "latest", "selected"]
"""Which submission of a team a board ranks (see greenhack.scoring.ranking)."""


class RankingWeights(_Section):
    performance: float = Field(ge=0.0)
    impact: float = Field(ge=0.0)


class RankingSection(_Section):
    method: Literal["weighted", "ratio", "pareto", "threshold", "expression"]
    weights: RankingWeights | None = None
    expression: str | None = None
    per_team: PerTeam = "best"
    # significant: neighbours the measurement cannot tell apart at `confidence` share a rank (see scoring.ranking)
    ties: Literal["none", "significant"] = "none"
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)

    @model_validator(mode="after")
    def _method_needs(self) -> RankingSection:
        if self.method in ("weighted", "pareto"):
            if self.weights is None:
                raise ValueError(f"@method: method {self.method!r} needs ranking.weights")
            total = self.weights.performance + self.weights.impact
            if not math.isclose(total, 1.0, abs_tol=1e-9):
                raise ValueError(f"@weights: sum to {total:g}; performance + impact must sum to 1")
        if self.method == "expression" and not (self.expression and self.expression.strip()):
            raise ValueError("@method: method 'expression' needs ranking.expression")
        if self.method != "expression" and self.expression is not None:
            raise ValueError("@expression: only read when ranking.method is 'expression'")
        return self


class LimitsSection(_Section):
    submissions_per_day: int = Field(default=10, gt=0)
    job_timeout: Duration = timedelta(minutes=20)
    carbon_budget_g: float | None = Field(default=None, gt=0.0)
    # submissions per team over the whole event (greenhack.scoring.accounting.quota_rules); None: no total
    submissions_total: int | None = Field(default=None, gt=0)
    # submissions per team started and not yet evaluated, at once (running or queued); None: no such limit
    in_flight: int | None = Field(default=None, gt=0)


class TelemetrySection(_Section):
    prometheus: HttpUrl
    scrape_interval: Duration = timedelta(seconds=5)
    # the window charged to the team: ``script``, its command alone, between the CI component's marks in the job log
    # (greenhack.gitlab.script_window); ``job``, GitLab's started_at..finished_at, the runner's housekeeping included
    window: Literal["script", "job"] = "script"
    # a job whose log gives no script window (no marks, marks out of order or outside GitLab's window) is measured
    # over GitLab's window instead, with the reason shown; ``review`` holds such a result for the organisers,
    # ``rank`` ranks it (it can only over-count: the housekeeping is charged)
    window_fallback: Literal["review", "rank"] = "review"
    # a server whose clock is further than this from Prometheus's (node_exporter's node_time_seconds against its
    # scrape time) has its results sent to review
    max_clock_offset: Duration = timedelta(milliseconds=500)
    # true: a result whose server clock offset is unknown (no node_exporter, or no sample around the window) is
    # sent to review; false: it is measured without the correction and ranked
    require_clock_offset: bool = False


class BoaviztaSection(_Section):
    url: HttpUrl


class CpuHardware(_Section):
    name: str = Field(min_length=1)
    units: int = Field(default=1, gt=0, le=16)


class GpuHardware(_Section):
    name: str = Field(min_length=1)
    units: int = Field(default=1, gt=0, le=64)


class HardwareConfig(_Section):
    cpu: CpuHardware
    ram_gb: float = Field(gt=0.0)
    gpu: GpuHardware | None = None
    lifetime_years: float = Field(default=5.0, gt=0.0, le=30.0)

    @property
    def lifetime_hours(self) -> float:
        return self.lifetime_years * 365.25 * 24.0


class IdleCalibration(_Section):
    """A quiet period of the server (no job running) from which its idle power is measured."""

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> IdleCalibration:
        if self.end <= self.start:
            raise ValueError("@end: must be after idle_calibration.start")
        return self


def _runner_ref(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a runner is its id (a number) or its description (text), as GitLab's job API names it")
    if isinstance(value, int) and value <= 0:
        raise ValueError(f"runner id {value} is not a GitLab runner id (a positive number)")
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("a runner description must not be empty")
        return value.strip()
    return value


RunnerRef = Annotated[int | str, BeforeValidator(_runner_ref)]
"""A GitLab runner as the job API reports it: ``runner.id`` (a number) or ``runner.description`` (text)."""


class ServerConfig(_Section):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    runner_tags: list[str] = Field(default_factory=list)
    # the GitLab runner(s) on this server; a job runs here when GitLab says one of them ran it
    # (greenhack.gitlab.server_choice), so servers listing their runners may share one runner tag
    runners: list[RunnerRef] = Field(default_factory=list)
    scaphandre: LabelSelector
    gpu: LabelSelector | None = None
    gpu_exporter: Literal["nvidia_smi", "dcgm"] = "nvidia_smi"
    # its node_exporter (port 9100): node_time_seconds against Prometheus's scrape time gives the server's clock
    # offset, node_timex_* its NTP health (greenhack.telemetry.clock)
    node_exporter: LabelSelector | None = None
    # None means telemetry.scrape_interval; EventConfig.scrape_interval_for() resolves it
    scrape_interval: Duration | None = None
    hardware: HardwareConfig
    idle_calibration: IdleCalibration | None = None
    # a measured idle power may be written directly instead of a calibration period
    idle_power_w: float | None = Field(default=None, ge=0.0)
    # the hardware track whose boards rank this server's jobs (greenhack.competition.tracks): jobs on
    # different hardware are never ranked against each other. Either every server names its track or none does
    # (one track); the servers of one track have the same CPU and GPU, model and count
    track: KeyName | None = None


class PhaseSection(_Section):
    """One phase of the event (``phases:``), e.g. a practice phase then the final one.

    A submission belongs to the phase open at its GitLab ``created_at``; each phase has its own boards (live,
    frozen, final). Keys left out are the event's: ``truth`` is task.truth, ``limits`` are the event's limits
    key by key, ``per_team`` is ranking.per_team (greenhack.competition.phases).
    """

    name: KeyName
    opens: AwareDatetime
    closes: AwareDatetime
    # the phase's public board stops changing (its frozen board); None: no freeze in this phase
    freeze: AwareDatetime | None = None
    # the phase's own hidden truth (relative to the YAML's folder), checked and split like task.truth
    truth: Path | None = None
    # overrides of the event's limits for this phase's jobs, only the keys written (the others: the event's)
    limits: LimitsSection | None = None
    # which submission of a team its boards rank; ``selected`` builds the phase's final board from each team's
    # selected submission
    per_team: PerTeam | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PhaseSection:
        span = "the phase's opens and closes"
        _check_window(self.opens, self.closes, self.freeze, opens="the phase's opens", span=span)
        return self


class BaselineConfig(_Section):
    """An organisers' reference submission (``baselines:``): a GitLab project whose jobs run and are measured
    on the teams' servers, shown on the boards with a badge, never ranked (greenhack.competition)."""

    # the project's path below gitlab.group (baselines/logreg), or its full path starting with the group
    project: ProjectPath
    # the label shown with the badge; default: the project's last path segment
    name: str | None = Field(default=None, min_length=1, max_length=60)

    @staticmethod
    def default_label(project: str) -> str:
        """The label of a baseline given no name: its project's last path segment."""
        return project.rsplit("/", 1)[-1]

    @property
    def label(self) -> str:
        return self.name if self.name is not None else self.default_label(self.project)


def full_project_path(project: str, *, group: str | None) -> str:
    """A project path as the YAML writes it, made full: a path that starts with the event's group (compared as
    GitLab compares paths, case-insensitively) is already full; any other is below the group. Without a group
    (no gitlab section), the path is kept as written."""
    group = group.strip("/") if group else None
    if group is None or project.casefold().startswith(group.casefold() + "/"):
        return project
    return f"{group}/{project}"


class GitLabSection(_Section):
    url: HttpUrl
    group: str = Field(min_length=1)
    token_env: str = Field(default="GREENHACK_GITLAB_TOKEN", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    webhook_secret_env: str = Field(default="GREENHACK_WEBHOOK_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # the CI job name(s) the template gives the measured submission job
    submission_jobs: list[str] = Field(default_factory=lambda: ["submission"], min_length=1)


class FactsheetQuestion(_Section):
    """One question of the fact sheet a team answers with its submission (greenhack.factsheet reads the answers).

    ``key`` is the answer's key in the team's file; ``type`` what an answer must be (``choice``: one of ``choices``;
    ``integer``/``number`` within ``min``/``max``; ``boolean``; ``text`` of at most ``max_length`` characters);
    ``required`` answers must be there; ``board: true`` shows the answers as a board column headed ``label``.
    """

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    question: str = Field(min_length=1, max_length=300)
    label: str | None = Field(default=None, min_length=1, max_length=40)
    type: Literal["choice", "integer", "number", "boolean", "text"]
    choices: list[str] | None = None
    required: bool = True
    board: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int | None = Field(default=None, gt=0, le=2000)

    @model_validator(mode="after")
    def _fits_its_type(self) -> FactsheetQuestion:
        if self.type == "choice":
            if not self.choices or len(self.choices) < 2:
                raise ValueError("@choices: a choice question needs at least two choices")
            if any(not c.strip() for c in self.choices):
                raise ValueError("@choices: a choice must not be empty")
            folded = [c.strip().casefold() for c in self.choices]
            if len(set(folded)) != len(folded):
                raise ValueError("@choices: lists a choice twice (choices are compared without case)")
        elif self.choices is not None:
            raise ValueError(f"@choices: only a choice question has choices, this one is {self.type!r}")
        if self.type not in ("integer", "number"):
            for bound in ("min", "max"):
                if getattr(self, bound) is not None:
                    raise ValueError(f"@{bound}: only an integer or number question has bounds, not {self.type!r}")
        elif self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"@max: {self.max:g} is below min {self.min:g}")
        if self.max_length is not None and self.type != "text":
            raise ValueError(f"@max_length: only a text question has a length, not {self.type!r}")
        return self

    @property
    def header(self) -> str:
        """The board column's header: ``label``, or the key in words."""
        return self.label if self.label is not None else self.key.replace("_", " ")

    @property
    def text_limit(self) -> int:
        """The most characters a text answer may have."""
        return self.max_length if self.max_length is not None else 200


class FactsheetSection(_Section):
    """The fact sheet: questions each team answers in a small YAML (or JSON) file its job keeps as an artifact.

    ``invalid`` decides the board's place of a submission whose fact sheet is missing or has problems: ``rank``
    ranks it with the problems shown on its page, ``unranked`` leaves it unranked, the reason on its page.
    """

    file: ArtifactPath = "factsheet.yaml"
    invalid: Literal["rank", "unranked"] = "rank"
    questions: list[FactsheetQuestion] = Field(min_length=1, max_length=50)

    def question(self, key: str) -> FactsheetQuestion | None:
        return next((q for q in self.questions if q.key == key), None)

    @property
    def board_questions(self) -> list[FactsheetQuestion]:
        """The questions shown as board columns, in the YAML's order."""
        return [q for q in self.questions if q.board]


class EventConfig(_Section):
    """One Green AI Hack event, as the admins configured it."""

    event: EventSection
    task: TaskSection
    performance: PerformanceSection
    impact: ImpactSection
    ranking: RankingSection
    limits: LimitsSection = LimitsSection()
    telemetry: TelemetrySection
    boavizta: BoaviztaSection
    servers: list[ServerConfig] = Field(min_length=1)
    gitlab: GitLabSection | None = None
    factsheet: FactsheetSection | None = None
    # the organisers' reference projects, listed on the boards, never ranked; rows compare with the first
    baselines: list[BaselineConfig] = Field(default_factory=list)
    # the event's phases in time order; none: the whole event is one phase, as before (competition.phases)
    phases: list[PhaseSection] = Field(default_factory=list)

    # where the file was read from; relative paths in it (task.truth) are relative to its folder
    source: Path | None = Field(default=None, exclude=True)

    def server(self, name: str) -> ServerConfig:
        """The server called ``name``; ``KeyError`` names the known ones."""
        for server in self.servers:
            if server.name == name:
                return server
        known = ", ".join(s.name for s in self.servers)
        raise KeyError(f"no server {name!r} in the event (known: {known})")

    def server_for_runner_tags(self, tags: list[str]) -> ServerConfig | None:
        """The server whose runner tag a job ran with, or None when no tag is measured."""
        for server in self.servers:
            if set(server.runner_tags) & set(tags):
                return server
        return None

    def scrape_interval_for(self, server: ServerConfig) -> timedelta:
        return server.scrape_interval or self.telemetry.scrape_interval

    @property
    def truth_path(self) -> Path:
        if self.task.truth.is_absolute() or self.source is None:
            return self.task.truth
        return self.source.parent / self.task.truth


# ---------------------------------------------------------------------------------------------------------------
# Loading, with every problem located in the file
# ---------------------------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


def format_key_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _walk_nodes(
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    duplicates: list[tuple[Loc, int]],
    oversized: list[tuple[Loc, int]],
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*loc, key)
            if key in seen:
                duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            lines.setdefault(child, key_node.start_mark.line + 1)
            if _oversized_int(key_node):
                oversized.append((child, key_node.start_mark.line + 1))
            _walk_nodes(value_node, child, lines, duplicates, oversized)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*loc, index)
            lines.setdefault(child, item.start_mark.line + 1)
            _walk_nodes(item, child, lines, duplicates, oversized)
    elif _oversized_int(node):
        oversized.append((loc, node.start_mark.line + 1))


MAX_YAML_INT_DIGITS = 300
"""The largest whole number a YAML file may hold is 10**300. Past 4,300 digits Python refuses to read an int
(ValueError), and past about 10**308 the int cannot become a float (OverflowError in math.isfinite or a comparison
with one): no setting or answer needs more, so more is a located problem rather than a crash."""

_INT_TAG = "tag:yaml.org,2002:int"
_INT_LIMIT = 10**MAX_YAML_INT_DIGITS
_INT_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _oversized_int(node: yaml.Node) -> bool:
    """A scalar PyYAML reads as an int (decimal, 0x, 0o, 0b or YAML 1.1's 1:30:00) past :data:`MAX_YAML_INT_DIGITS`."""
    if not isinstance(node, yaml.ScalarNode) or node.tag != _INT_TAG:
        return False
    if len(node.value) > 4 * MAX_YAML_INT_DIGITS:  # longer than any form of 10**300 (binary, with underscores)
        return True
    value = _INT_CONSTRUCTOR.construct_yaml_int(node)
    return abs(value) > _INT_LIMIT


# An event file holds a few hundred values a few levels deep. Far past that it is not a configuration but an attack
# on the loader: nine levels of ten aliases are 10**9 values to walk once expanded, and nesting past Python's
# recursion limit breaks the composer (and everything after it) with a RecursionError.
MAX_YAML_VALUES = 100_000
MAX_YAML_DEPTH = 100


def _check_bounds(text: str, filename: str) -> None:
    """Refuse a document that expands past MAX_YAML_VALUES or nests past MAX_YAML_DEPTH, at the line where it does.

    Reads the event stream once: an alias adds the expanded size of its anchor (known when the anchor's node
    ended), so a bomb is caught a few lines in, without building or expanding anything.
    """

    def refuse(event: yaml.Event, message: str) -> ConfigError:
        return ConfigError([ConfigProblem(filename, event.start_mark.line + 1, "", message)])

    anchor_values: dict[str, int] = {}
    open_collections: list[tuple[int, str | None]] = []  # (values counted when it opened, its anchor)
    values = 0
    aliases = False
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_collections) >= MAX_YAML_DEPTH:
                raise refuse(event, f"nested more than {MAX_YAML_DEPTH} levels deep (an event needs 5)")
            open_collections.append((values, event.anchor))
            values += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            opened_at, anchor = open_collections.pop()
            if anchor is not None:
                anchor_values[anchor] = values - opened_at
        elif isinstance(event, yaml.ScalarEvent):
            values += 1
            if event.anchor is not None:
                anchor_values[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            aliases = True
            values += anchor_values.get(event.anchor, 1)  # an unknown anchor is the composer's to report
        if values > MAX_YAML_VALUES:
            what = "aliases expand the file to" if aliases else "the file has"
            advice = ": write the values out instead of repeating aliases" if aliases else ""
            limit = f"more than {MAX_YAML_VALUES:,} values (an event needs a few hundred)"
            raise refuse(event, f"{what} {limit}{advice}")


class LocatedYaml:
    """A YAML document with the line of every key and list item."""

    def __init__(self, text: str, filename: str) -> None:
        _check_bounds(text, filename)
        self.filename = filename
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int]] = []
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            self.lines[()] = 1  # problems of the whole document point at its top
            oversized: list[tuple[Loc, int]] = []
            _walk_nodes(root, (), self.lines, self.duplicates, oversized)
            if oversized:  # yaml.safe_load would raise ValueError, or hand on an int no float holds
                message = f"a number past 10^{MAX_YAML_INT_DIGITS}, larger than any value here may be"
                raise ConfigError(
                    [ConfigProblem(filename, line, format_key_path(loc), message) for loc, line in oversized]
                )
        self.data: Any = yaml.safe_load(text)

    def line_of(self, loc: Loc) -> int | None:
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str) -> ConfigProblem:
        return ConfigProblem(self.filename, self.line_of(loc), format_key_path(loc), message)


def _clean_loc(loc: tuple[int | str, ...]) -> Loc:
    # pydantic adds the names of validator functions and union members to locations; they are not YAML keys
    return tuple(p for p in loc if isinstance(p, int) or not ("[" in p or p.startswith("function-")))


def _pydantic_message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; see examples/event.yaml for every key)"
    if kind == "missing":
        return "required key is missing"
    if kind == "timezone_aware":
        return "a time needs its UTC offset, e.g. 2026-12-01T09:00:00+01:00"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if kind not in ("value_error",) and "input" in error and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    return message


def raw_mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _locate_message(loc: Loc, message: str) -> tuple[Loc, str]:
    """A section validator names the key it is about as '@key.sub: message'; move that into the location."""
    if message.startswith("@") and ": " in message:
        keys, _, rest = message[1:].partition(": ")
        return (*loc, *keys.split(".")), rest
    return loc, message


def _cross_checks(data: dict[str, Any], located: LocatedYaml, source: Path | None) -> Iterator[ConfigProblem]:
    """Problems that involve more than one key, or the file system.

    They read the raw YAML data (defensively), so they are reported together with type errors rather than only
    once every key has the right type.
    """
    impact = raw_mapping(data.get("impact"))
    ranking = raw_mapping(data.get("ranking"))
    performance = raw_mapping(data.get("performance"))
    servers = data.get("servers") if isinstance(data.get("servers"), list) else []
    names: dict[str, int] = {}
    tags: dict[str, tuple[str, bool]] = {}
    runners: dict[int | str, str] = {}
    for index, raw in enumerate(servers):
        server = raw_mapping(raw)
        loc: Loc = ("servers", index)
        name = server.get("name")
        if isinstance(name, str):
            if name in names:
                yield located.problem((*loc, "name"), f"server name {name!r} is used twice (also servers[{names[name]}])")
            names.setdefault(name, index)
        runner_tags = server.get("runner_tags")
        listed = server.get("runners") if isinstance(server.get("runners"), list) else []
        if not runner_tags and not listed:
            yield located.problem(
                (*loc, "runner_tags") if "runner_tags" in server else loc,
                f"server {name!r} is referenced nowhere: give it runner_tags, the GitLab runner tag(s) that send "
                "jobs to it (or runners, the GitLab runners on it)",
            )
        for position, runner in enumerate(listed):
            if isinstance(runner, bool) or not isinstance(runner, int | str):
                continue
            key = runner.strip() if isinstance(runner, str) else runner
            if key in runners and runners[key] != name:
                yield located.problem(
                    (*loc, "runners", position),
                    f"runner {runner!r} is also listed on server {runners[key]!r}; a runner runs on one server",
                )
            if isinstance(name, str):
                runners.setdefault(key, name)
        for tag in runner_tags if isinstance(runner_tags, list) else []:
            if isinstance(tag, str) and tag in tags and tags[tag][0] != name and not (listed and tags[tag][1]):
                yield located.problem(
                    (*loc, "runner_tags"),
                    f"runner tag {tag!r} also sends jobs to server {tags[tag][0]!r}; a job must map to one server: "
                    "servers that share a tag must each list their GitLab runners (servers[].runners)",
                )
            if isinstance(tag, str) and isinstance(name, str):
                tags.setdefault(tag, (name, bool(listed)))
        clock_required = raw_mapping(data.get("telemetry")).get("require_clock_offset") is True
        if clock_required and not server.get("node_exporter"):
            yield located.problem(
                loc,
                f"telemetry.require_clock_offset is true but server {name!r} has no node_exporter selector, so its "
                "clock offset is never known and every result on it would go to review",
            )
        hardware = raw_mapping(server.get("hardware"))
        if server.get("gpu") is None and hardware.get("gpu") is not None:
            yield located.problem(
                (*loc, "hardware", "gpu"),
                "the server has a GPU but no 'gpu' exporter selector, so its energy would go unmeasured",
            )
        if impact.get("idle") == "subtract" and not (server.get("idle_calibration") or "idle_power_w" in server):
            yield located.problem(
                loc, "impact.idle is 'subtract' but this server has neither idle_calibration nor idle_power_w"
            )
    if ranking.get("method") == "threshold" and performance.get("minimum") is None:
        yield located.problem(("ranking", "method"), "method 'threshold' needs performance.minimum")
    if impact.get("carbon_intensity_g_per_kwh") is not None and impact.get("criterion", "gwp") != "gwp":
        yield located.problem(
            ("impact", "carbon_intensity_g_per_kwh"),
            f"only changes the gwp criterion, but impact.criterion is {impact.get('criterion')!r}",
        )
    expression = ranking.get("expression")
    if ranking.get("method") == "expression" and isinstance(expression, str) and expression.strip():
        try:
            check_expression(expression)
        except ExpressionError as exc:
            yield located.problem(("ranking", "expression"), str(exc).splitlines()[0])
        else:
            yield from _expression_names(expression, performance.get("metric"), located)
    truth = raw_mapping(data.get("task")).get("truth")
    if isinstance(truth, str) and (path := yaml_relative_path(truth, source)) is not None:
        if not path.is_file():
            relative = "" if Path(truth).is_absolute() else " (relative to the YAML file's folder)"
            yield located.problem(("task", "truth"), f"truth file {truth!r}{relative} does not exist")
    yield from _minimum_in_range(performance, located)
    yield from _job_timeout_form(raw_mapping(data.get("limits")), located)
    yield from _factsheet_checks(raw_mapping(data.get("factsheet")), raw_mapping(data.get("task")), located)
    yield from _phase_checks(data, located, source)
    yield from _track_checks(servers, located)
    yield from _baseline_checks(data, located)


# --- checks of what would fail later (each reads the raw YAML defensively; a wrong type is reported elsewhere) --


def _expression_names(expression: str, metric: object, located: LocatedYaml) -> Iterator[ConfigProblem]:
    """Every name of the ranking expression must be one the event gives a value for (the registry the ranking
    reads, greenhack.quantities): a metric other than the event's is never computed."""
    if not isinstance(metric, str) or metric not in METRICS:
        return
    from greenhack.expression import parse_expression  # noqa: PLC0415
    from greenhack.quantities import not_provided  # noqa: PLC0415

    for name in sorted(parse_expression(expression).names):
        why = not_provided(name, metric=metric)
        if why is not None:
            column = re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", expression)
            where = f"column {column.start() + 1}: " if column else ""
            yield located.problem(("ranking", "expression"), f"{where}{why}")


def _minimum_in_range(performance: dict[str, Any], located: LocatedYaml) -> Iterator[ConfigProblem]:
    metric, minimum = performance.get("metric"), performance.get("minimum")
    if metric not in METRIC_RANGES or isinstance(minimum, bool) or not isinstance(minimum, int | float):
        return
    low, high = METRIC_RANGES[metric]
    error_metric = not METRICS[metric]
    if error_metric and minimum <= 0:
        effect = "no submission could be ranked" if minimum < 0 else "only a perfect prediction would be ranked"
        yield located.problem(
            ("performance", "minimum"),
            f"{minimum:g} is the largest {metric} allowed, but {metric} is never below 0: {effect}",
        )
    elif not low <= minimum <= high:
        span = f"{low:g} to {high:g}" if math.isfinite(low) else f"at most {high:g}"
        hint = f"; did you mean {minimum / 100:g}?" if high == 1.0 and 1 < minimum <= 100 else ""
        effect = "no submission could be ranked" if minimum > high else "it excludes nothing"
        yield located.problem(
            ("performance", "minimum"), f"{minimum:g} is outside the range of {metric} ({span}): {effect}{hint}"
        )


def _job_timeout_form(
    limits: dict[str, Any], located: LocatedYaml, at: Loc = ("limits",)
) -> Iterator[ConfigProblem]:
    """limits.job_timeout (``at``: the limits' key path) is passed to the CI component, whose input accepts
    only a whole number and one unit."""
    if "job_timeout" not in limits:
        return
    value = limits["job_timeout"]
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        seconds = int(value)
        written = f"{seconds // 60}m or {seconds}s" if seconds % 60 == 0 and seconds else f"{max(seconds, 1)}s"
        yield located.problem(
            (*at, "job_timeout"),
            f"{value!r} has no unit; write it as the CI component takes it, e.g. {written}",
        )
    elif isinstance(value, str) and not re.fullmatch(JOB_TIMEOUT_PATTERN, value.strip()):
        try:
            seconds = parse_duration(value).total_seconds()
        except ValueError:
            return  # not a duration at all: the type check says so
        hint = ""
        if seconds == int(seconds):
            hint = f" (write {int(seconds) // 60}m)" if seconds % 60 == 0 else f" (write {int(seconds)}s)"
        yield located.problem(
            (*at, "job_timeout"),
            f"{value!r}: the CI component accepts a whole number with one unit, s, m or h "
            f"(regex {JOB_TIMEOUT_PATTERN}){hint}",
        )


def _factsheet_checks(
    factsheet: dict[str, Any], task: dict[str, Any], located: LocatedYaml
) -> Iterator[ConfigProblem]:
    """A fact sheet's questions have distinct keys and column headers, and its file is not the predictions."""
    questions = factsheet.get("questions") if isinstance(factsheet.get("questions"), list) else []
    keys: dict[str, int] = {}
    headers: dict[str, int] = {}
    for index, raw in enumerate(questions):
        question = raw_mapping(raw)
        key = question.get("key")
        if isinstance(key, str) and key in keys:
            yield located.problem(
                ("factsheet", "questions", index, "key"),
                f"question key {key!r} is used twice (also factsheet.questions[{keys[key]}])",
            )
            continue
        if isinstance(key, str):
            keys[key] = index
        if question.get("board") is True and isinstance(key, str):
            label = question.get("label")
            header = (label if isinstance(label, str) else key.replace("_", " ")).casefold()
            if header in headers:
                yield located.problem(
                    ("factsheet", "questions", index, "label" if "label" in question else "key"),
                    f"board column {header!r} is also the column of factsheet.questions[{headers[header]}]; "
                    "give one a label of its own",
                )
            headers.setdefault(header, index)
    file = factsheet.get("file", "factsheet.yaml")
    if isinstance(file, str) and file == task.get("predictions"):
        yield located.problem(
            ("factsheet", "file") if "file" in factsheet else ("factsheet",),
            f"{file!r} is also task.predictions: the fact sheet needs a file of its own",
        )


# --- phases, tracks and baselines (greenhack.competition reads the typed sections) -------------------------


def _aware(value: object) -> datetime | None:
    """A time as the YAML holds it (PyYAML reads unquoted timestamps itself), or None when it is not an aware
    one (the type check reports that)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    return None


def yaml_relative_path(value: object, source: Path | None) -> Path | None:
    """A file the YAML names (a truth file), relative to the YAML's folder ``source``; None: not a path."""
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    return source.parent / path if not path.is_absolute() and source is not None else path


def _phase_checks(data: dict[str, Any], located: LocatedYaml, source: Path | None) -> Iterator[ConfigProblem]:
    """Phases have unique names, follow one another in time order without overlapping, lie inside the event,
    and name truth files that exist; with phases, each has its own freeze (event.freeze is ambiguous)."""
    if "phases" not in data or not isinstance(data["phases"], list):
        return
    phases = data["phases"]
    if not phases:
        yield located.problem(
            ("phases",), "lists no phase: list at least one, or leave phases out (one phase)"
        )
        return
    event = raw_mapping(data.get("event"))
    if event.get("freeze") is not None:
        yield located.problem(
            ("event", "freeze"),
            "is not read when the event has phases: give each phase that freezes its own freeze "
            "(phases[].freeze)",
        )
    event_opens, event_closes = _aware(event.get("opens")), _aware(event.get("closes"))
    names: dict[str, int] = {}
    previous: tuple[int, str, datetime] | None = None  # index, name, closes of the phase before
    for index, raw in enumerate(phases):
        phase = raw_mapping(raw)
        loc: Loc = ("phases", index)
        name = phase.get("name")
        if isinstance(name, str):
            if name in names:
                yield located.problem(
                    (*loc, "name"), f"phase name {name!r} is used twice (also phases[{names[name]}])"
                )
            names.setdefault(name, index)
        opens, closes = _aware(phase.get("opens")), _aware(phase.get("closes"))
        if opens is not None and event_opens is not None and opens < event_opens:
            yield located.problem(
                (*loc, "opens"),
                f"is before event.opens ({event_opens.isoformat()}): a phase lies inside the event",
            )
        if closes is not None and event_closes is not None and closes > event_closes:
            yield located.problem(
                (*loc, "closes"),
                f"is after event.closes ({event_closes.isoformat()}): a phase lies inside the event",
            )
        if opens is not None and previous is not None and opens < previous[2]:
            before, before_name = previous[0], previous[1]
            yield located.problem(
                (*loc, "opens"),
                f"{opens.isoformat()} is before phases[{before}] ({before_name!r}) closes "
                f"({previous[2].isoformat()}): list the phases in time order, each opening when or after the "
                "one before closes",
            )
        if closes is not None and opens is not None and closes > opens:
            previous = (index, str(name), closes)
        path = yaml_relative_path(phase.get("truth"), source)
        if path is not None and not path.is_file():
            absolute = Path(str(phase["truth"])).is_absolute()
            relative = "" if absolute else " (relative to the YAML file's folder)"
            yield located.problem((*loc, "truth"), f"truth file {phase['truth']!r}{relative} does not exist")
        yield from _job_timeout_form(raw_mapping(phase.get("limits")), located, at=(*loc, "limits"))


def _hardware_key(hardware: dict[str, Any]) -> tuple[object, ...] | None:
    """What decides a job's energy on a server: its CPU and GPU, model and count (None when unreadable)."""
    cpu, gpu = raw_mapping(hardware.get("cpu")), raw_mapping(hardware.get("gpu"))
    if not isinstance(cpu.get("name"), str):
        return None

    def part(item: dict[str, Any]) -> tuple[str, object] | None:
        name = item.get("name")
        return (" ".join(name.split()).casefold(), item.get("units", 1)) if isinstance(name, str) else None

    return (part(cpu), part(gpu) if gpu else None)


def _hardware_text(hardware: dict[str, Any]) -> str:
    cpu, gpu = raw_mapping(hardware.get("cpu")), raw_mapping(hardware.get("gpu"))
    text = f"{cpu.get('units', 1)}x {cpu.get('name')}"
    return text + (f" + {gpu.get('units', 1)}x {gpu.get('name')}" if gpu else ", no GPU")


def _track_checks(servers: list[Any], located: LocatedYaml) -> Iterator[ConfigProblem]:
    """Either every server names its track or none does; the servers of one track (the single implicit one
    included) have the same CPU and GPU, model and count, since a track's boards rank their jobs together."""
    entries = [(index, raw_mapping(raw)) for index, raw in enumerate(servers)]
    named = [(i, s) for i, s in entries if s.get("track") is not None]
    if named and len(named) < len(entries):
        first = named[0][0]
        for index, server in entries:
            if server.get("track") is None:
                yield located.problem(
                    ("servers", index),
                    f"names no track, but servers[{first}] does: when the event has hardware tracks, every "
                    "server names its own (servers[].track)",
                )
        return
    first_of: dict[object, tuple[int, str, tuple[object, ...]]] = {}
    for index, server in entries:
        hardware = raw_mapping(server.get("hardware"))
        key = _hardware_key(hardware)
        track = server.get("track")
        if key is None or not isinstance(track, str | None):
            continue
        if track not in first_of:
            first_of[track] = (index, str(server.get("name")), key)
            continue
        other, other_name, other_key = first_of[track]
        if key == other_key:
            continue
        other_text = _hardware_text(raw_mapping(raw_mapping(servers[other]).get("hardware")))
        if track is None:
            yield located.problem(
                ("servers", index, "hardware"),
                f"{_hardware_text(hardware)} differs from server {other_name!r} ({other_text}): jobs on "
                "different hardware must not be ranked against each other, so give each server a hardware "
                "track (servers[].track); each track gets its own boards",
            )
        else:
            yield located.problem(
                ("servers", index, "track"),
                f"track {track!r} also holds server {other_name!r} ({other_text}), whose CPU or GPU differs "
                f"from this one's ({_hardware_text(hardware)}): the servers of a track are ranked together, "
                "so they must have the same CPU and GPU (model and count); give this server a track of its "
                "own",
            )


def _baseline_checks(data: dict[str, Any], located: LocatedYaml) -> Iterator[ConfigProblem]:
    """Baselines name distinct projects (GitLab paths compare case-insensitively) under distinct labels, and a
    project rather than the event's group itself."""
    baselines = data.get("baselines")
    if not isinstance(baselines, list):
        return
    group = raw_mapping(data.get("gitlab")).get("group")
    group = group.strip("/") if isinstance(group, str) and group.strip("/") else None
    paths: dict[str, int] = {}
    labels: dict[str, int] = {}
    for index, raw in enumerate(baselines):
        baseline = raw_mapping(raw)
        project = baseline.get("project")
        if not isinstance(project, str) or not project:
            continue
        loc: Loc = ("baselines", index)
        if group is not None and project.casefold() == group.casefold():
            yield located.problem((*loc, "project"), f"{project!r} is the event's group, not a project in it")
            continue
        full = full_project_path(project, group=group)
        if full.casefold() in paths:
            yield located.problem(
                (*loc, "project"),
                f"project {full!r} is listed twice (also baselines[{paths[full.casefold()]}])",
            )
            continue
        paths[full.casefold()] = index
        name = baseline.get("name")
        label = name if isinstance(name, str) else BaselineConfig.default_label(project)
        if label in labels:
            where = (*loc, "name") if "name" in baseline else loc
            yield located.problem(
                where,
                f"label {label!r} is also baselines[{labels[label]}]'s: give each baseline a name of its own "
                "(baselines[].name)",
            )
        labels.setdefault(label, index)


ContentCheck = Callable[[dict[str, Any], "LocatedYaml", "Path | None"], Iterable[ConfigProblem]]
"""A check of the raw YAML that needs more than the event's own models (the truth file's contents, the hardware
catalogue): given the raw data, the located document and the YAML's path, it yields located problems.
:mod:`greenhack.preflight` holds them (it sits above config, scoring and impacts, which config must not import)."""


def parse_event(
    text: str,
    *,
    filename: str = "<event>",
    source: Path | None = None,
    content_checks: Sequence[ContentCheck] = (),
) -> EventConfig:
    """Parse an event YAML text; raise ConfigError with every problem located, those of ``content_checks``
    included (reported together with the type errors, on the raw data)."""
    try:
        located = LocatedYaml(text, filename)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            [ConfigProblem(filename, line, "", f"not valid YAML: {exc.problem or exc}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(filename, None, "", f"not valid YAML: {exc}")]) from None

    problems = [
        ConfigProblem(filename, line, format_key_path(loc), "key given twice; the second would silently win")
        for loc, line in located.duplicates
    ]
    if not isinstance(located.data, dict):
        problems.append(ConfigProblem(filename, located.line_of(()), "", "the file must be a mapping of sections"))
        raise ConfigError(problems)

    config: EventConfig | None = None
    try:
        config = EventConfig.model_validate({**located.data, "source": source})
    except ValidationError as exc:
        for error in exc.errors():
            loc, message = _locate_message(_clean_loc(error["loc"]), _pydantic_message(error))
            problems.append(located.problem(loc, message))
    problems.extend(_cross_checks(located.data, located, source))
    for check in content_checks:
        problems.extend(check(located.data, located, source))
    if problems or config is None:
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise ConfigError(problems)
    return config


def load_event(path: str | Path, *, content_checks: Sequence[ContentCheck] = ()) -> EventConfig:
    """Read and validate an event YAML file (``content_checks``: see :func:`parse_event`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc.strerror}")]) from None
    return parse_event(text, filename=str(path), source=path.resolve(), content_checks=content_checks)


def _limits_line(limits: LimitsSection) -> str:
    budget = (
        f"carbon budget {limits.carbon_budget_g:g} gCO2e per team"
        if limits.carbon_budget_g is not None
        else "no carbon budget"
    )
    per_day, timeout_s = limits.submissions_per_day, limits.job_timeout.total_seconds()
    timeout = f"{int(timeout_s // 60)}m" if timeout_s % 60 == 0 else _format_duration(limits.job_timeout)
    total = f", {limits.submissions_total} in the event" if limits.submissions_total is not None else ""
    flight = f", at most {limits.in_flight} in flight" if limits.in_flight is not None else ""
    return (
        f"limits     {per_day} submission{'s' if per_day != 1 else ''} per team per day{total}{flight}, job "
        f"timeout {timeout}, {budget}"
    )


def event_summary(config: EventConfig) -> list[str]:
    """A few lines describing a valid event, for ``greenhack check-config``."""
    ev = config.event

    def when(moment: datetime | None) -> str:
        return moment.isoformat() if moment is not None else "-"

    lines = [
        f"event      {ev.name}: {when(ev.opens)} → {when(ev.closes)} (freeze {when(ev.freeze)})",
        f"task       {config.performance.metric} on {config.task.target_column!r}, "
        f"{config.task.public_fraction:.0%} of rows public",
        f"impact     {config.impact.criterion} ({config.impact.unit}), {'+'.join(config.impact.include)}, "
        f"PUE {config.impact.pue}, "
        + (
            f"{config.impact.carbon_intensity_g_per_kwh} gCO2e/kWh"
            if config.impact.carbon_intensity_g_per_kwh is not None
            else f"grid {config.impact.location}"
        ),
        f"ranking    {config.ranking.method}, per team: {config.ranking.per_team}"
        + (f", expression {config.ranking.expression}" if config.ranking.expression else ""),
        _limits_line(config.limits),
        f"window     {config.telemetry.window}"
        + (f" (fallback to GitLab's window: {config.telemetry.window_fallback})" if config.telemetry.window == "script"
           else "")
        + f"; clock offset at most {config.telemetry.max_clock_offset.total_seconds():g} s, "
        + ("required" if config.telemetry.require_clock_offset else "corrected when known"),
    ]
    if config.factsheet is not None:
        sheet = config.factsheet
        columns = ", ".join(q.header for q in sheet.board_questions) or "none"
        lines.append(
            f"factsheet  {sheet.file}: {len(sheet.questions)} questions "
            f"({sum(q.required for q in sheet.questions)} required), board columns: {columns}; "
            f"a missing or invalid one is {'ranked' if sheet.invalid == 'rank' else 'not ranked'}"
        )
    for server in config.servers:
        hw = server.hardware
        gpu = f", {hw.gpu.units}x {hw.gpu.name}" if hw.gpu else ""
        lines.append(
            f"server     {server.name}: {hw.cpu.units}x {hw.cpu.name}{gpu}, {hw.ram_gb:g} GB RAM; "
            f"tags {', '.join(server.runner_tags)}; scrape {config.scrape_interval_for(server).total_seconds():g}s"
            + (f"; runners {', '.join(map(str, server.runners))}" if server.runners else "")
            + (f"; track {server.track}" if server.track is not None else "")
        )
    for phase in config.phases:
        own = [f"freeze {when(phase.freeze)}"]
        if phase.truth is not None:
            own.append(f"truth {phase.truth}")
        if phase.per_team is not None:
            own.append(f"per team: {phase.per_team}")
        if phase.limits is not None:
            written = phase.limits.model_dump(include=phase.limits.model_fields_set, mode="json")
            own.append("limits " + ", ".join(f"{key}={value}" for key, value in sorted(written.items())))
        span = f"{when(phase.opens)} → {when(phase.closes)}"
        lines.append(f"phase      {phase.name}: {span} ({'; '.join(own)})")
    group = config.gitlab.group if config.gitlab is not None else None
    for baseline in config.baselines:
        full = full_project_path(baseline.project, group=group)
        lines.append(f"baseline   {baseline.label}: {full} (never ranked)")
    return lines

"""Typed read results of the store (frozen pydantic models), also the JSON shapes of the web API.

Units: energies in J, durations in s, ``gwp_kgco2e`` in kgCO2e, impacts in their ``impact_unit``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field

from greenhack.factsheet import factsheet_reason
from greenhack.quantities import per_thousand

__all__ = [
    "BaselineComparisonView",
    "BoardEntry",
    "EventTotals",
    "FactsheetView",
    "ImpactView",
    "MeasurementView",
    "ParetoPoint",
    "PerformanceView",
    "ScoreView",
    "SubmissionDetail",
    "SubmissionSummary",
    "TeamDetail",
    "TeamSummary",
]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class BaselineComparisonView(_View):
    """How a team's line compares with one baseline of its board (greenhack.competition.BaselineComparison):
    ``energy_change`` and ``impact_change`` as fractions (−0.41: 41% less), ``performance_delta`` in the
    metric's units, ``text`` the sentence shown (``41% less energy than the baseline at +2.1 points of
    accuracy``), ``detail`` both energies in one unit."""

    baseline: str
    energy_change: float | None
    impact_change: float | None
    performance_delta: float | None
    performance_better: bool | None
    text: str
    detail: str


class BoardEntry(_View):
    """One team's line on a board: its selected submission and the team's totals.

    ``baseline``: the line is an organisers' baseline (``baselines:``): listed with a badge, never ranked;
    ``vs_baselines``: a team's line compared with the board's baselines, the headline first (empty for a
    baseline's line, or when the board has none).
    """

    rank: int | None
    score: float | None
    team_id: int
    team_name: str
    submission_id: int
    performance: float | None
    impact_total: float | None
    impact_min: float | None
    impact_max: float | None
    impact_unit: str | None
    energy_j: float | None
    pareto: bool
    note: str | None
    submissions_count: int
    team_energy_j: float
    team_gwp_kgco2e: float
    # the impact's two parts (in impact_unit; embodied is None for the energy criterion)
    impact_use: float | None = None
    impact_embodied: float | None = None
    # the measured job: its duration (s), server and window, and when it was queued and evaluated (UTC)
    duration_s: float | None = None
    server: str | None = None  # the server whose runner ran the job (its hardware: the event's servers[] entry)
    window_start: datetime | None = None
    window_end: datetime | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    # the job's gCO2e (kgCO2e) and the rows its predictions were scored on, for the per-1,000-predictions columns
    gwp_kgco2e: float | None = None
    scored_rows: int | None = None
    # the fact sheet's valid answers by question key (None when none was read), for the board's fact sheet columns
    factsheet_answers: dict[str, Any] | None = None
    baseline: bool = False
    vs_baselines: list[BaselineComparisonView] = []
    # intervals (issue 17, greenhack.store.intervals): the rank shared with a neighbour the measurement cannot tell
    # apart (ranking.ties: significant), how many measurements the row ranks (their median, after a re-measure),
    # the energy's interval (J), the impact's measurement interval (impact_unit; impact_min/max is BoaviztAPI's
    # factor range) and the performance's bootstrap interval; None where there is none
    tied: bool = False
    measurements: int | None = None
    energy_low_j: float | None = None
    energy_high_j: float | None = None
    impact_measurement_low: float | None = None
    impact_measurement_high: float | None = None
    performance_low: float | None = None
    performance_high: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rank_label(self) -> str | None:
        """The rank as the board writes it: ``=2`` when shared, ``2`` otherwise, None when not ranked."""
        if self.rank is None:
            return None
        return f"={self.rank}" if self.tied else str(self.rank)

    # per 1,000 predictions (the scored rows), computed as the ranking's *_per_1k quantities are
    @computed_field  # type: ignore[prop-decorator]
    @property
    def energy_wh_per_1k(self) -> float | None:
        return per_thousand(self.energy_j / 3600.0 if self.energy_j is not None else None, self.scored_rows)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gwp_g_per_1k(self) -> float | None:
        return per_thousand(self.gwp_kgco2e * 1000.0 if self.gwp_kgco2e is not None else None, self.scored_rows)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def impact_per_1k(self) -> float | None:
        return per_thousand(self.impact_total, self.scored_rows)


class ParetoPoint(_View):
    """One scored submission on the performance-vs-impact chart."""

    submission_id: int
    team_id: int
    team_name: str
    performance: float
    impact_total: float
    impact_min: float | None
    impact_max: float | None
    pareto: bool
    baseline: bool = False  # an organisers' baseline: drawn with its own mark, never on the teams' front
    # the intervals stored with the board (greenhack.store.intervals): the chart's error bars on both axes
    impact_low: float | None = None
    impact_high: float | None = None
    performance_low: float | None = None
    performance_high: float | None = None


class SubmissionSummary(_View):
    """A submission as listed in a team's history or the API's list."""

    id: int
    team_id: int
    team_name: str
    status: str
    reason: str | None
    reason_code: str | None  # greenhack.status.ReasonCode: what decides whether a visitor may read the reason
    excluded: bool
    excluded_reason: str | None
    gitlab_project_id: int
    gitlab_pipeline_id: int | None
    gitlab_job_id: int
    commit_sha: str | None
    job_url: str | None
    server: str | None
    window_start: datetime | None  # GitLab's window of the job (when its runner held the server)
    window_end: datetime | None
    # the window charged: script (the team's command, from the job log) or job (GitLab's); the script window's
    # bounds in their sources' clocks, their source and resolution; why GitLab's window stood in (code, sentence)
    window_kind: str | None = None
    script_start: datetime | None = None
    script_end: datetime | None = None
    script_start_source: str | None = None
    script_end_source: str | None = None
    script_start_resolution_s: float | None = None
    script_end_resolution_s: float | None = None
    window_fallback: str | None = None
    window_fallback_reason: str | None = None
    created_at: datetime
    finished_at: datetime | None
    attempts: int
    duration_s: float | None
    energy_j: float | None
    impact_total: float | None
    impact_min: float | None
    impact_max: float | None
    impact_unit: str | None
    gwp_kgco2e: float | None
    performance_public: float | None
    counts_toward_limit: bool
    # the runner's energy in GitLab's window outside the script window (J): the organisers', not charged
    overhead_energy_j: float | None = None
    # an admin's re-measurement: the submission it measures again (its board row ranks their median)
    remeasure_of: int | None = None


class MeasurementView(_View):
    """The raw measurement of a submission's window (``payload``: the telemetry's JobEnergy as JSON): ``start``/
    ``end`` on Prometheus's clock, the server's clock offset it was shifted by (None: unknown, ``clock_offset_note``
    says why; server minus Prometheus, s) with its bound and NTP health, and the runner's overhead around it."""

    server: str
    start: datetime
    end: datetime
    duration_s: float
    cpu_energy_j: float
    gpu_energy_j: float
    total_energy_j: float
    coverage: float
    max_gap_s: float
    valid: bool
    problems: list[str]
    payload: dict[str, Any]
    clock_offset_s: float | None = None
    clock_offset_uncertainty_s: float | None = None
    clock_offset_note: str | None = None
    ntp_synchronised: bool | None = None
    ntp_offset_s: float | None = None
    overhead_before_j: float | None = None
    overhead_after_j: float | None = None
    overhead_duration_s: float | None = None
    overhead_valid: bool | None = None
    overhead_problems: list[str] | None = None
    # the parts of the energy's interval (greenhack.telemetry.uncertainty), half-widths in J at energy_confidence,
    # and its ends; None for a measurement made before intervals were
    energy_confidence: float | None = None
    energy_integration_j: float | None = None
    energy_edges_j: float | None = None
    energy_sensor_j: float | None = None
    energy_low_j: float | None = None
    energy_high_j: float | None = None


class ImpactView(_View):
    criterion: str
    use: float
    embodied: float | None
    total: float
    min: float | None
    max: float | None
    unit: str
    # the measurement interval (the energy's interval, factors at their value), apart from min/max (the factors')
    measurement_low: float | None = None
    measurement_high: float | None = None


class PerformanceView(_View):
    split: str
    metric: str
    value: float
    rows: int


class ScoreView(_View):
    board: str
    # the board's phase and hardware track ("": the event has none)
    phase: str = ""
    track: str = ""
    rank: int | None
    score: float | None
    pareto: bool
    best_of_team: bool
    formula: str
    note: str | None
    # ranking.ties: significant shares the rank with a neighbour; the measurements behind the row and the
    # performance's bootstrap interval on this board (greenhack.store.intervals)
    tied: bool = False
    measurements: int | None = None
    performance_low: float | None = None
    performance_high: float | None = None


class FactsheetView(_View):
    """The fact sheet a submission's job kept: its valid answers by question key, its located problems."""

    file: str
    present: bool
    answers: dict[str, Any]
    problems: list[str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reason(self) -> str | None:
        """Why it is not valid (None when it is): the board's note under ``factsheet.invalid: list``."""
        return factsheet_reason(file=self.file, present=self.present, problems=self.problems)


class SubmissionDetail(_View):
    """Everything known about one submission (``factsheet``: None when none was read)."""

    submission: SubmissionSummary
    last_error: str | None
    measurement: MeasurementView | None
    impacts: list[ImpactView]
    performances: list[PerformanceView]
    scores: list[ScoreView]
    factsheet: FactsheetView | None = None


class TeamSummary(_View):
    id: int
    name: str
    gitlab_project_id: int | None
    project_url: str | None
    submissions_count: int
    energy_j: float
    gwp_kgco2e: float
    baseline: bool = False  # the organisers' baseline (baselines:), not a competing team


class TeamDetail(_View):
    """A team, its submissions (newest first) and its cumulative footprint."""

    team: TeamSummary
    submissions: list[SubmissionSummary]


class EventTotals(_View):
    """The whole hackathon: every measured job's energy (J) and carbon (kgCO2e), the runners' overhead, the
    queue."""

    event_name: str
    teams: int
    submissions: int
    by_status: dict[str, int]
    measured_jobs: int
    energy_j: float
    gwp_kgco2e: float
    duration_s: float
    # the runners' overhead (preparing, cloning, uploading: GitLab's windows outside the script windows), J, over
    # ``overhead_jobs`` jobs: energy the organisers pay for, apart from the teams' ``energy_j``
    overhead_energy_j: float = 0.0
    overhead_jobs: int = 0
    # the organisers' baselines' measured jobs (``baseline_jobs``), their energy (J) and carbon (kgCO2e): counted in
    # ``energy_j`` and ``gwp_kgco2e`` above and shown apart; ``teams`` counts the competing teams only
    baseline_jobs: int = 0
    baseline_energy_j: float = 0.0
    baseline_gwp_kgco2e: float = 0.0

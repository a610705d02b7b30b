"""Typed values that cross the scoring package's modules and its boundary.

Units: energies in J (``energy_j``), global warming potential in kgCO2e (``gwp_kgco2e``) or gCO2e (``*_g``),
durations in s; an ``impact`` is in the unit of the event's criterion (kgCO2e, kgSbeq, MJ or kWh).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

__all__ = [
    "InFlight",
    "JobRecord",
    "MeasurementSpread",
    "Period",
    "QuotaRule",
    "QuotaUse",
    "Performance",
    "Predictions",
    "RankInput",
    "RankedRow",
    "ScoreResult",
    "Split",
    "TargetKind",
    "TeamAccount",
    "Truth",
]

TargetKind = Literal["classification", "regression"]

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True)
class Truth:
    """The hidden ground truth, one row per id, in file order.

    Attributes:
        source: the file it was read from (for messages).
        id_column: name of the id column.
        target_column: name of the target column.
        kind: ``classification`` (targets are labels, compared as text) or ``regression`` (numbers).
        ids: the ids, stripped of surrounding white space, unique.
        labels: the target of each row as text (classification), aligned with ``ids``.
        values: the target of each row as a finite float (regression), aligned with ``ids``; empty otherwise.
        label_set: every label that appears in the truth (classification); empty for regression.
        index: id → row position in ``ids``.
    """

    source: str
    id_column: str
    target_column: str
    kind: TargetKind
    ids: tuple[str, ...]
    labels: tuple[str, ...]
    values: tuple[float, ...]
    label_set: frozenset[str]
    index: Mapping[str, int] = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Predictions:
    """A team's valid predictions, aligned with the truth rows (``values[i]`` predicts ``truth.ids[i]``).

    Attributes:
        source: the name of the file the team produced.
        kind: ``classification`` (values are labels) or ``regression`` (values are finite floats).
        labels: predicted labels (classification), aligned with the truth; empty for regression.
        values: predicted numbers (regression), aligned with the truth; empty for classification.
        rows: number of data rows read.
    """

    source: str
    kind: TargetKind
    labels: tuple[str, ...]
    values: tuple[float, ...]
    rows: int


@dataclass(frozen=True)
class Split:
    """Which truth ids are scored on the public board and which on the final (private) board.

    Attributes:
        public_ids: ids of the public rows.
        private_ids: ids of the private rows; when ``holdout`` is False (public_fraction 1.0, or a one-row
            truth) there is no held-out row and the final board uses every row, the same as the public one.
        holdout: whether the private rows are disjoint from the public ones.
        public_fraction: the configured fraction.
        seed: the text that seeded the split (the event's ``split_seed``).
    """

    public_ids: frozenset[str]
    private_ids: frozenset[str]
    holdout: bool
    public_fraction: float
    seed: str


@dataclass(frozen=True)
class Performance:
    """One metric on the public and the private rows of the truth.

    Attributes:
        metric: the metric's name (``accuracy``, ``rmse``, ...).
        higher_is_better: the metric's direction.
        public: the metric on the public rows.
        private: the metric on the private rows.
        n_public: number of public rows.
        n_private: number of private rows.
    """

    metric: str
    higher_is_better: bool
    public: float
    private: float
    n_public: int
    n_private: int


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one predictions file: ``scored`` with its performance, or ``invalid`` with the
    problems to show the team (each with its place in the file); ``predictions`` are the valid predictions that
    were scored (what :func:`greenhack.scoring.bootstrap.bootstrap_performance` resamples)."""

    status: Literal["scored", "invalid"]
    performance: Performance | None
    problems: tuple[str, ...] = ()
    predictions: Predictions | None = None


@dataclass(frozen=True)
class MeasurementSpread:
    """How far a submission's measured energy can be off, for the ranking's significance (``ranking.ties``).

    Half-widths are relative to the energy, at ``confidence``, from the telemetry's interval parts
    (``EnergyUncertainty``: ``measurement_j`` for the per-job part, ``sensor_j`` for the sensor's).

    Attributes:
        energy_rel: the part that differs from job to job (integration and window edges) / energy.
        sensor_rel: the sensor's systematic part / energy: every job of the same ``group`` shares one draw of it,
            so it moves a server's jobs together and cannot reorder them.
        group: the jobs measured by the same sensors (the server's name).
        impact_use_share: the share of ``RankInput.impact`` that scales with the energy (its use phase; 0 when
            only embodied impacts count): ``JobImpacts.use_share(criterion)``.
        gwp_use_share: the same for ``RankInput.gwp_kgco2e``.
        confidence: the confidence of the two half-widths.
    """

    energy_rel: float
    sensor_rel: float = 0.0
    group: str = ""
    impact_use_share: float = 1.0
    gwp_use_share: float = 1.0
    confidence: float = 0.95

    def __post_init__(self) -> None:
        for name in ("energy_rel", "sensor_rel"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"MeasurementSpread.{name} must be a finite share >= 0, got {value!r}")
        for name in ("impact_use_share", "gwp_use_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"MeasurementSpread.{name} must lie in 0..1, got {value!r}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"MeasurementSpread.confidence must lie strictly in 0..1, got {self.confidence!r}")

    @classmethod
    def from_half_widths(
        cls,
        *,
        energy_j: float,
        measurement_j: float,
        sensor_j: float,
        confidence: float,
        group: str,
        impact_use_share: float = 1.0,
        gwp_use_share: float = 1.0,
    ) -> MeasurementSpread:
        """From the telemetry's half-widths in joules (``EnergyUncertainty.measurement_j`` and ``sensor_j``)."""
        scale = 1.0 / energy_j if energy_j > 0 else 0.0
        return cls(measurement_j * scale, sensor_j * scale, group, impact_use_share, gwp_use_share, confidence)


@dataclass(frozen=True)
class RankInput:
    """One submission as the ranking sees it.

    Attributes:
        submission_id: the submission's identity (a database id or any text); the last tie-break.
        team: the team's name.
        submitted_at: when the job was submitted (timezone-aware); earlier wins ties.
        performance: the event metric on the board's rows (public or private: the caller chooses), or None
            when the submission has none (then it is listed, not ranked).
        impact: the impact in the event criterion's unit (kgCO2e, kgSbeq, MJ or kWh), >= 0, or None.
        energy_j: measured energy of the job, J.
        gwp_kgco2e: global warming potential of the job, kgCO2e.
        duration_s: duration of the job, s.
        quantities: other named numbers a ranking expression may use.
        excluded: why the submission must not be ranked (needs review, disqualified, ...), or None.
        selected: the team chose this submission for the final board (``per_team: selected``).
        adpe_kgsbeq: abiotic resource depletion of the job, kgSbeq.
        pe_mj: primary energy of the job, MJ.
        team_gwp_kgco2e: GWP of all the team's jobs on this board's cut, kgCO2e.
        team_energy_j: energy of all the team's jobs on this board's cut, J.
        team_jobs: how many jobs the team ran on this board's cut (platform failures do not count).
        performance_replicates: the bootstrap replicates of ``performance`` on the board's shared resamples
            (:mod:`greenhack.scoring.bootstrap`), or None (rows scored before replicates were).
        measurement: how far the measured energy (and the impacts that scale with it) can be off, or None.
        scored_rows: the rows its predictions were scored on (public + private), what the ``*_per_1k``
            quantities divide by; None when unknown.
        baseline: an organisers' baseline (``baselines:``): listed with its score, never ranked among teams.
    """

    submission_id: int | str
    team: str
    submitted_at: datetime
    performance: float | None
    impact: float | None
    energy_j: float | None = None
    gwp_kgco2e: float | None = None
    duration_s: float | None = None
    quantities: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    excluded: str | None = None
    selected: bool = False
    adpe_kgsbeq: float | None = None
    pe_mj: float | None = None
    team_gwp_kgco2e: float | None = None
    team_energy_j: float | None = None
    team_jobs: int | None = None
    performance_replicates: Sequence[float] | None = None
    measurement: MeasurementSpread | None = None
    scored_rows: int | None = None
    baseline: bool = False


@dataclass(frozen=True, slots=True)
class RankedRow:
    """One submission's place on a board.

    Attributes:
        submission_id: as in the input.
        team: as in the input.
        rank: 1 for the first place; None when the submission is listed but not ranked (see ``note``).
        score: the number the method ranks by (None when it could not be computed).
        score_higher_is_better: direction of ``score`` (False for ``threshold``, which ranks by impact, and
            for ``ratio`` with an error metric, which ranks by error × impact).
        counted: this is the submission that stands for its team (``per_team``), ranked or not.
        pareto_front: on the Pareto front of the ranked submissions (not dominated on performance and impact).
        pareto_level: 1 for the front, 2 for the front once the first is removed, ...; None when not ranked.
        formula: how the score was made, with the numbers, for the board.
        note: why the submission is not ranked, or other remarks; None when there is nothing to say.
        tied: with ``ranking.ties: significant``, this rank is shared with a neighbour the measurement cannot
            tell apart (the board shows ``=2``).
        above_next_share: with ``ranking.ties: significant``, the share of replicates in which this submission
            ranks strictly above the next ranked one; None when not tested.
        baseline: an organisers' baseline's row (``rank`` is None: never ranked).
        would_rank: for a baseline's counted row, the rank it would take among the teams' (None otherwise).
    """

    submission_id: int | str
    team: str
    rank: int | None
    score: float | None
    score_higher_is_better: bool
    counted: bool
    pareto_front: bool
    pareto_level: int | None
    formula: str
    note: str | None
    tied: bool = False
    above_next_share: float | None = None
    baseline: bool = False
    would_rank: int | None = None


@dataclass(frozen=True)
class JobRecord:
    """One job of a team, as the accounting sees it.

    Attributes:
        job_id: the job's identity.
        team: the team's name.
        submitted_at: when the job was submitted (timezone-aware); decides its day for the daily limit.
        gwp_kgco2e: the job's measured global warming potential, kgCO2e; None while unmeasured.
        energy_j: the job's measured energy, J; None while unmeasured.
        counts_toward_limit: whether the job uses one of its team's submissions (the stored
            ``submissions.counts_toward_limit``, written by :func:`greenhack.status.uses_quota`); every job counts in
            the footprint whatever its outcome.
        pipeline_id: its GitLab pipeline: the jobs of one pipeline are one submission (train + predict, or a
            re-measurement of the same submission); None counts the job as a submission of its own.
        final: its evaluation has ended (False while queued or measuring: the submission is in flight).
    """

    job_id: int | str
    team: str
    submitted_at: datetime
    gwp_kgco2e: float | None
    energy_j: float | None
    counts_toward_limit: bool = True
    pipeline_id: int | None = None
    final: bool = True

    @property
    def submission_key(self) -> tuple[str, int | str]:
        """The submission this job belongs to: its pipeline, or the job itself when it names none."""
        if self.pipeline_id is not None:
            return ("pipeline", self.pipeline_id)
        return ("job", self.job_id)


@dataclass(frozen=True, kw_only=True)
class Period:
    """The time a limit counts submissions over, ``start`` <= submitted_at < ``end`` (None: unbounded).

    Attributes:
        name: what a team reads: ``today``, ``the event`` (the next wave adds one per phase).
        start, end: its bounds (timezone-aware), or None.
    """

    name: str
    start: datetime | None
    end: datetime | None

    def holds(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in the period."""
        return (self.start is None or self.start <= moment) and (self.end is None or moment < self.end)


@dataclass(frozen=True, kw_only=True)
class QuotaRule:
    """One limit on a team's submissions: at most ``limit`` over ``period``.

    Attributes:
        key: the YAML key it comes from (``submissions_per_day``, ``submissions_total``), for messages and the API.
        period: the time it counts over.
        limit: the most submissions a team may make in it.
    """

    key: str
    period: Period
    limit: int


@dataclass(frozen=True, kw_only=True)
class QuotaUse:
    """A :class:`QuotaRule` and what a team has used of it: its counted submissions made in the period, whether
    evaluated, being evaluated or running now."""

    rule: QuotaRule
    used: int

    @property
    def left(self) -> int:
        return max(0, self.rule.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.rule.limit


@dataclass(frozen=True, kw_only=True)
class InFlight:
    """A team's submissions in flight: started, their evaluation not final.

    Attributes:
        running: submissions whose job runs now (GitLab's running jobs the store does not hold yet).
        evaluating: stored submissions whose evaluation is not final (queued or measuring).
        limit: ``limits.in_flight``, the most a team may have at once; None when the event sets none.
    """

    running: int
    evaluating: int
    limit: int | None

    @property
    def total(self) -> int:
        return self.running + self.evaluating

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.total >= self.limit


@dataclass(frozen=True)
class TeamAccount:
    """A team's running totals.

    Attributes:
        team: the team's name.
        jobs: number of jobs, whatever their outcome.
        measured_jobs: jobs whose footprint is known; the totals cover these only.
        unmeasured_jobs: jobs whose footprint is not known yet (the totals will grow).
        gwp_g: cumulative global warming potential of the measured jobs, gCO2e.
        energy_wh: cumulative energy of the measured jobs, Wh.
        budget_g: the event's carbon budget per team, gCO2e; None when the event sets none.
        budget_left_g: budget minus ``gwp_g`` (negative when over); None when the event sets no budget.
        over_budget: the team has used more than its budget.
        submissions_today: submissions counted against the daily limit on the event's current local day
            (a pipeline is one submission; those running now included).
        submissions_left_today: limit minus ``submissions_today``, never below 0.
        day_starts_at: start of that local day (timezone-aware), for messages.
        quotas: every limit on the team's submissions with what it used: the daily limit first, then the total
            (``limits.submissions_total``) when the event sets one.
        in_flight: its submissions started whose evaluation is not final, and ``limits.in_flight``.
    """

    team: str
    jobs: int
    measured_jobs: int
    unmeasured_jobs: int
    gwp_g: float
    energy_wh: float
    budget_g: float | None
    budget_left_g: float | None
    over_budget: bool
    submissions_today: int
    submissions_left_today: int
    day_starts_at: datetime
    quotas: tuple[QuotaUse, ...] = ()
    in_flight: InFlight = InFlight(running=0, evaluating=0, limit=None)

    def quota(self, key: str) -> QuotaUse | None:
        """The use of the limit of YAML key ``key`` (``submissions_total``, ...), or None when it is not set."""
        return next((q for q in self.quotas if q.rule.key == key), None)

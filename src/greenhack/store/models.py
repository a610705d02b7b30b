"""ORM models of the leaderboard database (SQLAlchemy 2, typed ``Mapped`` columns).

One event has teams; a team has submissions (one per measured GitLab job). A submission is also the evaluation
queue's row (status, attempts, lease). What an evaluation measured is stored raw (``Measurement``: the
telemetry result and the impact factors as JSON, with the key numbers as real columns), so rescoring after a YAML
change never asks Prometheus or BoaviztAPI again. ``Impact`` holds one row per criterion, ``Performance`` one row
per split (public/private) and ``Score`` one row per board (live/frozen/final), written by the scoring step.

Units: energies in J, durations in s, impacts in the unit named next to them (kgCO2e, kgSbeq, MJ, kWh).
Times are stored in UTC and always read back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from greenhack.competition.boards import BOARD_NAMES
from greenhack.status import Status, TaskStatus

__all__ = [
    "BOARDS",
    "MAX_ID",
    "SPLITS",
    "TASK_STATUSES",
    "AdminTask",
    "Base",
    "Event",
    "Factsheet",
    "Impact",
    "Measurement",
    "Performance",
    "Score",
    "StatusType",
    "Submission",
    "Team",
    "UTCDateTime",
    "utcnow",
    "JSONType",
]

# Row ids are 32-bit integers on PostgreSQL (SERIAL); larger ids can name no row.
MAX_ID: Final = 2**31 - 1
# Performance splits of the truth rows.
SPLITS: Final = ("public", "private")
# Boards: live = public split, every scored submission; frozen = public split, jobs finished before the freeze;
# final = private split, every scored submission (shown when the event closes); one definition, each (phase,
# track) pair has the three (greenhack.competition.boards)
BOARDS: Final = BOARD_NAMES


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back aware, on PostgreSQL (timestamptz) and SQLite (text) alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store naive UTC there
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StatusType(TypeDecorator[Status]):
    """A :class:`~greenhack.status.Status` stored as its text and read back as the enum."""

    impl = sa.String(20)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else Status(value).value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Status | None:
        return None if value is None else Status(value)


# JSON on both databases, JSONB on PostgreSQL
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base; naming convention so that migrations name constraints the same on both databases."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Event(Base):
    """One hackathon. ``frozen_override`` is an admin's freeze/unfreeze (None: follow the YAML's freeze time) and
    ``frozen_at`` when an admin froze it;
    ``data_version`` grows on every change of what the boards show, so caches and live pages know to refresh;
    ``boards_pending`` counts results stored since the boards were last ranked (``boards_refreshed_at``), so
    that workers re-rank at most every few seconds rather than after every evaluation."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    frozen_override: Mapped[bool | None] = mapped_column(sa.Boolean, nullable=True)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data_version: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    boards_pending: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    boards_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    teams: Mapped[list[Team]] = relationship(back_populates="event")


class Team(Base):
    """A team: one GitLab project of the event, identified by the project's id (``gitlab_project_id``).

    ``name`` is what pages show: the project's path below the event's group (``track1/alpha``), unique in the
    event (a second project at a taken path gets ``(project <id>)`` after it), and renamed with the project.
    ``baseline``: the project is one of the organisers' baselines (``baselines:``, flagged at intake): its
    submissions are scored and listed, never ranked, and use no quota; it is named by the baseline's label.
    """

    __tablename__ = "teams"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "name", name="uq_teams_event_name"),
        sa.UniqueConstraint("event_id", "gitlab_project_id", name="uq_teams_event_project"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    gitlab_project_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    # the project's full path as GitLab's API last named it (``name`` is its display form, below the event's
    # group); None until the API was asked (a team created from a webhook alone)
    gitlab_path: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    project_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    baseline: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship(back_populates="teams")
    submissions: Mapped[list[Submission]] = relationship(back_populates="team")


class Submission(Base):
    """One measured GitLab job of a team, and its evaluation's place in the queue.

    Key numbers are real columns for sorting and totals: ``energy_j`` (J), ``impact_total``/``impact_min``/
    ``impact_max`` in ``impact_unit`` (the event criterion), ``gwp_kgco2e`` (always kept for carbon totals and
    budgets), ``performance_public``/``performance_private`` (the event metric).
    """

    __tablename__ = "submissions"
    __table_args__ = (
        sa.UniqueConstraint("gitlab_project_id", "gitlab_job_id", name="uq_submissions_gitlab_job"),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s.value) for s in Status)})", name="status"),
        sa.Index("ix_submissions_queue", "status", "next_attempt_at"),
        sa.Index("ix_submissions_event_team", "event_id", "team_id"),
        sa.Index("ix_submissions_event_status", "event_id", "status"),
        sa.Index("ix_submissions_remeasure_of", "remeasure_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    # where it came from in GitLab
    gitlab_project_id: Mapped[int] = mapped_column(sa.BigInteger)
    gitlab_pipeline_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    gitlab_job_id: Mapped[int] = mapped_column(sa.BigInteger)
    commit_sha: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    ref: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    job_url: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    # the server whose GitLab runner ran the job (greenhack.gitlab.server_choice), and GitLab's window of the job
    # (started_at..finished_at: when the runner held the server, what the overlap rule compares)
    server: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the window charged to the team (telemetry.window): ``script``, its command, read from the job log, or ``job``,
    # GitLab's whole window; the script window's bounds, each in its source's clock (the server's for the log's
    # marks, GitLab's for ``api``), their source (greenhack.gitlab.script_window.BoundSource) and resolution (s);
    # why GitLab's window stands for a bound (window_fallback: a FallbackCode, and its sentence)
    window_kind: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    script_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    script_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    script_start_source: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    script_end_source: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    script_start_resolution_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    script_end_resolution_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    window_fallback: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    window_fallback_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # evaluation state
    status: Mapped[Status] = mapped_column(StatusType, default=Status.QUEUED)
    # why it is not simply scored: a stable code (greenhack.status.ReasonCode: what a visitor may read) and a text
    reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    reason_code: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    excluded: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    excluded_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # the team selected it for its phase's final board (``per_team: selected``; greenhack.competition)
    selected: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    counts_toward_limit: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    # queue
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    evaluation_duration_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # key numbers, copied from the measurement, impacts and performance rows for sorting and totals
    duration_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_total: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_min: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_max: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_unit: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    gwp_kgco2e: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    performance_public: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    performance_private: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # the runner's overhead (J): GitLab's window outside the script window, paid by the organisers, not charged
    overhead_energy_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # the interval of ``energy_j`` (J) and of ``impact_total`` from the measurement alone (the factors at their
    # value; ``impact_min``/``impact_max`` are BoaviztAPI's factor range), None for figures made before intervals
    energy_low_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_high_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_measurement_low: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_measurement_high: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # a re-measurement (an admin retried the job in GitLab): the submission it measures again; never ranked on its
    # own, never counted in the team's limits: the board ranks the original with the median of the group
    remeasure_of: Mapped[int | None] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=True
    )

    team: Mapped[Team] = relationship(back_populates="submissions")
    measurement: Mapped[Measurement | None] = relationship(
        back_populates="submission", cascade="all, delete-orphan", uselist=False
    )
    impacts: Mapped[list[Impact]] = relationship(back_populates="submission", cascade="all, delete-orphan")
    performances: Mapped[list[Performance]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )
    scores: Mapped[list[Score]] = relationship(back_populates="submission", cascade="all, delete-orphan")


class Measurement(Base):
    """The raw telemetry of one submission's window (``payload``: the whole JobEnergy as JSON) and the impact
    factors BoaviztAPI gave for its server (``factors``), kept so that a rescore needs no service.

    ``start``/``end`` are the window integrated, on Prometheus's clock (the script window shifted by the server's
    clock offset); ``clock_offset_s`` is that offset (server minus Prometheus, None when unknown:
    ``clock_offset_note`` says why) with its bound and the server's NTP health; ``overhead_*`` the runner's
    energy before and after the script window inside GitLab's window (never charged to the team)."""

    __tablename__ = "measurements"

    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    server: Mapped[str] = mapped_column(sa.String(100))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_s: Mapped[float] = mapped_column(sa.Float)
    cpu_energy_j: Mapped[float] = mapped_column(sa.Float)
    gpu_energy_j: Mapped[float] = mapped_column(sa.Float)
    total_energy_j: Mapped[float] = mapped_column(sa.Float)
    coverage: Mapped[float] = mapped_column(sa.Float)
    max_gap_s: Mapped[float] = mapped_column(sa.Float)
    valid: Mapped[bool] = mapped_column(sa.Boolean)
    problems: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    timeline: Mapped[Any] = mapped_column(JSONType, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    factors: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # the server's idle power subtracted before impacts (impact.idle: subtract), in W; None when included
    idle_power_w: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    clock_offset_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    clock_offset_uncertainty_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    clock_offset_note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    ntp_synchronised: Mapped[bool | None] = mapped_column(sa.Boolean, nullable=True)
    ntp_offset_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    overhead_before_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    overhead_after_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    overhead_duration_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    overhead_valid: Mapped[bool | None] = mapped_column(sa.Boolean, nullable=True)
    overhead_problems: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    # the parts of the energy's interval (greenhack.telemetry.uncertainty), each a half-width in J at
    # ``energy_confidence``, and the interval's ends; None for measurements made before intervals were
    energy_confidence: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_integration_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_edges_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_sensor_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_low_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_high_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="measurement")


class Impact(Base):
    """One criterion's impact of one submission in ``unit``: use, embodied (None for ``energy``), the total that
    counts per ``impact.include``, its min/max range where BoaviztAPI gives one (the factors' range), and its
    measurement interval (``measurement_low``/``measurement_high``: the energy's interval, the factors at their
    value)."""

    __tablename__ = "impacts"
    __table_args__ = (
        sa.UniqueConstraint("submission_id", "criterion", name="uq_impacts_submission_criterion"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", ondelete="CASCADE"))
    criterion: Mapped[str] = mapped_column(sa.String(10))
    use: Mapped[float] = mapped_column(sa.Float)
    embodied: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    total: Mapped[float] = mapped_column(sa.Float)
    min: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    max: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    measurement_low: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    measurement_high: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    unit: Mapped[str] = mapped_column(sa.String(20))

    submission: Mapped[Submission] = relationship(back_populates="impacts")


class Performance(Base):
    """The metric of one submission on one split of the truth rows (public or private), with its bootstrap
    replicates on the split's shared resamples (``replicates``: little-endian float32, greenhack.scoring.bootstrap;
    None for rows scored before intervals were)."""

    __tablename__ = "performances"
    __table_args__ = (sa.UniqueConstraint("submission_id", "split", name="uq_performances_submission_split"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", ondelete="CASCADE"))
    split: Mapped[str] = mapped_column(sa.String(10))
    metric: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[float] = mapped_column(sa.Float)
    rows: Mapped[int] = mapped_column(sa.Integer)
    replicates: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True)

    submission: Mapped[Submission] = relationship(back_populates="performances")


class Score(Base):
    """Where one submission stands on one board: rank (None when listed but not ranked), score, the formula that
    produced it, whether it is on the Pareto front, and why it is not ranked.

    With intervals: ``tied`` says the rank is shared with a neighbour the measurement cannot tell apart
    (``ranking.ties: significant``, shown ``=2``); ``measurements`` how many measurements stand behind the row (more
    than one after a re-measure), ``energy_j``/``impact`` the figures ranked (their median), ``*_low``/``*_high``
    the intervals of energy, impact (the measurement's part) and performance (the bootstrap's).

    A board is keyed by ``(phase, track, board)`` (``greenhack.competition.BoardKey``); a submission belongs to
    one phase and one track, so ``(submission_id, board)`` stays the key. ``''``: the implicit phase or track
    of an event without ``phases:`` or ``servers[].track``."""

    __tablename__ = "scores"
    __table_args__ = (sa.Index("ix_scores_board", "event_id", "phase", "track", "board", "rank"),)

    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    board: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    track: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    rank: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    pareto: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    best_of_team: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    formula: Mapped[str] = mapped_column(sa.Text, default="")
    note: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    tied: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    measurements: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    energy_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_low_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    energy_high_j: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_low: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    impact_high: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    performance_low: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    performance_high: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="scores")


# Admin task statuses, as stored (greenhack.status.TaskStatus says what each means)
TASK_STATUSES: Final = tuple(TaskStatus)


class AdminTask(Base):
    """A long admin action (``kind``: ``rescore``, ``remeasure``) a worker runs outside the web request: its progress
    (``done`` of ``total``), its ``result`` (JSON) or ``error``, and the worker's lease while it runs."""

    __tablename__ = "admin_tasks"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        sa.Index("ix_admin_tasks_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    # the submission the task is about (``remeasure``), None for the event's (``rescore``)
    submission_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=True
    )
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    done: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    total: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Factsheet(Base):
    """The fact sheet a submission's job kept (greenhack.factsheet): whether it was there, its valid answers by
    question key (JSON), and its problems, each located ``FILE:LINE: key: message``. A submission evaluated while
    the event asked no fact sheet has no row."""

    __tablename__ = "factsheets"

    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    file: Mapped[str] = mapped_column(sa.String(255))
    present: Mapped[bool] = mapped_column(sa.Boolean)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    problems: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

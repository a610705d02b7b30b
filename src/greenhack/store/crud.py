"""Writes: events, teams, and what an evaluation found (measurement, impacts, performance, scores).

Keyword-only functions that take the caller's session and leave committing to it. Each write that changes what
a board shows bumps the event's ``data_version`` (see :func:`bump_data_version`), so caches and live pages know.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.errors import NotFoundError, StoreError
from greenhack.impacts.models import JobImpacts
from greenhack.store.db import store_errors
from greenhack.store.models import (
    BOARDS,
    SPLITS,
    Event,
    Impact,
    Measurement,
    Performance,
    Score,
    Submission,
    Team,
    utcnow,
)
from greenhack.telemetry.clock import ClockOffset
from greenhack.telemetry.models import JobEnergy
from greenhack.telemetry.overhead import RunnerOverhead

__all__ = [
    "ScoreRecord",
    "bump_data_version",
    "ensure_event",
    "ensure_team",
    "get_submission",
    "mark_boards_stale",
    "record_impacts",
    "record_impacts_many",
    "record_measurement",
    "record_performance",
    "replace_scores",
    "savepoint",
    "savepoints_supported",
    "set_excluded",
    "set_frozen_override",
    "set_selected",
    "teams_of_projects",
]


@dataclass(frozen=True)
class ScoreRecord:
    """Where one submission stands on one board (produced by greenhack.scoring)."""

    submission_id: int
    rank: int | None
    score: float | None
    pareto: bool
    best_of_team: bool
    formula: str
    note: str | None = None
    # ranking.ties: significant shares this rank with a neighbour (shown "=2"); the intervals the row shows
    # (greenhack.store.intervals.ShownIntervals), None where there is none
    tied: bool = False
    measurements: int | None = None
    energy_j: float | None = None
    energy_low_j: float | None = None
    energy_high_j: float | None = None
    impact: float | None = None
    impact_low: float | None = None
    impact_high: float | None = None
    performance_low: float | None = None
    performance_high: float | None = None
    # the board's phase and hardware track (greenhack.competition.BoardKey); "": the event has none
    phase: str = ""
    track: str = ""


def ensure_event(*, session: Session, name: str) -> Event:
    """The event called ``name``, created on first use."""
    with store_errors(f"loading event {name!r}"):
        event = session.execute(sa.select(Event).where(Event.name == name)).scalar_one_or_none()
        if event is None:
            event = Event(name=name, data_version=0)
            session.add(event)
            session.flush()
    return event


# Team.name's width; a longer display name keeps its end (the project's own name) behind an ellipsis
_TEAM_NAME_CHARS = 200


def _fitting(name: str, suffix: str = "") -> str:
    room = _TEAM_NAME_CHARS - len(suffix)
    return (name if len(name) <= room else "…" + name[-(room - 1) :]) + suffix


def _free_name(session: Session, *, event_id: int, name: str, project_id: int | None, team_id: int | None) -> str:
    """``name``, or, when another team of the event holds it (a deleted project's team, a twin renamed onto it),
    ``name (project <id>)``: display names stay unique and each says which project it is."""
    taken = sa.select(Team.id).where(Team.event_id == event_id, Team.name == sa.bindparam("candidate"))
    if team_id is not None:
        taken = taken.where(Team.id != team_id)
    candidates = [_fitting(name)]
    if project_id is not None:
        candidates.append(_fitting(name, f" (project {project_id})"))
    for candidate in candidates:
        if session.execute(taken, {"candidate": candidate}).first() is None:
            return candidate
    return _fitting(name, f" (team {team_id or 'new'} {utcnow():%Y%m%d%H%M%S%f})")


def savepoints_supported(session: Session) -> bool:
    """Whether :func:`savepoint` really makes one: on PostgreSQL. On SQLite (one worker; pysqlite's SAVEPOINT
    outside a begun transaction would end the caller's) the statements run as they are."""
    return session.get_bind().dialect.name == "postgresql"


def savepoint(session: Session) -> AbstractContextManager[object]:
    """A SAVEPOINT around a few writes (PostgreSQL): an error inside undoes them alone, and the caller's
    transaction goes on."""
    return session.begin_nested() if savepoints_supported(session) else nullcontext()


def ensure_team(
    *,
    session: Session,
    event_id: int,
    name: str,
    gitlab_project_id: int | None = None,
    project_url: str | None = None,
    gitlab_path: str | None = None,
    rename: bool = False,
    baseline: bool | None = None,
) -> Team:
    """The team of ``event_id`` with this GitLab project (or, without one, this name), created on first use.

    A team is its GitLab project: ``name`` is only its display name (the project's path below the event's group,
    :func:`greenhack.intake.team_name_of`), made unique in the event when another team holds it. With ``rename``
    (the name and ``gitlab_path`` come from GitLab's API, not from a webhook), an existing team whose project
    was renamed takes the new name; its submissions and its place on the boards stay. ``baseline`` (None:
    leave it) flags the project as one of the organisers' baselines, or clears the flag, as the YAML says now
    (on an existing team, with ``rename`` only).
    """
    with store_errors(f"loading team {name!r}"):
        stmt = sa.select(Team).where(Team.event_id == event_id)
        if gitlab_project_id is not None:
            stmt = stmt.where(Team.gitlab_project_id == gitlab_project_id)
        else:
            stmt = stmt.where(Team.name == name)
        team = session.execute(stmt).scalar_one_or_none()
        if team is None:
            # a savepoint: a concurrent intake creating the same project's team (or taking the same name) makes
            # this insert fail without failing the caller's transaction; the other's row is then read back
            for _ in range(3):
                unique = _free_name(
                    session, event_id=event_id, name=name, project_id=gitlab_project_id, team_id=None
                )
                try:
                    with savepoint(session):
                        team = Team(
                            event_id=event_id,
                            name=unique,
                            gitlab_project_id=gitlab_project_id,
                            gitlab_path=gitlab_path or None,
                            project_url=project_url,
                            baseline=bool(baseline),
                        )
                        session.add(team)
                        session.flush()
                    break
                except sa.exc.IntegrityError:
                    team = session.execute(stmt).scalar_one_or_none()
                    if team is not None:
                        break
            if team is None:
                raise StoreError(f"team {name!r} of project {gitlab_project_id}: could not be created")
            return team
        if project_url and team.project_url != project_url:
            team.project_url = project_url
        # like the name, the flag follows GitLab's API (a webhook's path only names and flags a new team)
        if rename and baseline is not None and team.baseline != baseline:
            team.baseline = baseline
        # a path seen before keeps its name (a suffixed twin stays suffixed: names do not flap between passes)
        moved = team.gitlab_path != gitlab_path or not team.name.startswith(_fitting(name))
        if rename and gitlab_path and moved:
            team.name = _free_name(
                session, event_id=event_id, name=name, project_id=gitlab_project_id, team_id=team.id
            )
            team.gitlab_path = gitlab_path
            session.flush()
    return team


def teams_of_projects(*, session: Session, event_id: int, project_ids: Collection[int]) -> list[Team]:
    """The event's teams of these GitLab projects (those that have one)."""
    if not project_ids:
        return []
    with store_errors("loading the teams of the event's projects"):
        return list(
            session.execute(
                sa.select(Team).where(Team.event_id == event_id, Team.gitlab_project_id.in_(list(project_ids)))
            ).scalars()
        )


def get_submission(*, session: Session, submission_id: int) -> Submission:
    """The submission row.

    Raises:
        StoreError: no such submission.
    """
    with store_errors(f"loading submission {submission_id}"):
        submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFoundError(f"submission {submission_id} does not exist")
    return submission


def bump_data_version(*, session: Session, event_id: int) -> None:
    """Mark that what the event's boards show has changed."""
    with store_errors("bumping the data version"):
        session.execute(
            sa.update(Event).where(Event.id == event_id).values(data_version=Event.data_version + 1)
        )


def mark_boards_stale(*, session: Session, event_id: int) -> None:
    """Mark that the boards need ranking again (a result was stored or withdrawn); a worker re-ranks them within
    seconds (:func:`greenhack.store.boards.refresh_if_stale`). Commit it with the change it announces, so that a
    worker dying afterwards loses nothing: the mark stays until some worker has ranked the boards."""
    with store_errors("marking the boards stale"):
        session.execute(
            sa.update(Event).where(Event.id == event_id).values(boards_pending=Event.boards_pending + 1)
        )


def record_measurement(
    *,
    session: Session,
    submission_id: int,
    energy: JobEnergy,
    idle_power_w: float | None = None,
    clock: ClockOffset | None = None,
    overhead: RunnerOverhead | None = None,
    gitlab_window: bool = False,
) -> None:
    """Store the raw telemetry of a submission's window (replacing an earlier one) and its key numbers, with the
    idle power (W) that was subtracted before impacts under ``impact.idle: subtract`` (None when included), the
    server's clock offset it was measured with and the runner's overhead around it (not charged to the team).

    ``gitlab_window``: the submission's ``window_start``/``window_end`` already hold GitLab's window of the job
    (:func:`greenhack.store.outcomes.record_outcome` wrote it) and are kept; otherwise (a submission stored without
    one, e.g. a synthetic one) the measured window stands for it."""
    submission = get_submission(session=session, submission_id=submission_id)
    payload = energy.model_dump(mode="json")
    with store_errors(f"storing the measurement of submission {submission_id}"):
        measurement = session.get(Measurement, submission_id)
        if measurement is None:
            measurement = Measurement(submission_id=submission_id)
            session.add(measurement)
        measurement.server = energy.server
        measurement.idle_power_w = idle_power_w
        measurement.start = energy.start
        measurement.end = energy.end
        measurement.duration_s = energy.duration_s
        measurement.cpu_energy_j = energy.cpu_energy_j
        measurement.gpu_energy_j = energy.gpu_energy_j
        measurement.total_energy_j = energy.total_energy_j
        measurement.coverage = energy.coverage
        measurement.max_gap_s = energy.max_gap_s
        measurement.valid = energy.valid
        measurement.problems = list(energy.problems)
        measurement.timeline = payload["timeline"]
        measurement.payload = payload
        measurement.clock_offset_s = clock.offset_s if clock is not None else None
        measurement.clock_offset_uncertainty_s = clock.uncertainty_s if clock is not None else None
        measurement.clock_offset_note = clock.reason if clock is not None else None
        measurement.ntp_synchronised = clock.ntp_synchronised if clock is not None else None
        measurement.ntp_offset_s = clock.ntp_offset_s if clock is not None else None
        measurement.overhead_before_j = overhead.before_energy_j if overhead is not None else None
        measurement.overhead_after_j = overhead.after_energy_j if overhead is not None else None
        measurement.overhead_duration_s = overhead.duration_s if overhead is not None else None
        measurement.overhead_valid = overhead.valid if overhead is not None else None
        measurement.overhead_problems = list(overhead.problems) if overhead is not None else None
        parts = energy.uncertainty  # None for a measurement made without an interval
        measurement.energy_confidence = parts.confidence if parts is not None else None
        measurement.energy_integration_j = parts.integration_j if parts is not None else None
        measurement.energy_edges_j = parts.edges_j if parts is not None else None
        measurement.energy_sensor_j = parts.sensor_j if parts is not None else None
        measurement.energy_low_j = energy.total_energy_low_j
        measurement.energy_high_j = energy.total_energy_high_j
        measurement.measured_at = utcnow()
        submission.server = energy.server
        if not gitlab_window:
            submission.window_start = energy.start
            submission.window_end = energy.end
        submission.duration_s = energy.duration_s
        submission.energy_j = energy.total_energy_j
        submission.energy_low_j = energy.total_energy_low_j
        submission.energy_high_j = energy.total_energy_high_j
        submission.overhead_energy_j = overhead.energy_j if overhead is not None else None
        session.flush()
    bump_data_version(session=session, event_id=submission.event_id)


def record_impacts(*, session: Session, submission_id: int, impacts: JobImpacts) -> None:
    """Store a job's impacts, one row per criterion (replacing earlier ones), keep the server's factors on its
    measurement for rescoring, and copy the event criterion's figures (and GWP, for carbon totals) onto the
    submission for sorting.

    Raises:
        StoreError: the submission has no measurement yet (impacts come from a measured energy).
    """
    submission = get_submission(session=session, submission_id=submission_id)
    with store_errors(f"storing the impacts of submission {submission_id}"):
        measurement = session.get(Measurement, submission_id)
        if measurement is None:
            raise StoreError(f"submission {submission_id}: store its measurement before its impacts")
        measurement.factors = impacts.factors.model_dump(mode="json")
        session.execute(sa.delete(Impact).where(Impact.submission_id == submission_id))
        for figure in impacts.all():
            session.add(
                Impact(
                    submission_id=submission_id,
                    criterion=figure.criterion,
                    use=figure.use,
                    embodied=figure.embodied,
                    total=figure.total,
                    min=figure.min,
                    max=figure.max,
                    measurement_low=figure.measurement_low,
                    measurement_high=figure.measurement_high,
                    unit=figure.unit,
                )
            )
        headline = impacts.headline
        submission.impact_total = headline.total
        submission.impact_min = headline.min
        submission.impact_max = headline.max
        submission.impact_measurement_low = headline.measurement_low
        submission.impact_measurement_high = headline.measurement_high
        submission.impact_unit = headline.unit
        submission.gwp_kgco2e = impacts.gwp.total
        session.flush()
    bump_data_version(session=session, event_id=submission.event_id)


def record_impacts_many(
    *,
    session: Session,
    event_id: int,
    impacts: Sequence[tuple[int, JobImpacts]],
    unchanged_factors: Collection[int] = frozenset(),
) -> None:
    """What :func:`record_impacts` stores, for many submissions of one event at once (rescoring): one DELETE, one
    multi-row INSERT and executemany UPDATEs per call, no ORM loads, and one data version bump.

    Args:
        session: the caller's session (ORM objects it holds for these rows are not refreshed).
        event_id: the event every submission belongs to.
        impacts: (submission id, its impacts) pairs; every submission has a measurement.
        unchanged_factors: submissions whose measurement holds exactly these impacts' factors already (a rescore
            read them there): they are not written again.
    """
    if not impacts:
        return
    ids = [sid for sid, _ in impacts]
    impact_table = cast(sa.Table, Impact.__table__)
    submission_table = cast(sa.Table, Submission.__table__)
    measurement_table = cast(sa.Table, Measurement.__table__)
    with store_errors(f"storing the impacts of {len(ids)} submissions"):
        factors = [
            {"b_submission_id": sid, "v_factors": job.factors.model_dump(mode="json")}
            for sid, job in impacts
            if sid not in unchanged_factors
        ]
        if factors:
            session.execute(
                sa.update(measurement_table)
                .where(measurement_table.c.submission_id == sa.bindparam("b_submission_id"))
                .values(factors=sa.bindparam("v_factors")),
                factors,
            )
        session.execute(sa.delete(impact_table).where(impact_table.c.submission_id.in_(ids)))
        session.execute(
            sa.insert(impact_table),
            [
                {
                    "submission_id": sid,
                    "criterion": figure.criterion,
                    "use": figure.use,
                    "embodied": figure.embodied,
                    "total": figure.total,
                    "min": figure.min,
                    "max": figure.max,
                    "measurement_low": figure.measurement_low,
                    "measurement_high": figure.measurement_high,
                    "unit": figure.unit,
                }
                for sid, job in impacts
                for figure in job.all()
            ],
        )
        session.execute(
            sa.update(submission_table)
            .where(submission_table.c.id == sa.bindparam("b_id"))
            .values(
                {
                    name: sa.bindparam(f"v_{name}")
                    for name in (
                        "impact_total",
                        "impact_min",
                        "impact_max",
                        "impact_unit",
                        "gwp_kgco2e",
                        "impact_measurement_low",
                        "impact_measurement_high",
                    )
                }
            ),
            [
                {
                    "b_id": sid,
                    "v_impact_total": job.headline.total,
                    "v_impact_min": job.headline.min,
                    "v_impact_max": job.headline.max,
                    "v_impact_unit": job.headline.unit,
                    "v_gwp_kgco2e": job.gwp.total,
                    "v_impact_measurement_low": job.headline.measurement_low,
                    "v_impact_measurement_high": job.headline.measurement_high,
                }
                for sid, job in impacts
            ],
        )
    bump_data_version(session=session, event_id=event_id)


def record_performance(
    *,
    session: Session,
    submission_id: int,
    split: str,
    metric: str,
    value: float,
    rows: int,
    replicates: bytes | None = None,
) -> None:
    """Store a submission's metric on one split (public or private), replacing an earlier value, with its bootstrap
    replicates on the split's resamples (``ReplicateVector.to_bytes``; None: none were drawn)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    submission = get_submission(session=session, submission_id=submission_id)
    with store_errors(f"storing the performance of submission {submission_id}"):
        row = session.execute(
            sa.select(Performance).where(
                Performance.submission_id == submission_id, Performance.split == split
            )
        ).scalar_one_or_none()
        if row is None:
            row = Performance(submission_id=submission_id, split=split)
            session.add(row)
        row.metric, row.value, row.rows, row.replicates = metric, value, rows, replicates
        if split == "public":
            submission.performance_public = value
        else:
            submission.performance_private = value
        session.flush()
    bump_data_version(session=session, event_id=submission.event_id)


_SCORE_FIELDS = (
    "rank",
    "score",
    "pareto",
    "best_of_team",
    "formula",
    "note",
    "tied",
    "measurements",
    "energy_j",
    "energy_low_j",
    "energy_high_j",
    "impact",
    "impact_low",
    "impact_high",
    "performance_low",
    "performance_high",
    # a YAML change that moves a submission to another phase or track moves its row (one per board name)
    "phase",
    "track",
)


def replace_scores(
    *,
    session: Session,
    event_id: int,
    board: str,
    records: Sequence[ScoreRecord],
    now: datetime | None = None,
) -> int:
    """Make one board of the event hold exactly ``records``; return how many rows were written or deleted.

    ``board`` is the board's name (live, frozen, final) on every phase and track at once: each record names its
    phase and track, so one call writes e.g. the live board of every (phase, track) pair.

    Only rows that differ are touched (a new result moves a few ranks, not the whole board), so the cost in
    writes follows what changed rather than the board's size; ``computed_at`` of a row says when it last changed.
    The data version is bumped only when something changed.
    """
    if board not in BOARDS:
        raise ValueError(f"board must be one of {BOARDS}, not {board!r}")
    computed_at = now or utcnow()
    with store_errors(f"storing the {board} board"):
        stored = {
            row.submission_id: tuple(getattr(row, f) for f in _SCORE_FIELDS)
            for row in session.execute(
                sa.select(Score.submission_id, *(getattr(Score, f) for f in _SCORE_FIELDS)).where(
                    Score.event_id == event_id, Score.board == board
                )
            )
        }
        wanted = {r.submission_id: r for r in records}
        gone = [sid for sid in stored if sid not in wanted]
        fresh, changed = [], []
        for sid, r in wanted.items():
            values = {f: getattr(r, f) for f in _SCORE_FIELDS}
            if sid not in stored:
                fresh.append(values | {"submission_id": sid})
            elif stored[sid] != tuple(values.values()):
                changed.append({f"v_{f}": v for f, v in values.items()} | {"b_submission_id": sid})
        if gone:
            session.execute(
                sa.delete(Score).where(
                    Score.event_id == event_id, Score.board == board, Score.submission_id.in_(gone)
                )
            )
        if fresh:
            session.execute(
                sa.insert(Score),
                [v | {"board": board, "event_id": event_id, "computed_at": computed_at} for v in fresh],
            )
        if changed:
            table = cast(sa.Table, Score.__table__)  # Core: an executemany UPDATE keyed by bound ids
            session.execute(
                sa.update(table)
                .where(table.c.submission_id == sa.bindparam("b_submission_id"), table.c.board == board)
                .values({f: sa.bindparam(f"v_{f}") for f in _SCORE_FIELDS} | {"computed_at": computed_at}),
                changed,
            )
    written = len(gone) + len(fresh) + len(changed)
    if written:
        bump_data_version(session=session, event_id=event_id)
    return written


def set_excluded(*, session: Session, submission_id: int, excluded: bool, reason: str | None) -> Submission:
    """Exclude a submission from the boards (with the admin's reason), or include it again."""
    if excluded and not (reason and reason.strip()):
        raise ValueError("excluding a submission needs a reason")
    submission = get_submission(session=session, submission_id=submission_id)
    with store_errors(f"excluding submission {submission_id}"):
        submission.excluded = excluded
        submission.excluded_reason = reason.strip() if excluded and reason else None
        session.flush()
    bump_data_version(session=session, event_id=submission.event_id)
    return submission


def set_selected(*, session: Session, submission_id: int, selected: bool) -> Submission:
    """Select a submission for its phase's final board (``per_team: selected``), or drop the selection; the
    team's other submissions keep theirs (the ranking takes the latest usable selected one)."""
    submission = get_submission(session=session, submission_id=submission_id)
    with store_errors(f"selecting submission {submission_id}"):
        submission.selected = selected
        session.flush()
    bump_data_version(session=session, event_id=submission.event_id)
    return submission


def set_frozen_override(
    *, session: Session, event_id: int, frozen: bool | None, now: datetime | None = None
) -> None:
    """Freeze (True) or unfreeze (False) the public board by hand; None follows the YAML's freeze time again."""
    with store_errors("changing the freeze"):
        done = session.execute(
            sa.update(Event)
            .where(Event.id == event_id)
            .values(frozen_override=frozen, frozen_at=(now or utcnow()) if frozen else None)
            .returning(Event.id)
        ).scalar_one_or_none()
    if done is None:
        raise NotFoundError(f"event {event_id} does not exist")
    bump_data_version(session=session, event_id=event_id)

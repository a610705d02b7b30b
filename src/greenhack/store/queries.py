"""Reads: boards, Pareto points, submissions, teams and event totals, as typed views.

Keyword-only functions taking the caller's session; excluded submissions never appear on a board or chart,
but their energy still counts in team and event footprints (the electricity was spent all the same).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.errors import NotFoundError
from greenhack.status import Status
from greenhack.store.board_scope import EVERY_JOB, BoardScope
from greenhack.store.db import store_errors
from greenhack.store.models import (
    BOARDS,
    Event,
    Factsheet,
    Impact,
    Measurement,
    Performance,
    Score,
    Submission,
    Team,
)
from greenhack.store.views import (
    BoardEntry,
    EventTotals,
    FactsheetView,
    ImpactView,
    MeasurementView,
    ParetoPoint,
    PerformanceView,
    ScoreView,
    SubmissionDetail,
    SubmissionSummary,
    TeamDetail,
    TeamSummary,
)

__all__ = [
    "board",
    "data_version",
    "event_totals",
    "get_event",
    "latest_evaluated",
    "list_submissions",
    "list_teams",
    "pareto_points",
    "scored_rows",
    "status_counts",
    "submission_detail",
    "team_detail",
    "team_totals",
]


def get_event(*, session: Session, event_id: int) -> Event:
    with store_errors(f"loading event {event_id}"):
        event = session.get(Event, event_id)
    if event is None:
        raise NotFoundError(f"event {event_id} does not exist")
    return event


def data_version(*, session: Session, event_id: int) -> int:
    """The event's data version (grows on every change a board shows)."""
    with store_errors("reading the data version"):
        version = session.execute(
            sa.select(Event.data_version).where(Event.id == event_id)
        ).scalar_one_or_none()
    if version is None:
        raise NotFoundError(f"event {event_id} does not exist")
    return int(version)


def _team_stats(event_id: int, until: datetime | None, scope: BoardScope = EVERY_JOB) -> sa.Subquery:
    stmt = sa.select(
        Submission.team_id.label("team_id"),
        # submissions the platform failed do not count as the team's; their energy still does
        sa.func.sum(sa.case((Submission.counts_toward_limit.is_(True), 1), else_=0)).label(
            "submissions_count"
        ),
        sa.func.coalesce(sa.func.sum(Submission.energy_j), 0.0).label("team_energy_j"),
        sa.func.coalesce(sa.func.sum(Submission.gwp_kgco2e), 0.0).label("team_gwp_kgco2e"),
    ).where(
        Submission.event_id == event_id,
        Submission.remeasure_of.is_(None),  # an admin's re-measure is the organisers' energy, not the team's
    )
    if until is not None:
        stmt = stmt.where(Submission.created_at <= until)
    return _in_scope(stmt, scope).group_by(Submission.team_id).subquery()


def _in_scope(stmt: sa.Select[Any], scope: BoardScope) -> sa.Select[Any]:
    """``stmt`` limited to the submissions of ``scope`` (a board's phase, by GitLab's created_at, and track)."""
    if scope.since is not None:
        stmt = stmt.where(Submission.created_at >= scope.since)
    if scope.before is not None:
        stmt = stmt.where(Submission.created_at < scope.before)
    if scope.servers is not None:
        stmt = stmt.where(Submission.server.in_(scope.servers))
    return stmt


def team_totals(*, event_id: int, until: datetime | None = None, scope: BoardScope = EVERY_JOB) -> sa.Subquery:
    """Per team (``team_id``): ``submissions_count`` (jobs counted toward its limit), ``team_energy_j`` and
    ``team_gwp_kgco2e`` of all its jobs created up to ``until``, in ``scope`` (a board's phase and track): the
    board's team footprint, which the ranking's ``team_*`` quantities read too."""
    return _team_stats(event_id, until, scope)


def scored_rows() -> sa.Subquery:
    """Per submission (``submission_id``): ``scored_rows``, the rows its predictions were scored on (public +
    private), what energy and impacts per 1,000 predictions divide by (greenhack.quantities.per_thousand)."""
    return (
        sa.select(Performance.submission_id, sa.func.sum(Performance.rows).label("scored_rows"))
        .group_by(Performance.submission_id)
        .subquery()
    )


def _check_board(name: str) -> None:
    if name not in BOARDS:
        raise ValueError(f"board must be one of {', '.join(BOARDS)}, not {name!r}")


def board(
    *,
    session: Session,
    event_id: int,
    board_name: str,
    until: datetime | None = None,
    impact_criterion: str | None = None,
    phase: str = "",
    track: str = "",
    scope: BoardScope = EVERY_JOB,
) -> list[BoardEntry]:
    """One line per team on ``board_name`` (live, frozen or final) of ``phase`` on ``track`` (``""``: the
    event has none): ranked lines by rank, then unranked ones.

    ``until`` limits the team totals to submissions created up to then (the frozen board's cut), ``scope`` to
    the board's phase and track (:func:`greenhack.store.board_scope.board_scope`);
    ``impact_criterion`` (the event's, e.g. ``gwp``) fills each line's ``impact_use``/``impact_embodied``.
    """
    _check_board(board_name)
    stats = _team_stats(event_id, until, scope)
    scored = scored_rows()
    performance = Submission.performance_private if board_name == "final" else Submission.performance_public
    stmt = (
        sa.select(
            Score.rank,
            Score.score,
            Score.pareto,
            Score.note,
            Team.id.label("team_id"),
            Team.name.label("team_name"),
            Team.baseline,
            Submission.id.label("submission_id"),
            performance.label("performance"),
            # the figures ranked: the median of the measurements after a re-measure (greenhack.store.intervals)
            sa.func.coalesce(Score.impact, Submission.impact_total).label("impact_total"),
            Submission.impact_min,
            Submission.impact_max,
            Submission.impact_unit,
            sa.func.coalesce(Score.energy_j, Submission.energy_j).label("energy_j"),
            Score.tied,
            Score.measurements,
            Score.energy_low_j,
            Score.energy_high_j,
            Score.impact_low.label("impact_measurement_low"),
            Score.impact_high.label("impact_measurement_high"),
            Score.performance_low,
            Score.performance_high,
            Impact.use.label("impact_use"),
            Impact.embodied.label("impact_embodied"),
            Submission.duration_s,
            Submission.server,
            Submission.window_start,
            Submission.window_end,
            Submission.created_at,
            Submission.finished_at,
            sa.func.coalesce(stats.c.submissions_count, 0).label("submissions_count"),
            sa.func.coalesce(stats.c.team_energy_j, 0.0).label("team_energy_j"),
            sa.func.coalesce(stats.c.team_gwp_kgco2e, 0.0).label("team_gwp_kgco2e"),
            Submission.gwp_kgco2e,
            scored.c.scored_rows,
            Factsheet.answers.label("factsheet_answers"),
        )
        .select_from(Score)
        .join(Submission, Submission.id == Score.submission_id)
        .join(Team, Team.id == Submission.team_id)
        .outerjoin(stats, stats.c.team_id == Team.id)
        .outerjoin(Impact, (Impact.submission_id == Submission.id) & (Impact.criterion == impact_criterion))
        .outerjoin(scored, scored.c.submission_id == Submission.id)
        .outerjoin(Factsheet, Factsheet.submission_id == Submission.id)
        .where(
            Score.event_id == event_id,
            Score.board == board_name,
            Score.phase == phase,
            Score.track == track,
            Score.best_of_team.is_(True),
            Submission.excluded.is_(False),
        )
        .order_by(Score.rank.is_(None), Score.rank, Team.name)
    )
    with store_errors(f"reading the {board_name} board"):
        rows = session.execute(stmt).mappings().all()
    return [BoardEntry.model_validate(dict(row)) for row in rows]


def pareto_points(
    *, session: Session, event_id: int, board_name: str, phase: str = "", track: str = ""
) -> list[ParetoPoint]:
    """Every scored, not excluded submission on ``board_name`` of ``phase`` on ``track``, for the
    performance-vs-impact chart."""
    _check_board(board_name)
    performance = Submission.performance_private if board_name == "final" else Submission.performance_public
    stmt = (
        sa.select(
            Submission.id.label("submission_id"),
            Team.id.label("team_id"),
            Team.name.label("team_name"),
            Team.baseline,
            performance.label("performance"),
            Submission.impact_total,
            Submission.impact_min,
            Submission.impact_max,
            Score.pareto,
            Score.impact_low,
            Score.impact_high,
            Score.performance_low,
            Score.performance_high,
        )
        .select_from(Score)
        .join(Submission, Submission.id == Score.submission_id)
        .join(Team, Team.id == Submission.team_id)
        .where(
            Score.event_id == event_id,
            Score.board == board_name,
            Score.phase == phase,
            Score.track == track,
            Submission.excluded.is_(False),
            performance.is_not(None),
            Submission.impact_total.is_not(None),
        )
        .order_by(Submission.id)
    )
    with store_errors("reading the chart points"):
        rows = session.execute(stmt).mappings().all()
    return [ParetoPoint.model_validate(dict(row)) for row in rows]


_SUMMARY_COLUMNS = (
    Submission.id,
    Submission.team_id,
    Team.name.label("team_name"),
    Submission.status,
    Submission.reason,
    Submission.reason_code,
    Submission.excluded,
    Submission.excluded_reason,
    Submission.gitlab_project_id,
    Submission.gitlab_pipeline_id,
    Submission.gitlab_job_id,
    Submission.commit_sha,
    Submission.job_url,
    Submission.server,
    Submission.window_start,
    Submission.window_end,
    Submission.window_kind,
    Submission.script_start,
    Submission.script_end,
    Submission.script_start_source,
    Submission.script_end_source,
    Submission.script_start_resolution_s,
    Submission.script_end_resolution_s,
    Submission.window_fallback,
    Submission.window_fallback_reason,
    Submission.created_at,
    Submission.finished_at,
    Submission.attempts,
    Submission.duration_s,
    Submission.energy_j,
    Submission.impact_total,
    Submission.impact_min,
    Submission.impact_max,
    Submission.impact_unit,
    Submission.gwp_kgco2e,
    Submission.performance_public,
    Submission.counts_toward_limit,
    Submission.overhead_energy_j,
    Submission.remeasure_of,
)


def list_submissions(
    *,
    session: Session,
    event_id: int,
    team_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[SubmissionSummary]:
    """Submissions of the event, newest first, optionally of one team or one status."""
    if status is not None and status not in tuple(Status):
        raise ValueError(f"status must be one of {', '.join(Status)}, not {status!r}")
    stmt = (
        sa.select(*_SUMMARY_COLUMNS)
        .join(Team, Team.id == Submission.team_id)
        .where(Submission.event_id == event_id)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if team_id is not None:
        stmt = stmt.where(Submission.team_id == team_id)
    if status is not None:
        stmt = stmt.where(Submission.status == status)
    with store_errors("listing submissions"):
        rows = session.execute(stmt).mappings().all()
    return [SubmissionSummary.model_validate(dict(row)) for row in rows]


def latest_evaluated(
    *, session: Session, event_id: int, limit: int = 10, scope: BoardScope = EVERY_JOB
) -> list[SubmissionSummary]:
    """The submissions whose evaluation finished last (any outcome), newest first; those of ``scope`` (a
    board's phase and track) only."""
    stmt = (
        sa.select(*_SUMMARY_COLUMNS)
        .join(Team, Team.id == Submission.team_id)
        .where(Submission.event_id == event_id, Submission.finished_at.is_not(None))
    )
    stmt = _in_scope(stmt, scope).order_by(Submission.finished_at.desc(), Submission.id.desc()).limit(limit)
    with store_errors("listing the latest evaluations"):
        rows = session.execute(stmt).mappings().all()
    return [SubmissionSummary.model_validate(dict(row)) for row in rows]


def submission_detail(
    *, session: Session, submission_id: int, event_id: int | None = None
) -> SubmissionDetail:
    """Everything known about one submission.

    Raises:
        StoreError: no such submission (in this event, when ``event_id`` is given).
    """
    with store_errors(f"loading submission {submission_id}"):
        stmt = sa.select(*_SUMMARY_COLUMNS, Submission.last_error, Submission.event_id).join(
            Team, Team.id == Submission.team_id
        )
        row = session.execute(stmt.where(Submission.id == submission_id)).mappings().one_or_none()
        if row is None or (event_id is not None and row["event_id"] != event_id):
            raise NotFoundError(f"submission {submission_id} does not exist")
        measurement = session.get(Measurement, submission_id)
        impacts = session.execute(
            sa.select(Impact).where(Impact.submission_id == submission_id).order_by(Impact.criterion)
        ).scalars()
        performances = session.execute(
            sa.select(Performance)
            .where(Performance.submission_id == submission_id)
            .order_by(Performance.split)
        ).scalars()
        scores = session.execute(
            sa.select(Score).where(Score.submission_id == submission_id).order_by(Score.board)
        ).scalars()
        factsheet = session.get(Factsheet, submission_id)
        data: dict[str, Any] = dict(row)
        return SubmissionDetail(
            submission=SubmissionSummary.model_validate(data),
            last_error=data["last_error"],
            measurement=MeasurementView.model_validate(measurement) if measurement is not None else None,
            impacts=[ImpactView.model_validate(i) for i in impacts],
            performances=[PerformanceView.model_validate(p) for p in performances],
            scores=[ScoreView.model_validate(s) for s in scores],
            factsheet=FactsheetView.model_validate(factsheet) if factsheet is not None else None,
        )


def _team_summaries(session: Session, event_id: int, team_id: int | None) -> list[TeamSummary]:
    stats = _team_stats(event_id, None)
    stmt = (
        sa.select(
            Team.id,
            Team.name,
            Team.gitlab_project_id,
            Team.project_url,
            Team.baseline,
            sa.func.coalesce(stats.c.submissions_count, 0).label("submissions_count"),
            sa.func.coalesce(stats.c.team_energy_j, 0.0).label("energy_j"),
            sa.func.coalesce(stats.c.team_gwp_kgco2e, 0.0).label("gwp_kgco2e"),
        )
        .outerjoin(stats, stats.c.team_id == Team.id)
        .where(Team.event_id == event_id)
        .order_by(Team.name)
    )
    if team_id is not None:
        stmt = stmt.where(Team.id == team_id)
    return [TeamSummary.model_validate(dict(r)) for r in session.execute(stmt).mappings().all()]


def list_teams(*, session: Session, event_id: int) -> list[TeamSummary]:
    """Every team of the event with its cumulative footprint, by name."""
    with store_errors("listing teams"):
        return _team_summaries(session, event_id, None)


def team_detail(*, session: Session, event_id: int, team_id: int, limit: int = 500) -> TeamDetail:
    """A team, its submissions (newest first) and its cumulative footprint.

    Raises:
        StoreError: no such team in the event.
    """
    with store_errors(f"loading team {team_id}"):
        teams = _team_summaries(session, event_id, team_id)
    if not teams:
        raise NotFoundError(f"team {team_id} does not exist")
    return TeamDetail(
        team=teams[0],
        submissions=list_submissions(session=session, event_id=event_id, team_id=team_id, limit=limit),
    )


def status_counts(*, session: Session, event_id: int | None = None) -> dict[str, int]:
    """Number of submissions in each status (every status present, zero included)."""
    stmt = sa.select(Submission.status, sa.func.count()).group_by(Submission.status)
    if event_id is not None:
        stmt = stmt.where(Submission.event_id == event_id)
    with store_errors("counting statuses"):
        found = {status: int(n) for status, n in session.execute(stmt).all()}
    return {status: found.get(status, 0) for status in Status}


def event_totals(*, session: Session, event_id: int) -> EventTotals:
    """Totals of the whole hackathon: every measured job's energy and carbon, excluded ones included, and apart
    from them the runners' overhead around the script windows (the organisers', charged to no team)."""
    event = get_event(session=session, event_id=event_id)
    with store_errors("summing the event's totals"):
        sums = session.execute(
            sa.select(
                sa.func.count(Submission.energy_j).label("measured_jobs"),
                sa.func.coalesce(sa.func.sum(Submission.energy_j), 0.0).label("energy_j"),
                sa.func.coalesce(sa.func.sum(Submission.gwp_kgco2e), 0.0).label("gwp_kgco2e"),
                sa.func.coalesce(sa.func.sum(Submission.duration_s), 0.0).label("duration_s"),
                sa.func.count(Submission.overhead_energy_j).label("overhead_jobs"),
                sa.func.coalesce(sa.func.sum(Submission.overhead_energy_j), 0.0).label("overhead_energy_j"),
                sa.func.count().label("submissions"),
            ).where(Submission.event_id == event_id)
        ).one()
        teams = session.execute(
            sa.select(sa.func.count()).select_from(Team).where(Team.event_id == event_id, Team.baseline.is_(False))
        ).scalar_one()
        # the organisers' baselines: counted in the totals above, and shown apart
        baselines = session.execute(
            sa.select(
                sa.func.count(Submission.energy_j).label("jobs"),
                sa.func.coalesce(sa.func.sum(Submission.energy_j), 0.0).label("energy_j"),
                sa.func.coalesce(sa.func.sum(Submission.gwp_kgco2e), 0.0).label("gwp_kgco2e"),
            )
            .join(Team, Team.id == Submission.team_id)
            .where(Submission.event_id == event_id, Team.baseline.is_(True))
        ).one()
    return EventTotals(
        event_name=event.name,
        teams=int(teams),
        submissions=int(sums.submissions),
        by_status=status_counts(session=session, event_id=event_id),
        measured_jobs=int(sums.measured_jobs),
        energy_j=float(sums.energy_j),
        gwp_kgco2e=float(sums.gwp_kgco2e),
        duration_s=float(sums.duration_s),
        overhead_energy_j=float(sums.overhead_energy_j),
        overhead_jobs=int(sums.overhead_jobs),
        baseline_jobs=int(baselines.jobs),
        baseline_energy_j=float(baselines.energy_j),
        baseline_gwp_kgco2e=float(baselines.gwp_kgco2e),
    )

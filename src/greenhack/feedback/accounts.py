"""A team's carbon budget and daily limit, and the refusal record: one account, which the budget check at the start
of a submission job refuses on and the board's team page shows.

The account is :func:`greenhack.scoring.accounting.team_accounts` over the team's stored submissions, with two
rules of the budget check:

- a *pipeline* is one submission: when a pipeline runs a train and a predict job, only its first job uses a
  daily slot, and the current job's own pipeline never counts against itself;
- submission jobs running right now (they passed their own check, but GitLab has not reported them finished)
  count toward the daily limit too, so ten pipelines pushed at once cannot all pass.

Jobs the platform failed (status ``failed``) and jobs this check refused do not count toward the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.config import EventConfig
from greenhack.scoring.accounting import event_timezone, team_accounts
from greenhack.scoring.models import JobRecord, TeamAccount
from greenhack.status import ReasonCode, Status
from greenhack.store import crud, queue
from greenhack.store.db import store_errors
from greenhack.store.models import Submission, Team

__all__ = [
    "REFUSED_PREFIX",
    "BudgetVerdict",
    "budget_verdict",
    "find_team",
    "known_pipelines",
    "record_refusal",
    "team_account",
]

REFUSED_PREFIX = "refused before running"


@dataclass(frozen=True)
class BudgetVerdict:
    """Whether a submission job may run, and why not.

    Attributes:
        allowed: True when the job may go on.
        reasons: one sentence per refusal reason, each saying what the team can do.
        account: the team's totals (gCO2e, Wh, submissions today).
        in_flight: other submission pipelines of the team running now (counted toward today's limit).
    """

    allowed: bool
    reasons: tuple[str, ...]
    account: TeamAccount
    in_flight: int
    limit_per_day: int

    @property
    def used_today(self) -> int:
        return self.account.submissions_today + self.in_flight

    @property
    def message(self) -> str:
        a = self.account
        budget = (
            f"{a.gwp_g:.1f} of {a.budget_g:g} gCO2e used"
            if a.budget_g is not None
            else f"{a.gwp_g:.1f} gCO2e used"
        )
        unmeasured = f" ({a.unmeasured_jobs} job(s) not measured yet)" if a.unmeasured_jobs else ""
        head = "greenhack: submission allowed" if self.allowed else "greenhack: submission refused"
        first = (
            f"{head} for team {a.team}: {budget}{unmeasured}; {self.used_today} of {self.limit_per_day} "
            f"submissions used today (the day started {a.day_starts_at.isoformat()})"
        )
        lines = [first]
        lines += [f"greenhack: {reason}" for reason in self.reasons]
        return "\n".join(lines)


def find_team(session: Session, *, event_id: int, project_id: int) -> Team | None:
    """The team of a GitLab project, or None before its first submission."""
    with store_errors(f"loading the team of project {project_id}"):
        return session.execute(
            sa.select(Team).where(Team.event_id == event_id, Team.gitlab_project_id == project_id)
        ).scalar_one_or_none()


def _records(session: Session, *, team: Team, current_pipeline_id: int | None) -> list[JobRecord]:
    with store_errors(f"reading the submissions of team {team.name}"):
        rows = session.execute(
            sa.select(
                Submission.gitlab_job_id,
                Submission.gitlab_pipeline_id,
                Submission.created_at,
                Submission.gwp_kgco2e,
                Submission.energy_j,
                Submission.counts_toward_limit,
            )
            .where(Submission.team_id == team.id)
            .order_by(Submission.created_at, Submission.gitlab_job_id)
        ).all()
    counted_pipelines: set[int] = set()
    records = []
    for r in rows:
        counts = bool(r.counts_toward_limit)
        if r.gitlab_pipeline_id is not None:
            if r.gitlab_pipeline_id == current_pipeline_id or r.gitlab_pipeline_id in counted_pipelines:
                counts = False
            elif counts:
                counted_pipelines.add(int(r.gitlab_pipeline_id))
        records.append(
            JobRecord(
                job_id=int(r.gitlab_job_id),
                team=team.name,
                submitted_at=r.created_at,
                gwp_kgco2e=r.gwp_kgco2e,
                energy_j=r.energy_j,
                counts_toward_limit=counts,
            )
        )
    return records


def team_account(
    session: Session,
    *,
    config: EventConfig,
    team: Team | None,
    team_name: str,
    now: datetime,
    current_pipeline_id: int | None = None,
) -> TeamAccount:
    """The team's totals now (a team with no submission yet has an empty account)."""
    records = (
        _records(session, team=team, current_pipeline_id=current_pipeline_id) if team is not None else []
    )
    name = team.name if team is not None else team_name
    return team_accounts(records, limits=config.limits, now=now, tz=event_timezone(config), teams=[name])[
        name
    ]


def known_pipelines(session: Session, *, team: Team | None) -> set[int]:
    """GitLab pipelines of the team's stored submissions."""
    if team is None:
        return set()
    with store_errors("reading known pipelines"):
        ids = session.execute(
            sa.select(Submission.gitlab_pipeline_id).where(
                Submission.team_id == team.id, Submission.gitlab_pipeline_id.is_not(None)
            )
        ).scalars()
        return {int(p) for p in ids if p is not None}


def budget_verdict(
    config: EventConfig, account: TeamAccount, *, now: datetime, in_flight: int
) -> BudgetVerdict:
    """Refuse a job when the event is not open, the team's carbon budget is spent, or today's submissions are
    used up (pure: the caller reads the account)."""
    reasons: list[str] = []
    if now < config.event.opens:
        reasons.append(
            f"the event opens at {config.event.opens.isoformat()}; submissions before it are not run"
        )
    if now >= config.event.closes:
        reasons.append(f"the event closed at {config.event.closes.isoformat()}; no more submissions are run")
    if account.budget_g is not None and account.gwp_g >= account.budget_g:
        reasons.append(
            f"your team's carbon budget is spent ({account.gwp_g:.1f} of {account.budget_g:g} gCO2e): no more "
            "jobs run on the measured servers; your best submission so far stays on the board"
        )
    limit = config.limits.submissions_per_day
    used = account.submissions_today + in_flight
    if used >= limit:
        tomorrow = account.day_starts_at + timedelta(days=1)
        running = f", {in_flight} of them still running" if in_flight else ""
        reasons.append(
            f"your team has used its {limit} submissions of today ({used}{running}); the next day starts at "
            f"{tomorrow.isoformat()}. Jobs that failed on the platform's side do not count"
        )
    return BudgetVerdict(
        allowed=not reasons, reasons=tuple(reasons), account=account, in_flight=in_flight, limit_per_day=limit
    )


def record_refusal(
    session: Session,
    *,
    config: EventConfig,
    team_name: str,
    project_id: int,
    project_url: str | None,
    job_id: int,
    pipeline_id: int | None,
    created_at: datetime | None,
    reasons: Iterable[str],
    now: datetime,
) -> int:
    """Record a refused job as a finished, not-counted submission, so the evaluation never runs it and it never
    uses a daily slot (the webhook of its end finds the row and leaves it). Returns the submission id."""
    event = crud.ensure_event(session=session, name=config.event.name)
    team = crud.ensure_team(
        session=session,
        event_id=event.id,
        name=team_name,
        gitlab_project_id=project_id,
        project_url=project_url,
    )
    result = queue.enqueue(
        session=session,
        event_id=event.id,
        team_id=team.id,
        gitlab_project_id=project_id,
        gitlab_job_id=job_id,
        gitlab_pipeline_id=pipeline_id,
        submitted_at=created_at,
        now=now,
    )
    reason = f"{REFUSED_PREFIX}: " + "; ".join(reasons)
    with store_errors(f"recording the refusal of job {job_id}"):
        session.execute(
            sa.update(Submission)
            .where(Submission.id == result.submission_id, Submission.status == Status.QUEUED)
            .values(
                status=Status.INVALID,
                reason=reason,
                reason_code=ReasonCode.REFUSED_BEFORE_RUNNING,
                counts_toward_limit=False,
                finished_at=now,
            )
        )
    return result.submission_id

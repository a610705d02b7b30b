"""A team's carbon budget and submission limits, and the refusal record: one account, which the budget check at
the start of a submission job refuses on and the board's team page shows.

The account is :func:`greenhack.scoring.accounting.team_accounts` over the team's stored submissions:

- it counts *submissions*: the jobs of one pipeline are one (a train and a predict job, a re-measurement), and
  the current job's own pipeline never counts against itself;
- a job counts when its stored ``counts_toward_limit`` says so, which the store writes from
  :func:`greenhack.status.uses_quota` with every status: jobs the platform failed (``failed``), refused before
  running, canceled before they started or gave up on do not count;
- the limits are those of the phase open now (``phases[].limits`` over ``limits:``; an event without phases: the
  event's): the daily one (``limits.submissions_per_day``), the total of the phase (``limits.submissions_total``)
  and the submissions in flight (``limits.in_flight``: started, their evaluation not final), each over its period
  (:func:`greenhack.scoring.accounting.quota_rules`);
- at the budget check, submission jobs running right now that the store does not hold yet (they passed their own
  check, but GitLab has not reported them finished) count too, so ten pipelines pushed at once cannot all pass;
  only those GitLab created *before* the checking job (job ids grow), so that ten checks at once admit the first
  ones rather than each counting the nine others and refusing them all. The team page reads the store only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.competition import current_phase, event_phases, phase_at
from greenhack.config import EventConfig, LimitsSection
from greenhack.intake import team_from_api
from greenhack.scoring.accounting import event_period, event_timezone, quota_rules, team_accounts
from greenhack.scoring.models import JobRecord, Period, QuotaUse, TeamAccount
from greenhack.status import FINAL_STATUSES, ReasonCode, Status, uses_quota
from greenhack.store import crud, queue
from greenhack.store.db import store_errors
from greenhack.store.models import Submission, Team

__all__ = [
    "REFUSED_PREFIX",
    "BudgetVerdict",
    "budget_verdict",
    "find_team",
    "known_pipelines",
    "limits_at",
    "quota_json",
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
        account: the team's totals (gCO2e, Wh, submissions today, in the event, in flight).
        in_flight: other submission pipelines of the team running now and not stored yet (counted in every limit).
        limit_per_day: ``limits.submissions_per_day``.
        baseline: the job is an organisers' baseline's (``baselines:``): no quota nor budget applies to it.
    """

    allowed: bool
    reasons: tuple[str, ...]
    account: TeamAccount
    in_flight: int
    limit_per_day: int
    baseline: bool = False

    @property
    def used_today(self) -> int:
        return self.account.submissions_today

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
        if self.baseline:
            first = (
                f"{head} for the baseline {a.team}: an organisers' baseline uses no submission quota nor carbon "
                f"budget ({a.gwp_g:.1f} gCO2e used so far{unmeasured})"
            )
            return "\n".join([first, *(f"greenhack: {reason}" for reason in self.reasons)])
        total = a.quota("submissions_total")
        in_event = f", {total.used} of {total.rule.limit} in {total.rule.period.name}" if total is not None else ""
        first = (
            f"{head} for team {a.team}: {budget}{unmeasured}; {self.used_today} of {self.limit_per_day} "
            f"submissions used today (the day started {a.day_starts_at.isoformat()}){in_event}"
        )
        lines = [first]
        lines += [f"greenhack: {reason}" for reason in self.reasons]
        return "\n".join(lines)

    def to_json(self, *, job_id: int, phase: str | None) -> dict[str, Any]:
        """The answer's JSON body: the account and every limit with what is used and left."""
        a = self.account
        total = a.quota("submissions_total")
        return {
            "allowed": self.allowed,
            "baseline": self.baseline,
            "job_id": job_id,
            "team": a.team,
            "phase": phase,
            "reasons": list(self.reasons),
            "message": self.message,
            "gwp_g": a.gwp_g,
            "budget_g": a.budget_g,
            "budget_left_g": a.budget_left_g,
            "unmeasured_jobs": a.unmeasured_jobs,
            "submissions_today": self.used_today,
            "submissions_per_day": self.limit_per_day,
            "submissions_left_today": a.submissions_left_today,
            "submissions_total": total.used if total is not None else None,
            "submissions_limit_total": total.rule.limit if total is not None else None,
            "submissions_left_total": total.left if total is not None else None,
            "in_flight": self.in_flight,
            "evaluating": a.in_flight.evaluating,
            "in_flight_limit": a.in_flight.limit,
            "quotas": [quota_json(q) for q in a.quotas],
            "day_starts_at": a.day_starts_at.isoformat(),
        }


def quota_json(quota: QuotaUse) -> dict[str, Any]:
    """One limit as the API shows it: its YAML key, its period, the limit, what is used and left."""
    period = quota.rule.period
    return {
        "key": quota.rule.key,
        "period": period.name,
        "starts_at": period.start.isoformat() if period.start is not None else None,
        "ends_at": period.end.isoformat() if period.end is not None else None,
        "limit": quota.rule.limit,
        "used": quota.used,
        "left": quota.left,
    }


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
                Submission.status,
            )
            # an admin's re-measure uses none of the team's quota or budget (greenhack.store.remeasure)
            .where(Submission.team_id == team.id, Submission.remeasure_of.is_(None))
            .order_by(Submission.created_at, Submission.gitlab_job_id)
        ).all()
    return [
        JobRecord(
            job_id=int(r.gitlab_job_id),
            team=team.name,
            submitted_at=r.created_at,
            gwp_kgco2e=r.gwp_kgco2e,
            energy_j=r.energy_j,
            # the current job's own pipeline never counts against itself (its predict job after its train job)
            counts_toward_limit=bool(r.counts_toward_limit)
            and (r.gitlab_pipeline_id is None or r.gitlab_pipeline_id != current_pipeline_id),
            pipeline_id=int(r.gitlab_pipeline_id) if r.gitlab_pipeline_id is not None else None,
            final=r.status in FINAL_STATUSES,
        )
        for r in rows
    ]


def team_account(
    session: Session,
    *,
    config: EventConfig,
    team: Team | None,
    team_name: str,
    now: datetime,
    current_pipeline_id: int | None = None,
    running: int = 0,
) -> TeamAccount:
    """The team's totals now (a team with no submission yet has an empty account); ``running`` submissions
    running now that the store does not hold yet count in every limit (the budget check gives them)."""
    records = (
        _records(session, team=team, current_pipeline_id=current_pipeline_id) if team is not None else []
    )
    name = team.name if team is not None else team_name
    tz = event_timezone(config)
    limits, period = limits_at(config, now)
    rules = quota_rules(limits, now=now, tz=tz, event=period)
    return team_accounts(
        records, limits=limits, now=now, tz=tz, teams=[name], rules=rules, running={name: running}
    )[name]


def limits_at(config: EventConfig, now: datetime) -> tuple[LimitsSection, Period]:
    """The limits a job started at ``now`` meets, and the period ``limits.submissions_total`` counts over: the
    open phase's (its ``limits:`` over the event's, from its opening to its close), else the event's."""
    phase = current_phase(event_phases(config), now)
    if phase is None or phase.implicit:
        return config.limits, event_period(config)
    return phase.limits, Period(name=phase.title, start=phase.opens, end=phase.closes)


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
    config: EventConfig, account: TeamAccount, *, now: datetime, in_flight: int, baseline: bool = False
) -> BudgetVerdict:
    """Refuse a job when the event is not open, the team's carbon budget is spent, one of its submission limits
    is used up or too many of its submissions are in flight (pure: the caller reads the account, ``in_flight``
    running jobs included). A ``baseline``'s job (the organisers', ``baselines:``) uses no quota and no carbon
    budget: only the event's times apply to it."""
    reasons: list[str] = []
    if now < config.event.opens:
        reasons.append(
            f"the event opens at {config.event.opens.isoformat()}; submissions before it are not run"
        )
    if now >= config.event.closes:
        reasons.append(f"the event closed at {config.event.closes.isoformat()}; no more submissions are run")
    if config.phases and config.event.opens <= now < config.event.closes:
        outside = phase_at(event_phases(config), now)
        if outside.phase is None:  # between two phases: the job would be on no board
            reasons.append(f"{outside.reason}; submissions outside the phases are not run")
    if baseline:
        return BudgetVerdict(
            allowed=not reasons,
            reasons=tuple(reasons),
            account=account,
            in_flight=in_flight,
            limit_per_day=config.limits.submissions_per_day,
            baseline=True,
        )
    if account.budget_g is not None and account.gwp_g >= account.budget_g:
        reasons.append(
            f"your team's carbon budget is spent ({account.gwp_g:.1f} of {account.budget_g:g} gCO2e): no more "
            "jobs run on the measured servers; your best submission so far stays on the board"
        )
    running = f", {in_flight} of them still running" if in_flight else ""
    for quota in account.quotas:
        if quota.exhausted:
            reasons.append(_quota_reason(quota, running))
    flight = account.in_flight
    if flight.exhausted:
        reasons.append(
            f"your team has {flight.total} submissions in flight ({flight.running} running, {flight.evaluating} "
            f"being evaluated) and limits.in_flight allows {flight.limit} at once: push again once one of them "
            "has its result"
        )
    return BudgetVerdict(
        allowed=not reasons,
        reasons=tuple(reasons),
        account=account,
        in_flight=in_flight,
        limit_per_day=limits_at(config, now)[0].submissions_per_day,
    )


def _quota_reason(quota: QuotaUse, running: str) -> str:
    free = "Jobs that failed on the platform's side do not count, nor jobs canceled before they started or refused"
    period = quota.rule.period
    if quota.rule.key == "submissions_per_day" and period.end is not None:
        return (
            f"your team has used its {quota.rule.limit} submissions of today ({quota.used}{running}); the next day "
            f"starts at {period.end.isoformat()}. {free}"
        )
    return (
        f"your team has used its {quota.rule.limit} submissions of {period.name} ({quota.used}{running}). {free}"
    )


def record_refusal(
    session: Session,
    *,
    config: EventConfig,
    project_id: int,
    project_path: str,
    job_id: int,
    pipeline_id: int | None,
    created_at: datetime | None,
    reasons: Iterable[str],
    now: datetime,
) -> int:
    """Record a refused job as a finished, not-counted submission, so the evaluation never runs it and it never
    uses a submission (the webhook of its end finds the row and leaves it). Returns the submission id.

    ``project_path``: the project's full path as GitLab's API gave it with the job (the job token's own view):
    the team's name and baseline flag follow it, as they do in the worker."""
    event = crud.ensure_event(session=session, name=config.event.name)
    team = team_from_api(session=session, config=config, event_id=event.id, project_id=project_id, path=project_path)
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
                counts_toward_limit=uses_quota(Status.INVALID, ReasonCode.REFUSED_BEFORE_RUNNING),
                finished_at=now,
            )
        )
    return result.submission_id

"""Team accounting: the footprint of everything a team ran, its carbon budget, and its submissions against the
event's limits.

Every job counts in the footprint, whatever its outcome: a failed, invalid or unranked job used the server all
the same, and the trial-and-error behind a result is part of its cost. A job whose footprint is not measured
yet is counted in ``unmeasured_jobs`` (its share of the totals is not guessed).

The limits count *submissions*, not jobs: the jobs of one GitLab pipeline are one submission (a train and a
predict job; a retried job measuring the same submission again), which uses one of its team's submissions when
one of its jobs does (``JobRecord.counts_toward_limit``, written by :func:`greenhack.status.uses_quota`: jobs the
platform failed, refused or never started give theirs back), on the day of its first such job. Each limit is a
:class:`~greenhack.scoring.models.QuotaRule` over a typed :class:`~greenhack.scoring.models.Period`
(:func:`quota_rules`: today, the whole event), so a phase's own limits are one more rule.

"Today" is the event's local day: midnight to midnight at the UTC offset of ``event.opens`` (use
:func:`event_timezone`), whatever the server's own time zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo

from greenhack.config import EventConfig, LimitsSection
from greenhack.errors import ScoringError
from greenhack.scoring.models import InFlight, JobRecord, Period, QuotaRule, QuotaUse, TeamAccount

__all__ = [
    "day_period",
    "event_period",
    "event_timezone",
    "local_day_start",
    "quota_rules",
    "team_accounts",
]


def event_timezone(config: EventConfig) -> tzinfo:
    """The event's time zone: the fixed UTC offset written on ``event.opens``."""
    zone = config.event.opens.tzinfo
    if zone is None:  # the config refuses naive times; keep the type checker honest
        raise ScoringError("event.opens has no UTC offset")
    return zone


def local_day_start(moment: datetime, tz: tzinfo) -> datetime:
    """Midnight starting the day of ``moment`` in ``tz`` (timezone-aware)."""
    if moment.tzinfo is None:
        raise ScoringError("a naive time cannot be placed in the event's day; give it a UTC offset")
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def day_period(now: datetime, tz: tzinfo) -> Period:
    """The event's local day holding ``now``: what ``limits.submissions_per_day`` counts over."""
    start = local_day_start(now, tz)
    return Period(name="today", start=start, end=start + timedelta(days=1))


def event_period(config: EventConfig) -> Period:
    """The whole event, ``event.opens`` to ``event.closes``: what ``limits.submissions_total`` counts over."""
    return Period(name="the event", start=config.event.opens, end=config.event.closes)


def quota_rules(
    limits: LimitsSection, *, now: datetime, tz: tzinfo, event: Period | None = None
) -> tuple[QuotaRule, ...]:
    """The limits on each team's submissions at ``now``: the daily limit, then the total when the YAML sets one
    (over ``event``, by default unbounded)."""
    rules = [QuotaRule(key="submissions_per_day", period=day_period(now, tz), limit=limits.submissions_per_day)]
    if limits.submissions_total is not None:
        whole = event if event is not None else Period(name="the event", start=None, end=None)
        rules.append(QuotaRule(key="submissions_total", period=whole, limit=limits.submissions_total))
    return tuple(rules)


def _check_job(job: JobRecord) -> None:
    if job.submitted_at.tzinfo is None:
        raise ScoringError(f"job {job.job_id}: submitted_at has no UTC offset")
    if job.gwp_kgco2e is None or job.energy_j is None:
        return
    for name, value in (("gwp_kgco2e", job.gwp_kgco2e), ("energy_j", job.energy_j)):
        if not math.isfinite(value) or value < 0:
            raise ScoringError(f"job {job.job_id}: {name} must be a finite number >= 0, got {value!r}")


def _counted_submissions(jobs: Sequence[JobRecord]) -> list[tuple[datetime, bool]]:
    """Each submission that uses one of its team's: (when its first counted job was submitted, whether all its
    counted jobs' evaluations are final)."""
    first: dict[tuple[str, int | str], datetime] = {}
    final: dict[tuple[str, int | str], bool] = {}
    for job in jobs:
        if not job.counts_toward_limit:
            continue
        key = job.submission_key
        first[key] = min(first.get(key, job.submitted_at), job.submitted_at)
        final[key] = final.get(key, True) and job.final
    return [(first[key], final[key]) for key in first]


def team_accounts(
    jobs: Sequence[JobRecord],
    *,
    limits: LimitsSection,
    now: datetime,
    tz: tzinfo,
    teams: Iterable[str] = (),
    rules: Sequence[QuotaRule] | None = None,
    running: Mapping[str, int] | None = None,
) -> dict[str, TeamAccount]:
    """Totals per team.

    Args:
        jobs: every job of the event (all outcomes).
        limits: the event's limits (daily and total submissions, in flight, carbon budget in gCO2e).
        now: the current time (timezone-aware).
        tz: the event's time zone (see :func:`event_timezone`).
        teams: teams to report even when they have no job yet.
        rules: the limits to count (default :func:`quota_rules` of ``limits``, the total unbounded in time).
        running: per team, its submissions running now that ``jobs`` does not hold yet (GitLab's running jobs, at
            the budget check): they count in every limit whose period holds ``now``, and in flight.

    Returns:
        Team name → its account, for every team with a job and every team in ``teams``.

    Raises:
        ScoringError: a job's time is naive, or a footprint is negative or not finite.
    """
    rules = tuple(rules) if rules is not None else quota_rules(limits, now=now, tz=tz)
    running = running or {}
    day_start = local_day_start(now, tz)
    by_team: dict[str, list[JobRecord]] = {team: [] for team in (*teams, *running)}
    for job in jobs:
        by_team.setdefault(job.team, []).append(job)
    accounts = {}
    for team, team_jobs in by_team.items():
        gwp_g: list[float] = []
        energy_wh: list[float] = []
        for job in team_jobs:
            _check_job(job)
            if job.gwp_kgco2e is not None and job.energy_j is not None:
                gwp_g.append(job.gwp_kgco2e * 1000.0)
                energy_wh.append(job.energy_j / 3600.0)
        submissions = _counted_submissions(team_jobs)
        now_running = max(0, running.get(team, 0))
        quotas = tuple(
            QuotaUse(
                rule=rule,
                used=sum(1 for at, _ in submissions if rule.period.holds(at))
                + (now_running if rule.period.holds(now) else 0),
            )
            for rule in rules
        )
        daily = next((q for q in quotas if q.rule.key == "submissions_per_day"), None)
        total_gwp_g = math.fsum(gwp_g)
        budget = limits.carbon_budget_g
        accounts[team] = TeamAccount(
            team=team,
            jobs=len(team_jobs),
            measured_jobs=len(gwp_g),
            unmeasured_jobs=len(team_jobs) - len(gwp_g),
            gwp_g=total_gwp_g,
            energy_wh=math.fsum(energy_wh),
            budget_g=budget,
            budget_left_g=None if budget is None else budget - total_gwp_g,
            over_budget=budget is not None and total_gwp_g > budget,
            submissions_today=daily.used if daily is not None else 0,
            submissions_left_today=daily.left if daily is not None else limits.submissions_per_day,
            day_starts_at=day_start,
            quotas=quotas,
            in_flight=InFlight(
                running=now_running,
                evaluating=sum(1 for _, done in submissions if not done),
                limit=limits.in_flight,
            ),
        )
    return accounts

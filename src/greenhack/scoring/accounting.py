"""Team accounting: the footprint of everything a team ran, its carbon budget, its submissions left today.

Every job counts in the footprint, whatever its outcome: a failed, invalid or unranked job used the server all
the same, and the trial-and-error behind a result is part of its cost. A job whose footprint is not measured
yet is counted in ``unmeasured_jobs`` (its share of the totals is not guessed). Only jobs the platform failed
are left out of the daily limit (``JobRecord.counts_toward_limit``).

"Today" is the event's local day: midnight to midnight at the UTC offset of ``event.opens`` (use
:func:`event_timezone`), whatever the server's own time zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo

from greenhack.config import EventConfig, LimitsSection
from greenhack.errors import ScoringError
from greenhack.scoring.models import JobRecord, TeamAccount

__all__ = ["event_timezone", "local_day_start", "team_accounts"]


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


def team_accounts(
    jobs: Sequence[JobRecord],
    *,
    limits: LimitsSection,
    now: datetime,
    tz: tzinfo,
    teams: Iterable[str] = (),
) -> dict[str, TeamAccount]:
    """Totals per team.

    Args:
        jobs: every job of the event (all outcomes).
        limits: the event's limits (daily submissions, carbon budget in gCO2e).
        now: the current time (timezone-aware).
        tz: the event's time zone (see :func:`event_timezone`).
        teams: teams to report even when they have no job yet.

    Returns:
        Team name → its account, for every team with a job and every team in ``teams``.

    Raises:
        ScoringError: a job's time is naive, or a footprint is negative or not finite.
    """
    day_start = local_day_start(now, tz)
    day_end = day_start + timedelta(days=1)
    by_team: dict[str, list[JobRecord]] = {team: [] for team in teams}
    for job in jobs:
        by_team.setdefault(job.team, []).append(job)
    accounts = {}
    for team, team_jobs in by_team.items():
        gwp_g: list[float] = []
        energy_wh: list[float] = []
        unmeasured = 0
        today = 0
        for job in team_jobs:
            if job.submitted_at.tzinfo is None:
                raise ScoringError(f"job {job.job_id}: submitted_at has no UTC offset")
            if job.gwp_kgco2e is None or job.energy_j is None:
                unmeasured += 1
            else:
                for name, value in (("gwp_kgco2e", job.gwp_kgco2e), ("energy_j", job.energy_j)):
                    if not math.isfinite(value) or value < 0:
                        raise ScoringError(
                            f"job {job.job_id}: {name} must be a finite number >= 0, got {value!r}"
                        )
                gwp_g.append(job.gwp_kgco2e * 1000.0)
                energy_wh.append(job.energy_j / 3600.0)
            if job.counts_toward_limit and day_start <= job.submitted_at < day_end:
                today += 1
        total_gwp_g = math.fsum(gwp_g)
        budget = limits.carbon_budget_g
        accounts[team] = TeamAccount(
            team=team,
            jobs=len(team_jobs),
            measured_jobs=len(gwp_g),
            unmeasured_jobs=unmeasured,
            gwp_g=total_gwp_g,
            energy_wh=math.fsum(energy_wh),
            budget_g=budget,
            budget_left_g=None if budget is None else budget - total_gwp_g,
            over_budget=budget is not None and total_gwp_g > budget,
            submissions_today=today,
            submissions_left_today=max(0, limits.submissions_per_day - today),
            day_starts_at=day_start,
        )
    return accounts

"""Team accounting: every job in the footprint, the budget, the daily limit on the event's local day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from greenhack.config import LimitsSection
from greenhack.errors import ScoringError
from greenhack.scoring import JobRecord, event_timezone, team_accounts

PARIS = timezone(timedelta(hours=1))  # the offset written on event.opens in the example event
LIMITS = LimitsSection(submissions_per_day=3, carbon_budget_g=100.0)


def job(jid: int, team: str, when: datetime, gwp_g: float | None, *, counts: bool = True) -> JobRecord:
    return JobRecord(
        job_id=jid,
        team=team,
        submitted_at=when,
        gwp_kgco2e=None if gwp_g is None else gwp_g / 1000.0,
        energy_j=None if gwp_g is None else gwp_g * 36.0,  # 0.01 Wh per g, for checking
        counts_toward_limit=counts,
    )


def test_footprint_counts_every_job_and_the_daily_limit_skips_platform_failures() -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=PARIS)
    jobs = [
        job(1, "alpha", datetime(2026, 12, 1, 9, 30, tzinfo=PARIS), 40.0),  # scored
        job(2, "alpha", datetime(2026, 12, 1, 10, 0, tzinfo=PARIS), 30.0),  # invalid predictions: counts
        job(3, "alpha", datetime(2026, 12, 1, 11, 0, tzinfo=PARIS), 45.0, counts=False),  # platform failure
        job(4, "alpha", datetime(2026, 12, 1, 12, 0, tzinfo=PARIS), None),  # not measured yet
        job(5, "beta", datetime(2026, 12, 1, 12, 0, tzinfo=PARIS), 10.0),
    ]
    accounts = team_accounts(jobs, limits=LIMITS, now=now, tz=PARIS, teams=["gamma"])
    alpha = accounts["alpha"]
    assert (alpha.jobs, alpha.measured_jobs, alpha.unmeasured_jobs) == (4, 3, 1)
    assert alpha.gwp_g == pytest.approx(115.0)
    assert alpha.energy_wh == pytest.approx(1.15)
    assert alpha.budget_left_g == pytest.approx(-15.0) and alpha.over_budget
    assert (alpha.submissions_today, alpha.submissions_left_today) == (3, 0)
    beta = accounts["beta"]
    assert beta.budget_left_g == pytest.approx(90.0) and not beta.over_budget
    assert (beta.submissions_today, beta.submissions_left_today) == (1, 2)
    gamma = accounts["gamma"]
    assert (gamma.jobs, gamma.gwp_g, gamma.submissions_left_today) == (0, 0.0, 3)


def test_today_is_the_events_local_day_not_utc() -> None:
    # 23:30 UTC on Nov 30 is 00:30 on Dec 1 in Paris: the same event day as 22:00 Paris on Dec 1
    jobs = [
        job(1, "alpha", datetime(2026, 11, 30, 23, 30, tzinfo=UTC), 1.0),
        job(2, "alpha", datetime(2026, 12, 1, 22, 0, tzinfo=PARIS), 1.0),
        job(3, "alpha", datetime(2026, 11, 30, 22, 59, tzinfo=UTC), 1.0),  # 23:59 Paris on Nov 30
        job(4, "alpha", datetime(2026, 12, 1, 23, 0, tzinfo=UTC), 1.0),  # 00:00 Paris on Dec 2
    ]
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    alpha = team_accounts(jobs, limits=LIMITS, now=now, tz=PARIS)["alpha"]
    assert alpha.submissions_today == 2
    assert alpha.day_starts_at == datetime(2026, 12, 1, 0, 0, tzinfo=PARIS)
    assert alpha.gwp_g == pytest.approx(4.0)


def test_no_budget_configured() -> None:
    limits = LimitsSection(submissions_per_day=2)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=PARIS)
    account = team_accounts([job(1, "alpha", now, 5.0)], limits=limits, now=now, tz=PARIS)["alpha"]
    assert account.budget_g is None and account.budget_left_g is None and not account.over_budget


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (job(1, "alpha", datetime(2026, 12, 1, 12, 0), 1.0), "no UTC offset"),
        (job(1, "alpha", datetime(2026, 12, 1, 12, 0, tzinfo=PARIS), -1.0), "must be a finite number >= 0"),
    ],
)
def test_bad_job_records_raise(bad: JobRecord, message: str) -> None:
    with pytest.raises(ScoringError, match=message):
        team_accounts([bad], limits=LIMITS, now=datetime(2026, 12, 1, 12, 0, tzinfo=PARIS), tz=PARIS)


def test_event_timezone_is_the_offset_of_opens(make_event) -> None:  # type: ignore[no-untyped-def]
    config = make_event("id,label\n1,a\n")
    assert event_timezone(config).utcoffset(None) == timedelta(hours=1)


def test_limits_count_submissions_a_pipeline_once_over_their_periods() -> None:
    from greenhack.scoring.accounting import quota_rules  # noqa: PLC0415
    from greenhack.scoring.models import Period  # noqa: PLC0415

    limits = LimitsSection(submissions_per_day=3, submissions_total=5, in_flight=2)
    now = datetime(2026, 12, 2, 15, 0, tzinfo=PARIS)
    day1, day2 = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS), datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)
    jobs = [
        # yesterday: a train + predict pipeline (one submission) and a retried job of another (one submission)
        JobRecord(1, "alpha", day1, 1e-3, 36.0, pipeline_id=10),
        JobRecord(2, "alpha", day1 + timedelta(minutes=5), 1e-3, 36.0, pipeline_id=10),
        JobRecord(3, "alpha", day1, 1e-3, 36.0, pipeline_id=11),
        JobRecord(4, "alpha", day1 + timedelta(hours=1), 1e-3, 36.0, pipeline_id=11, counts_toward_limit=False),
        # today: a platform failure gives its pipeline back; one scored; one being evaluated
        JobRecord(5, "alpha", day2, None, None, pipeline_id=12, counts_toward_limit=False),
        JobRecord(6, "alpha", day2, 1e-3, 36.0, pipeline_id=13),
        JobRecord(7, "alpha", day2, None, None, pipeline_id=14, final=False),
    ]
    event = Period(name="the event", start=day1 - timedelta(days=1), end=now + timedelta(days=1))
    rules = quota_rules(limits, now=now, tz=PARIS, event=event)
    alpha = team_accounts(jobs, limits=limits, now=now, tz=PARIS, rules=rules, running={"alpha": 1})["alpha"]
    assert alpha.jobs == 7 and alpha.unmeasured_jobs == 2  # the footprint counts every job
    daily, total = alpha.quotas
    assert (daily.rule.key, daily.used, daily.left, daily.exhausted) == ("submissions_per_day", 3, 0, True)
    assert (total.rule.key, total.used, total.left, total.exhausted) == ("submissions_total", 5, 0, True)
    assert (alpha.submissions_today, alpha.submissions_left_today) == (3, 0)
    assert (alpha.in_flight.running, alpha.in_flight.evaluating, alpha.in_flight.total) == (1, 1, 2)
    assert alpha.in_flight.exhausted and alpha.quota("submissions_total") is total
    # a period that does not hold the job's day does not count it
    assert daily.rule.period.holds(day2) and not daily.rule.period.holds(day1)
    early = Period(name="a phase", start=day1, end=day2 - timedelta(hours=12))
    assert [q.used for q in team_accounts(jobs, limits=limits, now=now, tz=PARIS, rules=[
        *rules[:1], type(rules[1])(key="phase", period=early, limit=9)])["alpha"].quotas] == [2, 2]  # fmt: skip


def test_without_a_total_or_an_in_flight_limit_nothing_is_exhausted_but_the_day() -> None:
    now = datetime(2026, 12, 2, 15, 0, tzinfo=PARIS)
    account = team_accounts([job(1, "alpha", now, 1.0)], limits=LimitsSection(), now=now, tz=PARIS)["alpha"]
    assert [q.rule.key for q in account.quotas] == ["submissions_per_day"]
    assert account.quota("submissions_total") is None and not account.in_flight.exhausted

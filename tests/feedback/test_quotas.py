"""Quotas people trust (issue 19): a total and an in-flight limit beside the daily one; jobs canceled before they
started, failed on the platform's side or given up on give their submission back; simultaneous checks admit the
first ones; the team page and the budget check give the same "left today / left in the event".

PostgreSQL, the fake GitLab at its HTTP API, a real Prometheus backfilled with the exporters' samples for the job
that the runner's host failed after it started, the platform's worker and routes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fb_world import (
    TAG,
    World,
    backfilled_prometheus,
    deliver_finished,
    platform_worker,
    write_event,
)

from greenhack.config import EventConfig
from greenhack.feedback.job_auth import JobTokenVerifier
from greenhack.feedback.router import FeedbackServices, make_feedback_router
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.services.prometheus import PrometheusServer
from greenhack.settings import Settings
from greenhack.status import ReasonCode
from greenhack.store import crud, queue
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission, Team
from greenhack.telemetry import PrometheusClient
from greenhack.web import create_app

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
# the job the runner's host failed, after it had started: measured on the backfilled Prometheus
CRASHED = (BASE + timedelta(minutes=2), BASE + timedelta(minutes=3))


def _event(tmp_path: Path, world: World, *, limits: dict[str, int] | None = None, **kw: Any) -> EventConfig:
    extra = "".join(f"\n              {key}: {value}" for key, value in (limits or {}).items())
    return write_event(tmp_path, gitlab_url=world.fake.url, budget_g=None, extra_limits=extra, **kw)


def _check_app(config: EventConfig, world: World, sessions: SessionFactory, now: datetime) -> TestClient:
    http = httpx.Client(timeout=5.0)
    services = FeedbackServices(
        verifier=JobTokenVerifier(config, http=http),
        telemetry=PrometheusClient("http://127.0.0.1:9"),
        impacts=ImpactCalculator(BoaviztaClient("http://127.0.0.1:9"), FactorCache(None)),
        gitlab=GitLabGateway(make_gitlab_client(world.fake.url, world.fake.token, timeout_s=5.0)),
        sessions=sessions,
        now=lambda: now,
    )
    app = FastAPI()
    app.include_router(make_feedback_router(config=config, services=lambda: services))
    return TestClient(app)


def _check(client: TestClient, token: str) -> httpx.Response:
    answer: httpx.Response = client.post("/api/v1/jobs/self/budget-check", headers={"JOB-TOKEN": token})
    return answer


def _seed(sessions: SessionFactory, config: EventConfig, world: World, jobs: list[tuple[int, datetime, str]]) -> None:
    """Stored jobs of team-a, one pipeline each: (job id, created at, status)."""
    with transaction(sessions, "seeding") as session:
        event = crud.ensure_event(session=session, name=config.event.name)
        team = crud.ensure_team(session=session, event_id=event.id, name="team-a", gitlab_project_id=world.project_id)
        for job_id, created, status in jobs:
            row = queue.enqueue(session=session, event_id=event.id, team_id=team.id,
                                gitlab_project_id=world.project_id, gitlab_job_id=job_id,
                                gitlab_pipeline_id=job_id + 1000, submitted_at=created)
            session.execute(sa.update(Submission).where(Submission.id == row.submission_id).values(status=status))
    # fmt: skip


def _page_account(config: EventConfig, world: World, sessions: SessionFactory, url: str, now: datetime) -> Any:
    with sessions() as session:
        team_id = session.execute(sa.select(Team.id).where(Team.gitlab_project_id == world.project_id)).scalar_one()
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, config, clock=lambda: now)) as board:
        api = board.get(f"/api/v1/teams/{team_id}").json()["account"]
        page = board.get(f"/teams/{team_id}").text
    return api, page


def test_the_event_total_refuses_once_used_and_the_team_page_says_the_same(
    tmp_path: Path, world: World, sessions: SessionFactory, postgres_url: str
) -> None:
    config = _event(tmp_path, world, per_day=2, limits={"submissions_total": 3})
    now = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    _seed(sessions, config, world, [(11, now - timedelta(days=2), "scored"), (12, now - timedelta(days=1), "scored"),
                                    (13, now - timedelta(hours=1), "invalid")])  # fmt: skip
    _, token = world.running_job()
    answer = _check(_check_app(config, world, sessions, now), token)
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert (body["submissions_today"], body["submissions_left_today"]) == (1, 1)
    assert (body["submissions_total"], body["submissions_limit_total"], body["submissions_left_total"]) == (3, 3, 0)
    assert "your team has used its 3 submissions of the event (3)" in body["message"]
    assert "1 of 2 submissions used today" in body["message"] and ", 3 of 3 in the event" in body["message"]
    total = next(q for q in body["quotas"] if q["key"] == "submissions_total")
    assert (total["starts_at"], total["ends_at"]) == (config.event.opens.isoformat(), config.event.closes.isoformat())
    # the refused job gives nothing: the team page reads the same account
    api, page = _page_account(config, world, sessions, postgres_url, now)
    assert (api["submissions_left_today"], api["submissions_total"], api["submissions_left_total"]) == (1, 3, 0)
    assert "left in the event (of 3; 3 used)" in page


def test_in_flight_counts_evaluations_not_final_and_frees_once_they_are(
    tmp_path: Path, world: World, sessions: SessionFactory, postgres_url: str
) -> None:
    config = _event(tmp_path, world, per_day=5, limits={"in_flight": 1})
    now = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    _seed(sessions, config, world, [(21, now - timedelta(minutes=30), "scored"),
                                    (22, now - timedelta(minutes=5), "measuring")])  # fmt: skip
    client = _check_app(config, world, sessions, now)
    _, token = world.running_job()
    answer = _check(client, token)
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert (body["evaluating"], body["in_flight_limit"], body["in_flight"]) == (1, 1, 0)
    assert "your team has 1 submissions in flight (0 running, 1 being evaluated)" in body["message"]
    api, page = _page_account(config, world, sessions, postgres_url, now)
    assert (api["evaluating"], api["in_flight_limit"]) == (1, 1)
    assert "at most 1 in flight at once" in page
    with transaction(sessions, "the evaluation ends") as session:
        session.execute(sa.update(Submission).where(Submission.gitlab_job_id == 22).values(status="scored"))
    _, token = world.running_job()
    allowed = _check(client, token)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["evaluating"] == 0


def test_checks_at_once_admit_the_first_jobs_gitlab_created(
    tmp_path: Path, world: World, sessions: SessionFactory
) -> None:
    # three pipelines pushed at once, a limit of 2 a day: all three jobs run, then ask. Counting every other
    # running job refused the first to ask (it saw two others; checks at the very same moment refuse all three);
    # the first two GitLab created must pass, whichever order they ask in.
    config = _event(tmp_path, world, per_day=2)
    client = _check_app(config, world, sessions, datetime(2026, 6, 10, 9, 0, tzinfo=UTC))
    for order in (lambda jobs: jobs, lambda jobs: list(reversed(jobs))):
        jobs = [world.running_job() for _ in range(3)]
        answers = {int(job["id"]): _check(client, token) for job, token in order(jobs)}
        codes = [answers[int(job["id"])].status_code for job, _ in jobs]
        assert codes == [200, 200, 403], [a.text for a in answers.values()]
        last = answers[int(jobs[2][0]["id"])].json()
        assert last["in_flight"] == 2 and "(2, 2 of them still running)" in last["message"]
        for job, _ in jobs:  # they end: the next round starts from an empty day
            world.fake.set_job_status(int(job["id"]), "canceled")
        with transaction(sessions, "a new day") as session:
            session.execute(sa.delete(Submission))


# ------------------------------------------------------------------------------------------------------------------
# give-backs, through the platform's own evaluation


@pytest.fixture(scope="module")
def backfilled(prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    return backfilled_prometheus(prometheus_factory, start=BASE, busy=[CRASHED], seed=19)


def test_jobs_that_never_ran_or_that_the_platform_failed_give_their_submission_back(
    tmp_path: Path, world: World, sessions: SessionFactory, backfilled: PrometheusServer, boavizta_url: str,
    postgres_url: str,
) -> None:  # fmt: skip
    config = _event(tmp_path, world, per_day=2, limits={"submissions_total": 2},
                    prometheus_url=backfilled.url, boavizta_url=boavizta_url)  # fmt: skip
    fake, pending = world.fake, BASE + timedelta(minutes=1)
    canceled = fake.run_job(world.project_id, status="running", started_at=pending, finished_at=None,
                            runner_id=world.runner_id, tags=[TAG])  # fmt: skip
    fake.end_before_start(int(canceled["id"]), "canceled", at=pending + timedelta(seconds=30))
    stuck = fake.run_job(world.project_id, status="running", started_at=pending, finished_at=None,
                         runner_id=world.runner_id, tags=[TAG])  # fmt: skip
    fake.end_before_start(int(stuck["id"]), "failed", at=pending + timedelta(hours=1),
                          failure_reason="stuck_or_timeout_failure")  # fmt: skip
    crashed = fake.run_job(world.project_id, status="failed", started_at=CRASHED[0], finished_at=CRASHED[1],
                           runner_id=world.runner_id, tags=[TAG], failure_reason="runner_system_failure")  # fmt: skip
    for job in (canceled, stuck, crashed):
        deliver_finished(world, config, sessions, job)
    for worker in platform_worker(config, world, sessions, boavizta_url=boavizta_url, factors=tmp_path / "f.json",
                                  max_attempts=1):  # fmt: skip
        worker.run(until_idle=True)
    # the platform cannot evaluate this one (GitLab does not answer): after its retries it gives the slot back
    given_up = fake.run_job(world.project_id, status="success", started_at=CRASHED[0], finished_at=CRASHED[1],
                            runner_id=world.runner_id, tags=[TAG])  # fmt: skip
    deliver_finished(world, config, sessions, given_up)
    fake.fail(rf"GET /api/v4/projects/{world.project_id}/jobs/{given_up['id']}$", status=503)
    for worker in platform_worker(config, world, sessions, boavizta_url=boavizta_url, factors=tmp_path / "f.json",
                                  max_attempts=1):  # fmt: skip
        worker.run(until_idle=True)
    with sessions() as session:
        rows = {r.gitlab_job_id: r for r in session.execute(sa.select(Submission)).scalars()}
    outcome = {job_id: (r.status, r.reason_code, r.counts_toward_limit) for job_id, r in rows.items()}
    assert outcome == {
        canceled["id"]: ("invalid", ReasonCode.JOB_NOT_STARTED, False),
        stuck["id"]: ("failed", ReasonCode.PLATFORM_JOB_FAILURE, False),
        crashed["id"]: ("failed", ReasonCode.PLATFORM_JOB_FAILURE, False),
        given_up["id"]: ("failed", ReasonCode.GAVE_UP, False),
    }, {k: (r.reason, r.last_error) for k, r in rows.items()}
    assert rows[crashed["id"]].energy_j is not None  # measured all the same: it counts in the footprint
    assert "before it started; it does not count toward the limit" in str(rows[canceled["id"]].reason)
    # four jobs, none counted: the check and the team page both say every submission is left
    now = datetime.now(UTC)
    _, token = world.running_job()
    body = _check(_check_app(config, world, sessions, now), token).json()
    assert body["allowed"] is True, body["message"]
    assert (body["submissions_today"], body["submissions_total"], body["submissions_left_total"]) == (0, 0, 2)
    api, _ = _page_account(config, world, sessions, postgres_url, now)
    assert (api["submissions_today"], api["submissions_left_today"], api["submissions_left_total"]) == (0, 2, 2)

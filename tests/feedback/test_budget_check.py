"""POST /api/v1/jobs/self/budget-check: over-budget and over-limit teams are refused before their job runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fb_world import GROUP, TAG, World, write_event

from greenhack.config import EventConfig
from greenhack.feedback.job_auth import JobTokenVerifier
from greenhack.feedback.router import FeedbackServices, make_feedback_router
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.webhooks import HookJob
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.intake import enqueue_hook_jobs
from greenhack.settings import Settings
from greenhack.store import crud, queue
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission, Team
from greenhack.telemetry import PrometheusClient
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.web import create_app

# inside the event, 10:00 in the event's time zone (+01:00)
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path, world: World) -> EventConfig:
    return write_event(tmp_path, gitlab_url=world.fake.url, budget_g=50.0, per_day=3)


@pytest.fixture
def client(config: EventConfig, world: World, sessions: SessionFactory) -> Iterator[TestClient]:
    with httpx.Client(timeout=5.0) as http, PrometheusClient("http://127.0.0.1:9") as prometheus:
        boavizta = BoaviztaClient("http://127.0.0.1:9")
        services = FeedbackServices(
            verifier=JobTokenVerifier(config, http=http),
            telemetry=prometheus,
            impacts=ImpactCalculator(boavizta, FactorCache(None)),
            gitlab=GitLabGateway(make_gitlab_client(world.fake.url, world.fake.token, timeout_s=5.0)),
            sessions=sessions,
            now=lambda: NOW,
        )
        app = FastAPI()
        app.include_router(make_feedback_router(config=config, services=lambda: services))
        with TestClient(app) as test_client:
            yield test_client
        boavizta.close()


def seed(
    sessions: SessionFactory,
    config: EventConfig,
    world: World,
    jobs: list[tuple[int, int, datetime, float | None, str]],
) -> None:
    """Stored submissions of team-a: (job id, pipeline id, created at, gCO2e or None, status)."""
    with transaction(sessions, "seeding") as session:
        event = crud.ensure_event(session=session, name=config.event.name)
        team = crud.ensure_team(
            session=session, event_id=event.id, name="team-a", gitlab_project_id=world.project_id
        )
        for job_id, pipeline_id, created, gwp_g, status in jobs:
            row = queue.enqueue(
                session=session,
                event_id=event.id,
                team_id=team.id,
                gitlab_project_id=world.project_id,
                gitlab_job_id=job_id,
                gitlab_pipeline_id=pipeline_id,
                submitted_at=created,
            )
            session.execute(
                sa.update(Submission)
                .where(Submission.id == row.submission_id)
                .values(
                    status=status,
                    gwp_kgco2e=gwp_g / 1000 if gwp_g is not None else None,
                    energy_j=gwp_g * 1000 if gwp_g is not None else None,
                    counts_toward_limit=status != "failed",
                )
            )


def check(client: TestClient, token: str, *, text: bool = False) -> httpx.Response:
    headers = {"JOB-TOKEN": token}
    if text:
        headers["Accept"] = "text/plain"
    answer: httpx.Response = client.post("/api/v1/jobs/self/budget-check", headers=headers)
    return answer


def test_a_team_within_its_budget_and_limit_may_run(
    client: TestClient, world: World, sessions: SessionFactory, config: EventConfig
) -> None:
    seed(sessions, config, world, [(11, 1, NOW - timedelta(hours=1), 20.0, "scored")])
    job, token = world.running_job()
    answer = check(client, token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["allowed"] is True and body["job_id"] == job["id"] and body["team"] == "team-a"
    assert body["gwp_g"] == pytest.approx(20.0)
    assert body["budget_left_g"] == pytest.approx(30.0)
    assert body["submissions_today"] == 1 and body["submissions_per_day"] == 3


def test_an_over_budget_team_is_refused_with_a_clear_message_and_the_job_never_counts(
    client: TestClient, world: World, sessions: SessionFactory, config: EventConfig
) -> None:
    seed(
        sessions,
        config,
        world,
        [(11, 1, NOW - timedelta(days=2), 30.0, "scored"), (12, 2, NOW - timedelta(days=1), 25.5, "invalid")],
    )
    job, token = world.running_job()
    answer = check(client, token, text=True)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/plain")
    assert "greenhack: submission refused for team team-a: 55.5 of 50 gCO2e used" in answer.text
    assert "your team's carbon budget is spent (55.5 of 50 gCO2e)" in answer.text
    # the refused job is recorded as not counted; its end (webhook) leaves the row as it is
    with transaction(sessions, "queueing the refused job's webhook") as session:
        enqueue_hook_jobs(
            session=session,
            config=config,
            jobs=[
                HookJob(
                    world.project_id, world.project_path, int(job["id"]), "submission", "test", "failed", 1
                )
            ],
        )
    with sessions() as session:
        row = session.execute(sa.select(Submission).where(Submission.gitlab_job_id == job["id"])).scalar_one()
    assert (row.status, row.counts_toward_limit) == ("invalid", False)
    assert row.reason is not None and row.reason.startswith(
        "refused before running: your team's carbon budget"
    )


def test_the_daily_limit_counts_pipelines_today_and_running_ones_but_not_platform_failures(
    client: TestClient, world: World, sessions: SessionFactory, config: EventConfig
) -> None:
    today = NOW - timedelta(hours=2)
    seed(
        sessions,
        config,
        world,
        [
            (11, 1, NOW - timedelta(days=1), 1.0, "scored"),  # yesterday
            (12, 2, today, 1.0, "scored"),
            (13, 3, today, None, "failed"),  # the platform's failure: not counted
            (14, 4, today, None, "queued"),  # finished, not evaluated yet: counted
        ],
    )
    _, token = world.running_job()
    assert check(client, token).json()["submissions_today"] == 2
    # another submission pipeline running now (it passed its own check) takes the last slot
    world.running_job()
    _, third = world.running_job()
    answer = check(client, third)
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert body["allowed"] is False and body["in_flight"] == 2 and body["submissions_today"] == 4
    assert "has used its 3 submissions of today (4, 2 of them still running)" in body["message"]
    assert "Jobs that failed on the platform's side do not count" in body["message"]


def test_the_second_phase_of_a_pipeline_uses_no_second_slot(
    client: TestClient, world: World, sessions: SessionFactory, config: EventConfig
) -> None:
    train, _ = world.running_job(name="submission")
    pipeline = int(train["pipeline"]["id"])
    seed(
        sessions,
        config,
        world,
        [(21, 5, NOW - timedelta(hours=1), 1.0, "scored"), (22, 6, NOW - timedelta(hours=1), 1.0, "scored"),
         (int(train["id"]), pipeline, NOW - timedelta(minutes=5), 1.0, "scored")],
    )  # fmt: skip
    _, predict = world.running_job(pipeline_id=pipeline)
    answer = check(client, predict)
    assert answer.status_code == 200, answer.text
    assert answer.json()["submissions_today"] == 2


def test_the_event_must_be_open(tmp_path: Path, world: World, sessions: SessionFactory) -> None:
    config = write_event(tmp_path, gitlab_url=world.fake.url, closes="2026-06-01T00:00:00+01:00")
    with httpx.Client(timeout=5.0) as http:
        services = FeedbackServices(
            verifier=JobTokenVerifier(config, http=http),
            telemetry=PrometheusClient("http://127.0.0.1:9"),
            impacts=ImpactCalculator(BoaviztaClient("http://127.0.0.1:9"), FactorCache(None)),
            gitlab=None,
            sessions=sessions,
            now=lambda: NOW,
        )
        app = FastAPI()
        app.include_router(make_feedback_router(config=config, services=lambda: services))
        _, token = world.running_job()
        answer = TestClient(app).post("/api/v1/jobs/self/budget-check", headers={"JOB-TOKEN": token})
    assert answer.status_code == 403
    assert "the event closed at 2026-06-01T00:00:00+01:00" in answer.json()["message"]


def test_tokens_of_other_or_finished_jobs_are_refused(
    client: TestClient, world: World, sessions: SessionFactory
) -> None:
    job, token = world.running_job()
    world.fake.set_job_status(int(job["id"]), "success", finished_at=NOW)
    expired = check(client, token)
    assert expired.status_code == 401 and "finished" in expired.json()["detail"]
    other = world.fake.create_project(
        "other", namespace_id=world.fake.find_or_create_group("elsewhere")["id"]
    )
    _, foreign = world.running_job(project_id=int(other["id"]))
    assert check(client, foreign).status_code == 403
    assert check(client, "").status_code == 401
    world.fake.fail(r"GET /api/v4/job$", status=503)
    _, token = world.running_job()
    down = check(client, token, text=True)
    assert down.status_code == 503 and down.text.startswith("greenhack: GitLab cannot check the job token")
    with sessions() as session:  # nothing recorded for refused tokens
        assert session.execute(sa.select(sa.func.count()).select_from(Submission)).scalar_one() == 0


def test_the_team_page_and_the_budget_check_give_one_account(
    client: TestClient, world: World, sessions: SessionFactory, config: EventConfig, postgres_url: str
) -> None:
    # today: a train+predict pipeline (one submission, two jobs) and a one-job pipeline
    today = NOW - timedelta(hours=2)
    seed(
        sessions,
        config,
        world,
        [
            (31, 7, today, 2.0, "scored"),
            (32, 7, today + timedelta(minutes=3), 3.0, "scored"),
            (33, 8, today, 1.5, "scored"),
        ],
    )
    _, token = world.running_job()
    gate = check(client, token).json()
    assert gate["submissions_today"] == 2
    with sessions() as session:
        team_id = session.execute(
            sa.select(Team.id).where(Team.gitlab_project_id == world.project_id)
        ).scalar_one()
    settings = Settings(database_url=postgres_url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, config, clock=lambda: NOW)) as board:
        page = board.get(f"/api/v1/teams/{team_id}").json()["account"]
    assert page["submissions_today"] == gate["submissions_today"]
    assert page["submissions_left_today"] == gate["submissions_per_day"] - gate["submissions_today"]
    assert page["gwp_g"] == pytest.approx(gate["gwp_g"])
    assert page["budget_left_g"] == pytest.approx(gate["budget_left_g"])
    assert page["day_starts_at"] == gate["day_starts_at"]


def test_gitlab_under_a_relative_url_root_checks_budgets(tmp_path: Path, sessions: SessionFactory) -> None:
    """GitLab at ``https://host/gitlab``: every web_url starts with ``/gitlab/``, which is not part of any project
    path; the job of a team in a subgroup is the event's and its team is its path below the group."""
    with FakeGitLab(relative_url_root="/gitlab") as fake, httpx.Client(timeout=5.0) as http:
        subgroup = fake.find_or_create_group(f"{GROUP}/track1")
        project = fake.create_project("alpha", namespace_id=subgroup["id"])
        assert fake.project_json(project["id"])["web_url"].endswith(f"/gitlab/{GROUP}/track1/alpha")
        world = World(fake, int(project["id"]), str(project["path_with_namespace"]), fake.add_runner(
            "gpu-1 runner", tags=[TAG]))  # fmt: skip
        config = write_event(tmp_path, gitlab_url=fake.url, budget_g=50.0, per_day=3)
        assert str(config.gitlab.url).rstrip("/").endswith("/gitlab")  # type: ignore[union-attr]
        job, token = world.running_job()
        verified = JobTokenVerifier(config, http=http).verify(token)
        assert (verified.job.project_path, verified.team_name) == (f"{GROUP}/track1/alpha", "track1/alpha")
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token, timeout_s=5.0))
        assert gateway.job(world.project_id, int(job["id"])).project_path == f"{GROUP}/track1/alpha"
        with PrometheusClient("http://127.0.0.1:9") as prometheus:
            boavizta = BoaviztaClient("http://127.0.0.1:9")
            services = FeedbackServices(
                verifier=JobTokenVerifier(config, http=http),
                telemetry=prometheus,
                impacts=ImpactCalculator(boavizta, FactorCache(None)),
                gitlab=gateway,
                sessions=sessions,
                now=lambda: NOW,
            )
            app = FastAPI()
            app.include_router(make_feedback_router(config=config, services=lambda: services))
            with TestClient(app) as client:
                answer = check(client, token)
            boavizta.close()
    assert answer.status_code == 200, answer.text
    assert answer.json()["team"] == "track1/alpha"


def test_an_admins_remeasure_runs_even_when_the_team_is_over_its_budget(
    client: TestClient, world: World, sessions: SessionFactory, config: EventConfig
) -> None:
    """Issue 17: a re-measure (its row queued by the admin task, linked to its original) passes the budget check of
    a team whose budget is spent: the organisers asked for it, and it uses none of the team's quota."""
    seed(sessions, config, world, [(11, 1, NOW - timedelta(days=2), 55.5, "scored")])
    job, token = world.running_job()
    assert check(client, token).status_code == 403  # a team's own job is refused
    retried, retried_token = world.running_job()
    from greenhack.store.remeasure import record_retry, retry_target

    with transaction(sessions, "the re-measure's row") as session:
        original = session.execute(sa.select(Submission).where(Submission.gitlab_job_id == 11)).scalar_one()
        target = retry_target(session=session, submission_id=original.id, event_id=original.event_id)
        record_retry(session=session, target=target, job_id=int(retried["id"]), pipeline_id=None, job_url=None,
                     created_at=NOW, now=NOW)  # fmt: skip
    answer = check(client, retried_token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["allowed"] is True

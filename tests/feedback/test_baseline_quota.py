"""A baseline's jobs (the organisers' reference submissions, ``baselines:``) use no quota and no carbon budget
(issue 19): a team with the same usage is refused, the baseline's job runs; the event's times still apply; the
report in GitLab of a baseline's job tells no quota nor budget.

PostgreSQL, the fake GitLab at its HTTP API (the job token and the running jobs), the platform's route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fb_world import GROUP, World, write_event

from greenhack.config import EventConfig
from greenhack.feedback.gitlab_report import comment_body
from greenhack.feedback.job_auth import JobTokenVerifier
from greenhack.feedback.router import FeedbackServices, make_feedback_router
from greenhack.feedback.summary import load_report
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.store import crud, queue
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission, Team
from greenhack.telemetry import PrometheusClient

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
BASELINES = "baselines:\n  - {project: logreg-baseline, name: Logistic regression}\n"


def _client(config: EventConfig, world: World, sessions: SessionFactory, now: datetime) -> TestClient:
    services = FeedbackServices(
        verifier=JobTokenVerifier(config, http=httpx.Client(timeout=5.0)),
        telemetry=PrometheusClient("http://127.0.0.1:9"),
        impacts=ImpactCalculator(BoaviztaClient("http://127.0.0.1:9"), FactorCache(None)),
        gitlab=GitLabGateway(make_gitlab_client(world.fake.url, world.fake.token, timeout_s=5.0)),
        sessions=sessions,
        now=lambda: now,
    )
    app = FastAPI()
    app.include_router(make_feedback_router(config=config, services=lambda: services))
    return TestClient(app)


def _used_today(sessions: SessionFactory, config: EventConfig, *, name: str, project_id: int, job_id: int) -> None:
    """One scored submission of today, with a footprint over the carbon budget."""
    with transaction(sessions, "seeding") as session:
        event = crud.ensure_event(session=session, name=config.event.name)
        team = crud.ensure_team(session=session, event_id=event.id, name=name, gitlab_project_id=project_id)
        row = queue.enqueue(session=session, event_id=event.id, team_id=team.id, gitlab_project_id=project_id,
                            gitlab_job_id=job_id, gitlab_pipeline_id=job_id + 1000,
                            submitted_at=NOW - timedelta(hours=1))  # fmt: skip
        session.execute(sa.update(Submission).where(Submission.id == row.submission_id)
                        .values(status="scored", gwp_kgco2e=0.2, energy_j=3.6e6))  # fmt: skip


def test_a_baselines_job_uses_no_quota_nor_budget_where_a_teams_is_refused(
    tmp_path: Path, world: World, sessions: SessionFactory
) -> None:
    config = write_event(tmp_path, gitlab_url=world.fake.url, budget_g=50.0, per_day=1, extra_sections=BASELINES)
    group = world.fake.find_or_create_group(GROUP)
    baseline = world.fake.create_project("logreg-baseline", namespace_id=group["id"])
    _used_today(sessions, config, name="team-a", project_id=world.project_id, job_id=11)
    _used_today(sessions, config, name="Logistic regression", project_id=int(baseline["id"]), job_id=12)
    client = _client(config, world, sessions, NOW)

    _, team_token = world.running_job()
    refused = client.post("/api/v1/jobs/self/budget-check", headers={"JOB-TOKEN": team_token})
    assert refused.status_code == 403, refused.text
    message = refused.json()["message"]
    assert "carbon budget is spent" in message and "submissions of today" in message

    _, baseline_token = world.running_job(project_id=int(baseline["id"]))
    allowed = client.post("/api/v1/jobs/self/budget-check", headers={"JOB-TOKEN": baseline_token})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["baseline"] is True and refused.json()["baseline"] is False
    assert allowed.json()["message"] == (
        "greenhack: submission allowed for the baseline Logistic regression: an organisers' baseline uses no "
        "submission quota nor carbon budget (200.0 gCO2e used so far)"
    )

    # outside the event's times the baseline is refused like a team, and its refusal keeps it a baseline
    late = _client(config, world, sessions, config.event.closes + timedelta(hours=1))
    _, token = world.running_job(project_id=int(baseline["id"]))
    closed = late.post("/api/v1/jobs/self/budget-check", headers={"JOB-TOKEN": token})
    assert closed.status_code == 403 and "the event closed" in closed.json()["message"], closed.text
    assert closed.json()["reasons"] == [
        "the event closed at 2030-12-31T17:00:00+01:00; no more submissions are run"
    ]
    with sessions() as session:
        flags = dict(session.execute(sa.select(Team.name, Team.baseline)).all())
    assert flags == {"team-a": False, "Logistic regression": True}


def test_the_gitlab_report_of_a_baselines_job_tells_no_quota_nor_budget(
    tmp_path: Path, world: World, sessions: SessionFactory
) -> None:
    config = write_event(tmp_path, gitlab_url=world.fake.url, budget_g=50.0, per_day=3, extra_sections=BASELINES)
    ids = {}
    with transaction(sessions, "seeding") as session:
        event = crud.ensure_event(session=session, name=config.event.name)
        for name, project, baseline in (("team-a", 1, False), ("Logistic regression", 2, True)):
            team = crud.ensure_team(session=session, event_id=event.id, name=name, gitlab_project_id=project,
                                    baseline=baseline)  # fmt: skip
            row = queue.enqueue(session=session, event_id=event.id, team_id=team.id, gitlab_project_id=project,
                                gitlab_job_id=30 + project, gitlab_pipeline_id=40 + project, commit_sha="ab" * 20,
                                submitted_at=NOW - timedelta(hours=1))  # fmt: skip
            ids[name] = row.submission_id
    with sessions() as session:
        team = load_report(session, config=config, submission_id=ids["team-a"], public_url="http://b", now=NOW)
        base = load_report(session, config=config, submission_id=ids["Logistic regression"], public_url="http://b",
                           now=NOW)  # fmt: skip
    assert (team.budget_g, team.submissions_left_today) == (50.0, 2)
    assert (base.budget_g, base.submissions_left_today, base.submissions_left_total) == (None, None, None)
    body = comment_body(base)
    assert "submissions left today" not in body and "budget" not in body

"""A team is its GitLab project (the project's id), named by the project's path below the event's group.

Twin projects in two subgroups (``track1/alpha``, ``track2/alpha``) are two teams, through the webhook and the
reconciler alike; a rename renames the team (its submissions stay); a project deleted and recreated at the same
path is a new team whose name stays unique; one job that cannot be queued does not stop the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from gitlab_support import WEBHOOK_SECRET, perfect_predictions, small_event_config
from pydantic import SecretStr

from greenhack.config import EventConfig
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.models import CiJob, ProjectRef
from greenhack.intake import team_name_of
from greenhack.reconciler import reconcile
from greenhack.store import crud
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission, Team
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.web.hooks import make_hook_router

GROUP = "green-ai-hack-2026"
HOOK_URL = "http://testserver/api/v1/hooks/gitlab"


@pytest.fixture
def event(tmp_path: Path, fake_gitlab: FakeGitLab) -> EventConfig:
    return small_event_config(tmp_path, name="Identity test", gitlab_url=fake_gitlab.url, group=GROUP)


@pytest.fixture
def hooks(event: EventConfig, sessions: SessionFactory, clean_db: None) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(
        make_hook_router(config=event, sessions=lambda: sessions, webhook_secret=SecretStr(WEBHOOK_SECRET))
    )
    with TestClient(app) as client:
        yield client


def _project(fake: FakeGitLab, path: str) -> dict[str, Any]:
    """A team project at ``path`` below the event's group (its subgroups created), with the platform's webhook."""
    namespace, _, name = f"{GROUP}/{path}".rpartition("/")
    project = fake.create_project(name, namespace_id=fake.find_or_create_group(namespace)["id"])
    fake.add_hook(
        project["id"],
        {"url": HOOK_URL, "token": WEBHOOK_SECRET, "job_events": True, "pipeline_events": True},
    )
    return project


def _job(fake: FakeGitLab, project_id: int, *, minutes_ago: float = 1.0) -> int:
    end = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    job = fake.run_job(
        project_id,
        started_at=end - timedelta(seconds=30),
        finished_at=end,
        runner_id=fake.runner_id("gpu-1 runner", tags=["green-ai-gpu-1"]),
        tags=["green-ai-gpu-1"],
        artifacts={"predictions.csv": perfect_predictions()},
    )
    return int(job["id"])


def _teams(sessions: SessionFactory) -> dict[int, tuple[int, str]]:
    """GitLab project id -> (team id, team name)."""
    with sessions() as session:
        rows = session.execute(sa.select(Team.gitlab_project_id, Team.id, Team.name)).all()
    return {int(r.gitlab_project_id): (int(r.id), str(r.name)) for r in rows}


def _gateway(fake: FakeGitLab) -> GitLabGateway:
    return GitLabGateway(make_gitlab_client(fake.url, fake.token))


def test_the_display_name_is_the_path_below_the_group() -> None:
    assert team_name_of(f"{GROUP}/track1/alpha", 7, group=GROUP) == "track1/alpha"
    assert team_name_of("Green-AI-Hack-2026/beta", 7, group=GROUP) == "beta"  # GitLab paths ignore case
    assert team_name_of("someone/else", 7, group=GROUP) == "someone/else"
    assert team_name_of("", 7, group=GROUP) == "project-7"


def test_twin_projects_in_subgroups_are_two_teams_through_the_webhook(
    fake_gitlab: FakeGitLab, hooks: TestClient, sessions: SessionFactory
) -> None:
    one, two = _project(fake_gitlab, "track1/alpha"), _project(fake_gitlab, "track2/alpha")
    for project in (one, two):
        sent = fake_gitlab.deliver_job_hook(_job(fake_gitlab, project["id"]), client=hooks)
        assert [s.status_code for s in sent] == [202]
    teams = _teams(sessions)
    assert {pid: name for pid, (_, name) in teams.items()} == {
        one["id"]: "track1/alpha",
        two["id"]: "track2/alpha",
    }


def test_twin_projects_in_subgroups_are_all_queued_by_the_reconciler(
    fake_gitlab: FakeGitLab, event: EventConfig, sessions: SessionFactory, clean_db: None
) -> None:
    projects = [_project(fake_gitlab, p) for p in ("track1/alpha", "track2/alpha", "beta")]
    jobs = [_job(fake_gitlab, p["id"]) for p in projects]
    report = reconcile(config=event, gitlab=_gateway(fake_gitlab), sessions=sessions, now=datetime.now(UTC))
    assert report.projects == 3  # the subgroups' projects are listed too
    assert sorted(report.queued) == sorted(jobs)
    assert sorted(name for _, name in _teams(sessions).values()) == ["beta", "track1/alpha", "track2/alpha"]


def test_a_renamed_project_renames_its_team_and_keeps_its_submissions(
    fake_gitlab: FakeGitLab, event: EventConfig, hooks: TestClient, sessions: SessionFactory
) -> None:
    project = _project(fake_gitlab, "track1/alpha")
    first = _job(fake_gitlab, project["id"], minutes_ago=3)
    fake_gitlab.deliver_job_hook(first, client=hooks)
    (team_id, name) = _teams(sessions)[project["id"]]
    assert name == "track1/alpha"

    fake_gitlab.rename_project(project["id"], "alpha-prime")
    second = _job(fake_gitlab, project["id"])
    reconcile(config=event, gitlab=_gateway(fake_gitlab), sessions=sessions, now=datetime.now(UTC))
    assert _teams(sessions) == {project["id"]: (team_id, "track1/alpha-prime")}
    with sessions() as session:
        owners = session.execute(sa.select(Submission.gitlab_job_id, Submission.team_id)).all()
    assert sorted(owners) == [(first, team_id), (second, team_id)]


def test_a_project_recreated_at_the_same_path_is_a_new_team_with_a_unique_name(
    fake_gitlab: FakeGitLab, event: EventConfig, hooks: TestClient, sessions: SessionFactory
) -> None:
    old = _project(fake_gitlab, "track1/alpha")
    fake_gitlab.deliver_job_hook(_job(fake_gitlab, old["id"], minutes_ago=3), client=hooks)
    fake_gitlab.delete_project(old["id"])
    new = _project(fake_gitlab, "track1/alpha")
    assert new["id"] != old["id"]
    sent = fake_gitlab.deliver_job_hook(_job(fake_gitlab, new["id"]), client=hooks)
    assert [s.status_code for s in sent] == [202]
    reconcile(config=event, gitlab=_gateway(fake_gitlab), sessions=sessions, now=datetime.now(UTC))
    teams = _teams(sessions)
    assert teams[old["id"]][1] == "track1/alpha"
    assert teams[new["id"]][1] == f"track1/alpha (project {new['id']})"
    assert teams[old["id"]][0] != teams[new["id"]][0]


def test_a_rename_onto_a_taken_name_keeps_both_names_unique(
    event: EventConfig, sessions: SessionFactory, clean_db: None
) -> None:
    with transaction(sessions, "seeding") as session:
        event_id = crud.ensure_event(session=session, name=event.event.name).id
        a = crud.ensure_team(session=session, event_id=event_id, name="alpha", gitlab_project_id=1)
        b = crud.ensure_team(session=session, event_id=event_id, name="beta", gitlab_project_id=2)
        renamed = crud.ensure_team(
            session=session, event_id=event_id, name="alpha", gitlab_project_id=2, gitlab_path=f"{GROUP}/alpha",
            rename=True,
        )
        assert (renamed.id, renamed.name, a.name) == (b.id, "alpha (project 2)", "alpha")
        again = crud.ensure_team(
            session=session, event_id=event_id, name="alpha", gitlab_project_id=2, gitlab_path=f"{GROUP}/alpha",
            rename=True,
        )
        assert again.name == "alpha (project 2)"  # the next pass does not rename it again


class _Listing:
    """A GitLab that lists one project's jobs: one of them has a pipeline id no bigint column holds."""

    def __init__(self, jobs: list[CiJob]) -> None:
        self.jobs = jobs

    def group_projects(self, group: str) -> list[ProjectRef]:
        return [ProjectRef(id=41, path=f"{group}/track1/alpha")]

    def jobs_created_after(
        self, project: int, *, statuses: frozenset[str], created_after: datetime
    ) -> list[CiJob]:
        return self.jobs


def _ci_job(job_id: int, pipeline_id: int) -> CiJob:
    now = datetime.now(UTC)
    return CiJob.from_api(
        {
            "id": job_id,
            "name": "submission",
            "status": "success",
            "stage": "test",
            "created_at": (now - timedelta(minutes=2)).isoformat(),
            "started_at": (now - timedelta(minutes=2)).isoformat(),
            "finished_at": (now - timedelta(minutes=1)).isoformat(),
            "pipeline": {"id": pipeline_id, "project_id": 41},
            "web_url": f"https://gitlab.example/{GROUP}/track1/alpha/-/jobs/{job_id}",
        }
    )


def test_a_job_that_cannot_be_queued_is_reported_and_the_others_are_queued(
    event: EventConfig, sessions: SessionFactory, clean_db: None, caplog: pytest.LogCaptureFixture
) -> None:
    listing = _Listing([_ci_job(10, 100), _ci_job(11, 2**63), _ci_job(12, 102)])
    report = reconcile(config=event, gitlab=listing, sessions=sessions, now=datetime.now(UTC))
    assert sorted(report.queued) == [10, 12]
    assert len(report.errors) == 1 and "job 11" in report.errors[0], report.errors
    assert any("job 11" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    with sessions() as session:
        assert sorted(session.execute(sa.select(Submission.gitlab_job_id)).scalars()) == [10, 12]


def test_two_deliveries_racing_for_a_new_project_share_one_team(
    event: EventConfig, sessions: SessionFactory, clean_db: None
) -> None:
    """A Job Hook and a Pipeline Hook of a new project arrive together: the second insert waits for the first
    transaction, fails on the unique project id, and reads the first's team back instead of failing (a 503)."""
    import threading

    with transaction(sessions, "event") as session:
        event_id = crud.ensure_event(session=session, name=event.event.name).id
    first = sessions()
    first.begin()
    mine = crud.ensure_team(session=first, event_id=event_id, name="track1/alpha", gitlab_project_id=77)
    found: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with transaction(sessions, "second delivery") as session:
                team = crud.ensure_team(
                    session=session, event_id=event_id, name="track1/alpha", gitlab_project_id=77
                )
                found.append((team.id, team.name))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive()  # blocked on the first transaction's uncommitted row
    mine_id = mine.id
    first.commit()
    first.close()
    thread.join(timeout=10.0)
    assert errors == [] and found == [(mine_id, "track1/alpha")]

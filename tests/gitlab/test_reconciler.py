"""The reconciler's cost and exclusivity: one paginated job listing per project (not one request per pipeline),
paging stopped at the look-back's horizon, one pass at a time across workers sharing PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gitlab_support import perfect_predictions, small_event_config

from greenhack.config import EventConfig
from greenhack.errors import GitLabError
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.reconciler import reconcile
from greenhack.store.db import SessionFactory, create_db_engine
from greenhack.store.locks import lock_key, try_lock
from greenhack.testing.fake_gitlab import FakeGitLab

GROUP = "green-ai-hack-2026"


@pytest.fixture
def small_event(tmp_path: Path, fake_gitlab: FakeGitLab) -> EventConfig:
    return small_event_config(tmp_path, name="Reconciler test", gitlab_url=fake_gitlab.url, group=GROUP)


def _gateway(fake: FakeGitLab) -> GitLabGateway:
    return GitLabGateway(make_gitlab_client(fake.url, fake.token))


def _seed(fake: FakeGitLab, *, projects: int, pipelines: int, finished_at: datetime) -> list[int]:
    """``pipelines`` pipelines per project, each a lint job and a submission job; returns the submission ids."""
    group = fake.find_or_create_group(GROUP)
    runner = fake.runner_id("gpu-1 runner", tags=["green-ai-gpu-1"])
    ids: list[int] = []
    for p in range(projects):
        project = fake.create_project(f"team-{p}", namespace_id=group["id"])
        for _ in range(pipelines):
            lint = fake.run_job(
                project["id"], name="lint", started_at=finished_at - timedelta(seconds=40),
                finished_at=finished_at - timedelta(seconds=30), runner_id=runner,
            )  # fmt: skip
            job = fake.run_job(
                project["id"], started_at=finished_at - timedelta(seconds=25), finished_at=finished_at,
                runner_id=runner, tags=["green-ai-gpu-1"], pipeline_id=lint["pipeline"]["id"],
                artifacts={"predictions.csv": perfect_predictions()},
            )  # fmt: skip
            ids.append(int(job["id"]))
    return ids


def _listing_requests(fake: FakeGitLab) -> list[str]:
    return [path for method, path in fake.requests if method == "GET"]


def test_a_pass_costs_one_listing_per_project_not_one_request_per_pipeline(
    fake_gitlab: FakeGitLab, small_event: EventConfig, sessions: SessionFactory, clean_db: None
) -> None:
    now = datetime.now(UTC)
    ids = _seed(fake_gitlab, projects=4, pipelines=30, finished_at=now - timedelta(seconds=30))
    fake_gitlab.requests.clear()
    report = reconcile(
        config=small_event,
        gitlab=_gateway(fake_gitlab),
        sessions=sessions,
        now=now,
        lookback=timedelta(minutes=3),
    )
    assert sorted(report.queued) == sorted(ids)
    assert (report.projects, report.jobs_seen) == (4, 120)
    paths = _listing_requests(fake_gitlab)
    # the group listing, then 60 jobs per project in one page of 100: nothing per pipeline
    assert len(paths) == 1 + 4, paths
    assert not [p for p in paths if "/pipelines" in p]


def test_paging_stops_at_the_horizon_and_old_jobs_are_not_queued(
    fake_gitlab: FakeGitLab, small_event: EventConfig, sessions: SessionFactory, clean_db: None
) -> None:
    now = datetime.now(UTC)
    old = _seed(fake_gitlab, projects=1, pipelines=150, finished_at=now - timedelta(hours=2))
    project_id = fake_gitlab.project_json(f"{GROUP}/team-0")["id"]
    runner = fake_gitlab.runner_id("gpu-1 runner", tags=["green-ai-gpu-1"])
    recent = [
        int(
            fake_gitlab.run_job(
                project_id,
                started_at=now - timedelta(seconds=50),
                finished_at=now - timedelta(seconds=20),
                runner_id=runner,
                tags=["green-ai-gpu-1"],
                artifacts={"predictions.csv": perfect_predictions()},
            )["id"]
        )
        for _ in range(3)
    ]
    fake_gitlab.requests.clear()
    report = reconcile(
        config=small_event,
        gitlab=_gateway(fake_gitlab),
        sessions=sessions,
        now=now,
        lookback=timedelta(minutes=3),
    )
    assert sorted(report.queued) == sorted(recent)
    assert not set(report.queued) & set(old)
    # 303 finished jobs (3 pages of 100) but the first page already reaches jobs created 2 h ago
    assert len(_listing_requests(fake_gitlab)) == 1 + 1


def test_jobs_finished_before_the_lookback_are_left_alone(
    fake_gitlab: FakeGitLab, small_event: EventConfig, sessions: SessionFactory, clean_db: None
) -> None:
    now = datetime.now(UTC)
    # created within lookback + job_timeout (so listed) but finished before the look-back: not queued
    _seed(fake_gitlab, projects=1, pipelines=2, finished_at=now - timedelta(minutes=5))
    report = reconcile(
        config=small_event,
        gitlab=_gateway(fake_gitlab),
        sessions=sessions,
        now=now,
        lookback=timedelta(minutes=3),
    )
    assert (report.jobs_seen, report.queued) == (0, ())


def test_one_failing_project_does_not_hide_the_others(
    fake_gitlab: FakeGitLab, small_event: EventConfig, sessions: SessionFactory, clean_db: None
) -> None:
    now = datetime.now(UTC)
    ids = _seed(fake_gitlab, projects=2, pipelines=2, finished_at=now - timedelta(seconds=10))
    failing = fake_gitlab.project_json(f"{GROUP}/team-0")["id"]
    fake_gitlab.fail(rf"GET /api/v4/projects/{failing}/jobs$", status=500)
    report = reconcile(config=small_event, gitlab=_gateway(fake_gitlab), sessions=sessions, now=now)
    assert sorted(report.queued) == sorted(ids[2:])
    assert len(report.errors) == 1 and "team-0" in report.errors[0]


def test_the_listing_pages_with_several_scopes_newest_first(fake_gitlab: FakeGitLab) -> None:
    now = datetime.now(UTC)
    group = fake_gitlab.find_or_create_group(GROUP)
    project = fake_gitlab.create_project("team-x", namespace_id=group["id"])
    statuses = ["success", "failed", "canceled", "running"] * 40
    made = [
        int(
            fake_gitlab.run_job(
                project["id"],
                status=status,
                started_at=now - timedelta(seconds=30),
                finished_at=None if status == "running" else now,
                runner_id=None,
            )["id"]
        )
        for status in statuses
    ]
    fake_gitlab.requests.clear()
    jobs = _gateway(fake_gitlab).jobs_created_after(
        project["id"], statuses={"success", "failed"}, created_after=now - timedelta(hours=1), per_page=30
    )
    wanted = [i for i, s in zip(made, statuses, strict=True) if s in ("success", "failed")]
    assert [j.id for j in jobs] == sorted(wanted, reverse=True)  # both scopes kept on every page
    assert len(fake_gitlab.requests) == 3  # 80 jobs, 30 a page


def test_the_fake_refuses_an_unknown_scope_and_sorts_ascending_on_request(fake_gitlab: FakeGitLab) -> None:
    import httpx

    group = fake_gitlab.find_or_create_group(GROUP)
    project = fake_gitlab.create_project("team-y", namespace_id=group["id"])
    now = datetime.now(UTC)
    for _ in range(3):
        fake_gitlab.run_job(project["id"], started_at=now, finished_at=now, runner_id=None)
    headers = {"PRIVATE-TOKEN": fake_gitlab.token}
    base = f"{fake_gitlab.url}/api/v4/projects/{project['id']}/jobs"
    bad = httpx.get(base, params={"scope[]": ["success", "finished"]}, headers=headers)
    assert bad.status_code == 400 and "scope" in bad.json()["message"]
    asc = httpx.get(base, params={"sort": "asc", "per_page": 2}, headers=headers)
    ids = [j["id"] for j in asc.json()]
    assert ids == sorted(ids) and asc.headers["X-Next-Page"] == "2" and asc.headers["X-Total"] == "3"
    with pytest.raises(GitLabError):
        _gateway(fake_gitlab).jobs_created_after(project["id"], statuses={"finished"}, created_after=now)


def test_only_one_process_holds_the_reconciler_lock(gitlab_db_url: str, tmp_path: Path) -> None:
    first, second = create_db_engine(gitlab_db_url), create_db_engine(gitlab_db_url)
    try:
        with try_lock(first, "greenhack-reconciler:Event A") as held:
            assert held
            with try_lock(second, "greenhack-reconciler:Event A") as other:
                assert not other
            with try_lock(second, "greenhack-reconciler:Event B") as other_event:
                assert other_event
        with try_lock(second, "greenhack-reconciler:Event A") as after:
            assert after  # released at the end of the block
    finally:
        first.dispose()
        second.dispose()
    assert lock_key("x") == lock_key("x") and -(2**31) <= lock_key("greenhack-reconciler:Event A") < 2**31
    sqlite = create_db_engine(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        with try_lock(sqlite, "greenhack-reconciler:Event A") as a, try_lock(sqlite, "x") as b:
            assert a and b  # SQLite: one worker process is the norm, no lock
    finally:
        sqlite.dispose()

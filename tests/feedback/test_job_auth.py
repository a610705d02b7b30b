"""CI_JOB_TOKEN checks against the fake GitLab's GET /api/v4/job: valid, unknown, expired and foreign tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fb_world import GROUP, World, write_event

from greenhack.config import EventConfig
from greenhack.errors import GitLabUnavailable, JobTokenError
from greenhack.feedback.job_auth import JobTokenVerifier


@pytest.fixture
def config(tmp_path: Path, world: World) -> EventConfig:
    return write_event(
        tmp_path, gitlab_url=world.fake.url, submission_jobs=("submission", "submission-train")
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def _job_calls(world: World) -> int:
    return sum(1 for method, path in world.fake.requests if path == "/api/v4/job")


def test_a_running_jobs_token_names_the_job_its_team_and_server(
    world: World, config: EventConfig, http: httpx.Client
) -> None:
    job, token = world.running_job()
    verified = JobTokenVerifier(config, http=http).verify(token)
    assert verified.job.id == job["id"]
    assert verified.job.project_id == world.project_id
    assert verified.team_name == "team-a"
    assert verified.server.name == "gpu-1"
    assert verified.phase == "single"
    assert verified.job.started_at is not None


def test_an_unknown_token_is_401(world: World, config: EventConfig, http: httpx.Client) -> None:
    with pytest.raises(JobTokenError) as caught:
        JobTokenVerifier(config, http=http).verify("glcbt-not-a-token")
    assert caught.value.status_code == 401
    with pytest.raises(JobTokenError) as missing:
        JobTokenVerifier(config, http=http).verify(None)
    assert missing.value.status_code == 401
    assert "CI_JOB_TOKEN" in str(missing.value)


def test_the_token_of_a_finished_job_is_401(world: World, config: EventConfig, http: httpx.Client) -> None:
    job, token = world.running_job()
    world.fake.set_job_status(int(job["id"]), "success", finished_at=datetime.now(UTC))
    with pytest.raises(JobTokenError) as caught:
        JobTokenVerifier(config, http=http).verify(token)
    assert caught.value.status_code == 401
    assert "finished" in str(caught.value)


def test_a_job_of_a_project_outside_the_event_is_403(
    world: World, config: EventConfig, http: httpx.Client
) -> None:
    other = world.fake.create_project(
        "side-project", namespace_id=world.fake.find_or_create_group("someone")["id"]
    )
    _, token = world.running_job(project_id=int(other["id"]))
    with pytest.raises(JobTokenError) as caught:
        JobTokenVerifier(config, http=http).verify(token)
    assert caught.value.status_code == 403
    assert f"not a team project of Feedback test (group {GROUP})" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": "lint"}, "only the measured submission job(s)"),
        ({"tags": ("cpu",)}, "none of which sends jobs to a measured server"),
        ({"runner": "project_type"}, "project runner"),
    ],
)
def test_jobs_that_are_not_measured_submissions_are_403(
    world: World, config: EventConfig, http: httpx.Client, kwargs: dict[str, Any], words: str
) -> None:
    runner = kwargs.pop("runner", None)
    if runner:
        kwargs["runner_id"] = world.fake.add_runner(
            "team laptop", tags=["green-ai-gpu-1"], runner_type="project_type"
        )
    _, token = world.running_job(**kwargs)
    with pytest.raises(JobTokenError) as caught:
        JobTokenVerifier(config, http=http).verify(token)
    assert caught.value.status_code == 403
    assert words in str(caught.value)


def test_train_phase_jobs_are_recognised(world: World, config: EventConfig, http: httpx.Client) -> None:
    _, token = world.running_job(name="submission-train")
    assert JobTokenVerifier(config, http=http).verify(token).phase == "train"


def test_positive_answers_are_cached_briefly_and_refusals_never(
    world: World, config: EventConfig, http: httpx.Client
) -> None:
    clock = [100.0]
    verifier = JobTokenVerifier(config, http=http, ttl_s=15.0, clock=lambda: clock[0])
    job, token = world.running_job()
    before = _job_calls(world)
    for _ in range(5):
        verifier.verify(token)
    assert _job_calls(world) == before + 1
    clock[0] += 16.0
    world.fake.set_job_status(int(job["id"]), "success", finished_at=datetime.now(UTC))
    with pytest.raises(JobTokenError):
        verifier.verify(token)
    for _ in range(2):
        with pytest.raises(JobTokenError):
            verifier.verify("glcbt-unknown")
    assert _job_calls(world) == before + 4


def test_gitlab_down_is_unavailable_not_a_refusal(
    world: World, config: EventConfig, http: httpx.Client
) -> None:
    _, token = world.running_job()
    world.fake.fail(r"GET /api/v4/job$", status=502, times=1)
    with pytest.raises(GitLabUnavailable):
        JobTokenVerifier(config, http=http).verify(token)

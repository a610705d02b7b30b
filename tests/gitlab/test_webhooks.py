"""Webhook bodies as GitLab documents them (webhook_events.md), the REST job entity (jobs.md), and the fake's
payloads, parsed into typed values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from greenhack.errors import GitLabError, GitLabUnavailable, WebhookPayloadError
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.models import CiJob, parse_gitlab_time, project_path_from_web_url
from greenhack.gitlab.webhooks import JobHook, PipelineHook, parse_webhook
from greenhack.testing.fake_gitlab import FakeGitLab

# The documented Job Hook example (comments removed), verbatim in its fields.
DOCUMENTED_JOB_HOOK = {
    "object_kind": "build",
    "ref": "gitlab-script-trigger",
    "tag": False,
    "before_sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
    "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
    "build_id": 1977,
    "build_name": "test",
    "build_stage": "test",
    "build_status": "created",
    "build_created_at": "2021-02-23T02:41:37.886Z",
    "build_created_at_iso": "2021-02-23T02:41:37Z",
    "build_started_at": None,
    "build_started_at_iso": None,
    "build_finished_at": None,
    "build_finished_at_iso": None,
    "build_duration": None,
    "build_queued_duration": 1095.588715,
    "build_allow_failure": False,
    "build_failure_reason": "script_failure",
    "retries_count": 2,
    "pipeline_id": 2366,
    "project_id": 380,
    "project_name": "gitlab-org/gitlab-test",
    "user": {"id": 3, "name": "User", "email": "user@gitlab.com", "avatar_url": None},
    "commit": {
        "id": 2366,
        "name": "Build pipeline",
        "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
        "message": "test\n",
        "author_name": "User",
        "author_email": "user@gitlab.com",
        "status": "created",
        "duration": None,
        "started_at": None,
        "started_at_iso": None,
        "finished_at": None,
        "finished_at_iso": None,
    },
    "repository": {
        "name": "gitlab_test",
        "description": "",
        "homepage": "http://192.168.64.1:3005/gitlab-org/gitlab-test",
        "git_ssh_url": "git@192.168.64.1:gitlab-org/gitlab-test.git",
        "git_http_url": "http://192.168.64.1:3005/gitlab-org/gitlab-test.git",
        "visibility_level": 20,
    },
    "project": {
        "id": 380,
        "name": "Gitlab Test",
        "description": "",
        "web_url": "http://192.168.64.1:3005/gitlab-org/gitlab-test",
        "avatar_url": None,
        "git_ssh_url": "git@192.168.64.1:gitlab-org/gitlab-test.git",
        "git_http_url": "http://192.168.64.1:3005/gitlab-org/gitlab-test.git",
        "namespace": "Gitlab Org",
        "visibility_level": 20,
        "path_with_namespace": "gitlab-org/gitlab-test",
        "default_branch": "master",
    },
    "runner": {
        "active": True,
        "runner_type": "project_type",
        "is_shared": False,
        "id": 380987,
        "description": "shared-runners-manager-6.gitlab.com",
        "tags": ["linux", "docker"],
    },
    "environment": None,
    "source_pipeline": {
        "project": {
            "id": 41,
            "web_url": "https://gitlab.example.com/gitlab-org/upstream-project",
            "path_with_namespace": "gitlab-org/upstream-project",
        },
        "pipeline_id": 30,
        "job_id": 3401,
    },
}

# The documented "Get a single job" response.
DOCUMENTED_JOB = {
    "commit": {
        "author_email": "admin@example.com",
        "author_name": "Administrator",
        "created_at": "2015-12-24T16:51:14.000+01:00",
        "id": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd",
        "message": "Test the CI integration.",
        "short_id": "0ff3ae19",
        "title": "Test the CI integration.",
    },
    "coverage": None,
    "allow_failure": False,
    "created_at": "2015-12-24T15:51:21.880Z",
    "started_at": "2015-12-24T17:54:30.733Z",
    "finished_at": "2015-12-24T17:54:31.198Z",
    "duration": 0.465,
    "queued_duration": 0.010,
    "artifacts_expire_at": "2016-01-23T17:54:31.198Z",
    "tag_list": ["docker runner", "macos-10.15"],
    "id": 8,
    "name": "rubocop",
    "pipeline": {
        "id": 6,
        "project_id": 1,
        "ref": "main",
        "sha": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd",
        "status": "pending",
    },
    "ref": "main",
    "artifacts": [],
    "runner": None,
    "stage": "test",
    "status": "failed",
    "tag": False,
    "web_url": "https://example.com/foo/bar/-/jobs/8",
    "project": {"ci_job_token_scope_enabled": False},
    "user": {"id": 1, "name": "Administrator", "username": "root"},
}


def test_documented_job_hook_parses() -> None:
    hook = parse_webhook("Job Hook", json.dumps(DOCUMENTED_JOB_HOOK).encode())
    assert isinstance(hook, JobHook)
    job = hook.job
    assert (
        job.project_id,
        job.project_path,
        job.job_id,
        job.name,
        job.stage,
        job.status,
        job.pipeline_id,
    ) == (380, "gitlab-org/gitlab-test", 1977, "test", "test", "created", 2366)
    assert not job.final
    assert parse_webhook(
        "System Hook", json.dumps({**DOCUMENTED_JOB_HOOK, "build_status": "success"}).encode()
    )


def test_other_events_are_ignored_and_bad_bodies_refused() -> None:
    assert parse_webhook("Push Hook", b'{"object_kind": "push"}') is None
    with pytest.raises(WebhookPayloadError, match="not JSON"):
        parse_webhook("Job Hook", b"{")
    with pytest.raises(WebhookPayloadError, match="build_id"):
        parse_webhook("Job Hook", json.dumps({**DOCUMENTED_JOB_HOOK, "build_id": "1977"}).encode())
    with pytest.raises(WebhookPayloadError, match="does not match"):
        parse_webhook("Pipeline Hook", json.dumps(DOCUMENTED_JOB_HOOK).encode())


def test_fake_gitlab_payloads_parse_like_documented_ones() -> None:
    fake = FakeGitLab()
    group = fake.create_group("grp")
    project = fake.create_project("team", namespace_id=group["id"])
    runner = fake.add_runner("gpu", tags=["t"])
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    job = fake.run_job(
        project["id"],
        started_at=start,
        finished_at=start + timedelta(seconds=30),
        runner_id=runner,
        tags=["t"],
    )
    payload = fake.job_hook_payload(job["id"])
    assert set(DOCUMENTED_JOB_HOOK) - {"source_pipeline"} <= set(payload)
    hook = parse_webhook("Job Hook", json.dumps(payload).encode())
    assert isinstance(hook, JobHook) and hook.job.final and hook.job.project_path == "grp/team"
    pipeline = parse_webhook(
        "Pipeline Hook", json.dumps(fake.pipeline_hook_payload(job["pipeline"]["id"])).encode()
    )
    assert isinstance(pipeline, PipelineHook)
    assert [(j.job_id, j.status) for j in pipeline.jobs] == [(job["id"], "success")]
    parsed = CiJob.from_api(fake.job_json(job["id"]))
    assert parsed.started_at == start and parsed.duration_s == 30.0 and parsed.runner is not None


def test_documented_job_entity_parses() -> None:
    job = CiJob.from_api(DOCUMENTED_JOB)
    assert job.started_at == datetime(2015, 12, 24, 17, 54, 30, 733000, tzinfo=UTC)
    assert job.tag_list == ("docker runner", "macos-10.15")
    assert (job.project_id, job.project_path, job.pipeline_id, job.runner) == (1, "foo/bar", 6, None)
    assert job.finished and not job.has_archive


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-08-12 15:26:12 UTC", datetime(2016, 8, 12, 15, 26, 12, tzinfo=UTC)),
        ("2021-02-23T02:41:37.886Z", datetime(2021, 2, 23, 2, 41, 37, 886000, tzinfo=UTC)),
        ("2015-12-24T16:51:14.000+01:00", datetime(2015, 12, 24, 15, 51, 14, tzinfo=UTC)),
        (None, None),
    ],
)
def test_gitlab_times_are_parsed_aware(text: str | None, expected: datetime | None) -> None:
    assert parse_gitlab_time(text, field="t") == expected


def test_naive_or_garbled_times_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_gitlab_time("2016-08-12T15:26:12", field="started_at")
    with pytest.raises(ValueError, match="started_at"):
        parse_gitlab_time("yesterday", field="started_at")
    assert project_path_from_web_url("https://g.example/a/b/c/-/jobs/7") == "a/b/c"


def test_gateway_translates_errors() -> None:
    with FakeGitLab() as fake:
        url = fake.url
        gateway = GitLabGateway(make_gitlab_client(url, "wrong-token"))
        with pytest.raises(GitLabError) as refused:
            gateway.job(1, 1)
        assert refused.value.status_code == 401 and not isinstance(refused.value, GitLabUnavailable)
        fake.fail("GET", status=503)
        with pytest.raises(GitLabUnavailable):
            GitLabGateway(make_gitlab_client(fake.url, fake.token)).job(1, 1)
    with pytest.raises(GitLabUnavailable, match="no answer"):
        GitLabGateway(make_gitlab_client(url, fake.token, timeout_s=1)).job(1, 1)

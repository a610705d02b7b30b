"""A job's retry through the gateway (``POST /projects/:id/jobs/:job_id/retry``, an admin's re-measure) from the fake
GitLab: 201 and the new job, shaped as GitLab's (a clone in the same pipeline, a new id, ``pending``, no runner or
window yet), which the gateway reads as a CiJob; a job still running is not retryable (403), an unknown one 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from greenhack.errors import GitLabError
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.models import CiJob
from greenhack.testing.fake_gitlab import FakeGitLab

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

# python-gitlab's own sample of the retry's answer (python-gitlab, tests/unit/objects/test_jobs.py, resp_retry_job:
# 201 and a job entity, the one its other job tests use, shaped as in GitLab's doc/api/jobs.md), as it is
PYTHON_GITLAB_RETRY = {
    "commit": {"author_email": "admin@example.com", "author_name": "Administrator"},
    "coverage": None,
    "allow_failure": False,
    "created_at": "2015-12-24T15:51:21.880Z",
    "started_at": "2015-12-24T17:54:30.733Z",
    "finished_at": "2015-12-24T17:54:31.198Z",
    "duration": 0.465,
    "queued_duration": 0.010,
    "artifacts_expire_at": "2016-01-23T17:54:31.198Z",
    "tag_list": ["docker runner", "macos-10.15"],
    "id": 1,
    "name": "rubocop",
    "pipeline": {"id": 1, "project_id": 1},
    "ref": "main",
    "artifacts": [],
    "runner": None,
    "stage": "test",
    "status": "failed",
    "tag": False,
    "web_url": "https://example.com/foo/bar/-/jobs/1",
    "user": {"id": 1},
}


def test_python_gitlabs_sample_of_the_retry_answer_reads_as_a_job() -> None:
    job = CiJob.from_api(PYTHON_GITLAB_RETRY, project_id=1)
    assert (job.id, job.pipeline_id, job.name, job.runner) == (1, 1, "rubocop", None)


def test_a_finished_job_is_retried_in_its_pipeline_and_a_running_one_is_not() -> None:
    with FakeGitLab() as fake:
        group = fake.create_group("grp")
        project = fake.create_project("team", namespace_id=group["id"])["id"]
        runner = fake.add_runner("gpu-1", tags=["green-ai-gpu"])
        done = fake.run_job(project, started_at=START, finished_at=START + timedelta(minutes=1), runner_id=runner,
                            artifacts={"predictions.csv": b"id,label\n"})  # fmt: skip
        running = fake.run_job(project, status="running", started_at=START, finished_at=None, runner_id=runner)
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token))
        retried = gateway.retry_job(project, int(done["id"]))
        raw = httpx.post(f"{fake.url}/api/v4/projects/{project}/jobs/{done['id']}/retry",
                         headers={"PRIVATE-TOKEN": fake.token})  # fmt: skip
        with pytest.raises(GitLabError) as refused:
            gateway.retry_job(project, int(running["id"]))
        with pytest.raises(GitLabError) as unknown:
            gateway.retry_job(project, 999_999)
        again = gateway.job(project, retried.id)
        ran = fake.run_retried_job(retried.id, started_at=START + timedelta(minutes=5),
                                   finished_at=START + timedelta(minutes=6), runner_id=runner,
                                   artifacts={"predictions.csv": b"id,label\n"})  # fmt: skip
    assert raw.status_code == 201 and raw.json()["status"] == "pending"
    assert retried.id not in (done["id"], running["id"]) and retried.pipeline_id == done["pipeline"]["id"]
    assert (retried.name, retried.stage, retried.ref, retried.sha) == (done["name"], done["stage"], "main",
                                                                       done["pipeline"]["sha"])  # fmt: skip
    assert (retried.status, retried.started_at, retried.finished_at, retried.runner) == ("pending", None, None, None)
    assert retried.web_url.endswith(f"/-/jobs/{retried.id}") and not retried.artifacts
    assert again == retried and not again.finished
    assert refused.value.status_code == 403 and "not retryable" in str(refused.value)
    assert unknown.value.status_code == 404
    assert ran["status"] == "success" and ran["runner"]["id"] == runner and ran["started_at"] is not None

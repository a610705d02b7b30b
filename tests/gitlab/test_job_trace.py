"""The job log through the gateway (``GET /projects/:id/jobs/:job_id/trace``) from the fake GitLab: read whole,
capped, errors translated; and the script window read from what came back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from greenhack.errors import GitLabError, GitLabUnavailable
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.models import CiJob
from greenhack.gitlab.script_window import script_window
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.testing.runner_log import LogTimes, runner_log

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TIMES = LogTimes(
    started=START,
    command_start=START + timedelta(seconds=25.25),
    command_end=START + timedelta(seconds=55.5),
    finished=START + timedelta(seconds=59.5),
)


def _job(fake: FakeGitLab, *, log: str | None) -> tuple[int, int]:
    group = fake.create_group("grp")
    project = fake.create_project("team", namespace_id=group["id"])
    runner = fake.add_runner("gpu-1", tags=["green-ai-gpu"])
    job = fake.run_job(
        project["id"], started_at=TIMES.started, finished_at=TIMES.finished, runner_id=runner, log=log
    )
    return project["id"], job["id"]


def test_the_log_is_read_with_the_platforms_token_and_gives_the_script_window() -> None:
    log = runner_log(TIMES, team_lines=[(START + timedelta(seconds=30), "épоch 1 — loss 0.31")])
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=log)
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token))
        trace = gateway.job_trace(project, job_id, max_bytes=1 << 20)
        job = gateway.job(project, job_id)
        raw = httpx.get(f"{fake.url}/api/v4/projects/{project}/jobs/{job_id}/trace",
                        headers={"PRIVATE-TOKEN": fake.token})
    assert raw.headers["content-type"] == "text/plain"
    assert trace.text == log and not trace.truncated and trace.bytes_read == len(log.encode())
    # the job entity lists the log among its artifacts with its size, as GitLab does
    (entry,) = [a for a in job.artifacts if a.file_type == "trace"]
    assert entry.size_bytes == trace.bytes_read
    assert isinstance(job, CiJob) and job.started_at and job.finished_at
    window = script_window(trace.text, api_start=job.started_at, api_end=job.finished_at)
    assert (window.start.at, window.end.at) == (TIMES.command_start, TIMES.command_end)


def test_a_log_longer_than_the_limit_comes_back_cut_and_says_so() -> None:
    log = runner_log(TIMES, team_lines=[(START + timedelta(seconds=30 + i * 0.01), "x" * 200) for i in range(500)])
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=log)
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token))
        trace = gateway.job_trace(project, job_id, max_bytes=40_000)
    assert trace.truncated and trace.bytes_read == 40_000 and log.startswith(trace.text)
    window = script_window(trace.text, api_start=TIMES.started, api_end=TIMES.finished, truncated=True)
    assert window.fallback is not None and window.fallback.code == "log_truncated"
    assert window.start.at == TIMES.command_start and window.end.at == TIMES.finished


def test_a_job_without_a_log_reads_empty_and_errors_are_translated() -> None:
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=None)
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token))
        assert gateway.job_trace(project, job_id, max_bytes=1000).text == ""
        with pytest.raises(GitLabError) as missing:
            gateway.job_trace(project, job_id + 999, max_bytes=1000)
        assert missing.value.status_code == 404 and not isinstance(missing.value, GitLabUnavailable)
        with pytest.raises(GitLabError) as refused:
            GitLabGateway(make_gitlab_client(fake.url, "wrong")).job_trace(project, job_id, max_bytes=1000)
        assert refused.value.status_code == 401
        fake.fail(r"GET .*/trace$", status=502)
        with pytest.raises(GitLabUnavailable, match="log of job"):
            gateway.job_trace(project, job_id, max_bytes=1000)
        with pytest.raises(ValueError, match="positive"):
            gateway.job_trace(project, job_id, max_bytes=0)

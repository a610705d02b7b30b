"""The job log through the gateway (``GET /projects/:id/jobs/:job_id/trace``) from the fake GitLab: read whole,
capped, errors translated; and the script window read from what came back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from greenhack.errors import GitLabError, GitLabUnavailable
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.joblog import format_mark
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


def _chatty(lines: int, **kwargs: object) -> str:
    """A log whose team prints ``lines`` lines of 200 characters between the marks."""
    team = [(START + timedelta(seconds=30 + i * 0.001), f"step {i} " + "x" * 200) for i in range(lines)]
    return runner_log(TIMES, team_lines=team, **kwargs)  # type: ignore[arg-type]


def test_a_log_far_longer_than_the_limit_is_read_at_both_ends_and_gives_the_window() -> None:
    log = _chatty(5000)  # about 1 MB against a 40 kB limit
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=log)
        gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token))
        trace = gateway.job_trace(project, job_id, max_bytes=40_000)
    assert len(log.encode()) > 25 * 40_000
    assert trace.truncated and trace.bytes_read == len(log.encode())
    assert log.startswith(trace.text) and len(trace.text.encode()) == 40_000
    assert trace.tail is not None and log.endswith(trace.tail.text) and len(trace.tail.text.encode()) <= 40_000
    # the tail starts on a whole line, numbered as in the whole log
    all_lines = log.split("\n")
    assert trace.tail.text.split("\n")[0] == all_lines[trace.tail.first_line - 1]
    window = script_window(trace.text, api_start=TIMES.started, api_end=TIMES.finished, truncated=True,
                           tail=trace.tail)  # fmt: skip
    assert window.fallback is None
    assert (window.start.at, window.end.at) == (TIMES.command_start, TIMES.command_end)
    assert (window.start.source, window.end.source) == ("runner_timestamp", "runner_timestamp")
    assert all_lines[window.end.line - 1].endswith(format_mark("end", "script", TIMES.command_end))
    # without the runner's timestamps the marks' own times are read, from the tail too
    plain = _chatty(5000, timestamps=False)
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=plain)
        trace = GitLabGateway(make_gitlab_client(fake.url, fake.token)).job_trace(project, job_id, max_bytes=40_000)
    window = script_window(trace.text, api_start=TIMES.started, api_end=TIMES.finished, truncated=True,
                           tail=trace.tail)  # fmt: skip
    assert window.fallback is None and (window.end.at, window.end.source) == (TIMES.command_end, "mark")


def test_a_long_log_whose_end_mark_really_is_missing_still_says_so() -> None:
    # the team's command never returned: the log ends in its output, no end mark anywhere
    log = _chatty(5000).split("greenhack_mark:end:")[0] + "\n"
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=log)
        trace = GitLabGateway(make_gitlab_client(fake.url, fake.token)).job_trace(project, job_id, max_bytes=40_000)
    window = script_window(trace.text, api_start=TIMES.started, api_end=TIMES.finished, truncated=trace.truncated,
                           tail=trace.tail)  # fmt: skip
    assert window.fallback is not None and window.fallback.code == "log_truncated"
    assert window.start.at == TIMES.command_start and window.end.at == TIMES.finished


def test_a_log_up_to_twice_the_limit_comes_back_whole() -> None:
    log = _chatty(150)  # about 33 kB against a 20 kB limit: nothing between the two ends is left out
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=log)
        trace = GitLabGateway(make_gitlab_client(fake.url, fake.token)).job_trace(project, job_id, max_bytes=20_000)
    assert 20_000 < len(log.encode()) <= 40_000
    assert (trace.text, trace.truncated, trace.tail) == (log, False, None)


def test_the_fake_like_gitlab_ignores_a_range_header_on_the_trace() -> None:
    # GitLab serves the whole log whatever Range asks (gitlab-org/gitlab#30391, "Ranged requests on API CI job
    # trace", still a proposal): the platform reads the tail by streaming, not by asking for a range
    with FakeGitLab() as fake:
        project, job_id = _job(fake, log=runner_log(TIMES))
        raw = httpx.get(f"{fake.url}/api/v4/projects/{project}/jobs/{job_id}/trace",
                        headers={"PRIVATE-TOKEN": fake.token, "Range": "bytes=-100"})  # fmt: skip
    assert raw.status_code == 200 and raw.text == runner_log(TIMES)


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

"""The fake GitLab against real samples (tests/gitlab/samples, sources in its README): the entities it serves have
GitLab's keys with GitLab's types, ``failure_reason`` only on failed jobs, ``artifacts_file`` only when there is an
archive, ``tag_list`` sorted, and boolean parameters read as GitLab reads them (python-gitlab sends ``True``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.models import CiJob
from greenhack.testing.fake_gitlab import FakeGitLab

SAMPLES = Path(__file__).parent / "samples"
DOCS_JOBS: list[dict[str, Any]] = json.loads((SAMPLES / "gitlab_docs_jobs_list.json").read_text("utf-8"))
DOCS_PROJECT: dict[str, Any] = json.loads((SAMPLES / "gitlab_docs_project.json").read_text("utf-8"))
CLIENT_JOB: dict[str, Any] = json.loads((SAMPLES / "python_gitlab_failed_job.json").read_text("utf-8"))

# keys of the fake's project that the documentation's single-project example leaves out but GitLab sends to a
# project's maintainer: ci_config_path (Projects API attribute table, "ci_config_path"), and the namespace's
# parent_id (the same page's forked_from_project example)
DOCUMENTED_ELSEWHERE = {"ci_config_path", "namespace.parent_id"}


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _shape_problems(fake: Any, real: Any, where: str = "") -> list[str]:
    """Keys the fake has and the sample lacks, and values whose JSON types differ (null matches anything)."""
    problems: list[str] = []
    if isinstance(fake, dict) and isinstance(real, dict):
        for key, value in fake.items():
            path = f"{where}{key}"
            if key not in real:
                if path not in DOCUMENTED_ELSEWHERE:
                    problems.append(f"{path}: not in the sample")
                continue
            problems += _shape_problems(value, real[key], f"{path}.")
    elif isinstance(fake, list) and isinstance(real, list):
        for item in fake:
            if real:
                problems += _shape_problems(item, real[0], f"{where}[].")
    elif fake is not None and real is not None and _json_type(fake) != _json_type(real):
        problems.append(f"{where.rstrip('.')}: {_json_type(fake)} where GitLab has {_json_type(real)}")
    return problems


@pytest.fixture
def fake() -> Any:
    with FakeGitLab() as running:
        yield running


def _jobs(fake: FakeGitLab) -> tuple[dict[str, Any], dict[str, Any]]:
    """A successful job with an archive and tags in no order, and a failed one with nothing kept."""
    project = fake.create_project("alpha", namespace_id=fake.find_or_create_group("grp/track1")["id"])
    runner = fake.add_runner("gpu", tags=["green-ai-gpu-1", "docker"])
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    ok = fake.run_job(
        project["id"], started_at=start, finished_at=start + timedelta(seconds=30), runner_id=runner,
        tags=["zeta", "green-ai-gpu-1", "alpha"], artifacts={"predictions.csv": b"id,label\n"},
    )  # fmt: skip
    failed = fake.run_job(
        project["id"], status="failed", started_at=start, finished_at=start + timedelta(seconds=5),
        runner_id=runner, failure_reason="script_failure",
    )  # fmt: skip
    return ok, failed


def test_the_fakes_jobs_have_gitlabs_keys_and_types(fake: FakeGitLab) -> None:
    ok, failed = _jobs(fake)
    with_archive, without = DOCS_JOBS  # the documentation's job 7 keeps an archive, job 6 nothing
    assert _shape_problems(ok, with_archive) == []
    assert _shape_problems(failed, without) == []
    # what the platform reads is there, with the documentation's names
    for key in ("id", "name", "status", "stage", "created_at", "started_at", "finished_at", "pipeline", "runner",
                "tag_list", "artifacts", "web_url"):  # fmt: skip
        assert key in ok and key in with_archive, key


def test_failure_reason_and_artifacts_file_only_when_gitlab_sends_them(fake: FakeGitLab) -> None:
    ok, failed = _jobs(fake)
    assert "failure_reason" not in ok and failed["failure_reason"] == "script_failure"
    assert ok["artifacts_file"] == {"filename": "artifacts.zip", "size": len(b"id,label\n")}
    assert "artifacts_file" not in failed
    # as in the documentation: the failed job without artifacts has failure_reason and no artifacts_file
    assert "artifacts_file" not in DOCS_JOBS[1] and DOCS_JOBS[1]["failure_reason"]
    fake.set_job_status(int(ok["id"]), "failed")
    assert fake.job_json(int(ok["id"]))["failure_reason"] == "script_failure"
    fake.set_job_status(int(ok["id"]), "success")
    assert "failure_reason" not in fake.job_json(int(ok["id"]))


def test_tag_lists_come_sorted(fake: FakeGitLab) -> None:
    ok, _ = _jobs(fake)
    assert ok["tag_list"] == ["alpha", "green-ai-gpu-1", "zeta"]
    for job in DOCS_JOBS:
        assert job["tag_list"] == sorted(job["tag_list"])


def test_the_fakes_project_has_gitlabs_keys_and_types(fake: FakeGitLab) -> None:
    project = fake.create_project("alpha", namespace_id=fake.find_or_create_group("grp/track1")["id"])
    assert _shape_problems(fake.project_json(project["id"]), DOCS_PROJECT) == []
    assert project["path_with_namespace"] == "grp/track1/alpha"
    assert project["name_with_namespace"].endswith(" / alpha")  # a display name, like the sample's, no path


def test_the_samples_parse_into_jobs() -> None:
    with_archive, without = (CiJob.from_api(raw) for raw in DOCS_JOBS)
    assert (with_archive.project_path, with_archive.has_archive, with_archive.failure_reason) == (
        "foo/bar", True, "script_failure",
    )  # fmt: skip
    assert with_archive.runner is not None and with_archive.runner.runner_type == "instance_type"
    assert (without.has_archive, without.runner, without.failure_reason) == (
        False, None, "stuck_or_timeout_failure",
    )  # fmt: skip
    client = CiJob.from_api(CLIENT_JOB)
    assert (client.id, client.project_id, client.status, client.tag_list) == (
        1, 1, "failed", ("docker runner", "macos-10.15"),
    )  # fmt: skip
    assert client.failure_reason is None  # python-gitlab's sample leaves it out


@pytest.mark.parametrize("flag", ["True", "true", "1", "yes"])
def test_include_subgroups_is_read_as_gitlab_reads_booleans(fake: FakeGitLab, flag: str) -> None:
    group = fake.find_or_create_group("grp")
    fake.create_project("top", namespace_id=group["id"])
    fake.create_project("alpha", namespace_id=fake.find_or_create_group("grp/track1")["id"])
    answer = httpx.get(
        f"{fake.url}/api/v4/groups/grp/projects",
        params={"include_subgroups": flag},
        headers={"PRIVATE-TOKEN": fake.token},
    )
    assert sorted(p["path_with_namespace"] for p in answer.json()) == ["grp/top", "grp/track1/alpha"]


def test_python_gitlab_lists_subgroup_projects_and_bad_booleans_are_400(fake: FakeGitLab) -> None:
    group = fake.find_or_create_group("grp")
    fake.create_project("alpha", namespace_id=fake.find_or_create_group("grp/track1")["id"])
    fake.create_project("alpha", namespace_id=fake.find_or_create_group("grp/track2")["id"])
    gateway = GitLabGateway(make_gitlab_client(fake.url, fake.token))
    assert sorted(p.path for p in gateway.group_projects("grp")) == ["grp/track1/alpha", "grp/track2/alpha"]
    assert ("GET", f"/api/v4/groups/{group['full_path']}/projects") in fake.requests
    answer = httpx.get(
        f"{fake.url}/api/v4/groups/grp/projects",
        params={"include_subgroups": "maybe"},
        headers={"PRIVATE-TOKEN": fake.token},
    )
    assert answer.status_code == 400 and "include_subgroups is invalid" in answer.text

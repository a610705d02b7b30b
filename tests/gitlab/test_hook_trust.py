"""A webhook only says "look at this job": what is scored, for which team and at what time is GitLab's API's word.

A job of a project outside the event's group, or one whose real name is not a submission job, is not scored nor
ranked (a reason code says why) and uses no submission; the submission time is the API job's ``created_at``, not
the hook's ``build_created_at``; a hook without a ``project`` object names the team from ``GET /projects/:id``,
never from ``project_name`` (``"Owner / name"``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from gitlab_support import WEBHOOK_SECRET, Platform, Windows, command_log, perfect_predictions

from greenhack.gitlab.webhooks import parse_webhook
from greenhack.status import ReasonCode
from greenhack.store.models import Score, Team
from greenhack.testing.fake_gitlab import FakeGitLab

pytestmark = pytest.mark.slow

GROUP = "green-ai-hack-2026"
HOOK_URL = "http://testserver/api/v1/hooks/gitlab"


@pytest.fixture
def event_yaml(event_yaml: Path, windows: Windows) -> Path:
    """The loop's event, frozen an hour before the jobs of this module were created."""
    freeze = (windows.a[0] - timedelta(hours=1)).isoformat()
    text = event_yaml.read_text(encoding="utf-8")
    event_yaml.write_text(text.replace("  closes: ", f"  freeze: {freeze}\n  closes: ", 1), encoding="utf-8")
    return event_yaml


def _project(fake: FakeGitLab, full_path: str) -> int:
    namespace, _, name = full_path.rpartition("/")
    project = fake.create_project(name, namespace_id=fake.find_or_create_group(namespace)["id"])
    return int(project["id"])


def _job(platform: Platform, project_id: int, window: tuple[datetime, datetime], **kw: Any) -> dict[str, Any]:
    return platform.fake.run_job(
        project_id,
        started_at=window[0],
        finished_at=window[1],
        runner_id=platform.fake.runner_id("gpu-1 runner", tags=["green-ai-gpu-1"]),
        tags=["green-ai-gpu-1"],
        artifacts={"predictions.csv": perfect_predictions()},
        log=command_log(window),
        **kw,
    )


def _post(platform: Platform, body: dict[str, Any]) -> int:
    answer = platform.client.post(
        HOOK_URL,
        content=json.dumps(body).encode(),
        headers={
            "X-Gitlab-Event": "Job Hook",
            "X-Gitlab-Token": WEBHOOK_SECRET,
            "Content-Type": "application/json",
        },
    )
    return answer.status_code


def _ranked(platform: Platform) -> list[int]:
    with platform.sessions() as session:
        return list(session.execute(sa.select(Score.submission_id).where(Score.rank.is_not(None))).scalars())


def test_a_job_of_a_project_outside_the_group_is_not_scored(platform: Platform, windows: Windows) -> None:
    outside = _project(platform.fake, "someone-else/alpha")
    job = _job(platform, outside, windows.a)
    assert _post(platform, platform.fake.job_hook_payload(int(job["id"]))) == 202
    platform.drain()
    (sub,) = platform.submissions()
    assert (sub.status, sub.reason_code) == ("invalid", ReasonCode.NOT_EVENT_PROJECT), sub.reason
    assert "not in the event's group green-ai-hack-2026" in (sub.reason or "")
    assert sub.energy_j is None and not sub.counts_toward_limit
    assert _ranked(platform) == []


def test_a_job_whose_real_name_is_not_a_submission_job_is_not_scored(platform: Platform, windows: Windows) -> None:
    team = _project(platform.fake, f"{GROUP}/track1/alpha")
    lint = _job(platform, team, windows.a, name="lint")
    forged = {**platform.fake.job_hook_payload(int(lint["id"])), "build_name": "submission"}
    assert _post(platform, forged) == 202
    platform.drain()
    (sub,) = platform.submissions()
    assert (sub.status, sub.reason_code) == ("invalid", ReasonCode.NOT_SUBMISSION_JOB), sub.reason
    assert "'lint'" in (sub.reason or "")
    assert sub.energy_j is None and not sub.counts_toward_limit
    assert _ranked(platform) == []


def test_the_submission_time_is_the_api_jobs_created_at_not_the_hooks(
    platform: Platform, windows: Windows
) -> None:
    team = _project(platform.fake, f"{GROUP}/track1/alpha")
    job = _job(platform, team, windows.a)
    created = datetime.fromisoformat(job["created_at"])
    forged_time = created - timedelta(days=3)  # e.g. before the freeze
    forged = {
        **platform.fake.job_hook_payload(int(job["id"])),
        "build_created_at": forged_time.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "build_created_at_iso": forged_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert _post(platform, forged) == 202
    (queued,) = platform.submissions()
    assert queued.created_at > created  # queued at the hook's arrival, never at the time it claims
    platform.drain()
    (sub,) = platform.submissions()
    assert sub.status == "scored", sub.reason
    assert sub.created_at == created
    # created after the freeze: on the live board, not on the frozen one its forged time would have put it on
    assert platform.config.event.freeze is not None and forged_time < platform.config.event.freeze < created
    with platform.sessions() as session:
        boards = dict(
            session.execute(
                sa.select(Score.board, Score.rank).where(Score.submission_id == sub.id, Score.rank.is_not(None))
            ).all()
        )
    assert "live" in boards and "frozen" not in boards, boards


def test_a_hook_without_a_project_object_names_the_team_from_the_api(
    platform: Platform, windows: Windows
) -> None:
    team = _project(platform.fake, f"{GROUP}/track2/alpha")
    job = _job(platform, team, windows.a)
    body = platform.fake.job_hook_payload(int(job["id"]))
    del body["project"]  # older GitLab: only project_id and project_name ("Owner / name")
    assert body["project_name"] == "track2 / alpha"
    hook = parse_webhook("Job Hook", json.dumps(body).encode())
    assert hook is not None and hook.job.project_path == ""  # "Owner / name" is no path
    assert _post(platform, body) == 202
    platform.drain()
    (sub,) = platform.submissions()
    assert sub.status == "scored", sub.reason
    with platform.sessions() as session:
        names = list(session.execute(sa.select(Team.name)).scalars())
    assert names == ["track2/alpha"]

"""What a visitor may not read: the platform's internals (``last_error``), the GitLab job URL of a team's private
project, and reasons that carry the predictions' problems (truth labels) or a platform error; admins read all."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_support import DURING, Seeder, admin_headers

from greenhack.config import EventConfig
from greenhack.status import Reason, ReasonCode
from greenhack.store import crud
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.disclosure import public_reason
from greenhack.store.models import Submission

TRUTH_LEAK = "label 'zebra' never seen in the truth"
PLATFORM_ERROR = "PrometheusUnavailable: connection refused by 10.0.0.7:9090"
GITLAB_ERROR = "GitLabError: 403 Forbidden on project team-secret/solution"


def _set(sessions: SessionFactory, sid: int, **values: object) -> None:
    with transaction(sessions) as s:
        s.execute(sa.update(Submission).where(Submission.id == sid).values(**values))


def _pages(client: TestClient, ids: list[int], team_id: int, headers: dict[str, str]) -> str:
    """Everything a visitor (or an admin) can fetch about these submissions, concatenated."""
    paths = [f"/api/v1/submissions/{i}" for i in ids] + [f"/submissions/{i}" for i in ids]
    paths += [
        "/api/v1/submissions",
        f"/api/v1/teams/{team_id}",
        f"/teams/{team_id}",
        "/api/v1/leaderboard",
        "/",
    ]
    bodies = []
    for path in paths:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        bodies.append(response.text)
    return "\n".join(bodies)


def test_a_visitor_never_reads_internals_an_admin_does(
    client: TestClient, seed: Seeder, sessions: SessionFactory, event_config: EventConfig
) -> None:
    scored, invalid, review = seed(teams=1, per_team=3)
    _set(sessions, scored, last_error=PLATFORM_ERROR)
    _set(sessions, invalid, status="invalid", reason=TRUTH_LEAK)
    _set(sessions, review, status="needs_review", reason=GITLAB_ERROR)
    with transaction(sessions) as s:  # the needs_review row is listed on the public board with a note
        event = crud.ensure_event(session=s, name=event_config.event.name)
        refresh_boards(session=s, event_id=event.id, config=event_config, now=DURING)
    notes = {sc["note"] for sc in client.get(f"/api/v1/submissions/{review}").json()["scores"]}
    assert notes and all(n.endswith("needs review: an organiser reviews this job") for n in notes)
    team_id = client.get(f"/api/v1/submissions/{scored}").json()["submission"]["team_id"]

    visitor = _pages(client, [scored, invalid, review], team_id, {})
    for secret in (PLATFORM_ERROR, TRUTH_LEAK, "zebra", GITLAB_ERROR, "team-secret", "/-/jobs/"):
        assert secret not in visitor, secret
    detail = client.get(f"/api/v1/submissions/{invalid}").json()
    assert detail["last_error"] is None and detail["submission"]["job_url"] is None
    assert detail["submission"]["status"] == "invalid"  # what happened stays public, with a public reason
    assert "commit comment" in detail["submission"]["reason"]
    # the platform's transparency stays public: window, energy split, timeline, impacts, formula
    page = client.get(f"/submissions/{scored}").text
    assert "timeline-chart" in page and "CPU + memory" in page and 'class="formula"' in page

    admin = _pages(client, [scored, invalid, review], team_id, admin_headers())
    for secret in (PLATFORM_ERROR, TRUTH_LEAK, GITLAB_ERROR, "/-/jobs/"):
        assert secret in admin, secret
    assert client.get(f"/api/v1/submissions/{scored}", headers=admin_headers()).json()["last_error"] == (
        PLATFORM_ERROR
    )


def test_public_reasons_keep_what_is_transparency_and_hide_the_rest() -> None:
    def why(code: ReasonCode, text: str) -> Reason:
        return Reason(code=code, text=text)

    telemetry = why(ReasonCode.TELEMETRY, "telemetry: a 40 s gap")
    assert public_reason("needs_review", telemetry) == "telemetry: a 40 s gap"
    overlap = "its window on gpu-1 overlaps job(s) 12: neither energy can be trusted"
    assert public_reason("needs_review", why(ReasonCode.OVERLAP, overlap)) == overlap
    job_failed = why(ReasonCode.JOB_FAILED, "the job failed (script_failure); see its log in GitLab")
    assert (public_reason("invalid", job_failed) or "").startswith("the job")
    assert "zebra" not in (public_reason("invalid", why(ReasonCode.PREDICTIONS_INVALID, TRUTH_LEAK)) or "")
    assert PLATFORM_ERROR not in (
        public_reason("failed", why(ReasonCode.GAVE_UP, f"gave up after 8 attempts: {PLATFORM_ERROR}")) or ""
    )
    idle = why(ReasonCode.IDLE_BASELINE, "idle baseline: no samples")
    assert public_reason("needs_review", idle) == "an organiser reviews this job"
    assert public_reason("scored", None) is None


def test_the_code_decides_never_the_wording() -> None:
    # a predictions problem worded like a public reason stays private; a public code shows any wording
    leak = Reason(code=ReasonCode.PREDICTIONS_INVALID, text=f"the job wrote {TRUTH_LEAK}")
    assert public_reason("invalid", leak) == (
        "the predictions were rejected; the team's GitLab commit comment lists the problems"
    )
    gap = Reason(code=ReasonCode.TELEMETRY, text="a 40 s gap in the GPU exporter's samples")
    assert public_reason("needs_review", gap) == gap.text
    # a row stored without a code (or with one this version does not know) is private
    for code in (None, "a-code-from-the-future"):
        stored = Reason.stored(code=code, text="telemetry: a 40 s gap")
        assert stored is not None and stored.code is ReasonCode.UNCLASSIFIED
        assert public_reason("needs_review", stored) == "an organiser reviews this job"
    assert Reason.stored(code="telemetry", text=None) is None

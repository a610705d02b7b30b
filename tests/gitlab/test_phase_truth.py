"""A phase with its own truth file scores its submissions against it: the whole loop (fake GitLab, the real
Prometheus, BoaviztAPI and PostgreSQL) with a practice phase on task.truth and a final phase on a truth file whose
labels are the other way round; the same perfect predictions score 1.0 in the practice phase and 0.0 in the final
one, each job by the phase open when GitLab created it, and each is ranked on its own phase's boards."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from gitlab_support import INPUTS, WEBHOOK_SECRET, Platform, Windows, command_log, perfect_predictions

from greenhack.config import EventConfig, load_event
from greenhack.wiring import phase_truths

pytestmark = pytest.mark.slow


@pytest.fixture
def config(event_yaml: Path, windows: Windows) -> EventConfig:
    boundary = (windows.base + timedelta(minutes=4)).isoformat()  # between windows a and b
    (event_yaml.parent / "secrets" / "final-truth.csv").write_text(
        "id,label\n" + "".join(f"{i},{'small' if x > 5 else 'big'}\n" for i, x in INPUTS), encoding="utf-8"
    )
    text = event_yaml.read_text(encoding="utf-8") + (
        "phases:\n"
        f"  - {{name: practice, opens: 2026-01-01T09:00:00+01:00, closes: '{boundary}'}}\n"
        f"  - {{name: final, opens: '{boundary}', closes: 2027-12-31T17:00:00+01:00, truth: secrets/final-truth.csv}}\n"
    )
    event_yaml.write_text(text, encoding="utf-8")
    return load_event(event_yaml)


def test_each_phase_scores_against_its_own_truth(platform: Platform, windows: Windows, config: EventConfig) -> None:
    truths = phase_truths(config)
    assert set(truths) == {"final"}  # the practice phase scores on task.truth, read once by the context
    platform.ctx = replace(platform.ctx, phase_truths=truths)
    fake = platform.fake
    group = fake.find_or_create_group("green-ai-hack-2026")
    project = fake.create_project("team-a", namespace_id=group["id"])
    fake.add_hook(project["id"], {"url": "http://testserver/api/v1/hooks/gitlab", "token": WEBHOOK_SECRET,
                                  "job_events": True, "pipeline_events": True, "push_events": False})  # fmt: skip
    runner = fake.runner_id("gpu-1 runner", tags=["green-ai-gpu-1"])
    jobs = {}
    for phase, window in (("practice", windows.a), ("final", windows.b)):
        job = fake.run_job(
            project["id"], started_at=window[0], finished_at=window[1], runner_id=runner, tags=["green-ai-gpu-1"],
            artifacts={"predictions.csv": perfect_predictions()}, log=command_log(window),
        )  # fmt: skip
        fake.deliver_job_hook(int(job["id"]), status="success", client=platform.client)
        jobs[int(job["id"])] = phase
    platform.drain()
    by_phase = {jobs[s.gitlab_job_id]: s for s in platform.submissions()}
    assert {p: s.status for p, s in by_phase.items()} == {"practice": "scored", "final": "scored"}
    assert (by_phase["practice"].performance_public, by_phase["practice"].performance_private) == (1.0, 1.0)
    assert (by_phase["final"].performance_public, by_phase["final"].performance_private) == (0.0, 0.0)
    with platform.sessions() as session:
        boards = session.execute(
            sa.text("SELECT submission_id, phase, board FROM scores ORDER BY submission_id, board")
        ).all()
    assert {(r.phase, r.board) for r in boards if r.submission_id == by_phase["final"].id} == {
        ("final", "live"), ("final", "final"),
    }  # fmt: skip
    assert {r.phase for r in boards if r.submission_id == by_phase["practice"].id} == {"practice"}

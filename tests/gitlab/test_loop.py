"""The whole loop on the fake GitLab with the real Prometheus, BoaviztAPI and PostgreSQL of the test bench:
CI template (gitlab-ci-local) → job → Job Hook → queue → worker → evaluation → store; and its faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from gitlab_support import (
    GPU_BUSY_W,
    GPU_IDLE_W,
    HOST_BUSY_W,
    HOST_IDLE_W,
    WEBHOOK_SECRET,
    Platform,
    Windows,
    command_log,
    perfect_predictions,
)
from gl_cilocal import TeamRepo

from greenhack.services.boavizta import BoaviztaServer
from greenhack.services.prometheus import PrometheusServer
from greenhack.store import queue
from greenhack.store.models import Measurement, Performance, Submission
from greenhack.testing.fake_gitlab import FakeGitLab

pytestmark = pytest.mark.slow

HOOK_URL = "http://testserver/api/v1/hooks/gitlab"


def _team(fake: FakeGitLab, name: str = "team-a") -> tuple[int, int]:
    group = fake.find_or_create_group("green-ai-hack-2026")
    project = fake.create_project(name, namespace_id=group["id"])
    hook = {
        "url": HOOK_URL,
        "token": WEBHOOK_SECRET,
        "job_events": True,
        "pipeline_events": True,
        "push_events": False,
    }
    fake.add_hook(project["id"], hook)
    runner = fake.runner_id("gpu-1 runner", tags=["green-ai-gpu-1"])
    return project["id"], runner


def _job(fake: FakeGitLab, project_id: int, runner: int, window: tuple[datetime, datetime], **kw: Any) -> int:
    kw.setdefault("artifacts", {"predictions.csv": perfect_predictions()})
    kw.setdefault("log", command_log(window))
    job = fake.run_job(
        project_id,
        started_at=window[0],
        finished_at=window[1],
        runner_id=runner,
        tags=["green-ai-gpu-1"],
        **kw,
    )
    return int(job["id"])


def test_a_pushed_submission_is_measured_scored_and_ranked(
    platform: Platform, windows: Windows, expected_energy_j: Any, tmp_path: Path, hidden_inputs: Path
) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    # the team's push runs the CI template; its artifact is what GitLab keeps for the job
    repo = TeamRepo(tmp_path / "team-a")
    repo.write(
        "run.sh",
        'tail -n +2 "$GREENHACK_INPUTS_DIR/test.csv" | { echo id,label; while IFS=, read -r i x; do '
        'if [ "$x" -gt 5 ]; then echo "$i,big"; else echo "$i,small"; fi; done; } > "$GREENHACK_PREDICTIONS"\n',
    )
    repo.add_component()
    repo.write(
        ".gitlab-ci.yml",
        "include:\n  - component: $CI_SERVER_FQDN/green-ai-hack-2026/team-a/submission"
        "@$CI_COMMIT_SHA\n    inputs:\n      runner_tag: green-ai-gpu-1\n",
    )
    repo.commit()
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(hidden_inputs)})
    assert run.returncode == 0, run.output
    artifact = run.artifact("submission", "predictions.csv").read_bytes()
    assert artifact == perfect_predictions()

    job_id = _job(fake, project_id, runner, windows.a, artifacts={"predictions.csv": artifact})
    # GitLab sends a Job Hook per status change; the finished one queues the evaluation
    for status in ("pending", "running", "success"):
        sent = fake.deliver_job_hook(job_id, status=status, client=platform.client)
        assert [s.status_code for s in sent] == [200 if status != "success" else 202]
    platform.drain()

    (sub,) = platform.submissions()
    assert (sub.gitlab_project_id, sub.gitlab_job_id, sub.status) == (project_id, job_id, "scored"), (
        sub.reason
    )
    assert sub.server == "gpu-1"
    assert sub.created_at == windows.a[0] - timedelta(seconds=3)  # GitLab created the job before it started
    assert sub.window_start == windows.a[0] and sub.window_end == windows.a[1]
    assert sub.energy_j == pytest.approx(expected_energy_j(windows.a), rel=0.02)
    assert sub.gwp_kgco2e is not None and sub.gwp_kgco2e > 0
    assert sub.performance_public == 1.0 and sub.performance_private == 1.0
    with platform.sessions() as session:
        assert session.get(Measurement, sub.id) is not None
        assert session.execute(sa.select(sa.func.count()).select_from(Performance)).scalar_one() == 2
        ranks = session.execute(
            sa.text("SELECT board, rank FROM scores WHERE submission_id = :s"), {"s": sub.id}
        ).all()
    assert sorted(ranks) == [("final", 1), ("live", 1)]  # no freeze in this event: no frozen board


def test_duplicated_reordered_and_pipeline_hooks_give_one_evaluation(
    platform: Platform, windows: Windows
) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.b)
    statuses = []
    for status in ("success", "running", "success", "pending", "success"):
        statuses += [
            s.status_code for s in fake.deliver_job_hook(job_id, status=status, client=platform.client)
        ]
    statuses += [
        s.status_code
        for s in fake.deliver_pipeline_hook(fake.job_json(job_id)["pipeline"]["id"], client=platform.client)
    ]
    assert statuses == [202, 200, 202, 200, 202, 202]
    platform.drain()
    # a late duplicate after the evaluation changes nothing
    assert [s.status_code for s in fake.deliver_job_hook(job_id, client=platform.client)] == [202]
    platform.drain()
    (sub,) = platform.submissions()
    assert sub.status == "scored", sub.reason
    assert sub.attempts == 1


def test_a_wrong_or_missing_token_queues_nothing(platform: Platform, windows: Windows) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.a)
    body = fake.job_hook_payload(job_id)
    for headers in ({"X-Gitlab-Token": "guess"}, {}, {"X-Gitlab-Token": WEBHOOK_SECRET + "x"}):
        answer = platform.client.post(
            "/api/v1/hooks/gitlab", json=body, headers={"X-Gitlab-Event": "Job Hook", **headers}
        )
        assert answer.status_code == 401
    assert platform.submissions() == []
    bad = platform.client.post(
        "/api/v1/hooks/gitlab",
        content=b"{not json",
        headers={"X-Gitlab-Event": "Job Hook", "X-Gitlab-Token": WEBHOOK_SECRET},
    )
    assert bad.status_code == 400


def test_jobs_that_are_not_submissions_are_ignored(platform: Platform, windows: Windows) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.a, name="lint")
    assert [s.status_code for s in fake.deliver_job_hook(job_id, client=platform.client)] == [200]
    assert platform.submissions() == []


def test_a_dropped_webhook_is_caught_by_the_reconciler(platform: Platform, windows: Windows) -> None:
    from greenhack.reconciler import reconcile

    fake = platform.fake
    project_id, runner = _team(fake)
    dropped = _job(fake, project_id, runner, windows.a)  # no webhook at all
    delivered = _job(fake, project_id, runner, windows.b)
    fake.deliver_job_hook(delivered, client=platform.client)
    _job(fake, project_id, runner, windows.b, name="lint")  # not a submission: never queued
    report = reconcile(
        config=platform.config, gitlab=platform.gateway, sessions=platform.sessions, now=datetime.now(UTC)
    )
    assert report.queued == (dropped,)
    assert report.jobs_seen == 2
    again = reconcile(
        config=platform.config, gitlab=platform.gateway, sessions=platform.sessions, now=datetime.now(UTC)
    )
    assert again.queued == ()
    platform.drain()
    assert [(s.gitlab_job_id, s.status) for s in platform.submissions()] == [
        (dropped, "scored"),
        (delivered, "scored"),
    ]


def test_gitlab_500s_are_retried_with_backoff_then_succeed(platform: Platform, windows: Windows) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.a)
    fake.deliver_job_hook(job_id, client=platform.client)
    fake.fail(rf"GET /api/v4/projects/{project_id}/jobs/{job_id}$", status=500, times=2)
    fake.fail(r"/artifacts/predictions.csv$", status=502, times=1)
    worker = platform.worker()
    assert worker.run_once()
    (sub,) = platform.submissions()
    assert sub.status == "queued" and "GitLabUnavailable" in (sub.last_error or "")
    platform.drain(worker)
    (sub,) = platform.submissions()
    assert sub.status == "scored", sub.reason
    assert sub.attempts == 4


def test_a_job_gitlab_keeps_failing_ends_failed_with_its_reason(platform: Platform, windows: Windows) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.a)
    fake.deliver_job_hook(job_id, client=platform.client)
    fake.fail(rf"/jobs/{job_id}$", status=503, times=None)
    platform.drain(platform.worker(max_attempts=3))
    (sub,) = platform.submissions()
    assert sub.status == "failed"
    assert sub.attempts == 3
    assert "gave up after 3 attempts" in (sub.reason or "") and "503" in (sub.reason or "")
    assert not sub.counts_toward_limit  # the platform failed: the team keeps its daily submission


def test_boavizta_down_is_retried_until_it_is_back(
    platform: Platform, windows: Windows, boavizta_server: BoaviztaServer
) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.a)
    fake.deliver_job_hook(job_id, client=platform.client)
    boavizta_server.stop()
    try:
        worker = platform.worker()
        assert worker.run_once()
        (sub,) = platform.submissions()
        assert sub.status == "queued" and "BoaviztaUnavailable" in (sub.last_error or "")
    finally:
        boavizta_server.restart()
    platform.drain(worker)
    assert [s.status for s in platform.submissions()] == ["scored"]


def test_prometheus_down_is_retried_until_it_is_back(
    platform: Platform, windows: Windows, prometheus: PrometheusServer
) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.b)
    fake.deliver_job_hook(job_id, client=platform.client)
    prometheus.stop()
    try:
        worker = platform.worker(base_delay_s=0.1)
        assert worker.run_once()
        (sub,) = platform.submissions()
        assert sub.status == "queued" and "PrometheusUnavailable" in (sub.last_error or "")
    finally:
        prometheus.restart()
    platform.drain(worker)
    assert [s.status for s in platform.submissions()] == ["scored"]


def test_a_worker_killed_mid_evaluation_is_taken_over_after_its_lease(
    platform: Platform, windows: Windows
) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    job_id = _job(fake, project_id, runner, windows.a)
    fake.deliver_job_hook(job_id, client=platform.client)
    # worker "dead" claims the job and dies (no finish, no retry): only its lease remains
    with platform.sessions() as session, session.begin():
        claimed = queue.claim(session=session, worker="dead", lease_s=1.0)
    assert claimed is not None and claimed.gitlab_job_id == job_id
    survivor = platform.worker("survivor")
    assert survivor.run_once() is False  # the lease still holds
    platform.clock.advance(1.1)  # the dead worker's lease expires
    assert survivor.run_once()
    platform.drain(survivor)
    (sub,) = platform.submissions()
    assert sub.status == "scored" and sub.attempts == 2
    # the dead worker cannot store anything afterwards
    with platform.sessions() as session, session.begin(), pytest.raises(Exception, match="no longer holds"):
        queue.finish(session=session, submission_id=sub.id, worker="dead", status="scored")


def test_two_jobs_overlapping_on_one_server_are_both_flagged(platform: Platform, windows: Windows) -> None:
    fake = platform.fake
    first_project, runner = _team(fake, "team-a")
    second_project, _ = _team(fake, "team-b")
    first = _job(fake, first_project, runner, windows.overlap_1)
    fake.deliver_job_hook(first, client=platform.client)
    platform.drain()
    assert [s.status for s in platform.submissions()] == ["scored"]
    second = _job(fake, second_project, runner, windows.overlap_2)
    fake.deliver_job_hook(second, client=platform.client)
    platform.drain()
    subs = {s.gitlab_job_id: s for s in platform.submissions()}
    assert {j: s.status for j, s in subs.items()} == {first: "needs_review", second: "needs_review"}
    assert str(first) in (subs[second].reason or "") and str(second) in (subs[first].reason or "")


def test_failed_and_foreign_runner_jobs_end_in_one_evaluation_each(
    platform: Platform, windows: Windows
) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    crashed = _job(
        fake, project_id, runner, windows.a, status="failed", failure_reason="script_failure", artifacts={}
    )
    laptop = fake.runner_id("team laptop", tags=["green-ai-gpu-1"], runner_type="project_type")
    foreign = int(
        fake.run_job(
            project_id,
            started_at=windows.b[0],
            finished_at=windows.b[1],
            runner_id=laptop,
            tags=["green-ai-gpu-1"],
            artifacts={"predictions.csv": perfect_predictions()},
        )["id"]
    )
    broken = _job(fake, project_id, runner, windows.b, artifacts={"predictions.csv": b"id;label\n1;big\n"})
    for job in (crashed, foreign, broken):
        fake.deliver_job_hook(job, client=platform.client)
    platform.drain()
    subs = {s.gitlab_job_id: s for s in platform.submissions()}
    assert subs[crashed].status == "invalid" and "script_failure" in (subs[crashed].reason or "")
    assert subs[crashed].energy_j is not None  # its energy still counts toward the team's footprint
    assert subs[foreign].status == "needs_review" and "project runner" in (subs[foreign].reason or "")
    assert subs[broken].status == "invalid"
    with platform.sessions() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Submission)).scalar_one() == 3


def test_an_oversized_artifact_is_refused_without_reading_it_all(
    platform: Platform, windows: Windows
) -> None:
    fake = platform.fake
    project_id, runner = _team(fake)
    limit = platform.config.task.max_predictions_bytes
    job_id = _job(fake, project_id, runner, windows.a, artifacts={"predictions.csv": b"x" * (limit + 10)})
    fake.deliver_job_hook(job_id, client=platform.client)
    platform.drain()
    (sub,) = platform.submissions()
    assert sub.status == "invalid" and "larger than" in (sub.reason or "")


def test_impact_idle_subtract_charges_only_the_draw_above_the_calibrated_idle(
    platform: Platform, windows: Windows, expected_energy_j: Any
) -> None:
    from dataclasses import replace

    from greenhack.config import IdleCalibration
    from greenhack.store.models import Impact

    # the first two minutes of the traces are quiet: the admins calibrate the server's idle power there
    quiet = IdleCalibration(start=windows.base + timedelta(seconds=20), end=windows.base + timedelta(seconds=100))
    servers = [platform.config.servers[0].model_copy(update={"idle_calibration": quiet})]
    config = platform.config.model_copy(
        update={"impact": platform.config.impact.model_copy(update={"idle": "subtract"}), "servers": servers}
    )
    subtracting = replace(platform, config=config, ctx=replace(platform.ctx, config=config))
    project_id, runner = _team(subtracting.fake)
    job_id = _job(subtracting.fake, project_id, runner, windows.a)
    subtracting.fake.deliver_job_hook(job_id, status="success", client=subtracting.client)
    subtracting.drain()

    (sub,) = subtracting.submissions()
    assert sub.status == "scored", sub.reason
    raw_j = expected_energy_j(windows.a)
    assert sub.energy_j == pytest.approx(raw_j, rel=0.02)  # the board still shows what the server drew
    with subtracting.sessions() as session:
        measurement = session.get(Measurement, sub.id)
        assert measurement is not None and measurement.idle_power_w == pytest.approx(
            HOST_IDLE_W + GPU_IDLE_W, rel=1e-3
        )
        energy = session.execute(
            sa.select(Impact).where(Impact.submission_id == sub.id, Impact.criterion == "energy")
        ).scalar_one()
    duration_s = (windows.a[1] - windows.a[0]).total_seconds()
    charged_kwh = (sub.energy_j - measurement.idle_power_w * duration_s) * config.impact.pue / 3.6e6
    assert energy.total == pytest.approx(charged_kwh, rel=1e-6)
    # the job draws 420 + 310 W on a server idling at 180 + 55 W: about two thirds of it is charged
    busy_share = 1 - (HOST_IDLE_W + GPU_IDLE_W) / (HOST_BUSY_W + GPU_BUSY_W)
    assert energy.total == pytest.approx(raw_j * config.impact.pue / 3.6e6 * busy_share, rel=0.03)

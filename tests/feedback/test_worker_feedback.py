"""The worker tells GitLab: pending when measuring starts, success/failed with a summary and one comment when the
evaluation is final; re-evaluation edits; a GitLab outage never fails an evaluation; train + predict phases.

Real Prometheus (backfilled exporter samples around the job windows), real BoaviztAPI, PostgreSQL, fake GitLab.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fb_world import World, backfilled_prometheus, write_event

from greenhack.config import EventConfig
from greenhack.evaluation import EvaluationContext
from greenhack.feedback.gitlab_report import GitLabReporter, marker
from greenhack.feedback.notifier import FeedbackNotifier
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.webhooks import HookJob
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.intake import enqueue_hook_jobs
from greenhack.scoring.evaluate import split_for
from greenhack.scoring.truth import load_truth
from greenhack.services.prometheus import PrometheusServer
from greenhack.store import crud, queue
from greenhack.store.boards import board_inputs
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission
from greenhack.store.pipeline_stages import phase_rank_inputs
from greenhack.telemetry import PrometheusClient
from greenhack.testing.runner_log import LogTimes, runner_log
from greenhack.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow

GOOD = b"id,label\n1,big\n2,small\n3,big\n4,small\n"
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
WINDOWS = {
    "a": (BASE + timedelta(minutes=2), BASE + timedelta(minutes=2, seconds=60)),
    "train": (BASE + timedelta(minutes=5), BASE + timedelta(minutes=6, seconds=30)),
    "predict": (BASE + timedelta(minutes=8), BASE + timedelta(minutes=8, seconds=40)),
    "bad": (BASE + timedelta(minutes=11), BASE + timedelta(minutes=11, seconds=30)),
    "again": (BASE + timedelta(minutes=14), BASE + timedelta(minutes=14, seconds=60)),
}


@pytest.fixture(scope="module")
def backfilled(prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    return backfilled_prometheus(prometheus_factory, start=BASE, busy=list(WINDOWS.values()), seed=5)


@dataclass
class Loop:
    world: World
    config: EventConfig
    sessions: SessionFactory
    worker: Worker
    notifier: FeedbackNotifier

    def finished_job(self, window: str, *, name: str = "submission", artifacts: dict[str, bytes] | None = None,
                     pipeline_id: int | None = None, status: str = "success") -> dict[str, Any]:  # fmt: skip
        start, end = WINDOWS[window]
        job = self.world.fake.run_job(
            self.world.project_id, name=name, status=status, started_at=start, finished_at=end,
            runner_id=self.world.runner_id, tags=["green-ai-gpu-1"], artifacts=artifacts,
            pipeline_id=pipeline_id, failure_reason="script_failure" if status == "failed" else None,
            log=runner_log(LogTimes(started=start, command_start=start, command_end=end, finished=end)),
        )  # fmt: skip
        with transaction(self.sessions, "queueing") as session:
            enqueue_hook_jobs(
                session=session,
                config=self.config,
                jobs=[HookJob(self.world.project_id, self.world.project_path, int(job["id"]), name, "test",
                              status, int(job["pipeline"]["id"]), start - timedelta(seconds=3))],
            )  # fmt: skip
        return job

    def row(self, job: dict[str, Any]) -> Submission:
        with self.sessions() as session:
            return session.execute(
                sa.select(Submission).where(Submission.gitlab_job_id == job["id"])
            ).scalar_one()


@pytest.fixture
def loop(
    tmp_path: Path, world: World, sessions: SessionFactory, backfilled: PrometheusServer, boavizta_url: str
) -> Iterator[Loop]:
    config = write_event(
        tmp_path,
        gitlab_url=world.fake.url,
        prometheus_url=backfilled.url,
        boavizta_url=boavizta_url,
        submission_jobs=("submission", "submission-train", "submission-predict"),
        extra_impact="\n              lifecycle: {inferences: 1000000}",
    )
    gateway = GitLabGateway(make_gitlab_client(world.fake.url, world.fake.token, timeout_s=5.0))
    truth = load_truth(config)
    boavizta = BoaviztaClient(boavizta_url)
    with PrometheusClient(backfilled.url) as prometheus:
        ctx = EvaluationContext(
            config=config,
            gitlab=gateway,
            telemetry=prometheus,
            impacts=ImpactCalculator(boavizta, FactorCache(tmp_path / "factors.json")),
            truth=truth,
            split=split_for(config, truth),
            now=lambda: datetime.now(UTC),
            scrape_wait_s=0.5,
        )
        notifier = FeedbackNotifier(
            reporter=GitLabReporter(gateway),
            sessions=sessions,
            config=config,
            public_url="https://board.example.org",
            base_delay_s=0.0,
        )
        with transaction(sessions, "event") as session:
            event_id = crud.ensure_event(session=session, name=config.event.name).id
        worker = Worker(
            ctx=ctx,
            sessions=sessions,
            event_id=event_id,
            options=WorkerOptions(name="w1", lease_s=60.0, max_attempts=3, base_delay_s=0.1, poll_s=0.05),
            feedback=notifier,
        )
        yield Loop(world, config, sessions, worker, notifier)
    boavizta.close()


def _status_posts(loop: Loop, sha: str) -> int:
    return sum(1 for m, p in loop.world.fake.requests if m == "POST" and p.endswith(f"/statuses/{sha}"))


def test_a_scored_submission_gets_pending_then_success_and_one_comment(loop: Loop) -> None:
    job = loop.finished_job("a", artifacts={"predictions.csv": GOOD})
    sha = str(job["pipeline"]["sha"])
    loop.worker.run(until_idle=True)
    row = loop.row(job)
    assert row.status == "scored", row.reason
    assert (row.commit_sha, row.ref) == (sha, "main")
    assert _status_posts(loop, sha) == 2  # pending when measuring started, success when final
    (status,) = loop.world.fake.statuses_of(loop.world.project_id, sha)
    assert status["status"] == "success"
    assert status["description"].startswith("accuracy 1 · ")
    assert status["description"].endswith("gCO2e · rank 1/1")
    assert status["target_url"] == f"https://board.example.org/submissions/{row.id}"
    (note,) = loop.world.fake.commit_notes_of(loop.world.project_id, sha)
    assert note["body"].startswith(marker(row.id))
    assert row.energy_j is not None and f"{row.energy_j / 3600:.3g} Wh" in note["body"]

    # an admin's re-run: the same status name moves again, the comment is edited, never duplicated
    with transaction(loop.sessions, "requeue") as session:
        queue.requeue(session=session, submission_id=row.id)
    loop.worker.run(until_idle=True)
    assert len(loop.world.fake.commit_notes_of(loop.world.project_id, sha)) == 1
    assert loop.world.fake.statuses_of(loop.world.project_id, sha)[-1]["status"] == "success"


def test_gitlab_down_never_fails_an_evaluation_and_the_report_follows_later(loop: Loop) -> None:
    job = loop.finished_job("a", artifacts={"predictions.csv": GOOD})
    sha = str(job["pipeline"]["sha"])
    loop.world.fake.fail(r"/statuses/", status=503, times=None)
    loop.worker.run(until_idle=True)
    assert loop.row(job).status == "scored"
    (pending,) = loop.notifier.pending
    assert pending.kind == "final" and "503" in pending.error
    loop.world.fake.clear_faults()
    assert loop.notifier.retry_due() == 1
    assert loop.notifier.pending == []
    assert loop.world.fake.statuses_of(loop.world.project_id, sha)[-1]["status"] == "success"
    assert len(loop.world.fake.commit_notes_of(loop.world.project_id, sha)) == 1


def test_invalid_predictions_fail_the_status_with_the_reason(loop: Loop) -> None:
    job = loop.finished_job("bad", artifacts={"predictions.csv": b"id,label\n1,big\n"})
    loop.worker.run(until_idle=True)
    row = loop.row(job)
    assert row.status == "invalid"
    sha = str(job["pipeline"]["sha"])
    (status,) = loop.world.fake.statuses_of(loop.world.project_id, sha)
    assert status["status"] == "failed" and status["description"].startswith("invalid: ")
    (note,) = loop.world.fake.commit_notes_of(loop.world.project_id, sha)
    assert "Fix what is listed below and push again" in note["body"]


def test_train_and_predict_are_measured_apart_and_ranked_once_with_the_projected_footprint(
    loop: Loop,
) -> None:
    train = loop.finished_job("train", name="submission-train")
    pipeline = int(train["pipeline"]["id"])
    predict = loop.finished_job(
        "predict", name="submission-predict", artifacts={"predictions.csv": GOOD}, pipeline_id=pipeline
    )
    loop.worker.run(until_idle=True)
    t, p = loop.row(train), loop.row(predict)
    assert (t.status, t.performance_public) == ("scored", None)
    assert t.reason is not None and t.reason.startswith(f"training phase of pipeline {pipeline}")
    assert p.status == "scored" and p.performance_public == 1.0
    assert t.energy_j is not None and p.energy_j is not None and t.energy_j > p.energy_j

    with loop.sessions() as session:
        inputs = board_inputs(session=session, event_id=t.event_id, board="live", cut=None)
        folded = phase_rank_inputs(session, event_id=t.event_id, inputs=inputs, config=loop.config)
    assert {i.submission_id for i in inputs} == {t.id, p.id}
    (ranked,) = folded
    assert ranked.submission_id == p.id
    assert t.impact_total is not None and p.impact_total is not None
    assert ranked.impact == pytest.approx(t.impact_total + 1_000_000 * p.impact_total / 4)

    sha = str(predict["pipeline"]["sha"])
    notes = {
        n["body"].splitlines()[0]: n["body"]
        for n in loop.world.fake.commit_notes_of(loop.world.project_id, sha)
    }
    body = notes[marker(p.id)]
    assert f"| train job {train['id']} |" in body and f"| predict job {predict['id']} |" in body
    assert "1,000,000 inferences x predict" in body


def test_a_scored_submission_keeps_its_interval_parts_and_replicates(loop: Loop) -> None:
    """Issue 17: the evaluation stores each part of the energy's interval, the impact's measurement interval apart
    from BoaviztAPI's factor range, and the performance's bootstrap replicates (real Prometheus and BoaviztAPI)."""
    from greenhack.scoring.bootstrap import BOOTSTRAP_REPLICATES, ReplicateVector
    from greenhack.store.models import Impact, Measurement, Performance

    job = loop.finished_job("a", artifacts={"predictions.csv": GOOD})
    loop.worker.run(until_idle=True)
    row = loop.row(job)
    assert row.status == "scored", row.reason
    with loop.sessions() as session:
        m = session.get(Measurement, row.id)
        assert m is not None and m.energy_confidence == 0.95
        parts = (m.energy_integration_j, m.energy_edges_j, m.energy_sensor_j)
        assert all(p is not None and p >= 0 for p in parts) and m.energy_sensor_j > 0  # type: ignore[operator]
        half = sum(p * p for p in parts) ** 0.5  # type: ignore[operator]
        assert m.energy_low_j == pytest.approx(max(0.0, m.total_energy_j - half))
        assert m.energy_high_j == pytest.approx(m.total_energy_j + half)
        assert (row.energy_low_j, row.energy_high_j) == (m.energy_low_j, m.energy_high_j)
        # the measurement interval of the impact, apart from the factor range (which is BoaviztAPI's)
        assert row.impact_measurement_low is not None and row.impact_measurement_high is not None
        assert row.impact_measurement_low < row.impact_total < row.impact_measurement_high
        assert (row.impact_min, row.impact_max) != (row.impact_measurement_low, row.impact_measurement_high)
        gwp = session.execute(
            sa.select(Impact).where(Impact.submission_id == row.id, Impact.criterion == "gwp")
        ).scalar_one()
        assert gwp.measurement_low is not None and gwp.measurement_low < gwp.total < gwp.measurement_high
        stored = session.execute(sa.select(Performance).where(Performance.submission_id == row.id)).scalars()
        for perf in stored:
            assert perf.replicates is not None
            assert len(ReplicateVector.from_bytes(perf.replicates)) == BOOTSTRAP_REPLICATES


def test_an_admins_remeasure_retries_the_job_outside_the_quota_and_the_board_ranks_the_median(loop: Loop) -> None:
    """Issue 17: a re-measure retries the GitLab job through the API (POST .../jobs/:id/retry), the new job is
    measured as the original's second measurement without using the team's quota, and the board's row ranks the
    median of the two, its interval widened by their spread."""
    from greenhack.feedback.accounts import find_team, team_account
    from greenhack.store import tasks
    from greenhack.store.boards import refresh_boards
    from greenhack.store.models import AdminTask, Score

    job = loop.finished_job("a", artifacts={"predictions.csv": GOOD})
    loop.worker.run(until_idle=True)
    original = loop.row(job)
    assert original.status == "scored", original.reason
    with transaction(loop.sessions, "remeasure") as session:
        task = tasks.enqueue_task(session=session, event_id=original.event_id, kind="remeasure",
                                  submission_id=original.id, now=datetime.now(UTC))  # fmt: skip
    loop.worker.run(until_idle=True)  # the task retries the job; the new job waits until GitLab says it finished
    retry_path = f"/api/v4/projects/{loop.world.project_id}/jobs/{job['id']}/retry"
    assert ("POST", retry_path) in loop.world.fake.requests
    with loop.sessions() as session:
        done = session.get(AdminTask, task.id)
        assert done is not None and done.status == "done", done.error if done else None
        new_job_id = int(done.result["job_id"])  # type: ignore[index]
    retried = loop.world.fake.job_json(new_job_id)
    assert retried["pipeline"]["id"] == job["pipeline"]["id"] and retried["status"] == "pending"
    start, end = WINDOWS["again"]
    loop.world.fake.run_retried_job(
        new_job_id, started_at=start, finished_at=end, runner_id=loop.world.runner_id,
        artifacts={"predictions.csv": GOOD},
        log=runner_log(LogTimes(started=start, command_start=start, command_end=end, finished=end)),
    )  # fmt: skip
    with loop.sessions() as session:
        waiting = session.execute(sa.select(Submission).where(Submission.gitlab_job_id == new_job_id)).scalar_one()
        remeasured_id = waiting.id
        assert waiting.status == "queued" and waiting.attempts == 1  # GitLab said it was still pending
        assert "pending" in (waiting.last_error or "")
    # the finished job's webhook: the waiting re-measure is due at once
    with transaction(loop.sessions, "the retried job's webhook") as session:
        enqueue_hook_jobs(session=session, config=loop.config, jobs=[
            HookJob(loop.world.project_id, loop.world.project_path, new_job_id, "submission", "test", "success",
                    int(job["pipeline"]["id"]), start - timedelta(seconds=3))])  # fmt: skip
    loop.worker.run(until_idle=True)
    with loop.sessions() as session:
        again = session.get(Submission, remeasured_id)
        assert again is not None and again.status == "scored", again.reason if again else None
        assert again.remeasure_of == original.id and not again.counts_toward_limit
        team = find_team(session, event_id=original.event_id, project_id=loop.world.project_id)
        account = team_account(session, config=loop.config, team=team, team_name="t", now=datetime.now(UTC))
        # the re-measure used none of the team's quota and none of its carbon: one job, the original's footprint
        assert (account.jobs, account.submissions_today) == (1, 1)
        assert account.gwp_g == pytest.approx((original.gwp_kgco2e or 0.0) * 1000)
    with transaction(loop.sessions, "rank") as session:
        refresh_boards(session=session, event_id=original.event_id, config=loop.config)
    with loop.sessions() as session:
        rows = session.execute(sa.select(Score).where(Score.board == "live")).scalars().all()
    assert [r.submission_id for r in rows] == [original.id]  # one row: the re-measure is not ranked apart
    # the re-measure's GitLab status reports the rank of the row it is ranked in (ranked once the boards were)
    loop.notifier.finished(submission_id=remeasured_id)
    assert loop.world.fake.statuses_of(loop.world.project_id, str(job["pipeline"]["sha"]))[-1][
        "description"
    ].endswith("rank 1/1")
    (row,) = rows
    assert original.energy_j is not None and again.energy_j is not None
    assert row.measurements == 2 and row.energy_j == pytest.approx((original.energy_j + again.energy_j) / 2)
    # the spread of the two widens the job-to-job part: k x their standard deviation, in quadrature
    assert row.energy_high_j is not None and original.energy_high_j is not None
    own_half = original.energy_high_j - original.energy_j
    spread = 1.959964 * abs(again.energy_j - original.energy_j) / 2**0.5
    assert row.energy_high_j - row.energy_j > max(0.9 * own_half, spread)

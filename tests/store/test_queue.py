"""The evaluation queue on SQLite and PostgreSQL: idempotent enqueue, exclusive claims, leases, backoff."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from greenhack.errors import StoreError
from greenhack.status import Reason, ReasonCode
from greenhack.store import queue
from greenhack.store.crud import ensure_event, ensure_team
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _team(sessions: SessionFactory) -> tuple[int, int]:
    with transaction(sessions) as s:
        event = ensure_event(session=s, name="Queue test")
        team = ensure_team(session=s, event_id=event.id, name="t1", gitlab_project_id=42)
        return event.id, team.id


def _enqueue(sessions: SessionFactory, job_id: int, now: datetime = T0) -> queue.EnqueueResult:
    event_id, team_id = _team(sessions)
    with transaction(sessions) as s:
        return queue.enqueue(
            session=s,
            event_id=event_id,
            team_id=team_id,
            gitlab_project_id=42,
            gitlab_job_id=job_id,
            gitlab_pipeline_id=7,
            commit_sha="abc",
            now=now,
        )


def test_enqueue_is_idempotent_per_project_and_job(sessions: SessionFactory) -> None:
    first = _enqueue(sessions, 1001)
    again = _enqueue(sessions, 1001, now=T0 + timedelta(minutes=5))
    other = _enqueue(sessions, 1002)
    assert first.created and not again.created and other.created
    assert again.submission_id == first.submission_id != other.submission_id
    with transaction(sessions) as s:
        assert s.query(Submission).count() == 2
        row = s.get(Submission, first.submission_id)
        assert row is not None and row.created_at == T0  # the duplicate changed nothing


def test_claim_hands_each_due_row_to_one_worker_in_order(sessions: SessionFactory) -> None:
    a = _enqueue(sessions, 1, now=T0)
    b = _enqueue(sessions, 2, now=T0 + timedelta(seconds=1))
    _enqueue(sessions, 3, now=T0 + timedelta(hours=1))  # not due yet
    with transaction(sessions) as s:
        first = queue.claim(session=s, worker="w1", lease_s=60, now=T0 + timedelta(seconds=10))
    with transaction(sessions) as s:
        second = queue.claim(session=s, worker="w2", lease_s=60, now=T0 + timedelta(seconds=10))
    with transaction(sessions) as s:
        third = queue.claim(session=s, worker="w3", lease_s=60, now=T0 + timedelta(seconds=10))
    assert first is not None and second is not None and third is None
    assert (first.submission_id, second.submission_id) == (a.submission_id, b.submission_id)
    assert first.attempt == 1 and first.worker == "w1" and first.gitlab_job_id == 1
    assert first.lease_expires_at == T0 + timedelta(seconds=70)
    with transaction(sessions) as s:
        assert queue.queue_length(session=s) == 3


def test_expired_lease_is_claimed_again_and_old_worker_loses_it(sessions: SessionFactory) -> None:
    a = _enqueue(sessions, 1)
    with transaction(sessions) as s:
        assert queue.claim(session=s, worker="dead", lease_s=30, now=T0) is not None
    with transaction(sessions) as s:  # lease still running
        assert queue.claim(session=s, worker="w2", lease_s=30, now=T0 + timedelta(seconds=20)) is None
    with transaction(sessions) as s:
        again = queue.claim(session=s, worker="w2", lease_s=30, now=T0 + timedelta(seconds=31))
    assert again is not None and again.submission_id == a.submission_id and again.attempt == 2
    with pytest.raises(StoreError, match="no longer holds"), transaction(sessions) as s:
        queue.finish(session=s, submission_id=a.submission_id, worker="dead", status="scored")
    with transaction(sessions) as s:
        queue.extend_lease(session=s, submission_id=a.submission_id, worker="w2", lease_s=30)
        queue.finish(
            session=s,
            submission_id=a.submission_id,
            worker="w2",
            status="scored",
            now=T0 + timedelta(seconds=40),
        )
    with transaction(sessions) as s:
        row = s.get(Submission, a.submission_id)
        assert row is not None
        assert (row.status, row.claimed_by, row.evaluation_duration_s) == ("scored", None, 9.0)


def test_retry_backs_off_then_fails(sessions: SessionFactory) -> None:
    a = _enqueue(sessions, 1)
    now = T0
    statuses = []
    for attempt in range(1, 4):
        with transaction(sessions) as s:
            got = queue.claim(session=s, worker="w", lease_s=60, now=now)
            assert got is not None and got.attempt == attempt
            statuses.append(
                queue.retry_later(
                    session=s,
                    submission_id=a.submission_id,
                    worker="w",
                    error="Prometheus down",
                    max_attempts=3,
                    base_delay_s=10,
                    now=now,
                )
            )
        with transaction(sessions) as s:
            row = s.get(Submission, a.submission_id)
            assert row is not None
            if attempt < 3:
                assert row.next_attempt_at == now + timedelta(seconds=10 * 2 ** (attempt - 1))
                assert queue.claim(session=s, worker="w", now=now + timedelta(seconds=1)) is None
            now = row.next_attempt_at
    assert statuses == ["queued", "queued", "failed"]
    with transaction(sessions) as s:
        row = s.get(Submission, a.submission_id)
        assert row is not None and row.status == "failed" and row.last_error == "Prometheus down"
        assert row.reason is not None and "3 attempts" in row.reason and not row.counts_toward_limit
        queue.requeue(session=s, submission_id=a.submission_id, now=now)
    with transaction(sessions) as s:
        got = queue.claim(session=s, worker="w", now=now)
        assert got is not None and got.attempt == 1


def test_finish_refuses_a_non_final_status(sessions: SessionFactory) -> None:
    a = _enqueue(sessions, 1)
    with transaction(sessions) as s:
        assert queue.claim(session=s, worker="w", now=T0) is not None
        with pytest.raises(ValueError, match="not a final status"):
            queue.finish(session=s, submission_id=a.submission_id, worker="w", status="queued")


def test_platform_failures_do_not_count_toward_the_daily_limit(sessions: SessionFactory) -> None:
    a = _enqueue(sessions, 1)
    with transaction(sessions) as s:
        assert queue.claim(session=s, worker="w", now=T0) is not None
        queue.finish(
            session=s,
            submission_id=a.submission_id,
            worker="w",
            status="failed",
            reason=Reason(code=ReasonCode.GAVE_UP, text="GitLab 502"),
        )
    with transaction(sessions) as s:
        row = s.get(Submission, a.submission_id)
        assert row is not None and not row.counts_toward_limit and row.reason == "GitLab 502"


def test_concurrent_workers_never_claim_the_same_row(sessions: SessionFactory) -> None:
    jobs = 40
    event_id, team_id = _team(sessions)
    with transaction(sessions) as s:
        for job in range(jobs):
            queue.enqueue(
                session=s, event_id=event_id, team_id=team_id, gitlab_project_id=42, gitlab_job_id=job, now=T0
            )
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            while True:
                with transaction(sessions) as s:
                    got = queue.claim(session=s, worker=name, lease_s=600, now=T0 + timedelta(seconds=1))
                if got is None:
                    return
                with lock:
                    claimed.append(got.submission_id)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(claimed) == jobs and len(set(claimed)) == jobs


def test_a_worker_claims_only_its_own_events_jobs(sessions: SessionFactory) -> None:
    mine = _enqueue(sessions, 501)
    with transaction(sessions) as s:
        other_event = ensure_event(session=s, name="Another event sharing the database")
        other_team = ensure_team(session=s, event_id=other_event.id, name="t9", gitlab_project_id=99)
        theirs = queue.enqueue(
            session=s,
            event_id=other_event.id,
            team_id=other_team.id,
            gitlab_project_id=99,
            gitlab_job_id=502,
            gitlab_pipeline_id=8,
            commit_sha="def",
            now=T0 - timedelta(minutes=1),  # older, so a worker without the filter would take it first
        )
        event_id = s.get(Submission, mine.submission_id).event_id  # type: ignore[union-attr]
    with transaction(sessions) as s:
        claimed = queue.claim(session=s, worker="w", now=T0 + timedelta(seconds=5), event_id=event_id)
        again = queue.claim(session=s, worker="w", now=T0 + timedelta(seconds=5), event_id=event_id)
    assert claimed is not None and claimed.submission_id == mine.submission_id and again is None
    with transaction(sessions) as s:
        row = s.get(Submission, theirs.submission_id)
        assert row is not None and row.status == "queued"

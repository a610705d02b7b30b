"""The store's side of a re-measure: the job to retry (the latest of the group, never while one is being measured),
the retried job's row (linked to the original however often it is re-measured, outside the quota, idempotent), and
its wake-up when GitLab reports the job finished; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from greenhack.errors import NotFoundError, StoreError
from greenhack.status import Status
from greenhack.store import crud, queue
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission
from greenhack.store.remeasure import is_remeasure, record_retry, retry_target

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _scored(sessions: SessionFactory, job: int) -> tuple[int, int]:
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name="E")
        team = crud.ensure_team(session=s, event_id=event.id, name="t", gitlab_project_id=7)
        row = queue.enqueue(session=s, event_id=event.id, team_id=team.id, gitlab_project_id=7, gitlab_job_id=job,
                            gitlab_pipeline_id=70, now=T0)  # fmt: skip
        s.execute(sa.update(Submission).where(Submission.id == row.submission_id).values(status=Status.SCORED))
        return event.id, row.submission_id


def _row(sessions: SessionFactory, sid: int) -> Submission:
    with sessions() as s:
        row = s.get(Submission, sid)
        assert row is not None
        return row


def test_a_retry_is_linked_to_the_original_outside_the_quota_and_retries_the_latest_job(
    sessions: SessionFactory,
) -> None:
    event_id, original = _scored(sessions, 100)
    with transaction(sessions) as s:
        target = retry_target(session=s, submission_id=original, event_id=event_id)
        assert (target.original, target.project_id, target.job_id) == (original, 7, 100)
        first = record_retry(session=s, target=target, job_id=101, pipeline_id=70, job_url=None, created_at=T0,
                             now=T0)  # fmt: skip
        assert record_retry(session=s, target=target, job_id=101, pipeline_id=70, job_url=None, created_at=T0,
                            now=T0) == first  # fmt: skip
    row = _row(sessions, first)
    assert (row.remeasure_of, row.counts_toward_limit, row.status) == (original, False, Status.QUEUED)
    with transaction(sessions) as s:
        assert is_remeasure(session=s, project_id=7, job_id=101) and not is_remeasure(session=s, project_id=7,
                                                                                       job_id=100)  # fmt: skip
        with pytest.raises(StoreError, match="being measured already"):
            retry_target(session=s, submission_id=original, event_id=event_id)
        s.execute(sa.update(Submission).where(Submission.id == first).values(status=Status.SCORED))
    with transaction(sessions) as s:  # asked about the re-measure: the original again, its latest job retried
        target = retry_target(session=s, submission_id=first, event_id=event_id)
        assert (target.original, target.job_id) == (original, 101)
        with pytest.raises(NotFoundError):
            retry_target(session=s, submission_id=original, event_id=event_id + 1)


def test_the_finished_jobs_webhook_makes_a_waiting_remeasure_due_and_leaves_other_rows(
    sessions: SessionFactory,
) -> None:
    event_id, original = _scored(sessions, 200)
    with transaction(sessions) as s:
        target = retry_target(session=s, submission_id=original, event_id=event_id)
        sid = record_retry(session=s, target=target, job_id=201, pipeline_id=70, job_url=None, created_at=T0,
                           now=T0)  # fmt: skip
        other = queue.enqueue(session=s, event_id=event_id, team_id=target.team_id, gitlab_project_id=7,
                              gitlab_job_id=300, now=T0).submission_id  # fmt: skip
        later = T0 + timedelta(hours=1)
        for waiting in (sid, other):  # both were tried while GitLab still ran their jobs
            s.execute(sa.update(Submission).where(Submission.id == waiting)
                      .values(attempts=3, next_attempt_at=later, last_error="still running"))  # fmt: skip
    woken = T0 + timedelta(minutes=5)
    with transaction(sessions) as s:
        for job in (201, 300):
            queue.enqueue(session=s, event_id=event_id, team_id=target.team_id, gitlab_project_id=7,
                          gitlab_job_id=job, now=woken)  # fmt: skip
    remeasure, plain = _row(sessions, sid), _row(sessions, other)
    assert (remeasure.attempts, remeasure.next_attempt_at, remeasure.last_error) == (0, woken, None)
    assert (plain.attempts, plain.next_attempt_at) == (3, T0 + timedelta(hours=1))  # untouched, as before

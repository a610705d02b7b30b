"""The evaluation queue: submission rows with a status, attempts, a retry time and a worker's lease.

- :func:`enqueue` is idempotent, keyed by (GitLab project id, job id): a webhook delivered twice, a webhook and
  the reconciler, or a replay after a crash all end in one row.
- :func:`claim` hands one due row to one worker. On PostgreSQL it selects with ``FOR UPDATE SKIP LOCKED`` so
  that concurrent workers never wait on, nor take, the same row; on SQLite (one writer at a time) it is one
  ``UPDATE ... WHERE id = (SELECT ...) RETURNING`` statement, atomic under the database's write lock.
- :func:`finish` and :func:`requeue` mark the event's boards stale in the same transaction
  (``greenhack.store.crud.mark_boards_stale``); workers re-rank them (coalesced) soon after.
- A claimed row carries a lease (``lease_expires_at``); a worker that dies lets it expire and the row becomes
  claimable again. :func:`retry_later` backs off exponentially and gives up (``failed``) after ``max_attempts``.

Every function takes the caller's session and leaves committing to it; commit soon after :func:`claim` so that
PostgreSQL's row lock is held only for that short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from greenhack.errors import NotFoundError, StoreError
from greenhack.status import FINAL_STATUSES, UNFINISHED_STATUSES, Reason, ReasonCode, Status, uses_quota
from greenhack.store.crud import bump_data_version, mark_boards_stale
from greenhack.store.db import store_errors
from greenhack.store.models import Submission, utcnow

__all__ = [
    "ClaimedEvaluation",
    "EnqueueResult",
    "FINAL_STATUSES",
    "backoff_s",
    "claim",
    "enqueue",
    "extend_lease",
    "finish",
    "queue_length",
    "requeue",
    "retry_later",
]

@dataclass(frozen=True)
class EnqueueResult:
    """The queue row of a GitLab job; ``created`` is False when the job was already known."""

    submission_id: int
    created: bool
    status: Status


@dataclass(frozen=True)
class ClaimedEvaluation:
    """A submission handed to one worker until ``lease_expires_at``; ``attempt`` counts from 1."""

    submission_id: int
    event_id: int
    team_id: int
    gitlab_project_id: int
    gitlab_pipeline_id: int | None
    gitlab_job_id: int
    commit_sha: str | None
    attempt: int
    worker: str
    lease_expires_at: datetime


def enqueue(
    *,
    session: Session,
    event_id: int,
    team_id: int,
    gitlab_project_id: int,
    gitlab_job_id: int,
    gitlab_pipeline_id: int | None = None,
    commit_sha: str | None = None,
    ref: str | None = None,
    job_url: str | None = None,
    submitted_at: datetime | None = None,
    now: datetime | None = None,
) -> EnqueueResult:
    """Queue the evaluation of a finished GitLab job, once: a job already known keeps its row untouched (but for an
    admin's re-measure still waiting for its job to finish, which becomes due now).

    ``submitted_at`` is when GitLab created the job (the time that counts for daily limits, ties and the
    freeze); it defaults to ``now``.

    Raises:
        StoreError: the database refused (e.g. an unknown event or team).
    """
    now = now or utcnow()
    values = {
        "event_id": event_id,
        "team_id": team_id,
        "gitlab_project_id": gitlab_project_id,
        "gitlab_job_id": gitlab_job_id,
        "gitlab_pipeline_id": gitlab_pipeline_id,
        "commit_sha": commit_sha,
        "ref": ref,
        "job_url": job_url,
        "status": Status.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": submitted_at or now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Submission)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["gitlab_project_id", "gitlab_job_id"])
        .returning(Submission.id)
    )
    with store_errors(f"queueing job {gitlab_job_id} of project {gitlab_project_id}"):
        new_id = session.execute(stmt).scalar_one_or_none()
        if new_id is not None:
            return EnqueueResult(submission_id=new_id, created=True, status=Status.QUEUED)
        row = session.execute(
            sa.select(Submission.id, Submission.status).where(
                Submission.gitlab_project_id == gitlab_project_id, Submission.gitlab_job_id == gitlab_job_id
            )
        ).one()
        # an admin's re-measure is queued when GitLab retries the job, long before it finishes; the finished job's
        # webhook (or the reconciler) says it can be measured now: it is due at once, its waits forgotten
        session.execute(
            sa.update(Submission)
            .where(
                Submission.id == row.id,
                Submission.remeasure_of.is_not(None),
                Submission.status == Status.QUEUED,
                Submission.attempts > 0,
            )
            .values(next_attempt_at=now, attempts=0, last_error=None)
            .execution_options(synchronize_session=False)
        )
    return EnqueueResult(submission_id=row.id, created=False, status=row.status)


def _claimable_for(now: datetime, event_id: int | None) -> sa.ColumnElement[bool]:
    # a database may hold several events; a worker only ever evaluates jobs of the event it was started for
    if event_id is None:
        return _claimable(now)
    return sa.and_(_claimable(now), Submission.event_id == event_id)


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(Submission.status == Status.QUEUED, Submission.next_attempt_at <= now),
        sa.and_(Submission.status == Status.MEASURING, Submission.lease_expires_at < now),
    )


def claim(
    *,
    session: Session,
    worker: str,
    lease_s: float = 600.0,
    now: datetime | None = None,
    event_id: int | None = None,
) -> ClaimedEvaluation | None:
    """Give the oldest due evaluation (of ``event_id``, when given) to ``worker`` for ``lease_s`` seconds, or
    None when nothing is due.

    Due means queued with ``next_attempt_at`` reached, or measuring under an expired lease (its worker died).
    """
    if lease_s <= 0:
        raise ValueError("lease_s must be positive")
    now = now or utcnow()
    lease_expires_at = now + timedelta(seconds=lease_s)
    changes = {
        "status": Status.MEASURING,
        "attempts": Submission.attempts + 1,
        "claimed_by": worker,
        "claimed_at": now,
        "lease_expires_at": lease_expires_at,
    }
    order = (Submission.next_attempt_at, Submission.id)
    with store_errors(f"claiming an evaluation for {worker}"):
        if session.get_bind().dialect.name == "postgresql":
            picked = session.execute(
                sa.select(Submission.id)
                .where(_claimable_for(now, event_id))
                .order_by(*order)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if picked is None:
                return None
            stmt = sa.update(Submission).where(Submission.id == picked)
        else:
            candidate = (
                sa.select(Submission.id)
                .where(_claimable_for(now, event_id))
                .order_by(*order)
                .limit(1)
                .scalar_subquery()
            )
            stmt = sa.update(Submission).where(Submission.id == candidate, _claimable_for(now, event_id))
        row = session.execute(
            stmt.values(**changes)
            .returning(
                Submission.id,
                Submission.event_id,
                Submission.team_id,
                Submission.gitlab_project_id,
                Submission.gitlab_pipeline_id,
                Submission.gitlab_job_id,
                Submission.commit_sha,
                Submission.attempts,
            )
            .execution_options(synchronize_session=False)
        ).one_or_none()
    if row is None:
        return None
    return ClaimedEvaluation(
        submission_id=row.id,
        event_id=row.event_id,
        team_id=row.team_id,
        gitlab_project_id=row.gitlab_project_id,
        gitlab_pipeline_id=row.gitlab_pipeline_id,
        gitlab_job_id=row.gitlab_job_id,
        commit_sha=row.commit_sha,
        attempt=row.attempts,
        worker=worker,
        lease_expires_at=lease_expires_at,
    )


def _held(submission_id: int, worker: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        Submission.id == submission_id, Submission.status == Status.MEASURING, Submission.claimed_by == worker
    )


def _lost_lease(session: Session, submission_id: int, worker: str) -> StoreError:
    holder = session.execute(
        sa.select(Submission.status, Submission.claimed_by).where(Submission.id == submission_id)
    ).one_or_none()
    if holder is None:
        return NotFoundError(f"submission {submission_id} does not exist")
    return StoreError(
        f"{worker} no longer holds submission {submission_id} (status {holder.status}, "
        f"claimed by {holder.claimed_by or 'nobody'}); its result is dropped"
    )


def extend_lease(
    *, session: Session, submission_id: int, worker: str, lease_s: float = 600.0, now: datetime | None = None
) -> datetime:
    """Extend ``worker``'s lease on a long evaluation; return the new expiry.

    Raises:
        StoreError: the worker no longer holds the row (its lease expired and another worker took it).
    """
    expires = (now or utcnow()) + timedelta(seconds=lease_s)
    with store_errors(f"extending the lease on submission {submission_id}"):
        done = session.execute(
            sa.update(Submission)
            .where(_held(submission_id, worker))
            .values(lease_expires_at=expires)
            .returning(Submission.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if done is None:
            raise _lost_lease(session, submission_id, worker)
    return expires


def backoff_s(attempt: int, *, base_delay_s: float = 30.0, max_delay_s: float = 3600.0) -> float:
    """Seconds to wait before attempt ``attempt + 1``: base x 2^(attempt-1), capped."""
    return float(min(max_delay_s, base_delay_s * 2 ** max(0, attempt - 1)))


def retry_later(
    *,
    session: Session,
    submission_id: int,
    worker: str,
    error: str,
    max_attempts: int = 8,
    base_delay_s: float = 30.0,
    now: datetime | None = None,
) -> Status:
    """Put a claimed evaluation back in the queue after a transient error (with exponential backoff), or mark
    it ``failed`` once ``max_attempts`` are spent (which changes what the boards show). Returns the new status.

    Raises:
        StoreError: the worker no longer holds the row.
    """
    now = now or utcnow()
    with store_errors(f"re-queueing submission {submission_id}"):
        held = session.execute(
            sa.select(Submission.attempts, Submission.event_id).where(_held(submission_id, worker))
        ).one_or_none()
        if held is None:
            raise _lost_lease(session, submission_id, worker)
        attempts = held.attempts
        give_up = attempts >= max_attempts
        status = Status.FAILED if give_up else Status.QUEUED
        session.execute(
            sa.update(Submission)
            .where(_held(submission_id, worker))
            .values(
                status=status,
                last_error=error,
                reason=(f"gave up after {attempts} attempts: {error}" if give_up else None),
                reason_code=ReasonCode.GAVE_UP if give_up else None,
                next_attempt_at=now + timedelta(seconds=backoff_s(attempts, base_delay_s=base_delay_s)),
                claimed_by=None,
                claimed_at=None,
                lease_expires_at=None,
                finished_at=now if give_up else None,
                # giving up is the platform's failure: it must not use up one of the team's submissions
                counts_toward_limit=(
                    uses_quota(status, ReasonCode.GAVE_UP) if give_up else Submission.counts_toward_limit
                ),
            )
            .execution_options(synchronize_session=False)
        )
    if give_up:
        bump_data_version(session=session, event_id=held.event_id)
    return status


def finish(
    *,
    session: Session,
    submission_id: int,
    worker: str,
    status: Status,
    reason: Reason | None = None,
    now: datetime | None = None,
) -> None:
    """Close a claimed evaluation with a final status (scored, invalid, needs_review, failed) and release it.

    Raises:
        ValueError: ``status`` is not a final status.
        StoreError: the worker no longer holds the row.
    """
    if status not in FINAL_STATUSES:
        raise ValueError(f"{status!r} is not a final status ({', '.join(FINAL_STATUSES)})")
    now = now or utcnow()
    with store_errors(f"finishing submission {submission_id}"):
        held = session.execute(
            sa.select(Submission.claimed_at, Submission.event_id).where(_held(submission_id, worker))
        ).one_or_none()
        if held is None:
            raise _lost_lease(session, submission_id, worker)
        started = held.claimed_at
        session.execute(
            sa.update(Submission)
            .where(_held(submission_id, worker))
            .values(
                status=status,
                reason=reason.text if reason is not None else None,
                reason_code=reason.code if reason is not None else None,
                claimed_by=None,
                claimed_at=None,
                lease_expires_at=None,
                finished_at=now,
                evaluation_duration_s=(now - started).total_seconds() if started is not None else None,
                # the one rule of which outcomes use one of the team's submissions (greenhack.status); an admin's
                # re-measure never does (greenhack.store.remeasure)
                counts_toward_limit=sa.and_(
                    Submission.remeasure_of.is_(None),
                    sa.true() if uses_quota(status, reason.code if reason is not None else None) else sa.false(),
                ),
            )
            .execution_options(synchronize_session=False)
        )
    # committed with the status: the boards are re-ranked by whichever worker refreshes next
    mark_boards_stale(session=session, event_id=held.event_id)


def requeue(*, session: Session, submission_id: int, now: datetime | None = None) -> None:
    """Queue a submission again from scratch (an admin's re-run): attempts reset, any lease dropped.

    Raises:
        StoreError: no such submission.
    """
    now = now or utcnow()
    with store_errors(f"re-queueing submission {submission_id}"):
        done = session.execute(
            sa.update(Submission)
            .where(Submission.id == submission_id)
            .values(
                status=Status.QUEUED,
                attempts=0,
                next_attempt_at=now,
                last_error=None,
                reason=None,
                reason_code=None,
                claimed_by=None,
                claimed_at=None,
                lease_expires_at=None,
                finished_at=None,
            )
            .returning(Submission.event_id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
    if done is None:
        raise NotFoundError(f"submission {submission_id} does not exist")
    mark_boards_stale(session=session, event_id=done)  # it leaves the boards until evaluated again


def queue_length(*, session: Session, event_id: int | None = None) -> int:
    """How many evaluations wait (queued) or run (measuring)."""
    stmt = (
        sa.select(sa.func.count())
        .select_from(Submission)
        .where(Submission.status.in_(UNFINISHED_STATUSES))
    )
    if event_id is not None:
        stmt = stmt.where(Submission.event_id == event_id)
    with store_errors("counting the queue"):
        return int(session.execute(stmt).scalar_one())

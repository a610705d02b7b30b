"""An admin's re-measure, the store's side: which GitLab job to retry for a submission, and the retried job's row.

The retried job is a new GitLab job in the same pipeline. Its row is queued at once, linked to the submission it
measures again (``submissions.remeasure_of``, always the original, however often it is re-measured) and outside
the team's quota (``counts_toward_limit`` false, and :mod:`greenhack.feedback.accounts` and the team totals leave
re-measures out): the organisers asked for it. The worker evaluates it like any job once GitLab reports it
finished (until then it waits in the queue, :class:`~greenhack.errors.JobNotFinished`); the boards never rank it
on its own but take the median of the original's measurements (:mod:`greenhack.store.intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.errors import NotFoundError, StoreError
from greenhack.status import Status
from greenhack.store import queue
from greenhack.store.crud import get_submission
from greenhack.store.db import store_errors
from greenhack.store.models import Submission

__all__ = ["RetryTarget", "is_remeasure", "record_retry", "retry_target"]


@dataclass(frozen=True)
class RetryTarget:
    """The submission measured again (``original``) and the GitLab job to retry: its latest measured job."""

    original: int
    event_id: int
    team_id: int
    project_id: int
    job_id: int


def retry_target(*, session: Session, submission_id: int, event_id: int) -> RetryTarget:
    """What to retry to measure ``submission_id`` (or, for a re-measurement, its original) again.

    Raises:
        NotFoundError: no such submission in the event.
        StoreError: it was never measured, or a re-measure of it is still waiting to be evaluated.
    """
    row = get_submission(session=session, submission_id=submission_id)
    if row.event_id != event_id:
        raise NotFoundError(f"submission {submission_id} does not exist")
    original = row.remeasure_of if row.remeasure_of is not None else row.id
    with store_errors(f"reading the measurements of submission {original}"):
        group = session.execute(
            sa.select(Submission.gitlab_project_id, Submission.gitlab_job_id, Submission.status, Submission.team_id)
            .where(sa.or_(Submission.id == original, Submission.remeasure_of == original))
            .order_by(Submission.gitlab_job_id)
        ).all()
    if any(g.status in (Status.QUEUED, Status.MEASURING) for g in group):
        raise StoreError(f"submission {original} is being measured already; wait for that measurement")
    latest = group[-1]
    return RetryTarget(original, row.event_id, latest.team_id, int(latest.gitlab_project_id), int(latest.gitlab_job_id))


def record_retry(
    *,
    session: Session,
    target: RetryTarget,
    job_id: int,
    pipeline_id: int | None,
    job_url: str | None,
    created_at: datetime | None,
    now: datetime,
) -> int:
    """Queue the retried job ``job_id`` as a re-measurement of ``target.original``; return its row's id (the same
    row when it is queued already)."""
    queued = queue.enqueue(
        session=session,
        event_id=target.event_id,
        team_id=target.team_id,
        gitlab_project_id=target.project_id,
        gitlab_job_id=job_id,
        gitlab_pipeline_id=pipeline_id,
        job_url=job_url,
        submitted_at=created_at or now,
        now=now,
    )
    with store_errors(f"linking job {job_id} to submission {target.original}"):
        session.execute(
            sa.update(Submission)
            .where(Submission.id == queued.submission_id)
            .values(remeasure_of=target.original, counts_toward_limit=False)
            .execution_options(synchronize_session=False)
        )
    return queued.submission_id


def is_remeasure(*, session: Session, project_id: int, job_id: int) -> bool:
    """Whether GitLab job ``job_id`` of ``project_id`` is an admin's re-measure (its budget check lets it run: the
    organisers asked for it, and it uses none of the team's quota or budget)."""
    with store_errors(f"reading job {job_id}"):
        found = session.execute(
            sa.select(Submission.id).where(
                Submission.gitlab_project_id == project_id,
                Submission.gitlab_job_id == job_id,
                Submission.remeasure_of.is_not(None),
            )
        ).first()
    return found is not None

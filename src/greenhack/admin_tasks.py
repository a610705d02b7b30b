"""The admin task runner: workers run the long admin actions the admin API queued (:mod:`greenhack.store.tasks`).

Web requests never rank (see :mod:`greenhack.store.boards`): ``POST /api/v1/admin/rescore`` only queues a task and
answers 202 with its address. A worker calls :func:`run_due_task` before each claim of an evaluation; it takes one
due task of its event and runs it under the worker's loaded event YAML:

- ``rescore``: :func:`greenhack.store.boards.rescore_event`, every impact recomputed from stored factors and the
  boards ranked once. Each batch of submissions is committed with the task's progress (``done`` of ``total``), so
  ``GET /api/v1/admin/tasks/{id}`` shows it moving; the result is the rescore's report.
- ``remeasure``: retry the submission's latest GitLab job through the API (``POST /projects/:id/jobs/:job_id/retry``)
  and queue the new job as its re-measurement (:mod:`greenhack.store.remeasure`: outside the team's quota, grouped
  with the original, whose board row then ranks the median of its measurements). The result names the new job.

A failed attempt stores its error and queues the task again, until ``max_attempts``; a worker that dies mid-task
lets its lease expire, and another worker runs the task again (a rescore is idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from greenhack.config import EventConfig
from greenhack.errors import GreenhackError, StoreError
from greenhack.gitlab.models import CiJob
from greenhack.store.boards import rescore_event
from greenhack.store.db import SessionFactory, store_errors, transaction
from greenhack.store.models import utcnow
from greenhack.store.remeasure import record_retry, retry_target
from greenhack.store.tasks import ClaimedTask, claim_task, fail_task, finish_task, record_progress

__all__ = ["MAX_TASK_ATTEMPTS", "TASK_LEASE_S", "JobRetrier", "run_due_task"]

log = logging.getLogger(__name__)

TASK_LEASE_S = 300.0
"""How long a worker holds a task between two progress records before another worker may take it over, in s."""
MAX_TASK_ATTEMPTS = 3
"""Attempts before a task is failed for good (its error is kept on it)."""


class JobRetrier(Protocol):
    """What a re-measure asks GitLab (:class:`~greenhack.gitlab.gateway.GitLabGateway` implements it)."""

    def retry_job(self, project: int | str, job_id: int) -> CiJob: ...


def run_due_task(
    *,
    sessions: SessionFactory,
    event_id: int,
    config: EventConfig,
    worker: str,
    now: Callable[[], datetime] = utcnow,
    lease_s: float = TASK_LEASE_S,
    max_attempts: int = MAX_TASK_ATTEMPTS,
    gitlab: JobRetrier | None = None,
) -> bool:
    """Run one due admin task of the event, if any; True when one ran (done or failed). Never raises: a failure
    is stored on the task, a database outage leaves the task for the next call. ``gitlab`` (the platform's
    gateway) is what a ``remeasure`` retries the job with."""
    try:
        with transaction(sessions, "claiming an admin task") as session:
            task = claim_task(session=session, event_id=event_id, worker=worker, lease_s=lease_s, now=now())
    except StoreError as exc:
        log.warning("%s: cannot look for admin tasks (%s)", worker, exc)
        return False
    if task is None:
        return False
    log.info("%s: running admin task %s (%s, attempt %s)", worker, task.task_id, task.kind, task.attempt)
    try:
        if task.kind == "remeasure":
            _remeasure(task, sessions=sessions, gitlab=gitlab, now=now)
        else:
            _run(task, sessions=sessions, config=config, now=now, lease_s=lease_s)
    except Exception as exc:  # a bug must not stop the worker; the error is kept on the task for the admins
        if not isinstance(exc, GreenhackError):
            log.exception("internal error in admin task %s", task.task_id)
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        try:
            with transaction(sessions, "failing an admin task") as session:
                status = fail_task(
                    session=session, task=task, error=reason, max_attempts=max_attempts, now=now()
                )
            log.warning("admin task %s: %s (%s)", task.task_id, status, reason)
        except (
            StoreError
        ) as store_exc:  # lease lost or database down: the lease expires, another worker retries
            log.warning("admin task %s: could not record its failure (%s)", task.task_id, store_exc)
        return True
    log.info("admin task %s done", task.task_id)
    return True


def _run(
    task: ClaimedTask,
    *,
    sessions: SessionFactory,
    config: EventConfig,
    now: Callable[[], datetime],
    lease_s: float,
) -> None:
    if task.kind != "rescore":
        raise GreenhackError(f"unknown admin task kind {task.kind!r}")
    with store_errors(f"running admin task {task.task_id}"), sessions() as session:

        def progress(done: int, total: int) -> None:
            # committed with the batch it counts: the progress shows, and row locks are held briefly
            record_progress(session=session, task=task, done=done, total=total, lease_s=lease_s, now=now())
            session.commit()

        report = rescore_event(
            session=session, event_id=task.event_id, config=config, now=now(), progress=progress
        )
        finish_task(session=session, task=task, result=report.model_dump(mode="json"), now=now())
        session.commit()


def _remeasure(
    task: ClaimedTask, *, sessions: SessionFactory, gitlab: JobRetrier | None, now: Callable[[], datetime]
) -> None:
    """Retry the submission's latest job in GitLab and queue the new job as its re-measurement."""
    if gitlab is None:
        raise GreenhackError("this worker has no GitLab gateway to retry the job with")
    if task.submission_id is None:
        raise GreenhackError("a remeasure task names no submission")
    with transaction(sessions, "reading the submission to re-measure") as session:
        target = retry_target(session=session, submission_id=task.submission_id, event_id=task.event_id)
    job = gitlab.retry_job(target.project_id, target.job_id)
    with transaction(sessions, "queueing the re-measurement") as session:
        row = record_retry(
            session=session,
            target=target,
            job_id=job.id,
            pipeline_id=job.pipeline_id,
            job_url=job.web_url or None,
            created_at=job.created_at,
            now=now(),
        )
        result = {"submission_id": target.original, "retried_job_id": target.job_id, "job_id": job.id,
                  "remeasure_submission_id": row}  # fmt: skip
        finish_task(session=session, task=task, result=result, now=now())

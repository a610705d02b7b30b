"""Admin tasks: long admin actions (a full rescore) queued as rows for the workers, never run in a web request.

- :func:`enqueue_task` queues one (a task of the same kind still waiting is returned instead: two clicks, one
  rescore);
- :func:`claim_task` hands one due task to one worker with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; one
  ``UPDATE ... WHERE id = (SELECT ...)`` on SQLite); a worker that dies lets the lease expire and another worker
  runs the task again (tasks are idempotent);
- :func:`record_progress` stores ``done`` of ``total`` and extends the lease; :func:`finish_task` stores the result,
  :func:`fail_task` the error (the task is retried until ``max_attempts``);
- :func:`get_task` reads one back for ``GET /api/v1/admin/tasks/{id}``.

Every function takes the caller's session and leaves committing to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenhack.errors import NotFoundError, StoreError
from greenhack.status import TaskStatus
from greenhack.store.db import store_errors
from greenhack.store.models import AdminTask

__all__ = [
    "ClaimedTask",
    "TaskKind",
    "TaskView",
    "claim_task",
    "enqueue_task",
    "fail_task",
    "finish_task",
    "get_task",
    "recent_tasks",
    "record_progress",
]

TaskKind = Literal["rescore", "remeasure"]
"""What a task does: ``rescore`` recomputes every impact from stored factors and re-ranks the boards;
``remeasure`` retries a submission's GitLab job so that it is measured again (:mod:`greenhack.remeasure`)."""


class TaskView(BaseModel):
    """One admin task as the API shows it: ``done`` of ``total`` items (``total`` is None until it started), the
    ``result`` once ``done``, the ``error`` once ``failed`` (or of the last attempt, while it is retried)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    kind: str
    submission_id: int | None = None
    status: TaskStatus
    done: int
    total: int | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class ClaimedTask:
    """A task handed to one worker until ``lease_expires_at``; ``attempt`` counts from 1."""

    task_id: int
    event_id: int
    kind: str
    attempt: int
    worker: str
    lease_expires_at: datetime
    submission_id: int | None = None


def enqueue_task(
    *, session: Session, event_id: int, kind: TaskKind, now: datetime, submission_id: int | None = None
) -> TaskView:
    """Queue a task of ``kind`` for the event (about ``submission_id``, for a ``remeasure``), or return the one of
    that kind (about that submission) still waiting for a worker."""
    with store_errors(f"queueing a {kind} task"):
        about = (
            AdminTask.submission_id.is_(None) if submission_id is None else AdminTask.submission_id == submission_id
        )
        waiting = session.execute(
            sa.select(AdminTask)
            .where(AdminTask.event_id == event_id, AdminTask.kind == kind, AdminTask.status == TaskStatus.QUEUED, about)
            .order_by(AdminTask.id)
            .limit(1)
        ).scalar_one_or_none()
        if waiting is not None:
            return TaskView.model_validate(waiting)
        task = AdminTask(
            event_id=event_id,
            kind=kind,
            submission_id=submission_id,
            status=TaskStatus.QUEUED,
            done=0,
            attempts=0,
            created_at=now,
        )
        session.add(task)
        session.flush()
        return TaskView.model_validate(task)


def _claimable(event_id: int, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        AdminTask.event_id == event_id,
        sa.or_(
            AdminTask.status == TaskStatus.QUEUED,
            sa.and_(AdminTask.status == TaskStatus.RUNNING, AdminTask.lease_expires_at < now),
        ),
    )


def claim_task(
    *, session: Session, event_id: int, worker: str, lease_s: float, now: datetime
) -> ClaimedTask | None:
    """Give the oldest due task of the event to ``worker`` for ``lease_s`` seconds, or None when none is due.

    Due means queued, or running under an expired lease (its worker died).
    """
    if lease_s <= 0:
        raise ValueError("lease_s must be positive")
    expires = now + timedelta(seconds=lease_s)
    with store_errors(f"claiming an admin task for {worker}"):
        if session.get_bind().dialect.name == "postgresql":
            picked = session.execute(
                sa.select(AdminTask.id)
                .where(_claimable(event_id, now))
                .order_by(AdminTask.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if picked is None:
                return None
            stmt = sa.update(AdminTask).where(AdminTask.id == picked)
        else:
            candidate = (
                sa.select(AdminTask.id)
                .where(_claimable(event_id, now))
                .order_by(AdminTask.id)
                .limit(1)
                .scalar_subquery()
            )
            stmt = sa.update(AdminTask).where(AdminTask.id == candidate, _claimable(event_id, now))
        row = session.execute(
            stmt.values(
                status=TaskStatus.RUNNING,
                attempts=AdminTask.attempts + 1,
                claimed_by=worker,
                lease_expires_at=expires,
                started_at=sa.func.coalesce(AdminTask.started_at, now),
            )
            .returning(AdminTask.id, AdminTask.event_id, AdminTask.kind, AdminTask.attempts, AdminTask.submission_id)
            .execution_options(synchronize_session=False)
        ).one_or_none()
    if row is None:
        return None
    return ClaimedTask(row.id, row.event_id, row.kind, row.attempts, worker, expires, row.submission_id)


def _held(task: ClaimedTask) -> sa.ColumnElement[bool]:
    return sa.and_(
        AdminTask.id == task.task_id, AdminTask.status == TaskStatus.RUNNING, AdminTask.claimed_by == task.worker
    )


def _update_held(session: Session, task: ClaimedTask, what: str, **values: Any) -> None:
    with store_errors(f"{what} of admin task {task.task_id}"):
        done = session.execute(
            sa.update(AdminTask)
            .where(_held(task))
            .values(**values)
            .returning(AdminTask.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
    if done is None:
        raise StoreError(
            f"{task.worker} no longer holds admin task {task.task_id} (its lease expired and another worker "
            "took it over)"
        )


def record_progress(
    *, session: Session, task: ClaimedTask, done: int, total: int, lease_s: float, now: datetime
) -> None:
    """Store ``done`` of ``total`` and extend the lease by ``lease_s`` seconds.

    Raises:
        StoreError: the worker no longer holds the task.
    """
    _update_held(
        session,
        task,
        "recording the progress",
        done=done,
        total=total,
        lease_expires_at=now + timedelta(seconds=lease_s),
    )


def finish_task(*, session: Session, task: ClaimedTask, result: dict[str, Any], now: datetime) -> None:
    """The task is done: store its result.

    Raises:
        StoreError: the worker no longer holds the task.
    """
    _update_held(
        session,
        task,
        "finishing",
        status=TaskStatus.DONE,
        result=result,
        error=None,
        finished_at=now,
        lease_expires_at=None,
    )


def fail_task(*, session: Session, task: ClaimedTask, error: str, max_attempts: int, now: datetime) -> str:
    """The attempt failed with ``error``: queue the task again, or fail it after ``max_attempts``; returns the new
    status.

    Raises:
        StoreError: the worker no longer holds the task.
    """
    status = TaskStatus.FAILED if task.attempt >= max_attempts else TaskStatus.QUEUED
    _update_held(
        session,
        task,
        "failing",
        status=status,
        error=error,
        lease_expires_at=None,
        claimed_by=None,
        finished_at=now if status == TaskStatus.FAILED else None,
    )
    return status


def get_task(*, session: Session, event_id: int, task_id: int) -> TaskView:
    """One task of the event.

    Raises:
        NotFoundError: the event has no such task.
    """
    with store_errors(f"reading admin task {task_id}"):
        task = session.execute(
            sa.select(AdminTask).where(AdminTask.id == task_id, AdminTask.event_id == event_id)
        ).scalar_one_or_none()
    if task is None:
        raise NotFoundError(f"admin task {task_id} does not exist")
    return TaskView.model_validate(task)


def recent_tasks(*, session: Session, event_id: int, limit: int = 10) -> list[TaskView]:
    """The event's latest tasks, newest first (the admin page lists them with their progress)."""
    with store_errors("listing admin tasks"):
        found = session.execute(
            sa.select(AdminTask)
            .where(AdminTask.event_id == event_id)
            .order_by(AdminTask.created_at.desc(), AdminTask.id.desc())
            .limit(limit)
        ).scalars()
        return [TaskView.model_validate(task) for task in found]

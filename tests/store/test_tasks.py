"""Admin tasks: one worker at a time holds a task under a lease, a dead worker's task is taken over, a failing task
is retried and then failed with its error, and a rescore task stores its progress and report."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from greenhack.admin_tasks import run_due_task
from greenhack.config import EventConfig
from greenhack.errors import StoreError
from greenhack.store import crud, tasks
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import AdminTask
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _event(sessions: SessionFactory, event_config: EventConfig) -> int:
    with transaction(sessions) as s:
        return crud.ensure_event(session=s, name=event_config.event.name).id


def test_a_task_is_held_by_one_worker_and_taken_over_when_its_lease_expires(
    sessions: SessionFactory, event_config: EventConfig
) -> None:
    event_id = _event(sessions, event_config)
    with transaction(sessions) as s:
        queued = tasks.enqueue_task(session=s, event_id=event_id, kind="rescore", now=NOW)
        assert tasks.enqueue_task(session=s, event_id=event_id, kind="rescore", now=NOW).id == queued.id
    with transaction(sessions) as s:
        first = tasks.claim_task(session=s, event_id=event_id, worker="w1", lease_s=60, now=NOW)
        assert first is not None and first.attempt == 1
        assert tasks.claim_task(session=s, event_id=event_id, worker="w2", lease_s=60, now=NOW) is None
        tasks.record_progress(session=s, task=first, done=2, total=5, lease_s=60, now=NOW)
    # a task running is not waiting: a new request queues another one
    with transaction(sessions) as s:
        assert tasks.enqueue_task(session=s, event_id=event_id, kind="rescore", now=NOW).id != queued.id
        s.execute(sa.delete(AdminTask).where(AdminTask.id != queued.id))
    later = NOW + timedelta(seconds=61)  # w1 died: its lease ran out
    with transaction(sessions) as s:
        second = tasks.claim_task(session=s, event_id=event_id, worker="w2", lease_s=60, now=later)
        assert second is not None and (second.task_id, second.attempt) == (queued.id, 2)
    with pytest.raises(StoreError, match="no longer holds admin task"), transaction(sessions) as s:
        tasks.record_progress(session=s, task=first, done=3, total=5, lease_s=60, now=later)
    with transaction(sessions) as s:
        tasks.finish_task(session=s, task=second, result={"recomputed": 5}, now=later)
        view = tasks.get_task(session=s, event_id=event_id, task_id=queued.id)
    assert (view.status, view.done, view.total, view.result, view.attempts) == (
        "done",
        2,
        5,
        {"recomputed": 5},
        2,
    )
    assert view.started_at == NOW and view.finished_at == later


def test_a_failing_task_is_retried_then_failed_with_its_error(
    sessions: SessionFactory, event_config: EventConfig
) -> None:
    event_id = _event(sessions, event_config)
    with transaction(sessions) as s:
        s.add(AdminTask(event_id=event_id, kind="reticulate", status="queued", created_at=NOW))
    statuses = []
    for _ in range(3):
        assert run_due_task(
            sessions=sessions, event_id=event_id, config=event_config, worker="w", now=lambda: NOW
        )
        with transaction(sessions) as s:
            statuses.append(s.execute(sa.select(AdminTask.status, AdminTask.error)).one())
    assert [status for status, _ in statuses] == ["queued", "queued", "failed"]
    assert statuses[-1][1] == "GreenhackError: unknown admin task kind 'reticulate'"
    assert not run_due_task(
        sessions=sessions, event_id=event_id, config=event_config, worker="w", now=lambda: NOW
    )


def test_a_rescore_task_stores_its_progress_and_report(
    sessions: SessionFactory, event_config: EventConfig
) -> None:
    event_id = _event(sessions, event_config)
    rng = random.Random(5)
    with transaction(sessions) as s:
        factors = synthetic_factors("FRA", fetched_at=NOW)
        team = crud.ensure_team(session=s, event_id=event_id, name="team").id
        for n in range(3):
            job = synthetic_job(rng, server="gpu-1", start=NOW - timedelta(hours=3 - n))
            write_synthetic_submission(
                session=s,
                config=event_config,
                event_id=event_id,
                team_id=team,
                project_id=1,
                job_id=n + 1,
                job=job,
                factors=factors,
            )
        task_id = tasks.enqueue_task(session=s, event_id=event_id, kind="rescore", now=NOW).id
    assert run_due_task(
        sessions=sessions, event_id=event_id, config=event_config, worker="w", now=lambda: NOW
    )
    with transaction(sessions) as s:
        view = tasks.get_task(session=s, event_id=event_id, task_id=task_id)
    assert (view.status, view.done, view.total, view.error) == ("done", 3, 3, None)
    assert view.result == {
        "recomputed": 3,
        "unchanged": 0,
        "problems": [],
        "boards": {"live": 3, "frozen": 0, "final": 3},
    }

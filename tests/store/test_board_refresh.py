"""Coalesced board refreshes: the stale mark, the interval, writes of changed rows only, and no lost mark when a
refresh dies midway; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from greenhack.config import EventConfig, parse_event
from greenhack.evaluation import EvaluationContext
from greenhack.store import crud, queries, queue
from greenhack.store.boards import boards_refresh_due, refresh_boards, refresh_if_stale
from greenhack.store.db import (
    SessionFactory,
    create_db_engine,
    make_session_factory,
    transaction,
    upgrade_database,
)
from greenhack.store.models import Base, Event, Score
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission
from greenhack.worker import Worker, WorkerOptions

YAML = """
event: {name: Boards, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00,
        freeze: 2026-12-02T16:00:00+01:00}
task: {predictions: p.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.5}
impact: {criterion: gwp, location: FRA, pue: 1.2}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
servers:
  - {name: gpu-1, runner_tags: [g], scaphandre: '{instance="a"}', gpu: '{instance="b"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA A100 80GB}}}
"""
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> EventConfig:
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    return parse_event(YAML, source=tmp_path / "event.yaml")


def _add(sessions: SessionFactory, config: EventConfig, n: int, *, first_job: int = 1) -> int:
    """Store ``n`` scored submissions of distinct teams (each finish marks the boards stale)."""
    rng = random.Random(first_job)
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        factors = synthetic_factors("FRA", fetched_at=NOW)
        for job_id in range(first_job, first_job + n):
            team = crud.ensure_team(session=s, event_id=event.id, name=f"t{job_id}")
            write_synthetic_submission(
                session=s,
                config=config,
                event_id=event.id,
                team_id=team.id,
                project_id=1,
                job_id=job_id,
                job=synthetic_job(rng, server="gpu-1", start=NOW - timedelta(hours=2, minutes=job_id)),
                factors=factors,
                status="scored",
            )
        return event.id


def _pending(sessions: SessionFactory, event_id: int) -> int:
    with transaction(sessions) as s:
        return int(s.execute(sa.select(Event.boards_pending).where(Event.id == event_id)).scalar_one())


def _live_ids(sessions: SessionFactory, event_id: int) -> set[int]:
    with transaction(sessions) as s:
        return {r.submission_id for r in queries.board(session=s, event_id=event_id, board_name="live")}


def test_a_stale_board_is_ranked_once_then_not_again_within_the_interval(
    sessions: SessionFactory, config: EventConfig
) -> None:
    event_id = _add(sessions, config, 3)
    assert _pending(sessions, event_id) == 3
    with transaction(sessions) as s:
        assert boards_refresh_due(session=s, event_id=event_id, now=NOW, min_interval_s=2.0)
        counts = refresh_if_stale(session=s, event_id=event_id, config=config, now=NOW, min_interval_s=2.0)
    assert counts is not None and counts["live"] == 3
    assert _pending(sessions, event_id) == 0 and len(_live_ids(sessions, event_id)) == 3
    with transaction(sessions) as s:  # nothing new: nothing to do
        assert refresh_if_stale(session=s, event_id=event_id, config=config, now=NOW) is None
    _add(sessions, config, 1, first_job=10)
    soon = NOW + timedelta(seconds=1)
    with transaction(sessions) as s:  # stale, but ranked 1 s ago: coalesced
        assert not boards_refresh_due(session=s, event_id=event_id, now=soon, min_interval_s=2.0)
        assert (
            refresh_if_stale(session=s, event_id=event_id, config=config, now=soon, min_interval_s=2.0)
            is None
        )
    assert len(_live_ids(sessions, event_id)) == 3 and _pending(sessions, event_id) == 1
    later = NOW + timedelta(seconds=2)
    with transaction(sessions) as s:
        assert boards_refresh_due(session=s, event_id=event_id, now=later, min_interval_s=2.0)
        assert refresh_if_stale(session=s, event_id=event_id, config=config, now=later, min_interval_s=2.0)
    assert len(_live_ids(sessions, event_id)) == 4 and _pending(sessions, event_id) == 0


def test_a_refresh_that_dies_midway_leaves_the_mark_for_the_next_one(
    sessions: SessionFactory, config: EventConfig
) -> None:
    event_id = _add(sessions, config, 2)

    class Died(Exception):
        pass

    with pytest.raises(Died), transaction(sessions) as s:
        assert refresh_if_stale(session=s, event_id=event_id, config=config, now=NOW) is not None
        raise Died  # the worker is killed before its transaction commits
    assert _pending(sessions, event_id) == 2 and _live_ids(sessions, event_id) == set()
    with transaction(sessions) as s:
        assert refresh_if_stale(session=s, event_id=event_id, config=config, now=NOW) is not None
    assert len(_live_ids(sessions, event_id)) == 2 and _pending(sessions, event_id) == 0


def test_replace_scores_writes_only_rows_that_changed(sessions: SessionFactory, config: EventConfig) -> None:
    event_id = _add(sessions, config, 5)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
    with transaction(sessions) as s:
        version = queries.data_version(session=s, event_id=event_id)
        stamps = dict(
            s.execute(sa.select(Score.submission_id, Score.computed_at).where(Score.board == "live")).all()
        )
        rows = (
            s.execute(sa.select(Score).where(Score.board == "live").order_by(Score.submission_id))
            .scalars()
            .all()
        )
        fields = [f.name for f in dataclasses.fields(crud.ScoreRecord)]  # the rank, its intervals, ...
        records = [crud.ScoreRecord(**{f: getattr(r, f) for f in fields}) for r in rows]
    later = NOW + timedelta(minutes=1)
    with transaction(sessions) as s:  # the same board again: nothing written, the version stays
        assert (
            crud.replace_scores(session=s, event_id=event_id, board="live", records=records, now=later) == 0
        )
        assert queries.data_version(session=s, event_id=event_id) == version
    moved = [records[0].__class__(**{**records[0].__dict__, "note": "moved"}), *records[1:3]]
    with transaction(sessions) as s:  # one row changed, two dropped, the rest untouched
        assert crud.replace_scores(session=s, event_id=event_id, board="live", records=moved, now=later) == 3
        assert queries.data_version(session=s, event_id=event_id) == version + 1
        after = dict(s.execute(sa.select(Score.submission_id, Score.note).where(Score.board == "live")).all())
        stamps_after = dict(
            s.execute(sa.select(Score.submission_id, Score.computed_at).where(Score.board == "live")).all()
        )
    assert set(after) == {r.submission_id for r in moved} and after[moved[0].submission_id] == "moved"
    assert stamps_after[moved[0].submission_id] == later
    assert stamps_after[moved[1].submission_id] == stamps[moved[1].submission_id]


def test_finishing_and_requeueing_mark_the_boards_stale(
    sessions: SessionFactory, config: EventConfig
) -> None:
    event_id = _add(sessions, config, 1)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
    (sid,) = _live_ids(sessions, event_id)
    with transaction(sessions) as s:
        queue.requeue(session=s, submission_id=sid, now=NOW)
    assert _pending(sessions, event_id) == 1
    with transaction(sessions) as s:
        claimed = queue.claim(session=s, worker="w", lease_s=60, now=NOW, event_id=event_id)
        assert claimed is not None and claimed.submission_id == sid
    with transaction(sessions) as s:
        queue.finish(session=s, submission_id=sid, worker="w", status="scored", now=NOW)
    assert _pending(sessions, event_id) == 2


@pytest.fixture
def pg_sessions(postgres_url: str) -> Iterator[SessionFactory]:
    """PostgreSQL only (SQLite has one writer at a time: a second worker waits on its write lock instead)."""
    upgrade_database(postgres_url)
    engine = create_db_engine(postgres_url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield make_session_factory(engine)
    engine.dispose()


def test_a_second_worker_does_not_wait_for_the_one_ranking(
    pg_sessions: SessionFactory, config: EventConfig
) -> None:
    sessions = pg_sessions
    event_id = _add(sessions, config, 2)
    with transaction(sessions) as first:
        assert refresh_if_stale(session=first, event_id=event_id, config=config, now=NOW) is not None
        with transaction(sessions) as second:  # the first has not committed yet: the second returns at once
            assert refresh_if_stale(session=second, event_id=event_id, config=config, now=NOW) is None
    assert _pending(sessions, event_id) == 0 and len(_live_ids(sessions, event_id)) == 2


class SimClock:
    """A simulated clock shared by threads: :meth:`sleep` moves it forward, waking each thread blocked in
    :meth:`wait` at its deadline, in order, and letting it run until it waits again before time moves on (so what
    a woken thread does happens at its deadline's time, and is done when ``sleep`` returns)."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._deadlines: dict[int, datetime] = {}  # thread id -> when its wait ends

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            self._deadlines[me] = self._now + timedelta(seconds=seconds)
            self._cond.notify_all()
            # woken by sleep(); the short timeout only notices `stop`, which is set without notifying
            while not stop.is_set() and self._now < self._deadlines[me]:
                self._cond.wait(timeout=0.01)
            del self._deadlines[me]
            self._cond.notify_all()
            return stop.is_set()

    def wait_for_waiters(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self._deadlines) >= count, timeout=30)

    def sleep(self, seconds: float) -> None:
        target = self.now() + timedelta(seconds=seconds)
        with self._cond:
            while True:
                due = [d for d in self._deadlines.values() if d <= target]
                if not due:
                    self._now = target
                    return
                waiting = set(self._deadlines)
                self._now = min(due)
                self._cond.notify_all()
                # the woken threads run, then wait again (a new deadline, later than now)
                assert self._cond.wait_for(
                    lambda: set(self._deadlines) >= waiting and min(self._deadlines.values()) > self._now,
                    timeout=30,
                )


def _refreshed_at(sessions: SessionFactory, event_id: int) -> datetime | None:
    with transaction(sessions) as s:
        return s.execute(sa.select(Event.boards_refreshed_at).where(Event.id == event_id)).scalar_one()


def test_a_worker_ranks_when_due_while_waiting_for_prometheus_and_at_once_when_idle(
    sessions: SessionFactory, config: EventConfig
) -> None:
    clock = SimClock(NOW)
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.sleep(seconds)

    unused: Any = object()  # the evaluation's services: this test never evaluates
    ctx = EvaluationContext(
        config=config,
        gitlab=unused,
        telemetry=unused,
        impacts=unused,
        truth=unused,
        split=unused,
        now=clock.now,
        sleep=fake_sleep,
    )
    event_id = _add(sessions, config, 2)
    worker = Worker(
        ctx=ctx,
        sessions=sessions,
        event_id=event_id,
        now=clock.now,
        wait=clock.wait,
        options=WorkerOptions(name="w1", refresh_interval_s=2.0),
    )
    assert worker.refresh_boards() and len(_live_ids(sessions, event_id)) == 2
    _add(sessions, config, 1, first_job=10)
    clock.sleep(0.5)
    assert not worker.refresh_boards()  # ranked 0.5 s ago: coalesced
    with worker.board_timer():  # the worker's own timer, as in Worker.run
        clock.wait_for_waiters(1)
        worker.ctx.sleep(3.0)  # an evaluation waits for Prometheus: the boards are ranked once due, meanwhile
        assert sum(slept) == pytest.approx(3.0)
        assert len(_live_ids(sessions, event_id)) == 3 and _pending(sessions, event_id) == 0
        # ranked while the evaluation still waited, within the interval (and one timer period) of being due
        refreshed = _refreshed_at(sessions, event_id)
        assert refreshed is not None and NOW + timedelta(seconds=2) <= refreshed <= NOW + timedelta(seconds=3)
    _add(sessions, config, 1, first_job=20)
    assert worker.run_once() is False  # nothing queued: an idle worker ranks at once, interval or not
    assert len(_live_ids(sessions, event_id)) == 4 and _pending(sessions, event_id) == 0

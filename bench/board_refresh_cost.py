"""Cost of one evaluation's store step as the event grows: ranking in every evaluation vs coalesced refreshes.

Before, each evaluation's store transaction re-ranked every board and rewrote every score row (and held the
event's row meanwhile), so evaluations slowed as submissions accumulated. Now storing only marks the boards stale
(``events.boards_pending``) and a worker re-ranks at most every ``refresh_interval_s`` (2 s), writing only the
score rows that changed. This bench seeds a throwaway PostgreSQL event with N submissions through the real write
path, then times, alternately in the same run on the same database:

- before: store one submission + ``refresh_boards`` with every score row deleted and re-inserted, in one
  transaction (the old worker's store step);
- after: store one submission (its finish marks the boards stale) + the worker's cheap "is a refresh due?" check;
- one coalesced refresh (``refresh_if_stale``: ranks, writes the changed rows), paid at most once per interval
  per event whatever the number of evaluations.

    .venv/bin/python bench/board_refresh_cost.py [--sizes 100 2000] [--evaluations 20]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.config import EventConfig, load_event
from greenhack.services.postgres import temporary_database
from greenhack.store import crud
from greenhack.store.boards import boards_refresh_due, refresh_boards, refresh_if_stale
from greenhack.store.db import (
    SessionFactory,
    create_db_engine,
    make_session_factory,
    transaction,
    upgrade_database,
)
from greenhack.store.models import Score
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

__all__ = ["main"]

EVENT_YAML = """
event: {name: Refresh cost, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00,
        freeze: 2026-12-02T16:00:00+01:00}
task: {predictions: predictions.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.6}
impact: {criterion: gwp, include: [use, embodied], pue: 1.3, location: FRA}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
servers:
  - name: gpu-1
    runner_tags: [gpu-1]
    scaphandre: '{instance="gpu-1:8080"}'
    gpu: '{instance="gpu-1:9835"}'
    hardware: {cpu: {name: Intel Xeon Gold 6248, units: 2}, ram_gb: 192, gpu: {name: NVIDIA A100 80GB, units: 1}}
"""
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEAMS = 100
REFRESH_INTERVAL_S = 2.0


def _legacy_replace_scores(
    *,
    session: Session,
    event_id: int,
    board: str,
    records: Sequence[crud.ScoreRecord],
    now: datetime | None = None,
) -> int:
    """The old ``replace_scores``: delete every row of the board, insert them all again."""
    session.execute(sa.delete(Score).where(Score.event_id == event_id, Score.board == board))
    if records:
        session.execute(
            sa.insert(Score),
            [
                {
                    "submission_id": r.submission_id,
                    "board": board,
                    "event_id": event_id,
                    "rank": r.rank,
                    "score": r.score,
                    "pareto": r.pareto,
                    "best_of_team": r.best_of_team,
                    "formula": r.formula,
                    "note": r.note,
                    "computed_at": now,
                }
                for r in records
            ],
        )
    crud.bump_data_version(session=session, event_id=event_id)
    return len(records)


@contextlib.contextmanager
def _legacy_writes() -> Iterator[None]:
    current = crud.replace_scores
    crud.replace_scores = _legacy_replace_scores
    try:
        yield
    finally:
        crud.replace_scores = current


class Event:
    """One seeded event and the next job to store."""

    def __init__(self, sessions: SessionFactory, config: EventConfig) -> None:
        self.sessions, self.config = sessions, config
        self.rng = random.Random(2026)
        self.factors = synthetic_factors(config.impact.location, fetched_at=START)
        with transaction(sessions) as s:
            self.event_id = crud.ensure_event(session=s, name=config.event.name).id
            self.team_ids = [
                crud.ensure_team(session=s, event_id=self.event_id, name=f"team-{t:03d}").id
                for t in range(TEAMS)
            ]
        self.count = 0

    def store(self, session: Session) -> None:
        k = self.count
        job = synthetic_job(self.rng, server="gpu-1", start=START + timedelta(seconds=7 * k), points=12)
        write_synthetic_submission(
            session=session,
            config=self.config,
            event_id=self.event_id,
            team_id=self.team_ids[k % TEAMS],
            project_id=1000 + k % TEAMS,
            job_id=k + 1,
            job=job,
            factors=self.factors,
        )
        self.count += 1

    def grow_to(self, n: int) -> None:
        with transaction(self.sessions) as s:
            while self.count < n:
                self.store(s)
        with transaction(self.sessions) as s:
            refresh_boards(session=s, event_id=self.event_id, config=self.config, now=START)


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{1000 * statistics.median(samples):8.1f} {1000 * p95:8.1f}"


def measure(event: Event, evaluations: int) -> dict[str, list[float]]:
    """Alternate old and new store steps; time coalesced refreshes (diff writes) and full-rewrite refreshes."""
    out: dict[str, list[float]] = {"before": [], "after": [], "refresh": [], "refresh_full": []}
    now = START + timedelta(hours=2)
    for _ in range(evaluations):
        t = time.perf_counter()
        with _legacy_writes(), transaction(event.sessions) as s:
            event.store(s)
            refresh_boards(session=s, event_id=event.event_id, config=event.config, now=now)
        out["before"].append(time.perf_counter() - t)

        t = time.perf_counter()
        with transaction(event.sessions) as s:
            event.store(s)
        with transaction(event.sessions) as s:  # the worker's after-store check (a refresh is rarely due)
            boards_refresh_due(session=s, event_id=event.event_id, now=now, min_interval_s=REFRESH_INTERVAL_S)
        out["after"].append(time.perf_counter() - t)

        now += timedelta(seconds=REFRESH_INTERVAL_S)
        t = time.perf_counter()
        with transaction(event.sessions) as s:
            done = refresh_if_stale(
                session=s,
                event_id=event.event_id,
                config=event.config,
                now=now,
                min_interval_s=REFRESH_INTERVAL_S,
            )
        out["refresh"].append(time.perf_counter() - t)
        if done is None:
            raise SystemExit("the boards were stale and due, yet not refreshed")
    for _ in range(max(3, evaluations // 4)):
        t = time.perf_counter()
        with _legacy_writes(), transaction(event.sessions) as s:
            refresh_boards(session=s, event_id=event.event_id, config=event.config, now=now)
        out["refresh_full"].append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--evaluations", type=int, default=20)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        temporary_database(args.admin_url, prefix="greenhack_bench") as url,
    ):
        folder = Path(tmp)
        (folder / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
        (folder / "event.yaml").write_text(EVENT_YAML, encoding="utf-8")
        config = load_event(folder / "event.yaml")
        upgrade_database(url)
        engine = create_db_engine(url)
        try:
            event = Event(make_session_factory(engine), config)
            rows = []
            for size in sorted(args.sizes):
                t = time.perf_counter()
                event.grow_to(size)
                print(f"seeded {event.count} submissions of {TEAMS} teams in {time.perf_counter() - t:.1f} s")
                rows.append((size, measure(event, args.evaluations)))
        finally:
            engine.dispose()
    print(f"\nPostgreSQL, {args.evaluations} evaluations per size, times in ms (p50, p95)")
    print(
        f"{'submissions':>11} | {'before: store+rank':>17} | {'after: store':>17} | "
        f"{'refresh (diff)':>17} | {'refresh (rewrite)':>17} | {'ratio p50':>9}"
    )
    for size, out in rows:
        ratio = statistics.median(out["before"]) / statistics.median(out["after"])
        print(
            f"{size:>11} | {_ms(out['before'])} | {_ms(out['after'])} | {_ms(out['refresh'])} | "
            f"{_ms(out['refresh_full'])} | {ratio:8.1f}x"
        )
    print(
        f"\nafter: one refresh per event at most every {REFRESH_INTERVAL_S:.0f} s, whatever the evaluation rate"
    )


if __name__ == "__main__":
    main()

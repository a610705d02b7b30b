"""Cost of a full rescore (``rescore_event``) on PostgreSQL at 1,000 and 10,000 submissions, before and after.

Each size is seeded once with ``bench/leaderboard_load.py``'s own seeding (200 teams, the real ranking) into a
throwaway PostgreSQL database, which is then copied (``CREATE DATABASE ... TEMPLATE``), so both algorithms rescore
exactly the same rows, after the same YAML change (PUE 1.3 -> 1.6, use impacts only, ranking weights 0.7/0.3):

- before: the algorithm rescoring had until now, kept here as :func:`rescore_before` and :func:`refresh_before`
  for the side-by-side: one ``crud.record_impacts`` per submission (ORM loads of the submission and its
  measurement, a DELETE, four INSERTs, a data version bump each), then each of the three boards read and its
  pipelines folded on its own;
- after: ``greenhack.store.boards.rescore_event``: impacts written in batches of 1,000 with one DELETE, one
  multi-row INSERT and executemany UPDATEs, no ORM loads, stored factors parsed once per distinct value and not
  rewritten when unchanged, one data version bump per batch; the boards' submissions read and folded once.

The seeded tables are ANALYZEd before timing, as autovacuum does within a minute of such a load: with the
statistics of empty tables, PostgreSQL's plan for the boards' phase query is a nested loop over every pair of
submissions (about 15 s a board at 10,000 here), which would swamp both sides. Autovacuum is then kept off the
bench's tables, and a CHECKPOINT starts each side, so that the server's work on what the first side rewrote
(vacuuming it, flushing its pages) does not run while the second side is timed.

Then it checks that both databases hold the same impacts, submission figures, stored factors and board rows
(rank, score, Pareto flag, best-of-team, formula, note), and that both reports are equal.

Target: under 10 s for 10,000 submissions.

``--intervals`` measures something else (issue 17): the cost of one board refresh (``refresh_boards``: all three
boards) with ``ranking.ties: significant`` against ``ties: none``, side by side on the same database. The seeded
submissions are given what an evaluation now stores: each measurement's interval parts (integration 2 %, window
edges 0.5 %, sensor 3 % of its energy, at 95 %) and each performance's 1,000 bootstrap replicates on its board's
shared resamples (:func:`greenhack.scoring.bootstrap.metric_replicates` of predictions drawn with the stored
accuracy). Each mode is timed ``--repeats`` times, alternately; the median is printed with how many rows share a
rank. Default size: 1,000 submissions.

    .venv/bin/python bench/rescore_cost.py [--sizes 1000 10000] [--teams 200]
    .venv/bin/python bench/rescore_cost.py --intervals [--sizes 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import sqlalchemy as sa
from leaderboard_load import EVENT_YAML, seed
from psycopg import sql
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from greenhack.config import EventConfig, load_event
from greenhack.errors import ImpactsError, TelemetryError
from greenhack.impacts import impacts_from_factors
from greenhack.impacts.models import ServerFactors
from greenhack.scoring.ranking import rank_submissions
from greenhack.services.postgres import temporary_database
from greenhack.store import crud, queries
from greenhack.store.boards import (
    RescoreReport,
    _chart_front,
    _idle_power_w,
    _records,
    board_inputs,
    rescore_event,
)
from greenhack.store.db import create_db_engine, make_session_factory, transaction, upgrade_database
from greenhack.store.freeze import freeze_state
from greenhack.store.models import BOARDS, Base, Event, Impact, Measurement, Performance, Score, Submission
from greenhack.store.pipeline_stages import phase_rank_inputs
from greenhack.telemetry.idle import attributed_energy_j

__all__ = ["add_intervals", "main", "rescore_before", "timed_refreshes"]

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def rescore_before(*, session: Session, event_id: int, config: EventConfig, now: datetime) -> RescoreReport:
    """BEFORE (kept for the side-by-side only): the rescore as it was, one ``crud.record_impacts`` per row."""
    measured = session.execute(
        sa.select(
            Measurement.submission_id,
            Measurement.factors,
            Measurement.server,
            Measurement.total_energy_j,
            Measurement.duration_s,
            Measurement.idle_power_w,
        )
        .join(Submission, Submission.id == Measurement.submission_id)
        .where(Submission.event_id == event_id)
        .order_by(Measurement.submission_id)
    ).all()
    recomputed, problems = 0, []
    for row in measured:
        if row.factors is None:
            problems.append(f"submission {row.submission_id}: no stored impact factors")
            continue
        try:
            factors = ServerFactors.model_validate(row.factors)
            charged_j = attributed_energy_j(
                row.total_energy_j,
                row.duration_s,
                idle=config.impact.idle,
                idle_power_w=_idle_power_w(config, row.server, stored_w=row.idle_power_w),
            )
            impacts = impacts_from_factors(factors, config.impact, charged_j, row.duration_s)
        except (ValidationError, ImpactsError, TelemetryError) as exc:
            problems.append(f"submission {row.submission_id}: {str(exc).splitlines()[0]}")
            continue
        crud.record_impacts(session=session, submission_id=row.submission_id, impacts=impacts)
        recomputed += 1
    boards = refresh_before(session=session, event_id=event_id, config=config, now=now)
    return RescoreReport(
        recomputed=recomputed, unchanged=len(measured) - recomputed, problems=problems, boards=boards
    )


def refresh_before(*, session: Session, event_id: int, config: EventConfig, now: datetime) -> dict[str, int]:
    """BEFORE (kept for the side-by-side only): ``refresh_boards`` as it was, each board read and its pipelines
    folded on its own."""
    session.execute(
        sa.update(Event)
        .where(Event.id == event_id)
        .values(boards_pending=0, boards_refreshed_at=now)
        .execution_options(synchronize_session=False)
    )
    event = queries.get_event(session=session, event_id=event_id)
    state = freeze_state(config, now=now, override=event.frozen_override, frozen_at=event.frozen_at)
    cut = state.cut if state.cut is not None else config.event.freeze
    counts: dict[str, int] = {}
    for board in BOARDS:
        if board == "frozen" and cut is None:
            crud.replace_scores(session=session, event_id=event_id, board=board, records=[], now=now)
            counts[board] = 0
            continue
        inputs = board_inputs(
            session=session, event_id=event_id, board=board, cut=cut if board == "frozen" else None
        )
        inputs = phase_rank_inputs(session, event_id=event_id, inputs=inputs, config=config)
        rows = rank_submissions(inputs, config.ranking, config.performance, impact=config.impact)
        front = _chart_front(inputs, config.performance.higher_is_better)
        crud.replace_scores(
            session=session, event_id=event_id, board=board, records=_records(rows, front), now=now
        )
        counts[board] = len(rows)
    return counts


@contextmanager
def copy_of(url: str) -> Iterator[str]:
    """A copy of the database at ``url`` (no connection may be open on it), dropped afterwards."""
    source = make_url(url)
    assert source.database is not None
    name = f"{source.database}_copy_{uuid.uuid4().hex[:6]}"
    admin = {"host": source.host, "port": source.port, "user": source.username, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source.database)
            )
        )
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def analyze(url: str) -> None:
    """Refresh the planner's statistics of the seeded tables (what autovacuum does after a bulk load), then keep
    autovacuum off them: its pass over the rows one side rewrote must not run while the other side is timed."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
            for table in Base.metadata.sorted_tables:
                conn.execute(sa.text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))
    finally:
        engine.dispose()


def stored(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Everything a rescore writes, in a comparable order."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return {
                "impacts": [
                    tuple(r)
                    for r in conn.execute(
                        sa.select(
                            Impact.submission_id,
                            Impact.criterion,
                            Impact.use,
                            Impact.embodied,
                            Impact.total,
                            Impact.min,
                            Impact.max,
                            Impact.unit,
                        ).order_by(Impact.submission_id, Impact.criterion)
                    )
                ],
                "submissions": [
                    tuple(r)
                    for r in conn.execute(
                        sa.select(
                            Submission.id,
                            Submission.impact_total,
                            Submission.impact_min,
                            Submission.impact_max,
                            Submission.impact_unit,
                            Submission.gwp_kgco2e,
                        ).order_by(Submission.id)
                    )
                ],
                "factors": [
                    tuple(r)
                    for r in conn.execute(
                        sa.select(Measurement.submission_id, Measurement.factors).order_by(
                            Measurement.submission_id
                        )
                    )
                ],
                "scores": [
                    tuple(r)
                    for r in conn.execute(
                        sa.select(
                            Score.board,
                            Score.submission_id,
                            Score.rank,
                            Score.score,
                            Score.pareto,
                            Score.best_of_team,
                            Score.formula,
                            Score.note,
                        ).order_by(Score.board, Score.submission_id)
                    )
                ],
            }
    finally:
        engine.dispose()


def timed_rescore(url: str, config: EventConfig, *, before: bool) -> tuple[float, RescoreReport]:
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    try:
        with transaction(sessions) as session:
            event_id = session.execute(sa.select(Event.id)).scalar_one()
            # each side starts with no dirty pages of the other's writes left for the server to flush meanwhile
            session.execute(sa.text("CHECKPOINT"))
        started = time.perf_counter()
        with transaction(sessions, "rescoring") as session:
            rescore = rescore_before if before else rescore_event
            report = rescore(session=session, event_id=event_id, config=config, now=NOW)
        return time.perf_counter() - started, report
    finally:
        engine.dispose()


def changed(config: EventConfig) -> EventConfig:
    """The admins' YAML change: PUE 1.3 -> 1.6, use impacts only, performance weighs more."""
    impact = config.impact.model_copy(update={"pue": 1.6, "include": ["use"]})
    assert config.ranking.weights is not None
    weights = config.ranking.weights.model_copy(update={"performance": 0.7, "impact": 0.3})
    ranking = config.ranking.model_copy(update={"weights": weights})
    return config.model_copy(update={"impact": impact, "ranking": ranking})


def add_intervals(url: str, config: EventConfig) -> float:
    """Store on every seeded submission what an evaluation now stores with it (module docstring); the seconds."""
    from greenhack.scoring.bootstrap import board_resamples, metric_replicates  # noqa: PLC0415

    started = time.perf_counter()
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    seed_text = config.event.split_seed
    rng = random.Random(17)
    with transaction(sessions) as s:
        s.execute(
            sa.update(Measurement).values(
                energy_confidence=0.95,
                energy_integration_j=0.02 * Measurement.total_energy_j,
                energy_edges_j=0.005 * Measurement.total_energy_j,
                energy_sensor_j=0.03 * Measurement.total_energy_j,
            )
        )
        half = sa.func.sqrt(0.02**2 + 0.005**2 + 0.03**2) * Measurement.total_energy_j
        s.execute(
            sa.update(Measurement).values(
                energy_low_j=Measurement.total_energy_j - half, energy_high_j=Measurement.total_energy_j + half
            )
        )
        s.execute(
            sa.update(Submission)
            .where(Submission.id == Measurement.submission_id)
            .values(energy_low_j=Measurement.energy_low_j, energy_high_j=Measurement.energy_high_j)
        )
        performances = s.execute(
            sa.select(Performance.id, Performance.split, Performance.value, Performance.rows)
        ).all()
        vectors = []
        for row in performances:
            n = int(row.rows)
            truth = [str(i % 2) for i in range(n)]
            right = round(row.value * n)
            wrong = set(rng.sample(range(n), n - right))
            predicted = [str(1 - i % 2) if i in wrong else str(i % 2) for i in range(n)]
            resamples = board_resamples(seed=seed_text, board=row.split, n_rows=n)
            drawn = metric_replicates("accuracy", truth, predicted, resamples)
            vectors.append({"b_id": row.id, "v_replicates": drawn.to_bytes()})
        table = Performance.__table__
        s.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(replicates=sa.bindparam("v_replicates")),
            vectors,
        )
    engine.dispose()
    return time.perf_counter() - started


def timed_refreshes(
    url: str, configs: dict[str, EventConfig], *, repeats: int
) -> dict[str, tuple[float, int, int]]:
    """Each config's median seconds of one ``refresh_boards`` (alternately, ``repeats`` times each), and how many
    ranked score rows (all three boards) share a rank after it, of how many ranked."""
    from greenhack.store.boards import refresh_boards  # noqa: PLC0415

    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    times: dict[str, list[float]] = {name: [] for name in configs}
    tied: dict[str, tuple[int, int]] = {}
    for _ in range(repeats):
        for name, config in configs.items():
            with transaction(sessions) as s:
                event_id = s.execute(sa.select(Event.id)).scalar_one()
                started = time.perf_counter()
                refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
                times[name].append(time.perf_counter() - started)
            with sessions() as s:
                shared = s.execute(sa.select(sa.func.count()).where(Score.tied.is_(True))).scalar_one()
                ranked = s.execute(sa.select(sa.func.count()).where(Score.rank.is_not(None))).scalar_one()
                tied[name] = (shared, ranked)
    engine.dispose()
    return {name: (statistics.median(times[name]), *tied[name]) for name in configs}


def intervals_main(args: argparse.Namespace) -> None:
    """``--intervals``: a board refresh with ``ties: significant`` against ``ties: none`` (module docstring)."""
    sizes = args.sizes if args.sizes != [1_000, 10_000] else [1_000]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
        (folder / "event.yaml").write_text(EVENT_YAML, encoding="utf-8")
        config = load_event(folder / "event.yaml")
        configs = {
            ties: config.model_copy(update={"ranking": config.ranking.model_copy(update={"ties": ties})})
            for ties in ("none", "significant")
        }
        results = []
        for size in sizes:
            with temporary_database(args.admin_url, prefix="greenhack_bench") as url:
                upgrade_database(url)
                seed_s = seed(url, config, teams=args.teams, submissions=size)
                intervals_s = add_intervals(url, config)
                analyze(url)
                print(f"{size} submissions of {args.teams} teams seeded in {seed_s:.1f} s, intervals stored in "
                      f"{intervals_s:.1f} s", flush=True)  # fmt: skip
                timed = timed_refreshes(url, configs, repeats=args.repeats)
                results.append((size, timed))
    print(f"\n{'submissions':>12}{'ties: none s':>14}{'significant s':>15}{'ratio':>8}{'ranked rows tied':>18}")
    for size, timed in results:
        (none_s, *_), (sig_s, tied, ranked) = timed["none"], timed["significant"]
        print(f"{size:>12}{none_s:>14.3f}{sig_s:>15.3f}{sig_s / none_s:>7.1f}x{f'{tied} of {ranked}':>18}")
    print(f"\n(one refresh: the live, frozen and final boards; median of {args.repeats} each, alternately)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--intervals", action="store_true", help="ties: significant against none (issue 17)")
    parser.add_argument("--repeats", type=int, default=3, help="--intervals: refreshes timed per mode")
    args = parser.parse_args()
    if args.intervals:
        intervals_main(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
        (folder / "event.yaml").write_text(EVENT_YAML, encoding="utf-8")
        config = load_event(folder / "event.yaml")
        new_config = changed(config)
        rows: list[tuple[int, float, float, bool]] = []
        for size in args.sizes:
            with temporary_database(args.admin_url, prefix="greenhack_bench") as url:
                upgrade_database(url)
                seed_s = seed(url, config, teams=args.teams, submissions=size)
                analyze(url)
                print(f"{size} submissions of {args.teams} teams seeded in {seed_s:.1f} s", flush=True)
                with copy_of(url) as twin:
                    before_s, before_report = timed_rescore(url, new_config, before=True)
                    print(f"  before: {before_s:7.2f} s  {before_report.boards}", flush=True)
                    after_s, after_report = timed_rescore(twin, new_config, before=False)
                    print(f"  after:  {after_s:7.2f} s  {after_report.boards}", flush=True)
                    same = after_report == before_report and stored(url) == stored(twin)
                print(f"  same impacts, figures, factors, boards and report: {same}", flush=True)
                rows.append((size, before_s, after_s, same))

    print(f"\n{'submissions':>12}{'before s':>11}{'after s':>10}{'speed-up':>10}{'identical':>11}")
    for size, before_s, after_s, same in rows:
        print(f"{size:>12}{before_s:>11.2f}{after_s:>10.2f}{before_s / after_s:>9.1f}x{same!s:>11}")
    ok = all(same for *_, same in rows) and all(
        after_s < 10.0 for size, _, after_s, _ in rows if size >= 10_000
    )
    print(
        f"\ntarget (10,000 submissions rescored in under 10 s, results identical): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()

"""Cost of one board refresh with phases and hardware tracks, against the same submissions on one board.

The refresh reads every rankable submission once whatever the number of boards, then ranks each board key
(phase x track x live/frozen/final) on its own submissions and reads each (phase, track) pair's team totals; the
event without phases and tracks ranks its three boards as before. This bench seeds a throwaway PostgreSQL
database with N submissions (100 teams, half on each of two servers, spread over two days) and times
``refresh_boards`` on the event as one board and on the same jobs with two phases and two tracks (12 board keys).

    .venv/bin/python bench/board_keys_refresh_cost.py [--sizes 1000 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from greenhack.config import EventConfig, parse_event
from greenhack.services.postgres import temporary_database
from greenhack.store import crud
from greenhack.store.boards import refresh_boards
from greenhack.store.db import create_db_engine, make_session_factory, transaction, upgrade_database
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

__all__ = ["main"]

HEAD = """
event: {name: Keys cost, opens: 2026-12-01T00:00:00Z, closes: 2026-12-03T00:00:00Z}
task: {predictions: p.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.6}
impact: {criterion: gwp, location: FRA, pue: 1.3}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
"""
SERVERS = """
servers:
  - {name: gpu-1, TRACK_A runner_tags: [a], scaphandre: '{instance="a"}', gpu: '{instance="b"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA A100 80GB}}}
  - {name: gpu-2, TRACK_B runner_tags: [b], scaphandre: '{instance="c"}', gpu: '{instance="d"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: GPU_B}}}
"""
PHASES = """
phases:
  - {name: practice, opens: 2026-12-01T00:00:00Z, closes: 2026-12-02T00:00:00Z}
  - {name: final, opens: 2026-12-02T00:00:00Z, closes: 2026-12-03T00:00:00Z, freeze: 2026-12-02T20:00:00Z}
"""
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
TEAMS = 100


def _configs(folder: Path) -> tuple[EventConfig, EventConfig]:
    (folder / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    plain = SERVERS.replace("TRACK_A ", "").replace("TRACK_B ", "").replace("GPU_B", "NVIDIA A100 80GB")
    keyed = SERVERS.replace("TRACK_A", "track: a100,").replace("TRACK_B", "track: h100,")
    keyed = keyed.replace("GPU_B", "NVIDIA H100 SXM 80GB")
    source = folder / "event.yaml"
    return parse_event(HEAD + plain, source=source), parse_event(HEAD + PHASES + keyed, source=source)


def _seed(url: str, config: EventConfig, n: int) -> int:
    sessions = make_session_factory(create_db_engine(url))
    rng = random.Random(19)
    factors = synthetic_factors("FRA", fetched_at=START)
    step = timedelta(days=2) / (n + 1)
    with transaction(sessions) as s:
        event_id = crud.ensure_event(session=s, name=config.event.name).id
        teams = [crud.ensure_team(session=s, event_id=event_id, name=f"team-{t:03d}").id for t in range(TEAMS)]
        for k in range(n):
            job = synthetic_job(rng, server=f"gpu-{1 + k % 2}", start=START + step * (k + 1), points=6)
            write_synthetic_submission(session=s, config=config, event_id=event_id, team_id=teams[k % TEAMS],
                                       project_id=1000 + k % TEAMS, job_id=k + 1, job=job, factors=factors)
    return event_id


def _time(url: str, config: EventConfig, event_id: int, repeat: int) -> tuple[float, dict[str, int]]:
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    samples, counts = [], {}
    now = START + timedelta(days=2, hours=21)
    try:
        for _ in range(repeat):
            t = time.perf_counter()
            with transaction(sessions) as s:
                counts = refresh_boards(session=s, event_id=event_id, config=config, now=now)
            samples.append(time.perf_counter() - t)
    finally:
        engine.dispose()
    return statistics.median(samples), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        plain, keyed = _configs(Path(folder))
        print(f"{'submissions':>11} {'one board ms':>12} {'12 keys ms':>10}  keyed boards' sizes")
        for n in args.sizes:
            with temporary_database(prefix="greenhack_bench") as url:
                upgrade_database(url)
                event_id = _seed(url, plain, n)
                # the same rows ranked both ways (the second refresh moves every row to its phase and track)
                first, _ = _time(url, plain, event_id, args.repeat)
                _time(url, keyed, event_id, 1)
                second, counts = _time(url, keyed, event_id, args.repeat)
            sizes = ", ".join(f"{k}={v}" for k, v in counts.items() if k.endswith("/live"))
            print(f"{n:>11} {1000 * first:>12.1f} {1000 * second:>10.1f}  {sizes}")


if __name__ == "__main__":
    main()

"""Load on the leaderboard: 10,000 submissions of 200 teams in PostgreSQL, then concurrent GETs.

Seeds a throwaway PostgreSQL database through the real write path (queue, measurement, impacts, performance,
ranking), starts ``greenhack serve`` in its own process, and measures, in the same run and against the same
server, the bare ``/healthz``, the board's JSON (``/api/v1/leaderboard``) and the board's HTML (``/``) with N
concurrent keep-alive clients. Prints requests/s and p50/p99 latency, and the board JSON's throughput as a
fraction of ``/healthz``'s.

Target: board JSON >= 50 % of /healthz throughput and p99 < 100 ms at 32 concurrent clients.

    .venv/bin/python bench/leaderboard_load.py [--teams 200] [--submissions 10000] [--clients 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from greenhack.config import EventConfig, load_event
from greenhack.impacts import impacts_from_factors
from greenhack.services.postgres import temporary_database
from greenhack.store import crud
from greenhack.store.boards import refresh_boards
from greenhack.store.db import create_db_engine, make_session_factory, transaction, upgrade_database
from greenhack.store.models import Impact, Measurement, Performance, Submission
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

EVENT_YAML = """
event: {name: Load test, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00,
        freeze: 2026-12-02T16:00:00+01:00}
task: {predictions: predictions.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.6}
impact: {criterion: gwp, include: [use, embodied], pue: 1.3, location: FRA}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
limits: {submissions_per_day: 100, carbon_budget_g: 500}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
servers:
  - name: gpu-1
    runner_tags: [gpu-1]
    scaphandre: '{instance="gpu-1:8080"}'
    gpu: '{instance="gpu-1:9835"}'
    hardware: {cpu: {name: Intel Xeon Gold 6248, units: 2}, ram_gb: 192, gpu: {name: NVIDIA A100 80GB, units: 1}}
"""


def seed(url: str, config: EventConfig, *, teams: int, submissions: int, real_path: int = 200) -> float:
    """Write ``submissions`` synthetic submissions spread over ``teams`` teams; return the seconds it took.

    The first ``real_path`` go through the whole write path (queue claim, crud writes); the rest are inserted
    in bulk as the same rows (same telemetry payload, impacts from ``impacts_from_factors``, performances), since
    the write path's 25 statements per submission would make seeding 10,000 of them the slowest part of the run.
    The ranking is the real one (``refresh_boards``).
    """
    started = time.perf_counter()
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(2026)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with transaction(sessions) as s:
        event_id = crud.ensure_event(session=s, name=config.event.name).id
        team_ids = [
            crud.ensure_team(session=s, event_id=event_id, name=f"team-{t:03d}").id for t in range(teams)
        ]
    factors = synthetic_factors(config.impact.location, fetched_at=start)
    factors_json = factors.model_dump(mode="json")
    with transaction(sessions) as s:
        for k in range(min(real_path, submissions)):
            job = synthetic_job(rng, server="gpu-1", start=start + timedelta(seconds=7 * k), points=12)
            write_synthetic_submission(
                session=s,
                config=config,
                event_id=event_id,
                team_id=team_ids[k % teams],
                project_id=1000 + k % teams,
                job_id=k + 1,
                job=job,
                factors=factors,
            )
    batch = 1000
    for first in range(real_path, submissions, batch):
        with transaction(sessions) as s:
            for k in range(first, min(submissions, first + batch)):
                job = synthetic_job(rng, server="gpu-1", start=start + timedelta(seconds=7 * k), points=12)
                e = job.energy
                impacts = impacts_from_factors(factors, config.impact, e.total_energy_j, e.duration_s)
                head = impacts.headline
                sub = Submission(
                    event_id=event_id,
                    team_id=team_ids[k % teams],
                    gitlab_project_id=1000 + k % teams,
                    gitlab_pipeline_id=k,
                    gitlab_job_id=k + 1,
                    commit_sha=f"{k:040x}",
                    ref="main",
                    server=e.server,
                    window_start=e.start,
                    window_end=e.end,
                    status="scored",
                    attempts=1,
                    next_attempt_at=e.start,
                    created_at=e.start - timedelta(seconds=5),
                    finished_at=e.end,
                    evaluation_duration_s=3.0,
                    duration_s=e.duration_s,
                    energy_j=e.total_energy_j,
                    impact_total=head.total,
                    impact_min=head.min,
                    impact_max=head.max,
                    impact_unit=head.unit,
                    gwp_kgco2e=impacts.gwp.total,
                    performance_public=job.performance_public,
                    performance_private=job.performance_private,
                )
                payload = e.model_dump(mode="json")
                sub.measurement = Measurement(
                    server=e.server,
                    start=e.start,
                    end=e.end,
                    duration_s=e.duration_s,
                    cpu_energy_j=e.cpu_energy_j,
                    gpu_energy_j=e.gpu_energy_j,
                    total_energy_j=e.total_energy_j,
                    coverage=e.coverage,
                    max_gap_s=e.max_gap_s,
                    valid=e.valid,
                    problems=[],
                    timeline=payload["timeline"],
                    payload=payload,
                    factors=factors_json,
                )
                sub.impacts = [
                    Impact(
                        criterion=i.criterion,
                        use=i.use,
                        embodied=i.embodied,
                        total=i.total,
                        min=i.min,
                        max=i.max,
                        unit=i.unit,
                    )
                    for i in impacts.all()
                ]
                sub.performances = [
                    Performance(split="public", metric="accuracy", value=job.performance_public, rows=300),
                    Performance(split="private", metric="accuracy", value=job.performance_private, rows=700),
                ]
                s.add(sub)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=start + timedelta(hours=6))
    engine.dispose()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Result:
    path: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bytes_per_response: int
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def _client(
    host: str, port: int, path: str, stop_at: float, latencies: list[float], sizes: list[int]
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode()
    errors = 0
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            sizes.append(len(body))
            if not status_line.startswith(b"HTTP/1.1 200"):
                errors += 1
    finally:
        writer.close()
    return errors


async def load(host: str, port: int, path: str, *, clients: int, seconds: float) -> Result:
    latencies: list[float] = []
    sizes: list[int] = []
    # warm-up: fills the board cache and the connection pool
    await asyncio.gather(
        *(_client(host, port, path, time.perf_counter() + 0.5, [], []) for _ in range(clients))
    )
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(_client(host, port, path, started + seconds, latencies, sizes) for _ in range(clients))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return Result(
        path=path,
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=1000 * statistics.median(ordered),
        p99_ms=1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        bytes_per_response=int(statistics.mean(sizes)),
        errors=sum(errors),
    )


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
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
        seed_s = seed(url, config, teams=args.teams, submissions=args.submissions)
        print(f"seeded {args.submissions} submissions of {args.teams} teams in PostgreSQL in {seed_s:.1f} s")

        port = free_port()
        env = {**os.environ, "GREENHACK_DATABASE_URL": url, "GREENHACK_LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "greenhack",
                "serve",
                "--config",
                str(folder / "event.yaml"),
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
        )
        try:
            wait_ready(port, proc)
            results = [
                asyncio.run(load("127.0.0.1", port, path, clients=args.clients, seconds=args.seconds))
                for path in ("/healthz", "/api/v1/leaderboard", "/", "/healthz")
            ]
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    healthz = max(results[0].rps, results[3].rps)
    print(
        f"\n{args.clients} concurrent keep-alive clients, {args.seconds:g} s per path, server workers: {args.workers}, "
        f"CPU cores: {os.cpu_count()}"
    )
    print(
        f"{'path':<22}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'bytes':>10}{'errors':>8}{'vs healthz':>12}"
    )
    for r in results:
        print(
            f"{r.path:<22}{r.rps:>12.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.bytes_per_response:>10}"
            f"{r.errors:>8}{r.rps / healthz:>11.0%}"
        )
    board = results[1]
    ok = board.rps >= 0.5 * healthz and board.p99_ms < 100 and board.errors == 0
    print(f"\ntarget (board JSON >= 50% of /healthz and p99 < 100 ms): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()

"""Web fixtures: a migrated database (SQLite and PostgreSQL), an event YAML, seeded submissions, an app."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from greenhack.config import EventConfig, parse_event
from greenhack.evaluation import EvaluationContext
from greenhack.scoring.evaluate import split_for
from greenhack.scoring.truth import load_truth
from greenhack.settings import Settings
from greenhack.status import Reason, ReasonCode
from greenhack.store import crud
from greenhack.store.boards import refresh_boards
from greenhack.store.db import (
    SessionFactory,
    create_db_engine,
    make_session_factory,
    transaction,
    upgrade_database,
)
from greenhack.store.models import Base
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission
from greenhack.web import create_app
from greenhack.worker import Worker, WorkerOptions

ADMIN_TOKEN = "s3cret-admin-token"
OPENS = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FREEZE = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
CLOSES = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
DURING = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

EVENT_YAML = """
event:
  name: Web test event
  opens: 2026-12-01T09:00:00+01:00
  closes: 2026-12-02T17:00:00+01:00
  freeze: 2026-12-02T16:00:00+01:00
task:
  predictions: predictions.csv
  truth: truth.csv
  public_fraction: 0.3
performance:
  metric: accuracy
  minimum: 0.6
impact:
  criterion: gwp
  include: [use, embodied]
  pue: 1.3
  location: FRA
ranking:
  method: weighted
  weights: {performance: 0.5, impact: 0.5}
limits:
  submissions_per_day: 10
  carbon_budget_g: 50
telemetry:
  prometheus: http://127.0.0.1:9090
boavizta:
  url: http://127.0.0.1:5000
servers:
  - name: gpu-1
    runner_tags: [green-ai-gpu-1]
    scaphandre: '{instance="gpu-1:8080"}'
    gpu: '{instance="gpu-1:9835"}'
    hardware:
      cpu: {name: Intel Xeon Gold 6248, units: 2}
      ram_gb: 192
      gpu: {name: NVIDIA A100 80GB, units: 1}
"""


@pytest.fixture(scope="session")
def event_config(tmp_path_factory: pytest.TempPathFactory) -> EventConfig:
    folder = Path(tmp_path_factory.mktemp("event"))
    (folder / "truth.csv").write_text("id,label\n1,a\n2,b\n", encoding="utf-8")
    (folder / "event.yaml").write_text(EVENT_YAML, encoding="utf-8")
    return parse_event(EVENT_YAML, filename=str(folder / "event.yaml"), source=folder / "event.yaml")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('web')) / 'board.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade_database(url)
    return url


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionFactory]:
    engine = create_db_engine(database_url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield make_session_factory(engine)
    engine.dispose()


class Clock:
    """A settable clock for crossing the freeze and the close."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(DURING)


Seeder = Callable[..., list[int]]


@pytest.fixture
def seed(sessions: SessionFactory, event_config: EventConfig) -> Seeder:
    """``seed(teams=3, per_team=2, start=..., status=...)`` writes synthetic submissions and re-ranks."""
    counter = iter(range(1, 10**6))

    def run(
        *,
        teams: int = 3,
        per_team: int = 2,
        start: datetime = DURING - timedelta(hours=2),
        status: str = "scored",
        seed: int = 1,
        team_prefix: str = "team",
    ) -> list[int]:
        rng = random.Random(seed)
        ids = []
        with transaction(sessions) as s:
            event = crud.ensure_event(session=s, name=event_config.event.name)
            factors = synthetic_factors(event_config.impact.location, fetched_at=start)
            for t in range(teams):
                team = crud.ensure_team(
                    session=s, event_id=event.id, name=f"{team_prefix}-{t}", gitlab_project_id=None
                )
                for k in range(per_team):
                    job = synthetic_job(
                        rng, server="gpu-1", start=start + timedelta(minutes=10 * (t * per_team + k))
                    )
                    ids.append(
                        write_synthetic_submission(
                            session=s,
                            config=event_config,
                            event_id=event.id,
                            team_id=team.id,
                            project_id=1000 + t,
                            job_id=next(counter) + seed * 100000,
                            job=job,
                            factors=factors,
                            status=status,
                            reason=None
                            if status == "scored"
                            else Reason(code=ReasonCode.UNCLASSIFIED, text="telemetry gap of 40 s"),
                        )
                    )
            refresh_boards(session=s, event_id=event.id, config=event_config, now=start + timedelta(days=1))
        return ids

    return run


@pytest.fixture
def app_factory(
    database_url: str, event_config: EventConfig, clock: Clock, sessions: SessionFactory
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(*, admin_token: str | None = ADMIN_TOKEN, cache_ttl_s: float = 0.0) -> TestClient:
        settings = Settings(  # type: ignore[call-arg]
            database_url=database_url, admin_token=admin_token, webhook_secret="hook-secret", _env_file=None
        )
        client = TestClient(create_app(settings, event_config, clock=clock, cache_ttl_s=cache_ttl_s))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_factory: Callable[..., TestClient]) -> TestClient:
    return app_factory()


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class _NoService:
    """What the web tests' worker passes never call: they evaluate nothing (the queue holds no due job)."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"a web test's worker pass called {name}: it must evaluate nothing")


WorkerPass = Callable[..., bool]


@pytest.fixture
def worker_pass(sessions: SessionFactory, event_config: EventConfig, clock: Clock) -> WorkerPass:
    """``worker_pass(config=...)``: one :meth:`greenhack.worker.Worker.run_once` of a real worker of the event on an
    empty queue (what workers do between evaluations: run a due admin task, re-rank stale boards), under
    ``config`` (default: the event's YAML); returns whether it evaluated something (it never should)."""

    def run(*, config: EventConfig | None = None) -> bool:
        config = config or event_config
        with transaction(sessions) as s:
            event_id = crud.ensure_event(session=s, name=config.event.name).id
        truth = load_truth(config)
        ctx = EvaluationContext(
            config=config,
            gitlab=_NoService(),  # type: ignore[arg-type]
            telemetry=_NoService(),  # type: ignore[arg-type]
            impacts=_NoService(),  # type: ignore[arg-type]
            truth=truth,
            split=split_for(config, truth),
            now=clock,
        )
        worker = Worker(
            ctx=ctx,
            sessions=sessions,
            event_id=event_id,
            options=WorkerOptions(name="web-test-worker"),
            now=clock,
        )
        return worker.run_once()

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port (in a thread), for a browser or a command; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the board did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def synthetic_board(
    url: str, config: EventConfig, *, teams: list[str], per_team: int, seed: int, minutes_apart: int
) -> int:
    """A migrated database at ``url`` holding ``per_team`` scored synthetic submissions of each team, ranked;
    returns the next free GitLab job id."""
    upgrade_database(url)
    engine = create_db_engine(url)
    rng = random.Random(seed)
    try:
        with transaction(make_session_factory(engine)) as s:
            event = crud.ensure_event(session=s, name=config.event.name)
            factors = synthetic_factors(config.impact.location, fetched_at=DURING)
            job_id = 1
            for t, name in enumerate(teams):
                team = crud.ensure_team(session=s, event_id=event.id, name=name)
                for _ in range(per_team):
                    start = DURING - timedelta(hours=3) + timedelta(minutes=minutes_apart * job_id)
                    write_synthetic_submission(
                        session=s, config=config, event_id=event.id, team_id=team.id, project_id=100 + t,
                        job_id=job_id, job=synthetic_job(rng, server="gpu-1", start=start), factors=factors,
                    )
                    job_id += 1
            refresh_boards(session=s, event_id=event.id, config=config, now=DURING)
    finally:
        engine.dispose()
    return job_id

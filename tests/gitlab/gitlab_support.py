"""Fixtures of the GitLab loop: the fake GitLab, a migrated PostgreSQL of its own, Prometheus backfilled with one
server's exporters around recent job windows, the real BoaviztAPI, and the event YAML tying them together."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from greenhack.config import EventConfig, load_event
from greenhack.evaluation import EvaluationContext
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.scoring.evaluate import split_for
from greenhack.scoring.truth import load_truth
from greenhack.services.postgres import temporary_database
from greenhack.services.prometheus import PrometheusServer
from greenhack.store.db import SessionFactory, create_db_engine, make_session_factory, upgrade_database
from greenhack.store.models import Base, Submission
from greenhack.telemetry import NVIDIA_SMI, SCAPHANDRE, PrometheusClient
from greenhack.telemetry.simulator import Constant, ExporterSim, PowerTrace, SimDevice, openmetrics
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.testing.runner_log import LogTimes, runner_log
from greenhack.web.hooks import make_hook_router
from greenhack.worker import Worker, WorkerOptions

WEBHOOK_SECRET = "s3cret-webhook-token"
SCRAPE_S = 5.0
HOST_IDLE_W, HOST_BUSY_W = 180.0, 420.0
GPU_IDLE_W, GPU_BUSY_W = 55.0, 310.0
GPU_UUID = "GPU-3b1c8f2e-6a0d-4e7b-9d53-0c2f6e8a1b47"
# 20 hidden rows: test inputs (id,x) on the server, truth (id,label) on the platform
INPUTS = [(i, (i * 7) % 11) for i in range(1, 21)]


def small_event_config(tmp_path: Path, *, name: str, gitlab_url: str, group: str) -> EventConfig:
    """An event on one server with a two-row truth and no reachable Prometheus or BoaviztAPI: for the tests of
    what reaches the queue (intake, reconciler), which never measure."""
    (tmp_path / "truth.csv").write_text("id,label\n1,big\n2,small\n", encoding="utf-8")
    path = tmp_path / "event.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            event: {{name: {name}, opens: 2026-01-01T09:00:00+01:00, closes: 2027-12-31T17:00:00+01:00}}
            task: {{predictions: predictions.csv, truth: truth.csv, public_fraction: 0.5}}
            performance: {{metric: accuracy}}
            impact: {{criterion: gwp, pue: 1.2, location: FRA}}
            ranking: {{method: weighted, weights: {{performance: 0.5, impact: 0.5}}}}
            limits: {{job_timeout: 10m}}
            telemetry: {{prometheus: http://127.0.0.1:9}}
            boavizta: {{url: http://127.0.0.1:9}}
            servers:
              - name: gpu-1
                runner_tags: [green-ai-gpu-1]
                scaphandre: '{{instance="gpu-1:8080"}}'
                hardware: {{cpu: {{name: Intel Xeon Gold 6248, units: 2}}, ram_gb: 192}}
            gitlab: {{url: {gitlab_url}, group: {group}}}
            """
        ),
        encoding="utf-8",
    )
    return load_event(path)


@dataclass(frozen=True)
class Windows:
    """Job windows in the recent past, with the simulated exporters busy during each."""

    base: datetime
    a: tuple[datetime, datetime]
    b: tuple[datetime, datetime]
    overlap_1: tuple[datetime, datetime]
    overlap_2: tuple[datetime, datetime]

    def all(self) -> list[tuple[datetime, datetime]]:
        return [self.a, self.b, self.overlap_1, self.overlap_2]


def _windows() -> Windows:
    now = datetime.now(UTC).replace(microsecond=0)
    base = now - timedelta(minutes=20)

    def w(start_min: float, length_s: float) -> tuple[datetime, datetime]:
        start = base + timedelta(minutes=start_min)
        return start, start + timedelta(seconds=length_s)

    return Windows(base, a=w(2, 62.5), b=w(5, 95), overlap_1=w(9, 80), overlap_2=w(10, 50))


@pytest.fixture(scope="session")
def windows() -> Windows:
    return _windows()


def _traces(windows: Windows) -> tuple[PowerTrace, PowerTrace]:
    busy = sorted(windows.all())
    merged: list[tuple[float, float]] = []
    for start, end in busy:
        s, e = start.timestamp(), end.timestamp()
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    host = PowerTrace(HOST_IDLE_W, tuple(Constant(s, e, HOST_BUSY_W) for s, e in merged))
    gpu = PowerTrace(GPU_IDLE_W, tuple(Constant(s, e, GPU_BUSY_W) for s, e in merged))
    return host, gpu


@pytest.fixture(scope="session")
def expected_energy_j(windows: Windows) -> Callable[[tuple[datetime, datetime]], float]:
    host, gpu = _traces(windows)

    def energy(window: tuple[datetime, datetime]) -> float:
        a, b = window[0].timestamp(), window[1].timestamp()
        return host.energy_j(a, b) + gpu.energy_j(a, b)

    return energy


@pytest.fixture(scope="session")
def prometheus(prometheus_factory: Callable[..., PrometheusServer], windows: Windows) -> PrometheusServer:
    host, gpu = _traces(windows)
    sims = [
        ExporterSim(
            SCAPHANDRE,
            (SimDevice(host, counter_offset_j=5e6),),
            target_labels={"instance": "gpu-1:8080", "job": "scaphandre"},
        ),
        ExporterSim(
            NVIDIA_SMI,
            (SimDevice(gpu, uuid=GPU_UUID, model_name="NVIDIA A100 80GB PCIe"),),
            target_labels={"instance": "gpu-1:9835", "job": "nvidia_gpu"},
            with_counter=False,
        ),
    ]
    end = datetime.now(UTC) - timedelta(seconds=2)
    text = openmetrics(sims, windows.base.timestamp(), end.timestamp(), SCRAPE_S, jitter_s=0.05, seed=3)
    return prometheus_factory(text)


@pytest.fixture(scope="session")
def gitlab_db_url() -> Iterator[str]:
    with temporary_database(prefix="greenhack_gitlab") as url:
        upgrade_database(url)
        yield url


@pytest.fixture(scope="session")
def sessions(gitlab_db_url: str) -> Iterator[SessionFactory]:
    engine = create_db_engine(gitlab_db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(autouse=False)
def clean_db(sessions: SessionFactory) -> None:
    with sessions() as session, session.begin():
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        yield fake


@pytest.fixture
def hidden_inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "srv-greenhack-inputs"
    folder.mkdir()
    lines = ["id,x"] + [f"{i},{x}" for i, x in INPUTS]
    (folder / "test.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def command_log(window: tuple[datetime, datetime]) -> str:
    """A runner's log of a job whose command ran over the whole of GitLab's window (its marks at started_at and
    finished_at): the script window is then GitLab's window, as the loop tests' energies expect."""
    start, end = window
    return runner_log(LogTimes(started=start, command_start=start, command_end=end, finished=end))


def perfect_predictions() -> bytes:
    return ("id,label\n" + "".join(f"{i},{'big' if x > 5 else 'small'}\n" for i, x in INPUTS)).encode()


@pytest.fixture
def event_yaml(
    tmp_path: Path, prometheus: PrometheusServer, boavizta_url: str, fake_gitlab: FakeGitLab
) -> Path:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "truth.csv").write_text(
        "id,label\n" + "".join(f"{i},{'big' if x > 5 else 'small'}\n" for i, x in INPUTS), encoding="utf-8"
    )
    path = tmp_path / "event.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            event:
              name: GitLab loop test
              opens: 2026-01-01T09:00:00+01:00
              closes: 2027-12-31T17:00:00+01:00
            task:
              predictions: predictions.csv
              truth: secrets/truth.csv
              public_fraction: 0.5
              max_predictions_mb: 0.001
            performance:
              metric: accuracy
            impact:
              criterion: gwp
              pue: 1.2
              location: FRA
            ranking:
              method: weighted
              weights: {{performance: 0.5, impact: 0.5}}
            telemetry:
              prometheus: {prometheus.url}
              scrape_interval: {SCRAPE_S:g}s
            boavizta:
              url: {boavizta_url}
            servers:
              - name: gpu-1
                runner_tags: [green-ai-gpu-1]
                scaphandre: '{{instance="gpu-1:8080"}}'
                gpu: '{{instance="gpu-1:9835"}}'
                gpu_exporter: nvidia_smi
                hardware:
                  cpu: {{name: Intel Xeon Gold 6248, units: 2}}
                  ram_gb: 192
                  gpu: {{name: NVIDIA A100 80GB, units: 1}}
            gitlab:
              url: {fake_gitlab.url}
              group: green-ai-hack-2026
            """
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(event_yaml: Path) -> EventConfig:
    return load_event(event_yaml)


class OffsetClock:
    """The workers' clock: the real UTC time plus an offset the test moves forward, so that backoffs and leases
    expire for the code under test without the test waiting for them."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Platform:
    """The platform under test: the webhook app, a gateway on the fake GitLab, and worker factory."""

    config: EventConfig
    fake: FakeGitLab
    sessions: SessionFactory
    client: TestClient
    gateway: GitLabGateway
    ctx: EvaluationContext
    clock: OffsetClock = field(default_factory=OffsetClock)

    def worker(self, name: str = "w1", **options: float) -> Worker:
        defaults: dict[str, float] = {
            "lease_s": 60.0,
            "max_attempts": 6,
            "base_delay_s": 0.2,
            "jitter": 0.1,
            "poll_s": 0.05,
        }
        defaults.update(options)
        return Worker(
            ctx=self.ctx,
            sessions=self.sessions,
            event_id=self.event_id(),
            options=WorkerOptions(name=name, **defaults),  # type: ignore[arg-type]
            now=self.clock,
        )

    def event_id(self) -> int:
        from greenhack.store import crud

        with self.sessions() as session, session.begin():
            return crud.ensure_event(session=session, name=self.config.event.name).id

    def submissions(self) -> list[Submission]:
        with self.sessions() as session:
            return list(session.execute(sa.select(Submission).order_by(Submission.gitlab_job_id)).scalars())

    def drain(self, worker: Worker | None = None, *, timeout_s: float = 60.0, step_s: float = 0.25) -> None:
        """Run a worker until every submission is final (retries with backoff included): whenever it is idle
        with work left, its clock moves on by ``step_s`` (for ``timeout_s`` of that clock at most)."""
        worker = worker or self.worker()
        waited_s = 0.0
        while waited_s <= timeout_s:
            worker.run(until_idle=True)
            if all(s.status not in ("queued", "measuring") for s in self.submissions()):
                return
            self.clock.advance(step_s)
            waited_s += step_s
        raise AssertionError(
            f"queue not drained: {[(s.gitlab_job_id, s.status, s.last_error) for s in self.submissions()]}"
        )


@pytest.fixture
def platform(
    config: EventConfig, fake_gitlab: FakeGitLab, sessions: SessionFactory, clean_db: None, tmp_path: Path
) -> Iterator[Platform]:
    app = FastAPI()
    app.include_router(
        make_hook_router(config=config, sessions=lambda: sessions, webhook_secret=SecretStr(WEBHOOK_SECRET))
    )
    gateway = GitLabGateway(make_gitlab_client(fake_gitlab.url, fake_gitlab.token, timeout_s=5.0))
    truth = load_truth(config)
    boavizta = BoaviztaClient(str(config.boavizta.url))
    with TestClient(app) as client, PrometheusClient(str(config.telemetry.prometheus)) as prom:
        ctx = EvaluationContext(
            config=config,
            gitlab=gateway,
            telemetry=prom,
            impacts=ImpactCalculator(boavizta, FactorCache(tmp_path / "factors.json")),
            truth=truth,
            split=split_for(config, truth),
            now=lambda: datetime.now(UTC),
            scrape_wait_s=0.5,
        )
        yield Platform(config, fake_gitlab, sessions, client, gateway, ctx)
    boavizta.close()

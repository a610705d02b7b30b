"""Carbon-aware early stopping, end to end: simulated exporters scraped live by a real Prometheus, the platform's
GET /api/v1/jobs/self/energy behind a real HTTP server, and a training loop that stops itself with
greenhack.budget once its job has used its energy budget. What the endpoint answers is checked against a
Prometheus backfilled with exactly known samples, on a clock the test advances (no waiting for scrapes)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fb_world import World, write_event

from greenhack.budget import BudgetError, CarbonBudget, fetch_job_footprint
from greenhack.feedback.job_auth import JobTokenVerifier
from greenhack.feedback.router import FeedbackServices, make_feedback_router
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.services.prometheus import PrometheusServer, static_scrape_config
from greenhack.store.db import SessionFactory
from greenhack.telemetry import NVIDIA_SMI, SCAPHANDRE, PrometheusClient
from greenhack.telemetry.simulator import ExporterSim, PowerTrace, SimDevice, SimulatorServer, openmetrics

HOST_W, GPU_W = 400.0, 300.0


@pytest.fixture
def exporters() -> Iterator[tuple[SimulatorServer, SimulatorServer]]:
    host = SimulatorServer(
        ExporterSim(SCAPHANDRE, (SimDevice(PowerTrace(HOST_W, ()), counter_offset_j=1e6),))
    )
    gpu = SimulatorServer(
        ExporterSim(
            NVIDIA_SMI,
            (SimDevice(PowerTrace(GPU_W, ()), uuid="GPU-3b1c8f2e-6a0d-4e7b-9d53-0c2f6e8a1b47"),),
            with_counter=False,
        )
    )
    yield host, gpu
    host.stop()
    gpu.stop()


@pytest.fixture
def live_prometheus(
    prometheus_factory: Callable[..., PrometheusServer], exporters: tuple[SimulatorServer, SimulatorServer]
) -> PrometheusServer:
    host, gpu = exporters
    scrape = static_scrape_config("scaph", [host.address], scrape_interval_s=1) + static_scrape_config(
        "gpu", [gpu.address], scrape_interval_s=1
    )
    server = prometheus_factory(scrape_config=scrape)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = httpx.get(
            f"{server.url}/api/v1/query", params={"query": "scaph_host_power_microwatts"}
        ).json()
        gpu_answer = httpx.get(
            f"{server.url}/api/v1/query", params={"query": "nvidia_smi_power_draw_watts"}
        ).json()
        if answer["data"]["result"] and gpu_answer["data"]["result"]:
            return server
        time.sleep(0.2)
    raise AssertionError("Prometheus did not scrape the simulated exporters")


class SettableClock:
    """The platform's wall clock in a test: it moves only when the test advances it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _serve_platform(
    *,
    folder: Path,
    world: World,
    sessions: SessionFactory,
    prometheus: PrometheusServer,
    boavizta_url: str,
    serve: Callable[[FastAPI], str],
    now: Callable[[], datetime],
    **event: str,
) -> Iterator[str]:
    config = write_event(
        folder,
        gitlab_url=world.fake.url,
        prometheus_url=prometheus.url,
        boavizta_url=boavizta_url,
        scrape_s=1.0,
        **event,  # type: ignore[arg-type]
    )
    with httpx.Client(timeout=5.0) as http, PrometheusClient(prometheus.url) as telemetry:
        boavizta = BoaviztaClient(boavizta_url)
        services = FeedbackServices(
            verifier=JobTokenVerifier(config, http=http, ttl_s=5.0),
            telemetry=telemetry,
            impacts=ImpactCalculator(boavizta, FactorCache(folder / "factors.json")),
            gitlab=None,
            sessions=sessions,
            now=now,
        )
        app = FastAPI()
        app.include_router(make_feedback_router(config=config, services=lambda: services))
        yield serve(app)
        boavizta.close()


@pytest.fixture
def platform_url(
    tmp_path: Path,
    world: World,
    sessions: SessionFactory,
    live_prometheus: PrometheusServer,
    boavizta_url: str,
    serve: Callable[[FastAPI], str],
) -> Iterator[str]:
    """The platform in front of the live scrape, on the real clock."""
    yield from _serve_platform(
        folder=tmp_path, world=world, sessions=sessions, prometheus=live_prometheus, boavizta_url=boavizta_url,
        serve=serve, now=lambda: datetime.now(UTC), scaphandre='{job="scaph"}', gpu='{job="gpu"}',
    )  # fmt: skip


# the recorded span: it ends a minute before the real now, well inside Prometheus's 5 min look-back, which
# finds the newest sample of each exporter
RECORDED_S = 90.0


@pytest.fixture
def recorded_start() -> float:
    return float(math.floor(time.time()) - 60 - RECORDED_S)


@pytest.fixture
def recorded_prometheus(
    prometheus_factory: Callable[..., PrometheusServer], recorded_start: float
) -> PrometheusServer:
    """A Prometheus holding 90 s of both exporters' scrapes at 1 s, backfilled: exactly known samples."""
    host = ExporterSim(
        SCAPHANDRE, (SimDevice(PowerTrace(HOST_W, ()), counter_offset_j=1e6),),
        target_labels={"instance": "gpu-1:8080", "job": "scaph"},
    )  # fmt: skip
    gpu = ExporterSim(
        NVIDIA_SMI, (SimDevice(PowerTrace(GPU_W, ()), uuid="GPU-3b1c8f2e-6a0d-4e7b-9d53-0c2f6e8a1b47"),),
        with_counter=False, target_labels={"instance": "gpu-1:9835", "job": "gpu"},
    )  # fmt: skip
    return prometheus_factory(openmetrics([host, gpu], recorded_start, recorded_start + RECORDED_S, 1.0))


@pytest.fixture
def clock(recorded_start: float) -> SettableClock:
    return SettableClock(datetime.fromtimestamp(recorded_start + 10.0, tz=UTC))


@pytest.fixture
def recorded_url(
    tmp_path: Path,
    world: World,
    sessions: SessionFactory,
    recorded_prometheus: PrometheusServer,
    boavizta_url: str,
    serve: Callable[[FastAPI], str],
    clock: SettableClock,
) -> Iterator[str]:
    """The platform in front of the recorded samples, on a clock the test advances."""
    yield from _serve_platform(
        folder=tmp_path, world=world, sessions=sessions, prometheus=recorded_prometheus, boavizta_url=boavizta_url,
        serve=serve, now=clock,
    )  # fmt: skip


def test_a_training_loop_stops_itself_when_its_job_reaches_its_energy_budget(
    world: World, recorded_url: str, clock: SettableClock
) -> None:
    # the platform reads the recorded samples on the test's clock; each epoch of "training" is 0.1 s of it, and the
    # budget paces its questions by the same epochs, so where the loop stops does not depend on this machine's speed
    job, token = world.running_job(started_at=clock.now)
    epochs = 0
    budget = CarbonBudget(
        max_energy_wh=0.5, url=recorded_url, token=token, min_interval_s=0.5, on_error="raise",
        clock=lambda: epochs * 0.1,
    )  # fmt: skip
    asked: list[int] = []
    while epochs < 300:
        clock.advance(0.1)  # one epoch of "training"
        epochs += 1
        before = budget.last
        if budget.exceeded():
            break
        if budget.last is not before:
            asked.append(epochs)
    assert epochs < 300, "the loop never stopped"
    footprint = budget.last
    assert footprint is not None and footprint.job_id == job["id"]
    assert footprint.energy_wh >= 0.5 and footprint.valid
    # 700 W: 0.5 Wh is 2.57 s of measured time, measured up to a scrape (1 s) before the clock: 3.57 s of the job,
    # epoch 36; the budget asks every 0.5 s (5 epochs), so it stops at its first question past that
    assert all(b - a == 5 for a, b in zip(asked, asked[1:], strict=False)), asked
    assert 36 <= epochs <= 41, (epochs, footprint)
    assert footprint.gwp_gco2e > 0


def test_the_answer_is_the_measured_energy_of_the_job_since_its_start(
    world: World, recorded_url: str, clock: SettableClock
) -> None:
    _, token = world.running_job(started_at=clock.now)
    for step_s, elapsed_s in ((3.5, 3.5), (16.5, 20.0)):  # the job runs on: the answer follows the clock
        clock.advance(step_s)
        body = httpx.get(f"{recorded_url}/api/v1/jobs/self/energy", headers={"JOB-TOKEN": token}).json()
        assert body["valid"] is True, body["problems"]
        assert body["elapsed_s"] == elapsed_s and body["elapsed_s"] >= body["measured_s"]
        # measured up to one scrape interval before the clock (the newest samples are older than it)
        assert body["measured_s"] == pytest.approx(elapsed_s - 1.0, abs=0.1)
        assert (body["cpu_energy_j"], body["gpu_energy_j"]) == pytest.approx(
            (HOST_W * body["measured_s"], GPU_W * body["measured_s"]), rel=0.03
        ), body
        assert body["gwp_gco2e"] == pytest.approx(body["gwp_use_gco2e"] + body["gwp_embodied_gco2e"])
        assert body["server"] == "gpu-1"
    footprint = fetch_job_footprint(recorded_url, token)
    assert footprint.energy_j == body["energy_j"]


def test_tokens_of_finished_or_foreign_jobs_get_no_answer(world: World, platform_url: str) -> None:
    job, token = world.running_job(started_at=datetime.now(UTC))
    world.fake.set_job_status(int(job["id"]), "success", finished_at=datetime.now(UTC))
    with pytest.raises(BudgetError, match="answered 401"):
        fetch_job_footprint(platform_url, token)
    other = world.fake.create_project(
        "other", namespace_id=world.fake.find_or_create_group("elsewhere")["id"]
    )
    _, foreign = world.running_job(project_id=int(other["id"]), started_at=datetime.now(UTC))
    with pytest.raises(BudgetError, match="answered 403"):
        fetch_job_footprint(platform_url, foreign)

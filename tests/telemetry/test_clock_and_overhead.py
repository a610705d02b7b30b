"""The server's clock offset from node_exporter, the simulator's node_exporter and phased jobs, and the runner's
overhead, against a real Prometheus backfilled with the simulated exporters."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from greenhack.telemetry import PrometheusClient, measure_energy
from greenhack.telemetry.clock import ClockOffset, clock_offset_from_samples, measure_clock_offset
from greenhack.telemetry.models import Sample
from greenhack.telemetry.overhead import measure_overhead
from greenhack.telemetry.simulator import NodeExporterSim, Phase, openmetrics_spans, phased_job
from greenhack.testing.simulated_server import SimulatedServer, simulated_server

SCRAPE = timedelta(seconds=5)
PHASES = (
    Phase("preparation", 25.0, cpu_w=190.0, gpu_w=60.0),  # pulling the image: CPU busy, GPU idle
    Phase("script", 30.0, cpu_w=230.0, gpu_w=310.0),
    Phase("upload", 4.0, cpu_w=150.0, gpu_w=60.0),
)


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, tz=UTC)


# --- pure ----------------------------------------------------------------------------------------------------------


def test_the_offset_is_the_clock_minus_the_scrape_time_less_half_the_scrape() -> None:
    times = [Sample(1000.0 + 5 * i, 1000.0 + 5 * i + 2.0 + 0.004) for i in range(6)]
    durations = [Sample(s.t_s, 0.008) for s in times]
    offset = clock_offset_from_samples("gpu-1", times, durations=durations, sync=[Sample(1000.0, 1.0)])
    assert offset.known and offset.samples == 6
    assert offset.offset_s == pytest.approx(2.0, abs=1e-9)
    assert offset.uncertainty_s == pytest.approx(0.004 + 0.001)
    assert offset.ntp_synchronised is True
    # without recorded scrape durations the bound is the given latency bound
    loose = clock_offset_from_samples("gpu-1", times, max_latency_s=0.5)
    assert loose.uncertainty_s == pytest.approx(0.251) and abs(loose.offset_s - 2.0) <= loose.uncertainty_s  # type: ignore[operator]


def test_a_clock_stepped_during_the_window_widens_the_bound() -> None:
    times = [Sample(1000.0 + 5 * i, 1000.0 + 5 * i + (0.0 if i < 3 else 0.3)) for i in range(6)]
    offset = clock_offset_from_samples("gpu-1", times, durations=[Sample(s.t_s, 0.002) for s in times])
    assert offset.uncertainty_s is not None and offset.uncertainty_s >= 0.15


def test_no_sample_is_an_unknown_offset_with_its_reason() -> None:
    offset = clock_offset_from_samples("gpu-1", [], sync=[Sample(1.0, 0.0)])
    assert not offset.known and offset.offset_s is None and "no node_time_seconds sample" in (offset.reason or "")
    assert offset.ntp_synchronised is False


def test_review_when_the_offset_passes_the_limit_or_is_unknown_and_required() -> None:
    limit = timedelta(milliseconds=500)
    far = ClockOffset(server="gpu-1", known=True, offset_s=2.0, uncertainty_s=0.003, samples=5)
    near = ClockOffset(server="gpu-1", known=True, offset_s=-0.2, uncertainty_s=0.003, samples=5)
    unknown = ClockOffset(server="gpu-1", known=False, reason="the server has no node_exporter in the event YAML")
    assert "+2.000 s" in (far.problem(max_offset=limit, required=False) or "")
    assert near.problem(max_offset=limit, required=True) is None
    assert unknown.problem(max_offset=limit, required=False) is None
    assert "telemetry.require_clock_offset" in (unknown.problem(max_offset=limit, required=True) or "")
    moment = datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert far.to_prometheus_time(moment) == moment - timedelta(seconds=2)
    assert unknown.to_prometheus_time(moment) == moment


# --- the simulator -------------------------------------------------------------------------------------------------


def test_simulated_node_exporter_serves_node_exporters_series_with_the_offset() -> None:
    sim = NodeExporterSim(clock_offset_s=2.0, scrape_latency_s=0.003, synchronised=False)
    families = {f.name: f for f in text_string_to_metric_families(sim.exposition(1_800_000_000.0))}
    assert set(families) == {"node_time_seconds", "node_timex_sync_status", "node_timex_offset_seconds",
                             "node_timex_maxerror_seconds"}
    assert families["node_time_seconds"].type == "gauge"
    assert families["node_time_seconds"].samples[0].value == pytest.approx(1_800_000_002.003)
    assert families["node_timex_sync_status"].samples[0].value == 0
    # Prometheus records the scrape's duration itself: in backfills only
    ((_, scraped),) = sim.scrapes(1000.0, 1000.0, 5.0)
    assert scraped["scrape_duration_seconds"] == [({}, repr(0.006))]


def test_a_phased_job_has_its_true_energy_per_phase() -> None:
    job = phased_job(1000.0, PHASES, idle_cpu_w=90.0, idle_gpu_w=55.0, noise=0.1, seed=3)
    assert job.end_s == 1059.0 and job.bounds("script") == (1025.0, 1055.0)
    assert job.energy_j(900.0, 1000.0) == pytest.approx(100 * (90 + 55))
    total = sum(job.phase_energy_j(p.name) for p in PHASES)
    assert total == pytest.approx(job.energy_j(1000.0, 1059.0))
    # noise keeps each phase's mean power within its amplitude
    assert job.phase_energy_j("script") / 30 == pytest.approx(230 + 310, rel=0.1)
    with pytest.raises(KeyError, match="no phase 'train'"):
        job.bounds("train")


# --- against a real Prometheus -----------------------------------------------------------------------------------


@dataclass
class World:
    client: PrometheusClient
    servers: dict[str, SimulatedServer]


@pytest.fixture(scope="module")
def world(prometheus_factory: Callable[..., object]) -> Iterator[World]:
    t0 = math.floor(time.time()) - 3 * 3600.0
    servers = {
        "ahead": simulated_server("ahead", phased_job(t0 + 200.3, PHASES, idle_cpu_w=90, idle_gpu_w=55),
                                  clock_offset_s=2.0),
        "behind": simulated_server("behind", phased_job(t0 + 600.7, PHASES, idle_cpu_w=90, idle_gpu_w=55),
                                   clock_offset_s=-0.35, synchronised=False),
        "bare": simulated_server("bare", phased_job(t0 + 1000.1, PHASES, idle_cpu_w=90, idle_gpu_w=55),
                                 node_exporter=False),
    }
    text = openmetrics_spans(
        span for n, s in enumerate(servers.values()) for span in s.spans(lead_s=120.0, interval_s=5.0, seed=n)
    )
    server = prometheus_factory(text)
    with PrometheusClient(server.url) as client:  # type: ignore[attr-defined]
        yield World(client, servers)


def _script(sim: SimulatedServer) -> tuple[datetime, datetime]:
    start_s, end_s = sim.job.bounds("script")
    return _utc(start_s), _utc(end_s)


def test_the_offset_measured_in_prometheus_is_the_servers(world: World) -> None:
    for name, expected in (("ahead", 2.0), ("behind", -0.35)):
        sim = world.servers[name]
        offset = measure_clock_offset(sim.server, *_script(sim), source=world.client, scrape_interval=SCRAPE)
        assert offset.known and offset.samples >= 8, offset
        assert offset.offset_s == pytest.approx(expected, abs=0.002)
        assert offset.uncertainty_s is not None and abs(offset.offset_s - expected) <= offset.uncertainty_s  # type: ignore[operator]
        assert offset.ntp_synchronised is (name == "ahead")
        assert offset.ntp_offset_s == 0.0
    bare = world.servers["bare"]
    unknown = measure_clock_offset(bare.server, *_script(bare), source=world.client, scrape_interval=SCRAPE)
    assert not unknown.known and "no node_exporter" in (unknown.reason or "")


def test_a_node_exporter_with_no_sample_is_an_unknown_offset(world: World) -> None:
    sim = world.servers["ahead"]
    missing = sim.server.model_copy(update={"node_exporter": '{instance="nowhere:9100"}'})
    offset = measure_clock_offset(missing, *_script(sim), source=world.client, scrape_interval=SCRAPE)
    assert not offset.known and "is its node_exporter scraped" in (offset.reason or "")


def test_the_overhead_is_the_preparation_and_the_upload_from_the_same_integration(world: World) -> None:
    sim = world.servers["bare"]
    job = sim.job
    script_start, script_end = _script(sim)
    overhead = measure_overhead(
        sim.server, job_start=_utc(job.start_s), script_start=script_start, script_end=script_end,
        job_end=_utc(job.end_s), source=world.client, scrape_interval=SCRAPE,
    )
    assert (overhead.before_s, overhead.after_s) == (25.0, 4.0)
    assert overhead.before_energy_j == pytest.approx(job.phase_energy_j("preparation"), rel=0.01)
    assert overhead.after_energy_j == pytest.approx(job.phase_energy_j("upload"), rel=0.05)
    script = measure_energy(sim.server, script_start, script_end, source=world.client, scrape_interval=SCRAPE)
    whole = measure_energy(sim.server, _utc(job.start_s), _utc(job.end_s), source=world.client,
                           scrape_interval=SCRAPE)
    # the parts add up to the whole job's energy
    assert script.total_energy_j + overhead.energy_j == pytest.approx(whole.total_energy_j, rel=0.005)
    # a script window poking out of GitLab's (another clock) leaves that part empty, not negative
    early = measure_overhead(
        sim.server, job_start=_utc(job.start_s), script_start=_utc(job.start_s - 1), script_end=script_end,
        job_end=_utc(job.end_s), source=world.client, scrape_interval=SCRAPE,
    )
    assert early.before_energy_j == 0.0 and early.before_s == 0.0

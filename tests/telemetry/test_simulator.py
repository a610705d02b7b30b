"""The exporter simulator: exact traces, the exporters' own text formats and semantics, and a live scrape."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from greenhack.config import ServerConfig
from greenhack.services.prometheus import static_scrape_config
from greenhack.telemetry import (
    DCGM,
    NVIDIA_SMI,
    SCAPHANDRE,
    PrometheusClient,
    measure_energy,
    normalise_gpu_uuid,
)
from greenhack.telemetry.simulator import (
    Constant,
    ExporterSim,
    Noise,
    PowerTrace,
    Ramp,
    RaplDomains,
    SimDevice,
    SimulatorServer,
    job_trace,
    openmetrics,
)

UUID = "GPU-5FB1D7E4-22A1-4C0B-9E7D-0123456789AB"


def midpoint_energy(trace: PowerTrace, a: float, b: float, steps: int = 40_000) -> float:
    h = (b - a) / steps
    return sum(trace.power_w(a + (i + 0.5) * h) for i in range(steps)) * h


@pytest.mark.parametrize("kind", ["steps", "ramp", "noise", "mixed", "realistic"])
def test_trace_energy_is_the_integral_of_its_power(kind: str) -> None:
    trace = job_trace(kind, 10.0, 70.0, idle_w=80.0, load_w=300.0, seed=4)
    for a, b in [(0.0, 100.0), (12.34, 45.678), (69.9, 70.1)]:
        assert trace.energy_j(a, b) == pytest.approx(midpoint_energy(trace, a, b), rel=1e-4)


def test_segments_must_not_overlap() -> None:
    with pytest.raises(ValueError, match="overlap"):
        PowerTrace(0.0, (Constant(0, 10, 1.0), Ramp(5, 15, 1.0, 2.0)))
    noise = Noise(0.0, 10.0, 100.0, 20.0, seed=1)
    assert noise.energy_j(0.0, 10.0) == Noise(0.0, 10.0, 100.0, 20.0, seed=1).energy_j(0.0, 10.0)
    assert noise.energy_j(0.0, 10.0) != Noise(0.0, 10.0, 100.0, 20.0, seed=2).energy_j(0.0, 10.0)


def test_counters_wrap_and_reset() -> None:
    trace = PowerTrace(100.0)
    wrapping = SimDevice(trace, counter_offset_j=0.0, wrap_at_j=1000.0)
    assert wrapping.counter_j(9.0) == pytest.approx(900.0)
    assert wrapping.counter_j(11.0) == pytest.approx(100.0)  # wrapped to 0 at 10 s
    resetting = SimDevice(trace, uuid=UUID, counter_offset_j=5e6, resets_at_s=(20.0,))
    assert resetting.counter_j(19.0) == pytest.approx(5e6 + 1900.0)
    assert resetting.counter_j(21.0) == pytest.approx(100.0)


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {f.name: [(dict(s.labels), s.value) for s in f.samples] for f in text_string_to_metric_families(text)}


def test_scaphandre_text_and_its_average_since_previous_refresh() -> None:
    trace = PowerTrace.steps(100.0, [(10.0, 300.0)], 100.0)
    sim = ExporterSim(SCAPHANDRE, (SimDevice(trace, counter_offset_j=50.0),))
    sim.exposition(8.0)
    text = sim.exposition(12.0)
    assert "# TYPE scaph_host_power_microwatts gauge" in text
    assert "# TYPE scaph_host_energy_microjoules counter" in text
    got = families(text)
    # mean over (8, 12]: 2 s at 100 W and 2 s at 300 W
    assert got["scaph_host_power_microwatts"] == [({}, 200e6)]
    assert got["scaph_host_energy_microjoules"][0][1] == pytest.approx((50.0 + trace.energy_j(0.0, 12.0)) * 1e6)


def test_nvidia_smi_text_strips_the_uuid_prefix() -> None:
    trace = PowerTrace.steps(50.0, [(10.0, 250.0)], 100.0)
    sim = ExporterSim(NVIDIA_SMI, (SimDevice(trace, uuid=UUID),), with_counter=False)
    got = families(sim.exposition(10.5))
    bare = UUID[4:].lower()
    assert got["nvidia_smi_power_draw_watts"] == [({"uuid": bare}, 150.0)]  # the mean of the last second
    (info_labels, one), = got["nvidia_smi_gpu_info"]
    assert one == 1.0 and info_labels["uuid"] == bare and info_labels["name"] == "NVIDIA A100 80GB PCIe"
    assert "nvidia_smi_energy_joules" not in got  # only the NVML backend has the counter


def test_dcgm_text_has_its_labels_and_millijoules() -> None:
    trace = PowerTrace(200.0)
    sim = ExporterSim(DCGM, (SimDevice(trace, uuid=UUID, counter_origin_s=0.0),), hostname="gpu-1")
    got = families(sim.exposition(10.0))
    (labels, watts), = got["DCGM_FI_DEV_POWER_USAGE"]
    assert watts == 200.0
    assert {"gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname"} <= set(labels)
    assert labels["UUID"] == UUID and labels["Hostname"] == "gpu-1" and labels["gpu"] == "0"
    ((_, millijoules),) = got["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"]
    assert millijoules == pytest.approx(2000.0 * 1e3)


def test_openmetrics_backfill_text_groups_families_and_ends_with_eof() -> None:
    cpu = ExporterSim(SCAPHANDRE, (SimDevice(PowerTrace(100.0)),), target_labels={"instance": "a:8080"})
    gpu = ExporterSim(DCGM, (SimDevice(PowerTrace(200.0), uuid=UUID),), target_labels={"instance": "a:9400"})
    text = openmetrics([cpu, gpu], 1000.0, 1060.0, 5.0, jitter_s=0.05)
    lines = text.splitlines()
    assert lines[-1] == "# EOF"
    types = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(types) == len(set(types)) == 4
    power = [line for line in lines if line.startswith("scaph_host_power_microwatts{")]
    assert len(power) == 13 and all('instance="a:8080"' in line for line in power)


@pytest.mark.slow
def test_a_real_prometheus_scraping_live_simulators_measures_the_truth(
    prometheus_factory: Callable[..., object],
) -> None:
    now = time.time()
    cpu_trace = PowerTrace.steps(90.0, [(now + 9.37, 240.0), (now + 13.71, 120.0)], now + 3600)
    gpu_trace = PowerTrace(60.0, (Ramp(now + 8.0, now + 14.0, 60.0, 300.0), Constant(now + 14.0, now + 99, 300.0)))
    cpu = ExporterSim(SCAPHANDRE, (SimDevice(cpu_trace, counter_origin_s=now - 100),))
    gpu = ExporterSim(DCGM, (SimDevice(gpu_trace, uuid=UUID, counter_origin_s=now - 100),))
    with SimulatorServer(cpu) as cpu_http, SimulatorServer(gpu) as gpu_http:
        assert httpx.get(cpu_http.url).status_code == 200
        config = static_scrape_config("sim", [cpu_http.address, gpu_http.address], scrape_interval_s=1.0)
        prometheus = prometheus_factory(scrape_config=config)
        server = ServerConfig.model_validate({
            "name": "live", "runner_tags": ["live"],
            "scaphandre": f'{{instance="{cpu_http.address}"}}', "gpu": f'{{instance="{gpu_http.address}"}}',
            "gpu_exporter": "dcgm",
            "hardware": {"cpu": {"name": "x"}, "ram_gb": 1, "gpu": {"name": "NVIDIA A100 80GB", "units": 1}},
        })
        start, end = now + 8.5, now + 14.2
        with PrometheusClient(prometheus.url) as client:  # type: ignore[attr-defined]
            needed = datetime.fromtimestamp(end + 4.5, tz=UTC)
            deadline = time.time() + 40
            while (client.latest_sample_time(f"scaph_host_power_microwatts{server.scaphandre}") or
                   datetime.fromtimestamp(0, tz=UTC)) < needed:
                assert time.time() < deadline, "Prometheus did not scrape the simulators"
                time.sleep(0.5)
            result = measure_energy(
                server, datetime.fromtimestamp(start, tz=UTC), datetime.fromtimestamp(end, tz=UTC),
                source=client, scrape_interval=timedelta(seconds=1),
            )
    assert result.valid, result.problems
    assert result.methods["cpu"] == "counter"
    assert result.cpu_energy_j == pytest.approx(cpu_trace.energy_j(start, end), rel=0.02)
    assert result.gpus[normalise_gpu_uuid(UUID)].energy_j == pytest.approx(
        gpu_trace.energy_j(start, end), rel=0.02
    )


def _by_labels(rows: list[tuple[dict[str, str], float]]) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(labels.items())): value for labels, value in rows}


def test_scaphandre_with_a_psys_domain_serves_psys_as_the_host_and_the_domains_beside_it() -> None:
    # hubblo-org/scaphandre src/sensors/powercap_rapl.rs read_record: with PSYS, the host record is PSYS alone;
    # src/exporters/mod.rs gen_host_metrics labels it value_source="powercap_rapl_psys"; sockets (package) and
    # their domains are still served, as parts of what PSYS measures
    trace = PowerTrace(200.0)
    rapl = RaplDomains(psys=True, sockets=2, package_share=0.5, dram_share=0.2)
    sim = ExporterSim(SCAPHANDRE, (SimDevice(trace, counter_offset_j=50.0),), rapl=rapl)
    sim.exposition(8.0)
    got = families(sim.exposition(10.0))
    psys = {"value_source": "powercap_rapl_psys"}
    assert got["scaph_host_power_microwatts"] == [(psys, 200e6)]
    assert got["scaph_host_energy_microjoules"] == [(psys, pytest.approx((50.0 + 2000.0) * 1e6))]
    sockets = _by_labels(got["scaph_socket_energy_microjoules"])
    assert sockets == {(("socket_id", "0"),): pytest.approx(500e6), (("socket_id", "1"),): pytest.approx(500e6)}
    assert _by_labels(got["scaph_socket_power_microwatts"])[(("socket_id", "1"),)] == pytest.approx(50e6)
    drams = _by_labels(got["scaph_domain_energy_microjoules"])
    assert drams == {
        (("domain_id", "0"), ("domain_name", "dram"), ("socket_id", str(n))): pytest.approx(200e6) for n in (0, 1)
    }
    # the parts add up to less than the host: PSYS covers more than the packages and DRAM
    assert sum(sockets.values()) + sum(drams.values()) == pytest.approx(0.7 * 2000e6)


def test_scaphandre_without_psys_sums_package_and_dram_into_the_host_counter() -> None:
    trace = PowerTrace(100.0)
    rapl = RaplDomains(psys=False, package_share=0.85, dram_share=0.15)
    sim = ExporterSim(SCAPHANDRE, (SimDevice(trace),), rapl=rapl)
    got = families(sim.exposition(10.0))
    assert got["scaph_host_energy_microjoules"] == [({}, pytest.approx(1000e6))]
    parts = got["scaph_socket_energy_microjoules"] + got["scaph_domain_energy_microjoules"]
    assert sum(value for _, value in parts) == pytest.approx(1000e6)
    with pytest.raises(ValueError, match="add up to the host"):
        RaplDomains(psys=False, package_share=0.5, dram_share=0.2)

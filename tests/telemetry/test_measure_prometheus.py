"""measure_energy against a real Prometheus backfilled with simulated exporters whose true energy is known.

One Prometheus serves every case of this module; each case is a server with its own ``instance`` labels.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from telemetry_cases import LEAD_S, Case, make_case

from greenhack.config import IdleCalibration
from greenhack.errors import NoSamplesError, TelemetryError
from greenhack.telemetry import (
    IdleBaselines,
    JobEnergy,
    PrometheusClient,
    attributed_energy_j,
    measure_energy,
    measure_idle_power,
)
from greenhack.telemetry.simulator import RaplDomains, ScrapeSpan, openmetrics_spans

SCRAPES_S = (1.0, 5.0, 15.0)
WINDOWS_S = (10.0, 30.0, 120.0, 3600.0)
KINDS = ("steps", "ramp", "noise", "mixed", "realistic")


@dataclass
class Bench:
    client: PrometheusClient
    cases: dict[str, Case]
    url: str


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, tz=UTC)


def _matrix(t0_s: float) -> list[Case]:
    cases: list[Case] = []
    seed = 0
    for scrape_s in SCRAPES_S:
        for window_s in WINDOWS_S:
            if window_s == 3600.0 and scrape_s != 1.0:
                continue  # the 1 h windows run at 1 s, the heaviest; 5 s and 15 s see 10 s to 2 min
            for kind in KINDS:
                seed += 1
                exporter = "dcgm" if seed % 2 else "nvidia_smi"
                cases.append(
                    make_case(
                        f"m{seed}", t0_s=t0_s, scrape_s=scrape_s, window_s=window_s, kind=kind,
                        gpu_exporter=exporter, seed=seed, gpus=1 + seed % 2,
                    )
                )
    return cases


def _faults(t0_s: float) -> list[Case]:
    return [
        make_case("outage", t0_s=t0_s, scrape_s=5.0, window_s=120.0, kind="steps", seed=101,
                  cpu_outages=((40.0, 75.0),)),
        make_case("wrap", t0_s=t0_s, scrape_s=5.0, window_s=120.0, kind="noise", seed=102,
                  cpu_wrap_at_j=None),  # wrap value set below, once the counter's level is known
        make_case("reset", t0_s=t0_s, scrape_s=5.0, window_s=120.0, kind="mixed", seed=103,
                  gpu_resets_at=(52.0,)),
        make_case("nogpu", t0_s=t0_s, scrape_s=5.0, window_s=60.0, kind="steps", seed=104,
                  gpu_selector_instance="absent"),
        make_case("stale", t0_s=t0_s, scrape_s=5.0, window_s=120.0, kind="noise", seed=105,
                  collect_interval_s=30.0),
        make_case("nvml", t0_s=t0_s, scrape_s=5.0, window_s=120.0, kind="steps", seed=106,
                  gpu_exporter="nvidia_smi", gpu_with_counter=True, gpu_resets_at=(60.0,)),
        make_case("idle", t0_s=t0_s, scrape_s=5.0, window_s=60.0, kind="steps", seed=107),
        make_case("psys", t0_s=t0_s, scrape_s=5.0, window_s=120.0, kind="realistic", seed=108,
                  cpu_rapl=RaplDomains(psys=True, sockets=2, package_share=0.55, dram_share=0.15)),
        make_case("pkg-dram", t0_s=t0_s, scrape_s=5.0, window_s=120.0, kind="realistic", seed=109,
                  cpu_rapl=RaplDomains(psys=False, sockets=2, package_share=0.8, dram_share=0.2)),
    ]


def _with_wrap(case: Case) -> Case:
    """Make Scaphandre's host counter wrap (one RAPL domain's range) 47 s into the window."""
    from dataclasses import replace

    host = case.cpu.devices[0]
    level = host.counter_j(case.start_s + 47.0)
    wrapped = replace(host, counter_offset_j=host.counter_offset_j, wrap_at_j=level - 1e-3)
    # the counter now reaches wrap_at_j (and returns to ~0) within a millisecond of start + 47 s
    case.cpu = replace(case.cpu, devices=(wrapped,))
    assert wrapped.counter_j(case.start_s + 46.0) > wrapped.counter_j(case.start_s + 48.0)
    return case


@pytest.fixture(scope="module")
def bench(prometheus_factory: Callable[..., object]) -> Iterator[Bench]:
    t0_s = math.floor(time.time()) - 2 * 3600.0
    cases = _matrix(t0_s) + _faults(t0_s)
    by_name = {c.name: c for c in cases}
    _with_wrap(by_name["wrap"])
    spans = []
    for n, case in enumerate(cases):
        for sim in (case.cpu, case.gpu):
            if sim is not None:
                spans.append(ScrapeSpan(sim, case.start_s - LEAD_S, case.end_s + LEAD_S, case.scrape_s, 0.05, n))
    server = prometheus_factory(openmetrics_spans(spans))
    client = PrometheusClient(server.url)  # type: ignore[attr-defined]
    try:
        yield Bench(client, by_name, server.url)  # type: ignore[attr-defined]
    finally:
        client.close()


def _measure(bench: Bench, case: Case, **kw: object) -> JobEnergy:
    return measure_energy(
        case.server, _utc(case.start_s), _utc(case.end_s), source=bench.client,
        scrape_interval=timedelta(seconds=case.scrape_s), **kw,  # type: ignore[arg-type]
    )


def _matrix_names() -> list[str]:
    return [c.name for c in _matrix(0.0)]


@pytest.mark.parametrize("name", _matrix_names())
def test_energy_matches_the_analytic_truth(bench: Bench, name: str) -> None:
    case = bench.cases[name]
    result = _measure(bench, case)
    if case.window_s < case.scrape_s:
        # a window that may hold no sample at all is flagged rather than trusted
        assert all("sample inside the window" in p for p in result.problems)
    else:
        assert result.valid, result.problems
    assert result.coverage == 1.0
    assert result.max_gap_s <= 1.5 * case.scrape_s
    truth_gpus = case.true_gpus_j()
    assert set(result.gpus) == set(truth_gpus)
    counter = case.server.gpu_exporter == "dcgm"
    assert result.methods["cpu"] == "counter"
    # bounds: the information limit is the edge intervals, at most one scrape interval of the power's range each
    edge_bound_j = 2 * case.scrape_s * case.power_range_w()
    cpu_err = abs(result.cpu_energy_j - case.true_cpu_j())
    assert cpu_err <= edge_bound_j
    if case.window_s >= 30.0 and case.scrape_s <= 5.0:
        assert cpu_err / case.true_cpu_j() <= 0.03
    for uuid, gpu in result.gpus.items():
        truth = truth_gpus[uuid]
        err = abs(gpu.energy_j - truth)
        assert gpu.method == ("counter" if counter else "gauge")
        assert err <= edge_bound_j + (0.0 if counter else 0.05 * truth)
        if counter and case.window_s >= 30.0 and case.scrape_s <= 5.0:
            assert err / truth <= 0.03
    assert result.total_energy_j == pytest.approx(result.cpu_energy_j + sum(g.energy_j for g in result.gpus.values()))


def test_an_exporter_outage_invalidates_and_says_when(bench: Bench) -> None:
    case = bench.cases["outage"]
    result = _measure(bench, case)
    assert not result.valid
    down = [p for p in result.problems if "scaphandre exporter down" in p]
    assert len(down) == 1 and "more than 2.5 x the 5 s scrape interval" in down[0]
    assert 35.0 <= result.max_gap_s <= 45.1  # a 35 s outage between 5 s scrapes
    assert result.coverage < 0.75
    # the Scaphandre counter still spans the outage: the figure is not silently smaller
    assert result.cpu_energy_j == pytest.approx(case.true_cpu_j(), rel=0.03)


def test_a_scaphandre_counter_wrap_is_bridged_by_the_gauge(bench: Bench) -> None:
    case = bench.cases["wrap"]
    raw = bench.client.raw_samples(
        f"scaph_host_energy_microjoules{case.server.scaphandre}", start=_utc(case.start_s), end=_utc(case.end_s)
    )
    values = [s.value for s in raw[0].samples]
    assert any(b < a for a, b in pairwise(values)), "the backfilled counter must wrap"
    result = _measure(bench, case)
    assert result.valid, result.problems
    assert result.methods["cpu"] == "counter+gauge"
    assert result.cpu_energy_j == pytest.approx(case.true_cpu_j(), rel=0.01)


@pytest.mark.parametrize("name", ["psys", "pkg-dram"])
def test_the_host_counter_alone_is_the_cpu_energy_whatever_the_rapl_domains(bench: Bench, name: str) -> None:
    # with PSYS, Scaphandre's host series are PSYS alone (value_source="powercap_rapl_psys") and the package and
    # DRAM domains are served beside them: adding those would count 70 % of the energy twice
    case = bench.cases[name]
    domains = bench.client.raw_samples(
        f"{{__name__=~\"scaph_(socket|domain)_energy_microjoules\", instance=\"{name}:8080\"}}",
        start=_utc(case.start_s), end=_utc(case.end_s),
    )
    assert len(domains) == 4, "two sockets, each with a package and a dram series"
    host = bench.client.raw_samples(
        f"scaph_host_energy_microjoules{case.server.scaphandre}", start=_utc(case.start_s), end=_utc(case.end_s)
    )
    assert [s.labels.get("value_source") for s in host] == (["powercap_rapl_psys"] if name == "psys" else [None])
    result = _measure(bench, case)
    assert result.valid, result.problems
    assert result.methods["cpu"] == "counter"
    assert result.cpu_energy_j == pytest.approx(case.true_cpu_j(), rel=0.02)


def test_a_dcgm_counter_reset_is_bridged_by_the_gauge(bench: Bench) -> None:
    case = bench.cases["reset"]
    result = _measure(bench, case)
    assert result.valid, result.problems
    (gpu,) = result.gpus.values()
    assert gpu.method == "counter+gauge"
    assert gpu.energy_j == pytest.approx(sum(case.true_gpus_j().values()), rel=0.01)


def test_an_nvml_counter_reset_is_bridged_and_uuids_normalised(bench: Bench) -> None:
    case = bench.cases["nvml"]
    result = _measure(bench, case)
    assert result.valid, result.problems
    truth = case.true_gpus_j()
    assert set(result.gpus) == set(truth)  # GPU-… as in nvidia-smi -L, though the exporter strips it
    for uuid, gpu in result.gpus.items():
        assert uuid.startswith("GPU-") and uuid[4:] == uuid[4:].lower()
        assert gpu.method == "counter+gauge"
        assert gpu.model_name == "NVIDIA A100 80GB PCIe"
        assert gpu.energy_j == pytest.approx(truth[uuid], rel=0.03)


def test_a_missing_gpu_exporter_invalidates(bench: Bench) -> None:
    case = bench.cases["nogpu"]
    result = _measure(bench, case)
    assert not result.valid
    assert result.gpus == {} and result.gpu_energy_j == 0.0
    assert any(p.startswith("GPU: no dcgm series") for p in result.problems)
    assert result.coverage == 0.0
    assert result.cpu_energy_j == pytest.approx(case.true_cpu_j(), rel=0.03)


def test_stale_values_invalidate(bench: Bench) -> None:
    # dcgm-exporter collecting every 30 s while Prometheus scrapes every 5 s serves stale values
    case = bench.cases["stale"]
    result = _measure(bench, case)
    assert not result.valid
    assert any("stale values from dcgm" in p for p in result.problems)


def test_a_window_not_yet_scraped_past_its_end_is_not_valid(bench: Bench) -> None:
    case = bench.cases["idle"]
    end_s = case.end_s + LEAD_S + 30.0  # beyond the last backfilled scrape
    result = measure_energy(
        case.server, _utc(case.start_s), _utc(end_s), source=bench.client, scrape_interval=timedelta(seconds=5),
        now=_utc(end_s + 1.0),
    )
    assert not result.valid
    assert any("no scaph_host_energy_microjoules sample at or after the window end" in p for p in result.problems)
    latest = bench.client.latest_sample_time(f"scaph_host_power_microwatts{case.server.scaphandre}")
    # the newest sample is older than 5 minutes in this backfill, so Prometheus's look-back does not see it
    assert latest is None


def test_a_window_without_any_sample_inside_is_flagged(bench: Bench) -> None:
    case = bench.cases["idle"]
    raw = bench.client.raw_samples(f"scaph_host_energy_microjoules{case.server.scaphandre}",
                                   start=_utc(case.start_s), end=_utc(case.start_s + 30))
    first, second = raw[0].samples[:2]
    result = measure_energy(case.server, _utc(first.t_s + 0.5), _utc(second.t_s - 0.5), source=bench.client,
                            scrape_interval=timedelta(seconds=5))
    assert not result.valid
    assert any(p.startswith("CPU+DRAM: no scaph_host_energy_microjoules sample inside the window")
               for p in result.problems)


def test_no_telemetry_at_all_raises(bench: Bench) -> None:
    case = bench.cases["idle"]
    server = case.server.model_copy(update={"scaphandre": '{instance="nowhere:8080"}', "gpu": '{instance="x:9"}'})
    with pytest.raises(NoSamplesError) as info:
        measure_energy(server, _utc(case.start_s), _utc(case.end_s), source=bench.client,
                       scrape_interval=timedelta(seconds=5))
    assert "nowhere" in info.value.query


def test_idle_power_from_a_quiet_period(bench: Bench) -> None:
    case = bench.cases["idle"]
    quiet_start, quiet_end = _utc(case.start_s - 100.0), _utc(case.start_s - 10.0)
    idle = measure_idle_power(case.server, quiet_start, quiet_end, source=bench.client,
                              scrape_interval=timedelta(seconds=5))
    assert idle.valid, idle.problems
    assert idle.cpu_power_w == pytest.approx(90.0, rel=1e-3)
    assert idle.gpu_power_w == pytest.approx(55.0, rel=1e-3)
    assert idle.power_w == pytest.approx(145.0, rel=1e-3)
    assert list(idle.gpus_power_w) == list(case.true_gpus_j())


def test_raw_samples_keep_their_own_timestamps(bench: Bench) -> None:
    case = bench.cases["idle"]
    expected = [t for t, _ in case.cpu.scrapes(case.start_s - LEAD_S, case.end_s + LEAD_S, 5.0, jitter_s=0.05,
                                                 seed=list(bench.cases).index("idle"))]
    series = bench.client.raw_samples(
        f"scaph_host_power_microwatts{case.server.scaphandre}", start=_utc(case.start_s), end=_utc(case.end_s)
    )
    got = [s.t_s for s in series[0].samples]
    assert got == [t for t in expected if case.start_s <= t <= case.end_s]
    assert any(t != round(t) for t in got)  # jittered, millisecond timestamps, not a resampled grid


def test_timeline_is_downsampled_and_the_result_is_json(bench: Bench) -> None:
    case = next(c for c in bench.cases.values() if c.window_s == 3600.0)
    result = _measure(bench, case)
    assert set(result.timeline.series) == {"cpu"} | {f"gpu:{u}" for u in result.gpus}
    for points in result.timeline.series.values():
        assert 250 <= len(points) <= 300
        assert all(_utc(case.start_s - 1) <= t <= _utc(case.end_s + 1) for t, _ in points)
    dumped = json.loads(json.dumps(result.model_dump(mode="json")))
    again = JobEnergy.model_validate(dumped)
    assert again == result


def test_idle_baselines_measure_a_calibration_period_once(bench: Bench) -> None:
    case = bench.cases["idle"]
    period = IdleCalibration(start=_utc(case.start_s - 100.0), end=_utc(case.start_s - 10.0))
    server = case.server.model_copy(update={"idle_calibration": period})
    calls: list[str] = []

    class CountingSource:
        def __getattr__(self, name: str) -> object:
            calls.append(name)
            return getattr(bench.client, name)

    baselines = IdleBaselines()
    first = baselines.power_w(server, source=CountingSource(), scrape_interval=timedelta(seconds=5))  # type: ignore[arg-type]
    asked = len(calls)
    again = baselines.power_w(server, source=CountingSource(), scrape_interval=timedelta(seconds=5))  # type: ignore[arg-type]
    assert first == again == pytest.approx(145.0, rel=1e-3)
    assert asked > 0 and len(calls) == asked  # the second answer came from memory, not Prometheus
    # a value written in the YAML wins over a calibration period, and needs no Prometheus at all
    fixed = server.model_copy(update={"idle_power_w": 120.0})
    assert IdleBaselines().power_w(fixed, source=None, scrape_interval=timedelta(seconds=5)) == 120.0  # type: ignore[arg-type]


def test_idle_baseline_with_gaps_is_refused(bench: Bench) -> None:
    case = bench.cases["idle"]
    # a calibration period long before any sample: telemetry is missing, so no baseline rather than a wrong one
    period = IdleCalibration(start=_utc(case.start_s - 9000.0), end=_utc(case.start_s - 8000.0))
    server = case.server.model_copy(update={"idle_calibration": period})
    with pytest.raises(NoSamplesError, match="no telemetry at all"):
        IdleBaselines().power_w(server, source=bench.client, scrape_interval=timedelta(seconds=5))
    # a period that starts before the exporters did: covered only in part, so refused with the reasons
    partial = IdleCalibration(start=_utc(case.start_s - 9000.0), end=_utc(case.start_s - 10.0))
    server = case.server.model_copy(update={"idle_calibration": partial})
    with pytest.raises(TelemetryError, match="idle calibration of server 'idle' .* is incomplete: "):
        IdleBaselines().power_w(server, source=bench.client, scrape_interval=timedelta(seconds=5))
    bare = case.server.model_copy(update={"idle_calibration": None, "idle_power_w": None})
    with pytest.raises(TelemetryError, match="neither idle_power_w nor idle_calibration"):
        IdleBaselines().power_w(bare, source=bench.client, scrape_interval=timedelta(seconds=5))


def test_attributed_energy_under_impact_idle() -> None:
    assert attributed_energy_j(5000.0, 20.0, idle="include", idle_power_w=None) == 5000.0
    assert attributed_energy_j(5000.0, 20.0, idle="subtract", idle_power_w=145.0) == pytest.approx(2100.0)
    # below the baseline a job is charged nothing, never a negative footprint
    assert attributed_energy_j(1000.0, 20.0, idle="subtract", idle_power_w=145.0) == 0.0
    with pytest.raises(TelemetryError, match="idle power is not known"):
        attributed_energy_j(5000.0, 20.0, idle="subtract", idle_power_w=None)

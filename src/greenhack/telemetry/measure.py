"""The energy of a server over a job window, from Prometheus: ``measure_energy`` and ``measure_idle_power``.

Raw samples are fetched from a little before the start to a little after the end (three scrape intervals and a
second each side), so the intervals cut by the window edges and their neighbours are known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from greenhack.config import ServerConfig
from greenhack.errors import NoSamplesError, TelemetryError
from greenhack.telemetry.estimate import ComponentEstimate, estimate_component
from greenhack.telemetry.models import EdgeTiming, GpuEnergy, JobEnergy, Method, Sample, SampleSeries
from greenhack.telemetry.profiles import SCAPHANDRE, ExporterProfile, gpu_profile, normalise_gpu_uuid
from greenhack.telemetry.prometheus import to_unix_s
from greenhack.telemetry.timeline import build_timeline
from greenhack.telemetry.uncertainty import DEFAULT_CONFIDENCE, combine_components, edges_half_width_j

__all__ = [
    "SAMPLES_PAST_END",
    "SampleSource",
    "TelemetrySource",
    "fetch_margin",
    "measure_energy",
    "ready_margin",
]

SAMPLES_PAST_END = 2
"""Samples at or after a window's end the estimators use: the first closes the interval containing the end (a
counter's energy over it, a gauge's mean), the second gives its right neighbour, which places a step inside it
(:mod:`greenhack.telemetry.integrate`: a job ending mid-interval is attributed exactly, not at the mean). A third
only vets the step against a continuing ramp; waiting for it costs a whole scrape interval of latency for no
measurable gain (``bench/energy_accuracy.py``, column "at ready")."""


class SampleSource(Protocol):
    """What measure_energy needs from Prometheus (PrometheusClient implements it)."""

    def raw_samples(self, selector: str, *, start: datetime, end: datetime) -> list[SampleSeries]: ...

    def query(self, promql: str, *, at: datetime | None = None) -> list[SampleSeries]: ...


class TelemetrySource(SampleSource, Protocol):
    """Prometheus as the evaluation needs it (:class:`~greenhack.telemetry.PrometheusClient`): the samples, and
    how far each exporter has been scraped (the evaluation waits for the samples past a window's end)."""

    def latest_sample_time(self, selector_metric: str) -> datetime | None: ...


def fetch_margin(scrape_interval: timedelta) -> timedelta:
    """How far outside the window samples are fetched: the edge interval and two neighbours, plus jitter (never
    beyond ``now``: :func:`measure_energy` uses what Prometheus holds)."""
    return 3 * scrape_interval + timedelta(seconds=1)


def ready_margin(scrape_interval: timedelta) -> timedelta:
    """How far past a window's end an exporter's newest sample must be for it to hold :data:`SAMPLES_PAST_END`
    samples at or after the end: (SAMPLES_PAST_END - 1) scrape intervals (its samples are one interval apart)."""
    return (SAMPLES_PAST_END - 1) * scrape_interval


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    fetch_start: datetime
    fetch_end: datetime
    timing: EdgeTiming
    confidence: float


def _scaled(series: list[SampleSeries], scale: float) -> list[SampleSeries]:
    return [
        SampleSeries(s.metric, s.labels, tuple(Sample(x.t_s, x.value * scale) for x in s.samples)) for s in series
    ]


def _fetch(source: SampleSource, metric: str | None, selector: str, window: _Window, scale: float) -> list[SampleSeries]:
    if metric is None:
        return []
    found = source.raw_samples(f"{metric}{selector}", start=window.fetch_start, end=window.fetch_end)
    return _scaled([s for s in found if s.samples], scale)


def _merge(series: list[SampleSeries]) -> tuple[Sample, ...]:
    """One time-ordered sample list from several series of one device (e.g. before and after a label change)."""
    by_time: dict[float, float] = {}
    for s in series:
        for x in s.samples:
            by_time.setdefault(x.t_s, x.value)
    return tuple(Sample(t, v) for t, v in sorted(by_time.items()))


def _host_series(
    series: list[SampleSeries], metric: str, selector: str, problems: list[str]
) -> tuple[Sample, ...] | None:
    if not series:
        return None
    if len(series) > 1:
        names = "; ".join(",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) for s in series)
        problems.append(f"CPU+DRAM: {metric}{selector} matches {len(series)} series ({names}); the selector must "
                        "name one host")
        return max(series, key=lambda s: len(s.samples)).samples
    return series[0].samples


def _measure_cpu(
    source: SampleSource, server: ServerConfig, window: _Window, scrape_s: float, problems: list[str]
) -> ComponentEstimate | None:
    profile = SCAPHANDRE
    counters = _fetch(source, profile.energy_metric, server.scaphandre, window, profile.energy_scale_j)
    gauges = _fetch(source, profile.power_metric, server.scaphandre, window, profile.power_scale_w)
    if not counters and not gauges:
        problems.append(
            f"CPU+DRAM: no Scaphandre series ({profile.power_metric}, {profile.energy_metric}) match "
            f"{server.scaphandre} around the window: exporter missing or down"
        )
        return None
    estimate = estimate_component(
        "CPU+DRAM",
        profile,
        counter=_host_series(counters, str(profile.energy_metric), server.scaphandre, problems),
        gauge=_host_series(gauges, profile.power_metric, server.scaphandre, problems),
        start_s=to_unix_s(window.start),
        end_s=to_unix_s(window.end),
        scrape_interval_s=scrape_s,
        timing=window.timing,
        confidence=window.confidence,
    )
    problems.extend(estimate.energy.problems)
    return estimate


def _gpu_models(source: SampleSource, profile: ExporterProfile, selector: str, window: _Window) -> dict[str, str]:
    if profile.info_metric is None or profile.uuid_label is None:
        return {}
    models: dict[str, str] = {}
    for s in source.query(f"{profile.info_metric}{selector}", at=window.end):
        uuid, name = s.labels.get(profile.uuid_label), s.labels.get("name")
        if uuid and name:
            models[normalise_gpu_uuid(uuid)] = name
    return models


def _by_uuid(series: list[SampleSeries], label: str, what: str, problems: list[str]) -> dict[str, list[SampleSeries]]:
    grouped: dict[str, list[SampleSeries]] = defaultdict(list)
    for s in series:
        raw = s.labels.get(label)
        if not raw:
            problems.append(f"GPU: a {what} series has no {label!r} label ({dict(s.labels)}); it is ignored")
            continue
        grouped[normalise_gpu_uuid(raw)].append(s)
    return grouped


def _measure_gpus(
    source: SampleSource, server: ServerConfig, window: _Window, scrape_s: float, problems: list[str]
) -> tuple[dict[str, GpuEnergy], dict[str, ComponentEstimate]]:
    if server.gpu is None:
        return {}, {}
    profile = gpu_profile(server.gpu_exporter)
    assert profile.uuid_label is not None
    counters = _fetch(source, profile.energy_metric, server.gpu, window, profile.energy_scale_j)
    gauges = _fetch(source, profile.power_metric, server.gpu, window, profile.power_scale_w)
    counter_by = _by_uuid(counters, profile.uuid_label, str(profile.energy_metric), problems)
    gauge_by = _by_uuid(gauges, profile.uuid_label, profile.power_metric, problems)
    models = _gpu_models(source, profile, server.gpu, window)
    for uuid, group in gauge_by.items():
        if profile.model_label and uuid not in models:
            name = group[0].labels.get(profile.model_label)
            if name:
                models[uuid] = name
    expected = server.hardware.gpu.units if server.hardware.gpu is not None else 0
    uuids = sorted(set(counter_by) | set(gauge_by))
    if not uuids:
        problems.append(
            f"GPU: no {profile.name} series ({profile.power_metric}"
            + (f", {profile.energy_metric}" if profile.energy_metric else "")
            + f") match {server.gpu} around the window: exporter missing or down"
        )
    elif len(uuids) < expected:
        problems.append(
            f"GPU: the server has {expected} GPUs but {profile.name} reports {len(uuids)} ({', '.join(uuids)})"
        )
    gpus: dict[str, GpuEnergy] = {}
    estimates: dict[str, ComponentEstimate] = {}
    for uuid in uuids:
        label = f"GPU {uuid}"
        estimate = estimate_component(
            label,
            profile,
            counter=_merge(counter_by[uuid]) if uuid in counter_by else None,
            gauge=_merge(gauge_by[uuid]) if uuid in gauge_by else None,
            start_s=to_unix_s(window.start),
            end_s=to_unix_s(window.end),
            scrape_interval_s=scrape_s,
            timing=window.timing,
            confidence=window.confidence,
        )
        problems.extend(estimate.energy.problems)
        gpus[uuid] = GpuEnergy(
            **estimate.energy.model_dump(exclude={"uncertainty"}),
            uncertainty=estimate.energy.uncertainty,
            uuid=uuid,
            model_name=models.get(uuid),
        )
        estimates[f"gpu:{uuid}"] = estimate
    return gpus, estimates


def measure_energy(
    server: ServerConfig,
    start: datetime,
    end: datetime,
    *,
    source: SampleSource,
    scrape_interval: timedelta,
    now: datetime | None = None,
    timing: EdgeTiming | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> JobEnergy:
    """Energy of ``server``'s CPU+DRAM (Scaphandre) and of each of its GPUs over [start, end], in joules, each with
    the parts of its interval at ``confidence`` (:mod:`greenhack.telemetry.uncertainty`).

    Args:
        server: the server as configured in the event YAML (its exporters' selectors and GPU exporter).
        start: window start (aware datetime; microseconds are honoured to the millisecond Prometheus keeps).
        end: window end (aware datetime).
        source: a PrometheusClient (or anything with the same ``raw_samples``/``query``).
        scrape_interval: the server's scrape interval (gaps longer than 2.5 of it invalidate the result).
        now: the present time, when known; samples are not asked for beyond it.
        timing: how well the window's edges are known (marks' resolution, clock offset bound); None: exactly.
        confidence: two-sided confidence of the intervals (0.95 by default).

    Returns:
        JobEnergy; ``valid`` is False with one problem per reason when the telemetry cannot be trusted.

    Raises:
        NoSamplesError: no series of the server at all was found around the window.
        PrometheusUnavailable: Prometheus did not answer.
        TelemetryError: Prometheus refused a query, or the window is empty.
    """
    start_s, end_s = to_unix_s(start), to_unix_s(end)
    if end_s <= start_s:
        raise TelemetryError(f"window end {end.isoformat()} is not after its start {start.isoformat()}")
    scrape_s = scrape_interval.total_seconds()
    margin = fetch_margin(scrape_interval)
    fetch_end = end + margin
    if now is not None and now < fetch_end:
        fetch_end = max(now, end + timedelta(milliseconds=1))
    window = _Window(start, end, start - margin, fetch_end, timing or EdgeTiming(), confidence)
    problems: list[str] = []

    cpu = _measure_cpu(source, server, window, scrape_s, problems)
    gpus, gpu_estimates = _measure_gpus(source, server, window, scrape_s, problems)
    if cpu is None and not gpus:
        raise NoSamplesError(
            f"no telemetry at all for server {server.name!r} around "
            f"{start.isoformat()} .. {end.isoformat()}: are its exporters scraped?",
            query=f"scaph_host_energy_microjoules{server.scaphandre}",
        )

    methods: dict[str, Method] = {}
    series: dict[str, Sequence[tuple[float, float]]] = {}
    coverages: list[float] = []
    gaps: list[float] = []
    cpu_energy_j = 0.0
    if cpu is not None:
        cpu_energy_j = cpu.energy.energy_j
        methods["cpu"] = cpu.energy.method
        series["cpu"] = cpu.points
        coverages.append(cpu.energy.coverage)
        gaps.append(cpu.energy.max_gap_s)
    else:
        coverages.append(0.0)
        gaps.append(end_s - start_s)
    for uuid, gpu in gpus.items():
        methods[f"gpu:{uuid}"] = gpu.method
        coverages.append(gpu.coverage)
        gaps.append(gpu.max_gap_s)
    if server.gpu is not None and not gpus:
        coverages.append(0.0)
        gaps.append(end_s - start_s)
    series.update({name: estimate.points for name, estimate in gpu_estimates.items()})
    gpu_energy_j = sum(g.energy_j for g in gpus.values())
    estimates = ([cpu] if cpu is not None else []) + list(gpu_estimates.values())
    parts = [e.energy.uncertainty for e in estimates if e.energy.uncertainty is not None]
    uncertainty = None
    # an interval only when every component that should be there was measured (a missing GPU has no interval)
    if parts and len(parts) == len(estimates) and cpu is not None and (server.gpu is None or gpus):
        uncertainty = combine_components(
            parts,
            edges_j=edges_half_width_j(
                start_power_w=sum(e.start_power_w for e in estimates),
                end_power_w=sum(e.end_power_w for e in estimates),
                timing=window.timing,
                confidence=confidence,
            ),
            confidence=confidence,
        )
    return JobEnergy(
        server=server.name,
        start=start,
        end=end,
        duration_s=end_s - start_s,
        cpu_energy_j=cpu_energy_j,
        gpu_energy_j=gpu_energy_j,
        gpus=gpus,
        total_energy_j=cpu_energy_j + gpu_energy_j,
        coverage=min(coverages),
        max_gap_s=max(gaps),
        valid=not problems,
        problems=problems,
        methods=methods,
        cpu=cpu.energy if cpu is not None else None,
        timeline=build_timeline(series),
        uncertainty=uncertainty,
    )

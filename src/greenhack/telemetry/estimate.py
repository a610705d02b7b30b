"""Energy of one component over a window from its raw series: choose the estimator, check coverage (pure).

The counter is preferred where it exists (it is exact over every scrape interval and over outages); the gauge is
the fallback where the exporter serves no counter, and bridges counter wraps/resets. Staleness is detected on
counters only (a powered device's counter always moves; a real power gauge may legitimately repeat a value). Every reason the figure cannot be trusted becomes a
problem string naming the component, the exporter and the times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from greenhack.telemetry.integrate import (
    Interval,
    bridge_drops,
    gap_report,
    integrate,
    intervals_from_average_gauge,
    intervals_from_counter,
    intervals_from_point_gauge,
    intervals_from_trailing_gauge,
    stale_counter_runs,
)
from greenhack.telemetry.models import ComponentEnergy, EdgeTiming, EnergyUncertainty, Method, Sample
from greenhack.telemetry.profiles import ExporterProfile
from greenhack.telemetry.uncertainty import (
    COUNTER_RESOLUTION_J,
    DEFAULT_CONFIDENCE,
    GAUGE_RESOLUTION_W,
    SENSOR_ACCURACY,
    edge_power_w,
    edges_half_width_j,
    integration_half_width_j,
    sensor_half_width_j,
)

__all__ = ["GAP_FACTOR", "ComponentEstimate", "estimate_component", "gauge_intervals", "sensor_window_s"]

GAP_FACTOR = 2.5
"""A stretch between samples longer than this many scrape intervals means the exporter (or the scrape) was down."""


@dataclass(frozen=True)
class ComponentEstimate:
    """A component's energy, the (Unix seconds, W) points of its power inside the window (for charts), and its
    power at the window's edges (W; what a moved edge costs, summed over components for the job's edges term)."""

    energy: ComponentEnergy
    points: list[tuple[float, float]] = field(default_factory=list)
    start_power_w: float = 0.0
    end_power_w: float = 0.0


def _iso(t_s: float) -> str:
    return datetime.fromtimestamp(t_s, tz=UTC).isoformat(timespec="milliseconds")


def sensor_window_s(profile: ExporterProfile) -> float:
    """The averaging window of a ``point`` gauge, seconds: a trailing average is centred half its window before
    its timestamp (``gauge_lag_s``), so the window is twice the lag (1 s for NVML's power; 0 for a true point)."""
    return 2.0 * profile.gauge_lag_s if profile.gauge_kind == "point" else 0.0


def gauge_intervals(profile: ExporterProfile, samples: tuple[Sample, ...]) -> list[Interval]:
    """The intervals a power gauge's samples (W) give, by the gauge's semantics."""
    if profile.gauge_kind == "interval_average":
        return intervals_from_average_gauge(samples)
    window_s = sensor_window_s(profile)
    if window_s > 0:
        return intervals_from_trailing_gauge(samples, window_s=window_s)
    return intervals_from_point_gauge(samples)


def estimate_component(
    label: str,
    profile: ExporterProfile,
    *,
    counter: tuple[Sample, ...] | None,
    gauge: tuple[Sample, ...] | None,
    start_s: float,
    end_s: float,
    scrape_interval_s: float,
    timing: EdgeTiming | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> ComponentEstimate:
    """Energy of one component over [start_s, end_s], with its interval's parts at ``confidence``.

    Args:
        label: how problems name the component (``CPU+DRAM`` or ``GPU GPU-…``).
        profile: the exporter's profile.
        counter: the energy counter's samples in joules (None when the exporter serves none).
        gauge: the power gauge's samples in watts (None when missing).
        start_s: window start, Unix seconds.
        end_s: window end, Unix seconds.
        scrape_interval_s: the configured scrape interval, seconds.
        timing: how well the window's edges are known (None: exactly, as given).
        confidence: two-sided confidence of the interval's parts.
    """
    max_gap_s = GAP_FACTOR * scrape_interval_s
    problems: list[str] = []
    g_intervals = gauge_intervals(profile, gauge) if gauge and len(gauge) >= 2 else []
    method: Method = "gauge"
    intervals: list[Interval] = g_intervals
    times = [s.t_s for s in gauge] if gauge else []

    if counter is not None and len(counter) >= 2:
        c_intervals, drops = intervals_from_counter(counter)
        stale = stale_counter_runs(counter, start_s, end_s, max_flat_s=max_gap_s)
        c_problems: list[str] = []
        c_method: Method = "counter"
        if drops:
            c_intervals, unbridged = bridge_drops(c_intervals, drops, g_intervals)
            if len(unbridged) < len(drops):
                c_method = "counter+gauge"
            what = "wrapped" if profile.counter_drop == "wrap" else "reset"
            for drop in unbridged:
                if drop.end_s > start_s and drop.start_s < end_s:
                    c_problems.append(
                        f"{label}: {profile.energy_metric} {what} between {_iso(drop.start_s)} and "
                        f"{_iso(drop.end_s)} ({drop.before_j:.1f} J -> {drop.after_j:.1f} J) and no "
                        f"{profile.power_metric} sample bridges it"
                    )
        for a, b in stale:
            c_problems.append(
                f"{label}: {profile.energy_metric} stayed at the same value from {_iso(a)} to {_iso(b)} "
                f"({b - a:.1f} s): stale values from {profile.name}"
            )
        # a stale counter means a stale exporter: its gauge comes from the same collection, so no fallback
        problems.extend(c_problems)
        intervals, method, times = c_intervals, c_method, [s.t_s for s in counter]
    elif counter is not None and len(counter) == 1 and not g_intervals:
        times = [counter[0].t_s]

    metric = profile.power_metric if method == "gauge" else (profile.energy_metric or profile.power_metric)
    report = gap_report(times, start_s, end_s, max_gap_s=max_gap_s)
    if not times:
        problems.append(f"{label}: no {metric} sample near the window ({profile.name} exporter missing or down)")
    else:
        if not report.sample_before_start:
            problems.append(
                f"{label}: no {metric} sample at or before the window start {_iso(start_s)} "
                f"(first at {_iso(min(times))})"
            )
        if not report.sample_after_end:
            problems.append(
                f"{label}: no {metric} sample at or after the window end {_iso(end_s)} "
                f"(last at {_iso(max(times))}; Prometheus has not scraped past the end, or the exporter stopped)"
            )
        if report.sample_before_start and report.sample_after_end and not any(
            start_s < t < end_s for t in times
        ):
            problems.append(
                f"{label}: no {metric} sample inside the window ({end_s - start_s:.1f} s, scrape interval "
                f"{scrape_interval_s:g} s): its energy is only inferred from the samples around it"
            )
        for a, b in report.gaps:
            if b - a > max_gap_s:
                problems.append(
                    f"{label}: {profile.name} exporter down from {_iso(a)} to {_iso(b)}: {b - a:.1f} s without "
                    f"a {metric} sample, more than {GAP_FACTOR:g} x the {scrape_interval_s:g} s scrape interval"
                )
    energy_j = integrate(intervals, start_s, end_s)
    points = _points(profile, gauge, intervals, start_s, end_s)
    start_power_w, end_power_w = edge_power_w(intervals, start_s), edge_power_w(intervals, end_s)
    uncertainty = None
    if intervals:
        uncertainty = EnergyUncertainty(
            confidence=confidence,
            integration_j=integration_half_width_j(
                intervals,
                start_s,
                end_s,
                window_s=sensor_window_s(profile),
                resolution_j=COUNTER_RESOLUTION_J.get(profile.name, 0.0) if method != "gauge" else 0.0,
                resolution_w=GAUGE_RESOLUTION_W.get(profile.name, 0.0) if method == "gauge" else 0.0,
                confidence=confidence,
            ),
            edges_j=edges_half_width_j(
                start_power_w=start_power_w, end_power_w=end_power_w, timing=timing or EdgeTiming(),
                confidence=confidence,
            ),
            sensor_j=sensor_half_width_j(
                SENSOR_ACCURACY[profile.name], energy_j=energy_j, duration_s=end_s - start_s, confidence=confidence
            ),
        )
    return ComponentEstimate(
        energy=ComponentEnergy(
            energy_j=energy_j,
            method=method,
            coverage=report.coverage,
            max_gap_s=report.max_gap_s,
            problems=problems,
            uncertainty=uncertainty,
        ),
        points=points,
        start_power_w=start_power_w,
        end_power_w=end_power_w,
    )


def _points(
    profile: ExporterProfile,
    gauge: tuple[Sample, ...] | None,
    intervals: list[Interval],
    start_s: float,
    end_s: float,
) -> list[tuple[float, float]]:
    if gauge:
        lag = profile.gauge_lag_s if profile.gauge_kind == "point" else 0.0
        return [(s.t_s - lag, s.value) for s in gauge if start_s <= s.t_s - lag <= end_s]
    return [(iv.end_s, iv.power_w) for iv in intervals if start_s < iv.end_s <= end_s]

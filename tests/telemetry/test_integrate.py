"""The pure integration functions: exact where the data allows, honest about gaps, drops and stale counters."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenhack.telemetry.estimate import estimate_component
from greenhack.telemetry.integrate import (
    Interval,
    bridge_drops,
    gap_report,
    integrate,
    intervals_from_average_gauge,
    intervals_from_counter,
    intervals_from_point_gauge,
    stale_counter_runs,
)
from greenhack.telemetry.models import Sample
from greenhack.telemetry.profiles import DCGM, SCAPHANDRE
from greenhack.telemetry.simulator import PowerTrace, Ramp


def average_gauge(trace: PowerTrace, times: list[float]) -> list[Sample]:
    """Scaphandre-like samples: mean power since the previous sample (the first over one period before)."""
    period = times[1] - times[0]
    prev = [times[0] - period] + times[:-1]
    return [Sample(t, trace.mean_power_w(p, t)) for p, t in zip(prev, times, strict=True)]


def counter(trace: PowerTrace, times: list[float], offset_j: float = 1234.5) -> list[Sample]:
    return [Sample(t, offset_j + trace.energy_j(0.0, t)) for t in times]


def grid(start: float, stop: float, step: float) -> list[float]:
    return [start + i * step for i in range(int((stop - start) / step) + 1)]


def test_counter_intervals_are_exact_differences_and_drops_are_reported() -> None:
    samples = [Sample(0, 10.0), Sample(5, 60.0), Sample(10, 5.0), Sample(15, 55.0)]
    intervals, drops = intervals_from_counter(samples)
    assert [(iv.start_s, iv.end_s, iv.energy_j) for iv in intervals] == [(0, 5, 50.0), (10, 15, 50.0)]
    assert len(drops) == 1 and (drops[0].start_s, drops[0].end_s) == (5, 10)
    assert (drops[0].before_j, drops[0].after_j) == (60.0, 5.0)


def test_a_single_step_inside_an_edge_interval_is_attributed_exactly() -> None:
    # idle 100 W, the job draws 300 W from t=12.3 on; samples every 5 s; window starts at the step
    trace = PowerTrace.steps(100.0, [(12.3, 300.0)], 1000.0)
    times = grid(0.0, 60.0, 5.0)
    intervals = intervals_from_average_gauge(average_gauge(trace, times))
    for start, end in [(12.3, 40.0), (12.3, 31.7), (7.5, 33.3)]:
        assert integrate(intervals, start, end) == pytest.approx(trace.energy_j(start, end), rel=1e-12)


def test_a_short_pulse_between_two_edges_is_exact() -> None:
    # the job (a pulse) covers one full interval and parts of its two neighbours
    trace = PowerTrace.steps(100.0, [(12.3, 300.0), (21.4, 100.0)], 1000.0)
    intervals = intervals_from_average_gauge(average_gauge(trace, grid(0.0, 60.0, 5.0)))
    assert integrate(intervals, 12.3, 21.4) == pytest.approx(trace.energy_j(12.3, 21.4), rel=1e-12)


def test_a_ramp_is_integrated_exactly_by_the_linear_profile() -> None:
    trace = PowerTrace(100.0, (Ramp(0.0, 100.0, 100.0, 400.0),))
    intervals = intervals_from_counter(counter(trace, grid(0.0, 100.0, 5.0)))[0]
    for start, end in [(11.1, 47.9), (33.0, 34.0), (6.0, 93.2)]:
        assert integrate(intervals, start, end) == pytest.approx(trace.energy_j(start, end), rel=1e-9)


def test_the_naive_pro_rata_attribution_would_be_wrong_here() -> None:
    # guard: the case above is not trivially exact; splitting the edge interval pro rata errs by more than 2 %
    trace = PowerTrace.steps(100.0, [(12.3, 300.0)], 1000.0)
    intervals = intervals_from_average_gauge(average_gauge(trace, grid(0.0, 60.0, 5.0)))
    naive = sum(
        iv.power_w * max(0.0, min(iv.end_s, 40.0) - max(iv.start_s, 12.3)) for iv in intervals
    )
    truth = trace.energy_j(12.3, 40.0)
    assert abs(naive - truth) / truth > 0.02


def test_point_gauge_is_the_trapezoid_with_lag_correction() -> None:
    samples = [Sample(1.5, 100.0), Sample(6.5, 200.0), Sample(11.5, 200.0)]
    intervals = intervals_from_point_gauge(samples, lag_s=0.5)
    # the last sample, a mean over the second before 11.5, is held up to its own timestamp
    assert [(iv.start_s, iv.end_s) for iv in intervals] == [(1.0, 6.0), (6.0, 11.0), (11.0, 11.5)]
    assert integrate(intervals, 1.0, 11.0) == pytest.approx(750.0 + 1000.0)
    assert integrate(intervals, 1.0, 11.5) == pytest.approx(750.0 + 1000.0 + 100.0)
    # half of the first interval: linear from 100 W to 150 W over 2.5 s
    assert integrate(intervals, 1.0, 3.5) == pytest.approx(0.5 * (100 + 150) * 2.5)


@settings(max_examples=200, deadline=None)
@given(
    power=st.floats(1.0, 2000.0),
    period=st.sampled_from([1.0, 5.0, 15.0]),
    start=st.floats(30.0, 200.0),
    length=st.floats(0.5, 400.0),
)
def test_constant_power_is_exact_for_every_window_and_estimator(
    power: float, period: float, start: float, length: float
) -> None:
    trace = PowerTrace(power)
    times = grid(0.0, 700.0, period)
    end = start + length
    expected = power * length
    for intervals in (
        intervals_from_counter(counter(trace, times))[0],
        intervals_from_average_gauge(average_gauge(trace, times)),
        intervals_from_point_gauge([Sample(t, power) for t in times]),
    ):
        assert integrate(intervals, start, end) == pytest.approx(expected, rel=1e-9)


def test_bridge_fills_a_wrap_with_the_gauge_energy() -> None:
    trace = PowerTrace.steps(100.0, [(20.0, 250.0)], 1000.0)
    times = grid(0.0, 60.0, 5.0)
    raw = counter(trace, times)
    wrapped = [Sample(t, v - 8000.0 if t >= 30.0 else v) for t, v in raw]
    c_intervals, drops = intervals_from_counter(wrapped)
    assert len(drops) == 1
    gauge = intervals_from_average_gauge(average_gauge(trace, times))
    bridged, unbridged = bridge_drops(c_intervals, drops, gauge)
    assert not unbridged
    assert integrate(bridged, 10.0, 50.0) == pytest.approx(trace.energy_j(10.0, 50.0), rel=1e-12)
    # without the gauge around the drop, it stays a hole
    _, unbridged = bridge_drops(c_intervals, drops, [iv for iv in gauge if iv.end_s <= 25.0])
    assert unbridged == drops


def test_gap_report_counts_long_gaps_and_open_edges() -> None:
    times = [0.0, 5.0, 10.0, 40.0, 45.0, 50.0]
    report = gap_report(times, 2.0, 48.0, max_gap_s=12.5)
    assert report.max_gap_s == 30.0
    assert report.gaps == ((10.0, 40.0),)
    assert report.coverage == pytest.approx((48.0 - 2.0 - 30.0) / 46.0)
    assert report.sample_before_start and report.sample_after_end
    late = gap_report([10.0, 15.0, 20.0], 2.0, 18.0, max_gap_s=12.5)
    assert not late.sample_before_start and late.sample_after_end
    assert late.coverage == pytest.approx(8.0 / 16.0)
    assert gap_report([], 0.0, 10.0, max_gap_s=12.5).coverage == 0.0


def test_stale_counter_runs() -> None:
    samples = [Sample(float(t), v) for t, v in [(0, 1.0), (5, 2.0), (10, 2.0), (15, 2.0), (20, 2.0), (25, 3.0)]]
    assert stale_counter_runs(samples, 0.0, 30.0, max_flat_s=12.5) == [(5.0, 20.0)]
    assert stale_counter_runs(samples, 21.0, 30.0, max_flat_s=12.5) == []
    assert stale_counter_runs(samples, 0.0, 30.0, max_flat_s=15.0) == []


def test_estimate_reports_an_unbridgeable_reset_and_a_gap() -> None:
    trace = PowerTrace(200.0)
    times = grid(0.0, 100.0, 5.0)
    raw = counter(trace, times)
    reset = [Sample(t, v - raw[10].value + 10.0 if t >= 52.0 else v) for t, v in raw]
    est = estimate_component(
        "GPU GPU-x", DCGM, counter=tuple(reset), gauge=None, start_s=20.0, end_s=80.0, scrape_interval_s=5.0
    )
    assert est.energy.method == "counter"
    assert any("reset between" in p and "bridges it" in p for p in est.energy.problems)
    gap = [s for s in raw if not 30.0 < s.t_s < 60.0]
    est = estimate_component(
        "CPU+DRAM", SCAPHANDRE, counter=tuple(gap), gauge=None, start_s=20.0, end_s=80.0, scrape_interval_s=5.0
    )
    assert est.energy.energy_j == pytest.approx(200.0 * 60.0)  # the counter still spans the outage exactly
    assert est.energy.max_gap_s == pytest.approx(30.0)
    assert any("exporter down" in p for p in est.energy.problems)
    assert est.energy.coverage == pytest.approx(30.0 / 60.0)


def test_interval_power_is_mean_power() -> None:
    iv = Interval(10.0, 15.0, 500.0)
    assert iv.power_w == 100.0 and iv.duration_s == 5.0
    assert math.isclose(integrate([iv], 0.0, 100.0), 500.0)

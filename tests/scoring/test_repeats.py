"""greenhack.scoring.repeats: the median of a submission's measurements and how their spread widens its interval."""

from __future__ import annotations

import math
import statistics

import pytest

from greenhack.scoring.repeats import MeasuredRun, combine_runs


def test_one_run_is_returned_as_it_is() -> None:
    one = combine_runs([MeasuredRun(1000.0, 0.01, 0.002, measurement_j=30.0, sensor_j=20.0)], confidence=0.95)
    assert (one.runs, one.energy_j, one.impact, one.gwp_kgco2e) == (1, 1000.0, 0.01, 0.002)
    assert (one.measurement_j, one.sensor_j, one.energy_rel) == (30.0, 20.0, 0.03)
    assert one.total_j == pytest.approx(math.hypot(30.0, 20.0))


def test_the_median_is_ranked_and_the_spread_widens_the_job_to_job_part_only() -> None:
    runs = [MeasuredRun(1000.0, 0.010, measurement_j=30.0, sensor_j=20.0),
            MeasuredRun(1100.0, 0.011, measurement_j=36.0, sensor_j=22.0),
            MeasuredRun(5000.0, 0.050, measurement_j=90.0, sensor_j=100.0)]  # fmt: skip
    grouped = combine_runs(runs, confidence=0.95)
    assert (grouped.runs, grouped.energy_j, grouped.impact) == (3, 1100.0, 0.011)  # one spoilt run moves it least
    spread = 1.959964 * statistics.stdev([1000.0, 1100.0, 5000.0])
    assert grouped.measurement_j == pytest.approx(math.hypot(36.0, spread), rel=1e-6)
    assert grouped.sensor_j == pytest.approx(0.02 * 1100.0)  # systematic: its relative size, not reduced
    # two identical runs: no spread, the job-to-job part is the runs' own
    same = combine_runs([MeasuredRun(1000.0, measurement_j=30.0), MeasuredRun(1000.0, measurement_j=30.0)],
                        confidence=0.95)  # fmt: skip
    assert same.measurement_j == pytest.approx(30.0) and same.sensor_j is None


def test_runs_without_intervals_and_bad_input() -> None:
    plain = combine_runs([MeasuredRun(10.0), MeasuredRun(14.0)], confidence=0.9)
    assert plain.energy_j == 12.0 and plain.measurement_j == pytest.approx(1.644854 * statistics.stdev([10, 14]))
    with pytest.raises(ValueError, match="at least one run"):
        combine_runs([], confidence=0.95)
    with pytest.raises(ValueError, match="confidence"):
        combine_runs([MeasuredRun(1.0)], confidence=1.0)

"""One submission measured several times (an admin's re-measure): the figures the board ranks and their interval.

Each run i has its energy e_i and the half-widths (at one confidence) of its interval's parts: the part that differs
from job to job (integration and window edges, ``measurement_j``) and the sensor's systematic part (``sensor_j``).
The board ranks the **median** of the runs (one run that an outage or a noisy neighbour spoilt moves it least), and
the runs' **spread** widens the job-to-job part: the median half-width of the runs combined in quadrature with k·s,
s the sample standard deviation of the e_i (the run-to-run variation of the job itself, which no single
measurement's integration can see) and k the normal quantile of the confidence. The sensor part is systematic: all
runs share it, so it is not reduced by repeating and is taken at its median relative size. One run is returned as
it is. Pure; SI units.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MeasuredRun", "RepeatedMeasurement", "combine_runs"]


@dataclass(frozen=True)
class MeasuredRun:
    """One measurement of the submission: its energy (J), its impact in the event criterion's unit (None: not
    priced), its GWP (kgCO2e, None: not priced) and its interval's half-widths in J (None: made before intervals
    were)."""

    energy_j: float
    impact: float | None = None
    gwp_kgco2e: float | None = None
    measurement_j: float | None = None
    sensor_j: float | None = None


@dataclass(frozen=True)
class RepeatedMeasurement:
    """What the board ranks for one submission: the median figures of its ``runs`` and the half-widths (J) of the
    job-to-job part (spread included) and of the sensor's part; None where no run had an interval."""

    runs: int
    energy_j: float
    impact: float | None
    gwp_kgco2e: float | None
    measurement_j: float | None
    sensor_j: float | None

    @property
    def energy_rel(self) -> float | None:
        """The job-to-job half-width relative to the energy (0 for no energy)."""
        if self.measurement_j is None:
            return None
        return self.measurement_j / self.energy_j if self.energy_j > 0 else 0.0

    @property
    def total_j(self) -> float | None:
        """The whole interval's half-width (job-to-job and sensor in quadrature), J."""
        if self.measurement_j is None:
            return None
        return math.hypot(self.measurement_j, self.sensor_j or 0.0)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def combine_runs(runs: Sequence[MeasuredRun], *, confidence: float) -> RepeatedMeasurement:
    """The median of the runs and their widened interval (module docstring).

    Raises:
        ValueError: no runs, or a confidence outside (0, 1).
    """
    if not runs:
        raise ValueError("a submission's measurements: at least one run is needed")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if len(runs) == 1:
        (run,) = runs
        return RepeatedMeasurement(1, run.energy_j, run.impact, run.gwp_kgco2e, run.measurement_j, run.sensor_j)
    energies = [r.energy_j for r in runs]
    energy = statistics.median(energies)
    own = _median([r.measurement_j for r in runs])
    sensor_rel = _median([r.sensor_j / r.energy_j if r.sensor_j is not None and r.energy_j > 0 else None for r in runs])
    k = statistics.NormalDist().inv_cdf(0.5 + 0.5 * confidence)
    spread = k * statistics.stdev(energies)
    return RepeatedMeasurement(
        runs=len(runs),
        energy_j=energy,
        impact=_median([r.impact for r in runs]),
        gwp_kgco2e=_median([r.gwp_kgco2e for r in runs]),
        measurement_j=math.hypot(own or 0.0, spread),
        sensor_j=sensor_rel * energy if sensor_rel is not None else None,
    )

"""Typed data of the telemetry package: raw samples in SI units, and the energy of a job window.

Everything that leaves ``greenhack.telemetry`` is in joules (``*_j``), watts (``*_w``) or seconds (``*_s``);
exporter units (µW, µJ, mJ) are converted where the samples enter (see :mod:`greenhack.telemetry.profiles`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ComponentEnergy",
    "EdgeTiming",
    "EnergyUncertainty",
    "GpuEnergy",
    "IdlePower",
    "JobEnergy",
    "Method",
    "PowerTimeline",
    "Sample",
    "SampleSeries",
]

Method = Literal["counter", "gauge", "counter+gauge"]
"""How a component's energy was obtained: from an energy counter, from a power gauge, or from a counter whose
wrap/reset intervals were bridged with the power gauge."""


class Sample(NamedTuple):
    """One raw sample: its own Prometheus timestamp (Unix seconds) and its value in SI units (W or J)."""

    t_s: float
    value: float


@dataclass(frozen=True)
class SampleSeries:
    """The raw samples of one time series, sorted by time, values already converted to W or J."""

    metric: str
    labels: Mapping[str, str]
    samples: tuple[Sample, ...] = field(default_factory=tuple)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class EdgeTiming:
    """How well a window's edges are known on Prometheus's clock (seconds; bounds, not standard deviations).

    Attributes:
        start_resolution_s: the true start lies within ± this of the start given (half the resolution of the
            mark it came from: a whole-second ``section_start`` mark, once centred, gives 0.5).
        end_resolution_s: the same for the end.
        clock_offset_bound_s: the largest offset between the clock that wrote the marks and Prometheus's; it
            moves both edges together, so it costs the power difference between the edges, not their sum.
    """

    start_resolution_s: float = 0.0
    end_resolution_s: float = 0.0
    clock_offset_bound_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("start_resolution_s", "end_resolution_s", "clock_offset_bound_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"EdgeTiming.{name} must be a finite number of seconds >= 0, got {value!r}")


class EnergyUncertainty(_Model):
    """The parts of an energy figure's interval, each an expanded half-width in joules at ``confidence``.

    The parts are independent and combine in quadrature (``total_j``); see :mod:`greenhack.telemetry.uncertainty`
    for how each is computed and where the sensor figures come from.

    Attributes:
        confidence: the two-sided confidence of every half-width (0.95: the truth lies in the interval 95 times
            in 100).
        integration_j: what the unobserved parts of the scrape intervals can hold (gauge), or how a counter's
            interval straddling an edge splits, given the samples.
        edges_j: how much the window's edges can move (mark resolution, clock offset) times the power there.
        sensor_j: the sensor's own documented accuracy, a systematic term shared by every job on the device.
    """

    confidence: float = Field(gt=0.0, lt=1.0)
    integration_j: float = Field(ge=0.0)
    edges_j: float = Field(ge=0.0)
    sensor_j: float = Field(ge=0.0)

    @property
    def measurement_j(self) -> float:
        """Half-width of the part that differs from job to job (integration and edges), joules."""
        return math.hypot(self.integration_j, self.edges_j)

    @property
    def total_j(self) -> float:
        """Half-width of the whole interval (integration, edges and sensor), joules."""
        return math.sqrt(self.integration_j**2 + self.edges_j**2 + self.sensor_j**2)


class PowerTimeline(_Model):
    """Power of each measured component over a window, downsampled for charts.

    ``series`` maps a series name (``cpu`` or ``gpu:<UUID>``) to at most a few hundred ``(time, power_w)`` points.
    """

    series: dict[str, list[tuple[AwareDatetime, float]]] = Field(default_factory=dict)


class ComponentEnergy(_Model):
    """Energy of one component (CPU+DRAM via Scaphandre, or one GPU) over a window.

    Attributes:
        energy_j: energy attributed to the window, in joules.
        method: the estimator used (energy counter, power gauge, or counter bridged by the gauge).
        coverage: fraction (0..1) of the window covered by sample intervals no longer than 2.5 scrape intervals.
        max_gap_s: the largest distance between consecutive samples spanning the window, in seconds.
        problems: every reason this component's figure cannot be trusted; empty when it can.
        uncertainty: the parts of the interval around ``energy_j``; None for figures made before intervals were.
    """

    energy_j: float
    method: Method
    coverage: float = Field(ge=0.0, le=1.0)
    max_gap_s: float
    problems: list[str] = Field(default_factory=list)
    uncertainty: EnergyUncertainty | None = None

    @property
    def energy_low_j(self) -> float | None:
        """Low end of the interval at ``uncertainty.confidence`` (never below 0), joules."""
        return _low(self.energy_j, self.uncertainty)

    @property
    def energy_high_j(self) -> float | None:
        """High end of the interval at ``uncertainty.confidence``, joules."""
        return _high(self.energy_j, self.uncertainty)


def _low(value_j: float, uncertainty: EnergyUncertainty | None) -> float | None:
    return None if uncertainty is None else max(0.0, value_j - uncertainty.total_j)


def _high(value_j: float, uncertainty: EnergyUncertainty | None) -> float | None:
    return None if uncertainty is None else value_j + uncertainty.total_j


class GpuEnergy(ComponentEnergy):
    """Energy of one GPU; ``uuid`` is normalised to NVIDIA's form ``GPU-`` + lower-case hex (as nvidia-smi -L)."""

    uuid: str
    model_name: str | None = None


class JobEnergy(_Model):
    """Energy of one server over one window [start, end], per component and in total (joules).

    ``valid`` is False whenever ``problems`` is not empty: an exporter was down, a series was missing, a value
    was stale, or a counter wrap/reset could not be bridged. The figures are then the best estimate, never to be
    ranked without review.

    ``uncertainty`` holds the parts of the interval around ``total_energy_j`` (None for figures made before
    intervals were): integration in quadrature over the components, edges from the summed power at the edges
    (one timing error moves every component's edges together), sensor in quadrature (one sensor per device).
    """

    server: str
    start: AwareDatetime
    end: AwareDatetime
    duration_s: float
    cpu_energy_j: float
    gpu_energy_j: float
    gpus: dict[str, GpuEnergy] = Field(default_factory=dict)
    total_energy_j: float
    coverage: float = Field(ge=0.0, le=1.0)
    max_gap_s: float
    valid: bool
    problems: list[str] = Field(default_factory=list)
    methods: dict[str, Method] = Field(default_factory=dict)
    cpu: ComponentEnergy | None = None
    timeline: PowerTimeline = Field(default_factory=PowerTimeline)
    uncertainty: EnergyUncertainty | None = None

    @property
    def total_energy_low_j(self) -> float | None:
        """Low end of the total's interval at ``uncertainty.confidence`` (never below 0), joules."""
        return _low(self.total_energy_j, self.uncertainty)

    @property
    def total_energy_high_j(self) -> float | None:
        """High end of the total's interval at ``uncertainty.confidence``, joules."""
        return _high(self.total_energy_j, self.uncertainty)

    @property
    def average_power_w(self) -> float:
        """Mean power of the server over the window, in watts."""
        return self.total_energy_j / self.duration_s


class IdlePower(_Model):
    """A server's idle power measured over a quiet period (watts), total and per component."""

    server: str
    start: AwareDatetime
    end: AwareDatetime
    power_w: float
    cpu_power_w: float
    gpu_power_w: float
    gpus_power_w: dict[str, float] = Field(default_factory=dict)
    valid: bool
    problems: list[str] = Field(default_factory=list)

    def energy_j(self, duration_s: float) -> float:
        """Idle energy of the server over ``duration_s`` seconds, in joules."""
        return self.power_w * duration_s


"""Typed data of the telemetry package: raw samples in SI units, and the energy of a job window.

Everything that leaves ``greenhack.telemetry`` is in joules (``*_j``), watts (``*_w``) or seconds (``*_s``);
exporter units (µW, µJ, mJ) are converted where the samples enter (see :mod:`greenhack.telemetry.profiles`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "ComponentEnergy",
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
    """

    energy_j: float
    method: Method
    coverage: float = Field(ge=0.0, le=1.0)
    max_gap_s: float
    problems: list[str] = Field(default_factory=list)


class GpuEnergy(ComponentEnergy):
    """Energy of one GPU; ``uuid`` is normalised to NVIDIA's form ``GPU-`` + lower-case hex (as nvidia-smi -L)."""

    uuid: str
    model_name: str | None = None


class JobEnergy(_Model):
    """Energy of one server over one window [start, end], per component and in total (joules).

    ``valid`` is False whenever ``problems`` is not empty: an exporter was down, a series was missing, a value
    was stale, or a counter wrap/reset could not be bridged. The figures are then the best estimate, never to be
    ranked without review.
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


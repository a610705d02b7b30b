"""Telemetry: the energy of a server over a job window, from its exporters' samples in Prometheus.

``measure_energy`` (CPU+DRAM from Scaphandre, each GPU from nvidia_gpu_exporter or dcgm-exporter),
``measure_idle_power`` (for ``impact.idle: subtract``), ``PrometheusClient`` (raw samples with their own
timestamps), and the typed results ``JobEnergy``, ``GpuEnergy``, ``IdlePower``, ``PowerTimeline``. Every energy
carries its interval's parts (``EnergyUncertainty``: integration, window edges given an ``EdgeTiming``, sensor;
see ``greenhack.telemetry.uncertainty``).
The exporter simulator lives in ``greenhack.telemetry.simulator``.
"""

from __future__ import annotations

from greenhack.telemetry.idle import (
    IdleBaselines,
    attributed_energy_j,
    attributed_interval_j,
    measure_idle_power,
)
from greenhack.telemetry.measure import (
    SAMPLES_PAST_END,
    SampleSource,
    TelemetrySource,
    fetch_margin,
    measure_energy,
    ready_margin,
)
from greenhack.telemetry.models import (
    ComponentEnergy,
    EdgeTiming,
    EnergyUncertainty,
    GpuEnergy,
    IdlePower,
    JobEnergy,
    Method,
    PowerTimeline,
    Sample,
    SampleSeries,
)
from greenhack.telemetry.profiles import DCGM, NVIDIA_SMI, SCAPHANDRE, ExporterProfile, normalise_gpu_uuid
from greenhack.telemetry.prometheus import PrometheusClient

__all__ = [
    "DCGM",
    "NVIDIA_SMI",
    "SAMPLES_PAST_END",
    "SCAPHANDRE",
    "ComponentEnergy",
    "EdgeTiming",
    "EnergyUncertainty",
    "ExporterProfile",
    "GpuEnergy",
    "IdleBaselines",
    "IdlePower",
    "JobEnergy",
    "Method",
    "PowerTimeline",
    "PrometheusClient",
    "Sample",
    "SampleSeries",
    "SampleSource",
    "TelemetrySource",
    "attributed_energy_j",
    "attributed_interval_j",
    "fetch_margin",
    "measure_energy",
    "measure_idle_power",
    "normalise_gpu_uuid",
    "ready_margin",
]

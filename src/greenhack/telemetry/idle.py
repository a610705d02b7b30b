"""A server's idle power, measured over a quiet period, for ``impact.idle: subtract``.

Idle power is the energy of the quiet period divided by its duration (per component and in total): the same
estimator as a job's energy, so a job's idle share is subtracted with the same biases, which then cancel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from greenhack.config import ServerConfig
from greenhack.telemetry.measure import SampleSource, measure_energy
from greenhack.telemetry.models import IdlePower

__all__ = ["measure_idle_power"]


def measure_idle_power(
    server: ServerConfig,
    start: datetime,
    end: datetime,
    *,
    source: SampleSource,
    scrape_interval: timedelta,
) -> IdlePower:
    """Mean power (W) of ``server`` over the quiet period [start, end], total and per component.

    Raises:
        NoSamplesError, PrometheusUnavailable, TelemetryError: as :func:`measure_energy`.
    """
    energy = measure_energy(server, start, end, source=source, scrape_interval=scrape_interval)
    duration_s = energy.duration_s
    return IdlePower(
        server=server.name,
        start=start,
        end=end,
        power_w=energy.total_energy_j / duration_s,
        cpu_power_w=energy.cpu_energy_j / duration_s,
        gpu_power_w=energy.gpu_energy_j / duration_s,
        gpus_power_w={uuid: gpu.energy_j / duration_s for uuid, gpu in energy.gpus.items()},
        valid=energy.valid,
        problems=energy.problems,
    )


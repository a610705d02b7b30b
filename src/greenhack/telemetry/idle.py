"""A server's idle power, measured over a quiet period, for ``impact.idle: subtract``.

Idle power is the energy of the quiet period divided by its duration (per component and in total): the same
estimator as a job's energy, so a job's idle share is subtracted with the same biases, which then cancel.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from typing import Literal

from greenhack.config import ServerConfig
from greenhack.errors import TelemetryError
from greenhack.telemetry.measure import SampleSource, measure_energy
from greenhack.telemetry.models import IdlePower

__all__ = ["IdleBaselines", "attributed_energy_j", "attributed_interval_j", "measure_idle_power"]


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



def attributed_energy_j(
    total_energy_j: float,
    duration_s: float,
    *,
    idle: Literal["include", "subtract"],
    idle_power_w: float | None,
) -> float:
    """The energy a job is charged with, in J, under ``impact.idle``.

    ``include`` charges the whole server's energy over the window; ``subtract`` removes what the server would
    have drawn idle over the same duration (``idle_power_w`` x ``duration_s``), never going below zero: a job
    that measured under the idle baseline is charged nothing rather than a negative footprint.

    Raises:
        TelemetryError: ``subtract`` without a known idle power.
    """
    if idle == "include":
        return total_energy_j
    if idle_power_w is None or not math.isfinite(idle_power_w) or idle_power_w < 0:
        raise TelemetryError(
            "impact.idle is 'subtract' but the server's idle power is not known "
            "(give the server idle_power_w or an idle_calibration period)"
        )
    return max(0.0, total_energy_j - idle_power_w * duration_s)


def attributed_interval_j(
    low_j: float | None,
    high_j: float | None,
    duration_s: float,
    *,
    idle: Literal["include", "subtract"],
    idle_power_w: float | None,
) -> tuple[float | None, float | None]:
    """The charged energy's interval, J: each end of the measured interval through :func:`attributed_energy_j`
    (the idle draw is known exactly once measured, so it shifts the interval and does not widen it); (None, None)
    for a measurement without one.

    Raises:
        TelemetryError: as :func:`attributed_energy_j`.
    """
    if low_j is None or high_j is None:
        return None, None
    return (
        attributed_energy_j(low_j, duration_s, idle=idle, idle_power_w=idle_power_w),
        attributed_energy_j(high_j, duration_s, idle=idle, idle_power_w=idle_power_w),
    )


class IdleBaselines:
    """Each server's idle power in W: ``idle_power_w`` from the YAML, else measured once over its
    ``idle_calibration`` period and remembered (a calibration period is in the past, so it never changes)."""

    def __init__(self) -> None:
        self._measured_w: dict[str, float] = {}
        self._lock = threading.Lock()

    def power_w(self, server: ServerConfig, *, source: SampleSource, scrape_interval: timedelta) -> float:
        """The idle power of ``server``, in W.

        Raises:
            TelemetryError: neither a value nor a calibration period is configured, or the calibration period's
                telemetry is incomplete (a baseline with gaps would over-subtract); PrometheusUnavailable as
                :func:`measure_energy`.
        """
        if server.idle_power_w is not None:
            return server.idle_power_w
        if server.idle_calibration is None:
            raise TelemetryError(
                f"server {server.name!r} has neither idle_power_w nor idle_calibration for impact.idle: subtract"
            )
        with self._lock:
            known = self._measured_w.get(server.name)
        if known is not None:
            return known
        period = server.idle_calibration
        idle = measure_idle_power(server, period.start, period.end, source=source, scrape_interval=scrape_interval)
        if not idle.valid:
            raise TelemetryError(
                f"idle calibration of server {server.name!r} ({period.start.isoformat()} to "
                f"{period.end.isoformat()}) is incomplete: " + "; ".join(idle.problems)
            )
        with self._lock:
            self._measured_w[server.name] = idle.power_w
        return idle.power_w

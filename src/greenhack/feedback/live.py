"""The footprint of a running job so far: energy from Prometheus since GitLab's ``started_at`` on its server, and
its global warming potential with the event's factors (the same figures the final evaluation will use).

The window ends one scrape interval before the newest sample Prometheus holds of every exporter of the server
(not at "now", whose last seconds are not scraped yet, and with a sample after the end, as for a finished job), so
the figure is a measurement, never an extrapolation; ``valid`` is False when the telemetry has
gaps (the figures are then a lower bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greenhack.config import EventConfig
from greenhack.errors import TelemetryError
from greenhack.feedback.job_auth import VerifiedJob
from greenhack.impacts.source import ImpactSource
from greenhack.telemetry import TelemetrySource, measure_energy
from greenhack.telemetry.profiles import SCAPHANDRE, gpu_profile

__all__ = ["LiveFootprint", "live_footprint"]


@dataclass(frozen=True)
class LiveFootprint:
    """What the calling job has used so far.

    Attributes:
        job_id: the GitLab job.
        server: the measured server it runs on.
        elapsed_s: seconds since GitLab's ``started_at``.
        measured_s: seconds of that covered by Prometheus samples (up to ``measured_until``).
        energy_j: the server's energy over the measured span, J (``cpu_energy_j`` CPU+DRAM, ``gpu_energy_j`` GPUs).
        gwp_gco2e: its global warming potential as the event counts it (``impact.include``: use and/or
            embodied, with PUE and grid factor), gCO2e; ``gwp_use_gco2e`` / ``gwp_embodied_gco2e`` are the parts.
        valid: False when the telemetry has gaps (a lower bound then); ``problems`` says why.
    """

    job_id: int
    server: str
    started_at: datetime
    measured_until: datetime
    elapsed_s: float
    measured_s: float
    energy_j: float
    cpu_energy_j: float
    gpu_energy_j: float
    gwp_gco2e: float
    gwp_use_gco2e: float
    gwp_embodied_gco2e: float
    valid: bool
    problems: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The endpoint's answer (``greenhack.budget.fetch_job_footprint`` reads the first five keys)."""
        return {
            "job_id": self.job_id,
            "elapsed_s": round(self.elapsed_s, 3),
            "energy_j": self.energy_j,
            "gwp_gco2e": self.gwp_gco2e,
            "valid": self.valid,
            "energy_wh": self.energy_j / 3600.0,
            "cpu_energy_j": self.cpu_energy_j,
            "gpu_energy_j": self.gpu_energy_j,
            "gwp_use_gco2e": self.gwp_use_gco2e,
            "gwp_embodied_gco2e": self.gwp_embodied_gco2e,
            "measured_s": round(self.measured_s, 3),
            "started_at": self.started_at.isoformat(),
            "measured_until": self.measured_until.isoformat(),
            "server": self.server,
            "problems": list(self.problems),
        }


def live_footprint(
    verified: VerifiedJob,
    *,
    config: EventConfig,
    telemetry: TelemetrySource,
    impacts: ImpactSource,
    now: datetime,
) -> LiveFootprint:
    """Measure the job from its start to the newest sample of its server.

    Raises:
        TelemetryError: Prometheus did not answer or has no series of the server (PrometheusUnavailable,
            NoSamplesError).
        ImpactsError: the server's impact factors cannot be had (BoaviztaUnavailable with nothing cached).
    """
    job, server = verified.job, verified.server
    if job.started_at is None:
        raise TelemetryError(f"GitLab gives job {job.id} no start time yet")
    start = job.started_at
    elapsed_s = max((now - start).total_seconds(), 0.0)
    # every exporter of the server must have a sample at the window's end: end at the one scraped least recently
    selectors = [f"{SCAPHANDRE.power_metric}{server.scaphandre}"]
    if server.gpu is not None:
        selectors.append(f"{gpu_profile(server.gpu_exporter).power_metric}{server.gpu}")
    latest = [telemetry.latest_sample_time(selector) for selector in selectors]
    known = [t for t in latest if t is not None]
    # and one scrape interval before it, so that a sample follows the end (power gauges average over the time
    # before their read, and the integration needs the sample after the window's end, as for a finished job)
    interval = config.scrape_interval_for(server)
    until = min([now, *known]) - interval if known else start
    if until <= start:
        return LiveFootprint(
            job.id, server.name, start, start, elapsed_s, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False,
            (f"Prometheus holds no sample of server {server.name} since the job started yet",),
        )  # fmt: skip
    energy = measure_energy(server, start, until, source=telemetry, scrape_interval=interval, now=now)
    gwp = impacts.impacts(
        server, config.impact, energy_j=energy.total_energy_j, duration_s=energy.duration_s
    ).gwp
    include = config.impact.include
    use_g = gwp.use * 1000.0
    embodied_g = (gwp.embodied or 0.0) * 1000.0
    return LiveFootprint(
        job_id=job.id,
        server=server.name,
        started_at=start,
        measured_until=until,
        elapsed_s=elapsed_s,
        measured_s=energy.duration_s,
        energy_j=energy.total_energy_j,
        cpu_energy_j=energy.cpu_energy_j,
        gpu_energy_j=energy.gpu_energy_j,
        gwp_gco2e=gwp.total * 1000.0,
        gwp_use_gco2e=use_g if "use" in include else 0.0,
        gwp_embodied_gco2e=embodied_g if "embodied" in include else 0.0,
        valid=energy.valid,
        problems=tuple(energy.problems),
    )

"""The runner's overhead: the energy of a job outside the team's script window but inside GitLab's job window
(preparing the executor, cloning, restoring caches before; uploading artifacts after), measured with the same
integration as the job's energy (:func:`~greenhack.telemetry.measure.measure_energy`). The organisers pay for it;
the team is not charged for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from greenhack.config import ServerConfig
from greenhack.errors import TelemetryError
from greenhack.telemetry.measure import SampleSource, measure_energy

__all__ = ["RunnerOverhead", "measure_overhead"]


class RunnerOverhead(BaseModel):
    """Energy of a server before and after the script window, inside the job window (joules, seconds).

    ``valid`` is False when either part's telemetry cannot be trusted (``problems`` says why, each prefixed with
    the part); the figures are then the best estimate.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    before_energy_j: float
    after_energy_j: float
    before_s: float
    after_s: float
    valid: bool
    problems: list[str] = Field(default_factory=list)

    @property
    def energy_j(self) -> float:
        return self.before_energy_j + self.after_energy_j

    @property
    def duration_s(self) -> float:
        return self.before_s + self.after_s


def measure_overhead(
    server: ServerConfig,
    *,
    job_start: datetime,
    script_start: datetime,
    script_end: datetime,
    job_end: datetime,
    source: SampleSource,
    scrape_interval: timedelta,
    now: datetime | None = None,
) -> RunnerOverhead:
    """The energy of ``server`` over [job_start, script_start] and [script_end, job_end].

    All four times are in Prometheus's clock (the script window already shifted by the server's clock offset:
    :meth:`~greenhack.gitlab.script_window.ScriptWindow.in_prometheus_clock`). GitLab's window comes from another
    clock, so a shifted script window may poke out of it: a part of no length (or less) is 0 J.

    Raises:
        TelemetryError: the script window or the job window is empty.
        NoSamplesError: no telemetry at all for a part.
        PrometheusUnavailable: Prometheus did not answer.
    """
    if script_end <= script_start or job_end <= job_start:
        raise TelemetryError(
            f"empty window: script {script_start.isoformat()} .. {script_end.isoformat()}, job "
            f"{job_start.isoformat()} .. {job_end.isoformat()}"
        )
    problems: list[str] = []

    def part(name: str, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        energy = measure_energy(server, start, end, source=source, scrape_interval=scrape_interval, now=now)
        problems.extend(f"{name}: {p}" for p in energy.problems)
        return energy.total_energy_j

    before_end, after_start = min(script_start, job_end), max(script_end, job_start)
    before_j = part("before the script", job_start, before_end)
    after_j = part("after the script", after_start, job_end)
    return RunnerOverhead(
        before_energy_j=before_j,
        after_energy_j=after_j,
        before_s=max(0.0, (before_end - job_start).total_seconds()),
        after_s=max(0.0, (job_end - after_start).total_seconds()),
        valid=not problems,
        problems=problems,
    )

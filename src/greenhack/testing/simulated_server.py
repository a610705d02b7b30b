"""One measured GPU server, simulated around a phased job: its exporters (Scaphandre, a GPU exporter, node_exporter
with the server's clock offset) and its ``servers[]`` entry, for tests and benches.

The exporters' samples go to a real Prometheus through :func:`~greenhack.telemetry.simulator.openmetrics_spans`; the
job's log (:func:`~greenhack.testing.runner_log.runner_log`) is stamped by the same server clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greenhack.config import ServerConfig
from greenhack.telemetry.profiles import DCGM, NVIDIA_SMI, SCAPHANDRE
from greenhack.telemetry.simulator import (
    ExporterSim,
    NodeExporterSim,
    PhasedJob,
    ScrapedExporter,
    ScrapeSpan,
    SimDevice,
)
from greenhack.testing.runner_log import LogTimes

__all__ = ["NODE_EXPORTER_PORT", "SimulatedServer", "simulated_server"]

NODE_EXPORTER_PORT = 9100


@dataclass(frozen=True)
class SimulatedServer:
    """A server's event entry, its simulated exporters and the job it ran.

    Attributes:
        server: the ``servers[]`` entry, its selectors naming the simulated exporters.
        exporters: what Prometheus scrapes on it.
        job: the phased job with its true power.
        clock_offset_s: the server's clock minus Prometheus's (what its node_exporter and its job log show).
    """

    server: ServerConfig
    exporters: tuple[ScrapedExporter, ...]
    job: PhasedJob
    clock_offset_s: float

    def spans(self, *, lead_s: float, interval_s: float, seed: int = 0) -> list[ScrapeSpan]:
        """Every exporter scraped from ``lead_s`` before the job to ``lead_s`` after it."""
        return [
            ScrapeSpan(sim, self.job.start_s - lead_s, self.job.end_s + lead_s, interval_s, 0.05, seed * 31 + n)
            for n, sim in enumerate(self.exporters)
        ]

    def log_times(self, *, script_phase: str = "script") -> LogTimes:
        """When the runner (in the server's clock) took the job, marked the script's start and end, finished."""

        def server_clock(t_s: float) -> datetime:
            return datetime.fromtimestamp(t_s, tz=UTC) + timedelta(seconds=self.clock_offset_s)

        start_s, end_s = self.job.bounds(script_phase)
        return LogTimes(
            started=server_clock(self.job.start_s),
            command_start=server_clock(start_s),
            command_end=server_clock(end_s),
            finished=server_clock(self.job.end_s),
        )


def simulated_server(
    name: str,
    job: PhasedJob,
    *,
    gpu_exporter: str = "dcgm",
    clock_offset_s: float = 0.0,
    node_exporter: bool = True,
    synchronised: bool = True,
    gpu_counter: bool | None = None,
    counter_origin_s: float | None = None,
) -> SimulatedServer:
    """A server called ``name`` whose exporters serve ``job``'s host and GPU power.

    Args:
        name: the server's name, also the host part of its exporters' ``instance`` labels.
        job: the phased job it runs (:func:`~greenhack.telemetry.simulator.phased_job`).
        gpu_exporter: ``dcgm`` (energy counter) or ``nvidia_smi`` (power gauge).
        gpu_counter: serve the GPU's energy counter (default: dcgm does, nvidia_gpu_exporter only with its NVML
            backend, so not by default).
        clock_offset_s: the server's clock minus Prometheus's.
        node_exporter: serve node_exporter's clock series (and name it in the server entry).
        synchronised: NTP keeps the server's clock synchronised (``node_timex_sync_status``).
        counter_origin_s: when the energy counters started (default: an hour before the job).
    """
    origin_s = job.start_s - 3600.0 if counter_origin_s is None else counter_origin_s
    profile = DCGM if gpu_exporter == "dcgm" else NVIDIA_SMI
    gpu = SimDevice(job.gpu, uuid="GPU-3b1c8f2e-6a0d-4e7b-9d53-0c2f6e8a1b47", counter_origin_s=origin_s)
    exporters: list[ScrapedExporter] = [
        ExporterSim(SCAPHANDRE, (SimDevice(job.cpu, counter_origin_s=origin_s, counter_offset_j=1e5),),
                    target_labels={"instance": f"{name}:{SCAPHANDRE.default_port}"}),
        ExporterSim(profile, (gpu,), with_counter=profile is DCGM if gpu_counter is None else gpu_counter,
                    hostname=name,
                    target_labels={"instance": f"{name}:{profile.default_port}"}),
    ]
    entry: dict[str, object] = {
        "name": name,
        "runner_tags": [name],
        "scaphandre": f'{{instance="{name}:{SCAPHANDRE.default_port}"}}',
        "gpu": f'{{instance="{name}:{profile.default_port}"}}',
        "gpu_exporter": gpu_exporter,
        "hardware": {
            "cpu": {"name": "Intel Xeon Gold 6248", "units": 2},
            "ram_gb": 192,
            "gpu": {"name": "NVIDIA A100 80GB", "units": 1},
        },
    }
    if node_exporter:
        exporters.append(
            NodeExporterSim(
                clock_offset_s=clock_offset_s,
                synchronised=synchronised,
                target_labels={"instance": f"{name}:{NODE_EXPORTER_PORT}"},
            )
        )
        entry["node_exporter"] = f'{{instance="{name}:{NODE_EXPORTER_PORT}"}}'
    return SimulatedServer(
        server=ServerConfig.model_validate(entry),
        exporters=tuple(exporters),
        job=job,
        clock_offset_s=clock_offset_s,
    )

"""Scenarios for the telemetry tests: one simulated server (Scaphandre + a GPU exporter) per case, told apart by
its ``instance`` labels, so many cases share one backfilled Prometheus."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from greenhack.config import ServerConfig
from greenhack.telemetry.profiles import DCGM, NVIDIA_SMI, SCAPHANDRE
from greenhack.telemetry.simulator import ExporterSim, Outage, PowerTrace, RaplDomains, SimDevice, job_trace

__all__ = ["Case", "make_case"]

# how long before the window start and after its end each case's exporters are scraped
LEAD_S = 120.0


@dataclass
class Case:
    """One server over one job window, with its exporters and its true energy."""

    name: str
    scrape_s: float
    start_s: float
    end_s: float
    cpu: ExporterSim
    gpu: ExporterSim | None
    server: ServerConfig
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def window_s(self) -> float:
        return self.end_s - self.start_s

    def true_cpu_j(self, a: float | None = None, b: float | None = None) -> float:
        a, b = (self.start_s if a is None else a), (self.end_s if b is None else b)
        return self.cpu.devices[0].trace.energy_j(a, b)

    def true_gpus_j(self, a: float | None = None, b: float | None = None) -> dict[str, float]:
        a, b = (self.start_s if a is None else a), (self.end_s if b is None else b)
        if self.gpu is None:
            return {}
        return {str(d.uuid): d.trace.energy_j(a, b) for d in self.gpu.devices}

    def true_total_j(self) -> float:
        return self.true_cpu_j() + sum(self.true_gpus_j().values())

    def power_range_w(self) -> float:
        """Largest minus smallest power of any trace around the window (bounds the edge error)."""
        spread = 0.0
        traces = [self.cpu.devices[0].trace] + ([d.trace for d in self.gpu.devices] if self.gpu else [])
        for trace in traces:
            values = [trace.power_w(self.start_s - 60 + i * 0.25) for i in range(int((self.window_s + 120) * 4))]
            spread += max(values) - min(values)
        return spread


def make_case(
    name: str,
    *,
    t0_s: float,
    scrape_s: float,
    window_s: float,
    kind: str,
    gpu_exporter: str = "dcgm",
    seed: int = 0,
    gpus: int = 1,
    gpu_with_counter: bool | None = None,
    cpu_wrap_at_j: float | None = None,
    gpu_resets_at: tuple[float, ...] = (),
    cpu_outages: tuple[tuple[float, float], ...] = (),
    collect_interval_s: float | None = None,
    gpu_selector_instance: str | None = None,
    cpu_rapl: RaplDomains | None = None,
) -> Case:
    """A case whose window starts at a random point inside a scrape interval, ``t0_s + LEAD_S`` or later.

    Times in ``gpu_resets_at`` and ``cpu_outages`` are relative to the window start.
    """
    rng = random.Random(seed)
    start_s = round(t0_s + LEAD_S + rng.uniform(0.0, scrape_s), 6)
    end_s = start_s + window_s
    cpu_trace = job_trace(kind, start_s, end_s, idle_w=90.0, load_w=rng.uniform(150.0, 260.0), seed=seed)
    host = SimDevice(
        cpu_trace,
        counter_origin_s=t0_s - 3600.0,
        counter_offset_j=rng.uniform(1e3, 1e5),
        wrap_at_j=cpu_wrap_at_j,
    )
    cpu = ExporterSim(
        SCAPHANDRE,
        (host,),
        target_labels={"instance": f"{name}:8080", "job": "scaphandre"},
        outages=tuple(Outage(start_s + a, start_s + b) for a, b in cpu_outages),
        rapl=cpu_rapl,
    )
    profile = DCGM if gpu_exporter == "dcgm" else NVIDIA_SMI
    devices = []
    for g in range(gpus):
        trace: PowerTrace = job_trace(
            kind, start_s, end_s, idle_w=55.0, load_w=rng.uniform(200.0, 380.0), seed=seed * 31 + g + 1
        )
        a, b, c, d, e = (rng.getrandbits(bits) for bits in (32, 16, 16, 16, 48))
        uuid = f"GPU-{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}"
        devices.append(
            SimDevice(
                trace,
                uuid=uuid,
                counter_origin_s=t0_s - 7200.0,
                resets_at_s=tuple(start_s + r for r in gpu_resets_at),
            )
        )
    with_counter = gpu_with_counter if gpu_with_counter is not None else gpu_exporter == "dcgm"
    port = profile.default_port
    gpu = ExporterSim(
        profile,
        tuple(devices),
        target_labels={"instance": f"{name}:{port}", "job": profile.name},
        with_counter=with_counter,
        hostname=name,
        collect_interval_s=collect_interval_s,
    )
    server = ServerConfig.model_validate(
        {
            "name": name,
            "runner_tags": [name],
            "scaphandre": f'{{instance="{name}:8080"}}',
            "gpu": f'{{instance="{gpu_selector_instance or name}:{port}"}}',
            "gpu_exporter": gpu_exporter,
            "hardware": {
                "cpu": {"name": "Intel Xeon Gold 6248", "units": 2},
                "ram_gb": 192,
                "gpu": {"name": "NVIDIA A100 80GB", "units": gpus},
            },
        }
    )
    return Case(name, scrape_s, start_s, end_s, cpu, gpu, server)

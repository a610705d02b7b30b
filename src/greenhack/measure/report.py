"""The typed result of ``greenhack measure`` and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from greenhack.measure.nvml import GpuEnergy

__all__ = [
    "EstimateDetails",
    "MeasureImpacts",
    "MeasureReport",
    "Progress",
    "SourceName",
    "SourceStatus",
    "format_progress",
]

SourceName = Literal["rapl", "nvml", "estimate"]


@dataclass(frozen=True)
class SourceStatus:
    """One energy source considered for one component, whether it was used, and why.

    Attributes:
        source: ``rapl``, ``nvml`` or ``estimate``.
        component: ``cpu`` (CPU packages and DRAM) or ``gpu``.
        used: whether the component's energy comes from this source.
        reason: why it was (or was not) used, in words.
    """

    source: SourceName
    component: Literal["cpu", "gpu"]
    used: bool
    reason: str


@dataclass(frozen=True)
class EstimateDetails:
    """How the CPU estimate was made (present only when the estimate was used).

    Attributes:
        cpu_model: the CPU model name read from the machine, when known.
        power_per_thread_w: watts charged per busy hardware thread.
        power_source: where that figure comes from.
    """

    cpu_model: str | None
    power_per_thread_w: float
    power_source: str


@dataclass(frozen=True)
class MeasureImpacts:
    """Impacts of the measured energy with the event's methodology (PUE, grid location, server hardware).

    Attributes:
        server: the event server whose hardware the embodied share is charged for.
        pue: the power usage effectiveness applied to the energy.
        location: the BoaviztAPI electricity zone.
        include: the phases counted (``use``, ``embodied``).
        gwp_kgco2e: global warming potential of the counted phases, kgCO2e.
        adpe_kgsbeq: abiotic depletion of the counted phases, kgSbeq.
        pe_mj: primary energy of the counted phases, MJ.
        criterion: the event's ranking criterion (``gwp``, ``adpe``, ``pe`` or ``energy``).
        criterion_value: the criterion's value in ``criterion_unit``.
        criterion_unit: ``kgCO2e``, ``kgSbeq``, ``MJ`` or ``kWh``.
    """

    server: str
    pue: float
    location: str
    include: tuple[str, ...]
    gwp_kgco2e: float
    adpe_kgsbeq: float
    pe_mj: float
    criterion: str
    criterion_value: float
    criterion_unit: str


@dataclass(frozen=True)
class Progress:
    """The state of a running measurement, for the live progress line.

    Attributes:
        elapsed_s: seconds since the command started.
        cpu_energy_j: CPU energy so far, in joules.
        cpu_source: ``rapl`` or ``estimate``.
        gpu_energy_j: GPU energy so far, in joules, or None when GPUs are not measured.
    """

    elapsed_s: float
    cpu_energy_j: float
    cpu_source: SourceName
    gpu_energy_j: float | None


def format_progress(progress: Progress) -> str:
    """One line such as ``12.5 s  cpu 310.2 J (rapl)  gpu 1204.0 J (nvml)  total 1514.2 J``."""
    parts = [f"{progress.elapsed_s:7.1f} s", f"cpu {progress.cpu_energy_j:9.1f} J ({progress.cpu_source})"]
    total_j = progress.cpu_energy_j
    if progress.gpu_energy_j is not None:
        parts.append(f"gpu {progress.gpu_energy_j:9.1f} J (nvml)")
        total_j += progress.gpu_energy_j
    parts.append(f"total {total_j:9.1f} J")
    return "  ".join(parts)


@dataclass(frozen=True)
class MeasureReport:
    """What one measured command used.

    Attributes:
        command: the command and its arguments.
        exit_code: the command's exit status; 128 + N when signal N ended it (as shells report it).
        signal: the name of the signal that ended the command, if one did.
        started_at: when the command started (UTC).
        finished_at: when it ended (UTC).
        duration_s: wall-clock duration, in seconds.
        cpu_time_s: user + system CPU time of the command and its descendants, in seconds.
        sources: every source considered, used or not, with the reason.
        cpu_energy_j: CPU (packages + DRAM) energy, in joules: RAPL when readable, else the estimate.
        gpu_energy_j: GPU energy from NVML, in joules, or None when no GPU could be measured.
        rapl_energy_j: energy per RAPL domain, in joules (empty when RAPL was not used).
        gpus: energy per GPU (empty when NVML was not used).
        estimate: how the CPU estimate was made, when it was used.
        impacts: the event's impacts of this energy, when ``--config`` was given and BoaviztAPI answered.
        impacts_note: why impacts are absent, or what they assume.
    """

    command: tuple[str, ...]
    exit_code: int
    signal: str | None
    started_at: datetime
    finished_at: datetime
    duration_s: float
    cpu_time_s: float
    sources: tuple[SourceStatus, ...]
    cpu_energy_j: float
    gpu_energy_j: float | None
    rapl_energy_j: dict[str, float] = field(default_factory=dict)
    gpus: tuple[GpuEnergy, ...] = ()
    estimate: EstimateDetails | None = None
    impacts: MeasureImpacts | None = None
    impacts_note: str = "no --config given: impacts not computed"

    @property
    def total_energy_j(self) -> float:
        """CPU energy plus GPU energy when GPUs were measured, in joules."""
        return self.cpu_energy_j + (self.gpu_energy_j or 0.0)

    @property
    def cpu_source(self) -> SourceName:
        return next(s.source for s in self.sources if s.component == "cpu" and s.used)

    @property
    def average_power_w(self) -> float:
        """Total energy over the duration, in watts."""
        return self.total_energy_j / self.duration_s if self.duration_s > 0 else 0.0

    def with_impacts(self, impacts: MeasureImpacts | None, note: str) -> MeasureReport:
        """A copy carrying impacts (or none) and the note that explains them."""
        return MeasureReport(**{**self.__dict__, "impacts": impacts, "impacts_note": note})

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the report (units in key names)."""
        return {
            "command": list(self.command),
            "exit_code": self.exit_code,
            "signal": self.signal,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_s": round(self.duration_s, 6),
            "cpu_time_s": round(self.cpu_time_s, 6),
            "energy_sources": [
                {"source": s.source, "component": s.component, "used": s.used, "reason": s.reason}
                for s in self.sources
            ],
            "cpu_source": self.cpu_source,
            "cpu_energy_j": round(self.cpu_energy_j, 6),
            "gpu_energy_j": None if self.gpu_energy_j is None else round(self.gpu_energy_j, 6),
            "total_energy_j": round(self.total_energy_j, 6),
            "average_power_w": round(self.average_power_w, 6),
            "rapl_energy_j": {k: round(v, 6) for k, v in self.rapl_energy_j.items()},
            "gpus": [
                {"index": g.index, "name": g.name, "uuid": g.uuid, "method": g.method, "energy_j": g.energy_j}
                for g in self.gpus
            ],
            "estimate": None
            if self.estimate is None
            else {
                "cpu_model": self.estimate.cpu_model,
                "power_per_thread_w": self.estimate.power_per_thread_w,
                "power_source": self.estimate.power_source,
                "formula": "cpu_energy_j = cpu_time_s x power_per_thread_w",
            },
            "impacts": None if self.impacts is None else _impacts_dict(self.impacts),
            "impacts_note": self.impacts_note,
        }


def _impacts_dict(impacts: MeasureImpacts) -> dict[str, Any]:
    return {
        "server": impacts.server,
        "pue": impacts.pue,
        "location": impacts.location,
        "include": list(impacts.include),
        "gwp_kgco2e": impacts.gwp_kgco2e,
        "adpe_kgsbeq": impacts.adpe_kgsbeq,
        "pe_mj": impacts.pe_mj,
        "criterion": impacts.criterion,
        "criterion_value": impacts.criterion_value,
        "criterion_unit": impacts.criterion_unit,
    }

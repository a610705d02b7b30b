"""Thermal design power (TDP) of common CPUs, for the CPU-time estimate used when RAPL cannot be read.

The estimate charges each second of CPU time (one hardware thread busy for one second) with the CPU's TDP
divided by its hardware threads: a CPU with every thread busy for one second is charged its TDP for one second.
That is an estimate, never a measurement: TDP is a cooling specification, not the power actually drawn.

The table lists vendor specifications (TDP, cores, threads) of CPUs common in GPU servers and on developers'
machines; each row names its source. CPUs not in the table get :data:`GENERIC_POWER_PER_THREAD_W`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CPU_TABLE",
    "GENERIC_POWER_PER_THREAD_W",
    "GENERIC_SOURCE",
    "CpuPower",
    "CpuSpec",
    "cpu_power",
    "local_cpu_model",
    "normalise_cpu_name",
]

# Median of TDP / hardware threads over the 974 CPUs released since 2017 with a TDP and a thread count in
# BoaviztAPI 2.5.0's crowdsourced table (data/crowdsourcing/cpu_specs.csv): 4.06 W; server CPUs
# (Xeon, EPYC; 268 rows) 4.01 W; desktop and laptop CPUs (Core, Ryzen; 607 rows) 3.91 W.
GENERIC_POWER_PER_THREAD_W = 4.0
GENERIC_SOURCE = (
    "generic default: median TDP per hardware thread of the 974 CPUs released since 2017 in BoaviztAPI 2.5.0's "
    "cpu_specs table"
)


@dataclass(frozen=True)
class CpuSpec:
    """A CPU model's vendor specification.

    Attributes:
        name: the model name as vendors write it, e.g. ``Intel Xeon Gold 6248``.
        tdp_w: thermal design power (base power for Intel 12th gen and later), in watts.
        cores: physical cores.
        threads: hardware threads.
        source: where the figures come from.
    """

    name: str
    tdp_w: float
    cores: int
    threads: int
    source: str

    @property
    def power_per_thread_w(self) -> float:
        return self.tdp_w / self.threads


_ARK = "Intel ARK product specifications"
_TPU = "TechPowerUp CPU database"

CPU_TABLE: tuple[CpuSpec, ...] = (
    # Intel Xeon (GPU servers: DGX-1 E5-2698 v4, DGX-2 Platinum 8168, many A100 servers Gold 62xx/63xx)
    CpuSpec("Intel Xeon E5-2680 v4", 120, 14, 28, _ARK),
    CpuSpec("Intel Xeon E5-2698 v4", 135, 20, 40, _ARK),
    CpuSpec("Intel Xeon Silver 4210", 85, 10, 20, _ARK),
    CpuSpec("Intel Xeon Silver 4214", 85, 12, 24, _ARK),
    CpuSpec("Intel Xeon Gold 5218", 125, 16, 32, _ARK),
    CpuSpec("Intel Xeon Gold 6130", 125, 16, 32, _ARK),
    CpuSpec("Intel Xeon Gold 6148", 150, 20, 40, _ARK),
    CpuSpec("Intel Xeon Gold 6230", 125, 20, 40, _ARK),
    CpuSpec("Intel Xeon Gold 6248", 150, 20, 40, _ARK),
    CpuSpec("Intel Xeon Gold 6248R", 205, 24, 48, _ARK),
    CpuSpec("Intel Xeon Gold 6338", 205, 32, 64, _ARK),
    CpuSpec("Intel Xeon Platinum 8168", 205, 24, 48, _ARK),
    CpuSpec("Intel Xeon Platinum 8380", 270, 40, 80, _ARK),
    CpuSpec("Intel Xeon Platinum 8480+", 350, 56, 112, _ARK),
    # AMD EPYC (DGX A100: 7742; common H100 servers: 9004 series)
    CpuSpec("AMD EPYC 7302", 155, 16, 32, _TPU),
    CpuSpec("AMD EPYC 7513", 200, 32, 64, _TPU),
    CpuSpec("AMD EPYC 7543", 225, 32, 64, _TPU),
    CpuSpec("AMD EPYC 7742", 225, 64, 128, _TPU),
    CpuSpec("AMD EPYC 7763", 280, 64, 128, _TPU),
    CpuSpec("AMD EPYC 9554", 360, 64, 128, _TPU),
    CpuSpec("AMD EPYC 9654", 360, 96, 192, _TPU),
    # desktops and laptops
    CpuSpec("Intel Core i5-8250U", 15, 4, 8, _TPU),
    CpuSpec("Intel Core i5-1135G7", 28, 4, 8, _TPU),
    CpuSpec("Intel Core i7-1165G7", 28, 4, 8, _TPU),
    CpuSpec("Intel Core i7-1185G7", 28, 4, 8, _TPU),
    CpuSpec("Intel Core i7-8700", 65, 6, 12, _TPU),
    CpuSpec("Intel Core i7-9700K", 95, 8, 8, _TPU),
    CpuSpec("Intel Core i9-9900K", 95, 8, 16, _TPU),
    CpuSpec("Intel Core i7-10750H", 45, 6, 12, _TPU),
    CpuSpec("Intel Core i7-12700H", 45, 14, 20, _TPU),
    CpuSpec("Intel Core i9-12900K", 125, 16, 24, _TPU),
    CpuSpec("AMD Ryzen 5 3600", 65, 6, 12, _TPU),
    CpuSpec("AMD Ryzen 7 5800X", 105, 8, 16, _TPU),
    CpuSpec("AMD Ryzen 9 5950X", 105, 16, 32, _TPU),
)

_NOISE = re.compile(
    r"\((?:R|TM|tm|r)\)|\bCPU\b|@\s*[\d.]+\s*[GM]Hz|\b\d+-Core\b|\bProcessor\b|\bwith Radeon.*$", re.IGNORECASE
)


def normalise_cpu_name(name: str) -> str:
    """``Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz`` and ``AMD EPYC 7763 64-Core Processor`` -> table form, lower."""
    return " ".join(_NOISE.sub(" ", name).split()).lower()


def local_cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU model name of this machine from ``/proc/cpuinfo`` (x86 ``model name``), or None when absent."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model") and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True)
class CpuPower:
    """The power charged per second of CPU time, and where it comes from.

    Attributes:
        power_per_thread_w: watts charged while one hardware thread is busy.
        cpu_model: this machine's CPU model name, when known.
        spec: the table row used, or None for the generic default or a user-given TDP.
        source: a sentence naming the source of the figure.
    """

    power_per_thread_w: float
    cpu_model: str | None
    spec: CpuSpec | None
    source: str


def cpu_power(
    cpu_model: str | None, *, tdp_w: float | None = None, threads: int | None = None
) -> CpuPower:
    """Choose the power per hardware thread: a given TDP, else the table, else the generic default.

    Args:
        cpu_model: the CPU's model name (see :func:`local_cpu_model`).
        tdp_w: a TDP given by the user, in watts; overrides the table.
        threads: the hardware threads the given TDP is shared by (required with ``tdp_w``).
    """
    if tdp_w is not None:
        if threads is None or threads <= 0 or tdp_w <= 0:
            raise ValueError("a given TDP needs a positive TDP and a positive number of hardware threads")
        return CpuPower(
            tdp_w / threads, cpu_model, None, f"given TDP {tdp_w:g} W shared by {threads} hardware threads"
        )
    if cpu_model is not None:
        wanted = normalise_cpu_name(cpu_model)
        for spec in CPU_TABLE:
            if normalise_cpu_name(spec.name) == wanted:
                return CpuPower(
                    spec.power_per_thread_w,
                    cpu_model,
                    spec,
                    f"{spec.name}: TDP {spec.tdp_w:g} W / {spec.threads} hardware threads ({spec.source})",
                )
    known = f"CPU {cpu_model!r} is not in greenhack's table" if cpu_model else "CPU model unknown"
    return CpuPower(GENERIC_POWER_PER_THREAD_W, cpu_model, None, f"{known}; {GENERIC_SOURCE}")

"""Measure the energy of one command on this machine: ``greenhack measure -- COMMAND ...``.

RAPL (CPU packages and DRAM) and NVML (NVIDIA GPUs) are read directly when they are readable; otherwise the CPU
energy is estimated from the command's CPU time and the CPU's TDP, and the report says so.
"""

from __future__ import annotations

from greenhack.measure.cpu_specs import CpuPower, CpuSpec, cpu_power, local_cpu_model
from greenhack.measure.estimate import CpuTimeEstimate, ProcessTreeCpu
from greenhack.measure.nvml import GpuEnergy, NvmlMeter, NvmlProbe, probe_nvml
from greenhack.measure.progress import ProgressLine
from greenhack.measure.rapl import RaplDomain, RaplMeter, RaplProbe, discover_rapl_domains, probe_rapl
from greenhack.measure.report import (
    EstimateDetails,
    MeasureImpacts,
    MeasureReport,
    Progress,
    SourceStatus,
    format_progress,
)
from greenhack.measure.runner import MeasureOptions, run_measured

__all__ = [
    "CpuPower",
    "CpuSpec",
    "CpuTimeEstimate",
    "EstimateDetails",
    "GpuEnergy",
    "MeasureImpacts",
    "MeasureOptions",
    "MeasureReport",
    "NvmlMeter",
    "NvmlProbe",
    "ProcessTreeCpu",
    "Progress",
    "ProgressLine",
    "RaplDomain",
    "RaplMeter",
    "RaplProbe",
    "SourceStatus",
    "cpu_power",
    "discover_rapl_domains",
    "format_progress",
    "local_cpu_model",
    "probe_nvml",
    "probe_rapl",
    "run_measured",
]

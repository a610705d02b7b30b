"""The few lines ``greenhack measure`` prints by default: energy in J and Wh, gCO2e, what was measured and what
was estimated, and whether memory is counted. The JSON report (``--json``, ``--output``) holds every detail."""

from __future__ import annotations

import shlex

from greenhack.measure.report import MeasureReport
from greenhack.units import format_number, format_quantity, pick_scale

__all__ = ["summary_lines"]


def _cpu_line(report: MeasureReport) -> str:
    source = report.cpu_source
    if source == "rapl":
        domains = sorted(report.rapl_energy_j)
        memory = (
            "memory counted (RAPL DRAM domain)"
            if any(d.startswith("dram") for d in domains)
            else "memory counted with the package (RAPL psys)"
            if domains == ["psys"]
            else "memory not counted (this CPU exposes no RAPL DRAM domain)"
        )
        return f"measured by RAPL ({', '.join(domains)}); {memory}"
    estimate = report.estimate
    per_thread = f"{format_number(estimate.power_per_thread_w)} W" if estimate is not None else "a per-thread power"
    why = next((s.reason for s in report.sources if s.source == "rapl" and s.component == "cpu"), "")
    return (
        f"estimate: no readable RAPL ({why}), so CPU time {format_number(report.cpu_time_s)} s x {per_thread} per "
        "hardware thread: not a measurement; memory not counted"
    )


def _gpu_line(report: MeasureReport) -> str:
    if report.gpu_energy_j is None:
        why = next((s.reason for s in report.sources if s.component == "gpu"), "no NVIDIA GPU measured")
        return f"not measured ({why})"
    names = ", ".join(sorted({g.name for g in report.gpus})) or "NVIDIA GPU"
    n = len(report.gpus)
    return f"measured by NVML ({n} GPU{'s' if n != 1 else ''}: {names})"


def summary_lines(report: MeasureReport, *, report_path: str | None = None) -> list[str]:
    """The default summary of a measurement, one fact per line."""
    energies = [report.total_energy_j, report.cpu_energy_j, report.gpu_energy_j]
    joules = pick_scale(energies, "J") if max(energies, key=lambda e: e or 0.0) else None
    ended = f"signal {report.signal}" if report.signal else f"exit status {report.exit_code}"

    def energy(value: float | None) -> str:
        if value is None:
            return "–"
        in_j = f"{format_number(value)} J"
        return in_j if joules is None or joules.unit == "J" else f"{in_j} ({joules.format(value)})"

    total_wh = f"{format_number(report.total_energy_j / 3600.0)} Wh"
    lines = [
        f"greenhack measure: {shlex.join(report.command)}",
        f"  ran        {format_number(report.duration_s)} s, CPU time {format_number(report.cpu_time_s)} s; {ended}",
        f"  energy     {format_number(report.total_energy_j)} J = {total_wh} "
        f"(average {format_quantity(report.average_power_w, 'W')})",
        f"  CPU+memory {energy(report.cpu_energy_j)}: {_cpu_line(report)}",
        f"  GPU        {energy(report.gpu_energy_j)}: {_gpu_line(report)}",
    ]
    impacts = report.impacts
    if impacts is not None:
        gwp_g = impacts.gwp_kgco2e * 1000.0
        lines.append(f"  carbon     {format_quantity(gwp_g, 'gCO2e')} ({format_number(gwp_g)} gCO2e), "
                     f"{' + '.join(impacts.include)}: {report.impacts_note}")  # fmt: skip
        if impacts.criterion != "gwp":
            lines.append(
                f"  {impacts.criterion:<10} {format_quantity(impacts.criterion_value, impacts.criterion_unit)} "
                "(the event's ranking criterion)"
            )
    elif report.impacts_note.startswith("no --config"):
        lines.append("  carbon     not computed: give --config EVENT.yaml (the event's grid, PUE and server hardware)")
    else:
        lines.append(f"  carbon     {report.impacts_note}")
    if report_path is not None:
        lines.append(f"  report     {report_path} (JSON, every detail)")
    else:
        lines.append("  report     --json prints every detail as JSON, --output FILE writes it")
    return lines

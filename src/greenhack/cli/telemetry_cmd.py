"""greenhack energy --config FILE --server NAME --start ISO --end ISO [--format json|table] [--prometheus URL]"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from greenhack.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    OutputFormat,
    fail,
    load_config_or_exit,
    print_json,
)
from greenhack.errors import PrometheusUnavailable, TelemetryError
from greenhack.settings import Settings
from greenhack.telemetry import EnergyUncertainty, JobEnergy, PrometheusClient, measure_energy
from greenhack.wiring import service_addresses

__all__ = ["energy", "energy_json", "register"]


def _parse_time(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not an ISO 8601 time such as 2026-12-01T10:00:00.250+01:00", EXIT_BAD_INPUT)
    if moment.tzinfo is None:
        fail(f"{option} {value!r} has no UTC offset; add one, e.g. Z or +01:00", EXIT_BAD_INPUT)
    return moment


def _uncertainty_json(uncertainty: EnergyUncertainty | None) -> dict[str, float] | None:
    if uncertainty is None:
        return None
    return {
        "confidence": uncertainty.confidence,
        "integration_joules": uncertainty.integration_j,
        "edges_joules": uncertainty.edges_j,
        "sensor_joules": uncertainty.sensor_j,
        "measurement_joules": uncertainty.measurement_j,
        "total_joules": uncertainty.total_j,
    }


def energy_json(result: JobEnergy) -> dict[str, Any]:
    """The CLI's JSON object (joules, seconds, coverage 0..1) for a measurement; ``*_low``/``*_high`` bound each
    figure at ``uncertainty.confidence``, whose parts are half-widths in joules."""
    return {
        "server": result.server,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "duration_s": result.duration_s,
        "cpu_joules": result.cpu_energy_j,
        "gpu_joules": result.gpu_energy_j,
        "gpus": {
            uuid: {
                "joules": gpu.energy_j,
                "model_name": gpu.model_name,
                "method": gpu.method,
                "coverage": gpu.coverage,
                "max_gap_s": gpu.max_gap_s,
                "joules_low": gpu.energy_low_j,
                "joules_high": gpu.energy_high_j,
                "uncertainty": _uncertainty_json(gpu.uncertainty),
            }
            for uuid, gpu in result.gpus.items()
        },
        "total_joules": result.total_energy_j,
        "total_joules_low": result.total_energy_low_j,
        "total_joules_high": result.total_energy_high_j,
        "cpu_joules_low": result.cpu.energy_low_j if result.cpu is not None else None,
        "cpu_joules_high": result.cpu.energy_high_j if result.cpu is not None else None,
        "uncertainty": _uncertainty_json(result.uncertainty),
        "average_power_w": result.average_power_w,
        "coverage": result.coverage,
        "max_gap_s": result.max_gap_s,
        "methods": dict(result.methods),
        "valid": result.valid,
        "problems": list(result.problems),
    }


def _print_table(result: JobEnergy) -> None:
    console = Console()
    if not console.is_terminal:  # piped: do not fold GPU UUIDs to 80 columns
        console = Console(width=160)
    table = Table(title=f"{result.server}: {result.start.isoformat()} → {result.end.isoformat()} "
                  f"({result.duration_s:.3f} s)")
    table.add_column("component")
    table.add_column("energy (J)", justify="right")
    table.add_column("mean power (W)", justify="right")
    table.add_column("method")
    table.add_column("coverage", justify="right")
    table.add_column("max gap (s)", justify="right")
    if result.cpu is not None:
        table.add_row("CPU+DRAM", f"{result.cpu_energy_j:.1f}", f"{result.cpu_energy_j / result.duration_s:.1f}",
                      result.cpu.method, f"{result.cpu.coverage:.1%}", f"{result.cpu.max_gap_s:.1f}")
    for uuid, gpu in result.gpus.items():
        name = f"{uuid}" + (f" ({gpu.model_name})" if gpu.model_name else "")
        table.add_row(name, f"{gpu.energy_j:.1f}", f"{gpu.energy_j / result.duration_s:.1f}", gpu.method,
                      f"{gpu.coverage:.1%}", f"{gpu.max_gap_s:.1f}")
    table.add_row("total", f"{result.total_energy_j:.1f}", f"{result.average_power_w:.1f}", "",
                  f"{result.coverage:.1%}", f"{result.max_gap_s:.1f}", style="bold")
    console.print(table)
    if result.valid:
        console.print("[green]valid[/green]: every exporter covered the window")
    else:
        console.print(f"[red]not valid[/red]: {len(result.problems)} problem(s)")
        for problem in result.problems:
            console.print(f"  - {problem}", highlight=False, markup=False)


def energy(
    config: Annotated[Path, typer.Option("--config", "-c", help="The event YAML.", show_default=False)],
    server: Annotated[str, typer.Option("--server", help="The server's name in the event YAML.", show_default=False)],
    start: Annotated[str, typer.Option("--start", help="Window start, ISO 8601 with offset.", show_default=False)],
    end: Annotated[str, typer.Option("--end", help="Window end, ISO 8601 with offset.", show_default=False)],
    output_format: Annotated[OutputFormat, typer.Option("--format", help="json or table.")] = OutputFormat.table,
    prometheus: Annotated[
        str | None,
        typer.Option("--prometheus", help="Prometheus URL (overrides GREENHACK_PROMETHEUS_URL and the YAML).",
                     show_default=False),
    ] = None,
) -> None:
    """Energy (J) of a server's CPU+DRAM and GPUs over a window, from its exporters' samples in Prometheus."""
    event = load_config_or_exit(config)
    try:
        server_config = event.server(server)
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_BAD_INPUT)
    window_start, window_end = _parse_time(start, "--start"), _parse_time(end, "--end")
    if window_end <= window_start:
        fail("--end must be after --start", EXIT_BAD_INPUT)
    url = prometheus or service_addresses(event, Settings()).prometheus_url
    try:
        with PrometheusClient(url) as client:
            result = measure_energy(
                server_config,
                window_start,
                window_end,
                source=client,
                scrape_interval=event.scrape_interval_for(server_config),
            )
    except PrometheusUnavailable as exc:
        fail(str(exc).splitlines()[0], EXIT_UNAVAILABLE)
    except TelemetryError as exc:
        fail(str(exc), EXIT_FAILED)
    if output_format is OutputFormat.json:
        print_json(energy_json(result))
    else:
        _print_table(result)


def register(app: typer.Typer) -> None:
    app.command("energy")(energy)

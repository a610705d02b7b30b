"""greenhack impacts --config FILE --server NAME --energy-j J --duration-s S [--format json|table]"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from greenhack.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_UNAVAILABLE,
    OutputFormat,
    fail,
    load_config_or_exit,
    print_json,
)
from greenhack.errors import BoaviztaUnavailable, HardwareNameError, ImpactsError
from greenhack.impacts import (
    Equivalence,
    JobImpacts,
    equivalences,
    server_yaml_key,
)
from greenhack.impacts.equivalences import picture_text
from greenhack.settings import Settings
from greenhack.wiring import build_services

__all__ = ["impacts", "register"]


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}"


def _print_table(job: JobImpacts, pictures: list[Equivalence], *, server: str) -> None:
    console = Console()
    console.width = max(console.width, 100)  # six number columns must not be folded
    table = Table(title=f"Impacts of a job on {server}: {job.energy_j:g} J over {job.duration_s:g} s")
    for column in ("criterion", "use", "embodied", "total", "min", "max", "unit"):
        table.add_column(column, justify="left" if column in ("criterion", "unit") else "right")
    for item in job.all():
        marker = " *" if item.criterion == job.criterion else ""
        table.add_row(
            f"{item.criterion}{marker}",
            _number(item.use),
            _number(item.embodied),
            _number(item.total),
            _number(item.min),
            _number(item.max),
            item.unit,
        )
    console.print(table)
    factors = job.factors
    gpu = f", GPU matched as {factors.gpu_matched_name!r}" if factors.gpu_matched_name else ""
    intensity = (
        f", grid GWP overridden by carbon_intensity_g_per_kwh {job.carbon_intensity_g_per_kwh:g} g/kWh"
        if job.carbon_intensity_g_per_kwh is not None
        else ""
    )
    lines = [
        f"* the ranked criterion; total counts {' + '.join(job.include)}",
        f"PUE {job.pue:g}, location {job.location}{intensity}",
        f"factors from BoaviztAPI {job.boavizta_version} at {factors.boavizta_url}",
        f"CPU matched as {factors.cpu_matched_name!r}{gpu}",
    ]
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    for picture in pictures:
        amount, words = picture_text(picture)
        console.print(f"~ {amount} {words}", highlight=False, soft_wrap=True)


def impacts(
    config: Annotated[Path, typer.Option("--config", help="The event YAML.", show_default=False)],
    server: Annotated[
        str, typer.Option("--server", help="The server's name in the YAML.", show_default=False)
    ],
    energy_j: Annotated[
        float, typer.Option("--energy-j", help="Energy the job used, in J.", show_default=False)
    ],
    duration_s: Annotated[
        float, typer.Option("--duration-s", help="Duration of the job, in s.", show_default=False)
    ],
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
) -> None:
    """Impacts of a job (GWP, ADPe, PE, energy): use, embodied and total, with BoaviztAPI's min and max."""
    if not (math.isfinite(energy_j) and energy_j >= 0):
        fail(f"--energy-j must be a finite number of joules >= 0 (got {energy_j})", EXIT_BAD_INPUT)
    if not (math.isfinite(duration_s) and duration_s > 0):
        fail(f"--duration-s must be a finite number of seconds > 0 (got {duration_s})", EXIT_BAD_INPUT)
    event = load_config_or_exit(config)
    try:
        server_config = event.server(server)
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_BAD_INPUT)
    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"bad GREENHACK_* setting: {exc.errors()[0]['msg']}", EXIT_BAD_INPUT)
    with build_services(event, settings) as services:
        try:
            job = services.impacts.impacts(
                server_config,
                event.impact,
                energy_j=energy_j,
                duration_s=duration_s,
                server_key=server_yaml_key(event, server_config),
            )
        except HardwareNameError as exc:
            fail(f"{config}: {exc}", EXIT_BAD_INPUT)
        except BoaviztaUnavailable as exc:
            fail(f"{exc} (try again when BoaviztAPI is up)", EXIT_UNAVAILABLE)
        except ImpactsError as exc:
            fail(str(exc))
    pictures = equivalences(job.gwp.total, job.energy.total)
    if output is OutputFormat.json:
        document: dict[str, Any] = {
            "server": server_config.name,
            "criterion": job.criterion,
            "impacts": {
                item.criterion: {
                    "use": item.use,
                    "embodied": item.embodied,
                    "total": item.total,
                    "min": item.min,
                    "max": item.max,
                    "unit": item.unit,
                }
                for item in job.all()
            },
            "equivalences": [picture.model_dump(mode="json") for picture in pictures],
            "details": job.model_dump(mode="json"),
        }
        print_json(document)
    else:
        _print_table(job, pictures, server=server_config.name)


def register(app: typer.Typer) -> None:
    app.command("impacts")(impacts)

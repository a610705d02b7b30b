"""greenhack measure [--config FILE] [--output FILE] -- COMMAND ..."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from greenhack.cli._common import EXIT_BAD_INPUT, fail, load_config_or_exit
from greenhack.errors import MeasureError
from greenhack.measure import MeasureOptions, ProgressLine, run_measured
from greenhack.measure.impacts import impacts_for_report
from greenhack.measure.rapl import DEFAULT_POWERCAP_ROOT
from greenhack.measure.summary import summary_lines
from greenhack.settings import Settings

__all__ = ["EXIT_NOT_STARTED", "measure", "register"]

# as env(1), time(1) and shells report a command that cannot be found or run
EXIT_NOT_STARTED = 127


def measure(
    command: Annotated[
        list[str], typer.Argument(help="The command to run and measure, after --.", show_default=False)
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The event YAML: adds the event's impacts (PUE, grid location, server hardware) via BoaviztAPI.",
            show_default=False,
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="The event server whose hardware the embodied share is charged for "
                     "(default: the first one)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the JSON report to this file (the summary still goes to "
                     "stderr).", show_default=False),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON report to stderr instead of the summary.")
    ] = False,
    interval_s: Annotated[float, typer.Option("--interval", help="Seconds between two readings.", min=0.05)] = 0.5,
    cpu_tdp_w: Annotated[
        float | None,
        typer.Option("--cpu-tdp-w", help="Your CPU's TDP in watts, for the estimate used when RAPL is not readable.",
                     min=1.0),
    ] = None,
    cpu_threads: Annotated[
        int | None,
        typer.Option("--cpu-threads", help="Hardware threads sharing --cpu-tdp-w (default: this machine's).", min=1),
    ] = None,
    gpu: Annotated[bool, typer.Option("--gpu/--no-gpu", help="Measure NVIDIA GPUs through NVML.")] = True,
    powercap_root: Annotated[
        Path,
        typer.Option("--powercap-root", help="Where the RAPL zones are (e.g. /host/sys/class/powercap in a "
                     "container that mounts the host's /sys there)."),
    ] = DEFAULT_POWERCAP_ROOT,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Live progress line on stderr (default: on a terminal, "
                     "else a line every 10 s).", show_default=False),
    ] = None,
) -> None:
    """Run a command and report its energy (RAPL, NVML, or a CPU-time estimate that says so) and, with --config,
    its impacts with the event's methodology (BoaviztAPI, or the factors shipped with greenhack when none answers).

    A summary goes to stderr (J, Wh, gCO2e, what was measured and what estimated, whether memory is counted);
    --json prints the JSON report there instead, --output writes it to a file. The command's own output is
    untouched. greenhack exits with the command's exit status (128+N when signal N ended it; 127 when it cannot be
    started).
    """
    event = load_config_or_exit(config) if config is not None else None
    if event is not None and server is not None:
        try:
            event.server(server)
        except KeyError as exc:
            fail(str(exc.args[0]), EXIT_BAD_INPUT)
    if cpu_threads is not None and cpu_tdp_w is None:
        fail("--cpu-threads is only read with --cpu-tdp-w", EXIT_BAD_INPUT)
    if cpu_tdp_w is not None and cpu_threads is None:
        cpu_threads = os.cpu_count() or 1

    # --progress: a live line; --no-progress: nothing; neither: live on a terminal, else a line every 10 s
    line = ProgressLine(sys.stderr, live=progress, every_s=10.0 if progress is None else float("inf"))
    options = MeasureOptions(
        interval_s=interval_s,
        powercap_root=powercap_root,
        measure_gpu=gpu,
        cpu_tdp_w=cpu_tdp_w,
        cpu_threads=cpu_threads,
        forward_signals=True,
    )
    try:
        report = run_measured(command, options=options, on_progress=line)
    except MeasureError as exc:
        line.finish()
        fail(str(exc), EXIT_NOT_STARTED)
    line.finish()
    if event is not None:
        report = impacts_for_report(report, event, settings=Settings(), server_name=server)

    text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    if output is not None:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write the report to {output}: {exc.strerror or exc}")
    if as_json:
        sys.stderr.write(text + "\n")
    else:
        report_path = str(output) if output is not None else None
        sys.stderr.write("\n".join(summary_lines(report, report_path=report_path)) + "\n")
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.command(
        "measure",
        context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
    )(measure)

"""greenhack deploy prometheus-config --config FILE [--out DIR] [--remote-write URL]"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenhack.cli._common import EXIT_BAD_INPUT, EXIT_FAILED, fail, load_config_or_exit
from greenhack.deploy import DEFAULT_RULES_FILE, alert_rules, locate_problems, plan_scrapes, prometheus_config
from greenhack.errors import ConfigError

__all__ = ["prometheus_config_cmd", "register"]

def prometheus_config_cmd(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The event YAML.", show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder to write prometheus.yml and the rules file into.")
    ] = Path("."),
    remote_write: Annotated[
        str | None,
        typer.Option(
            "--remote-write",
            help="Also send every sample to this remote_write URL, e.g. VictoriaMetrics "
            "http://victoriametrics:8428/api/v1/write.",
        ),
    ] = None,
) -> None:
    """Write prometheus.yml (scraping every server's Scaphandre and GPU exporter) and its alert rules.

    Each exporter's selector in the event YAML must name its address with instance="HOST:PORT"; other equality
    matchers become target labels, so the scraped series match the selectors the collector queries with.
    """
    event = load_config_or_exit(config)
    if remote_write is not None and not remote_write.startswith(("http://", "https://")):
        fail(f"--remote-write {remote_write!r} must be an http:// or https:// URL", EXIT_BAD_INPUT)
    try:
        plan = plan_scrapes(event)
    except ConfigError as exc:
        try:
            text = config.read_text(encoding="utf-8")
        except OSError:
            text = ""
        located = locate_problems(exc, text)
        for problem in located.problems:
            typer.secho(str(problem), err=True, fg="red")
        n = len(located.problems)
        typer.secho(f"{n} problem{'s' if n != 1 else ''}: no file written", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    files = {
        "prometheus.yml": prometheus_config(event, remote_write_url=remote_write, plan=plan),
        DEFAULT_RULES_FILE: alert_rules(event, plan=plan),
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write into {out}: {exc.strerror or exc}", EXIT_FAILED)
    for name in files:
        typer.echo(f"wrote {out / name}")
    for job in plan.jobs:
        addresses = ", ".join(t.address for t in job.targets)
        typer.echo(f"  job {job.name}: every {job.interval_s:g}s: {addresses}")


def register(app: typer.Typer) -> None:
    deploy_app = typer.Typer(name="deploy", help="Generate deployment files from the event YAML.", no_args_is_help=True)
    deploy_app.command("prometheus-config")(prometheus_config_cmd)
    app.add_typer(deploy_app, name="deploy")

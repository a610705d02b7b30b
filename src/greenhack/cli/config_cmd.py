"""greenhack check-config FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from greenhack.cli._common import load_config_or_exit
from greenhack.config import event_summary

__all__ = ["check_config", "register"]


def check_config(
    file: Annotated[Path, typer.Argument(help="The event YAML to check.", show_default=False)],
) -> None:
    """Validate an event YAML: exit 0 with a summary, or exit 2 listing every problem as FILE:LINE: key: message."""
    config = load_config_or_exit(file)
    for line in event_summary(config):
        typer.echo(line)
    typer.secho(f"{file}: valid", fg="green")


def register(app: typer.Typer) -> None:
    app.command("check-config")(check_config)

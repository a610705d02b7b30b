"""One command, ``greenhack <verb>``; each verb lives in its own module and registers itself here."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from greenhack import __version__
from greenhack.cli import _common
from greenhack.errors import GreenhackError
from greenhack.logs import setup_logging

__all__ = ["app", "main"]

app = typer.Typer(
    name="greenhack",
    help="Run Green AI hackathons on GitLab: measure, score and rank submissions on performance and footprint.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"greenhack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    log_level: Annotated[
        str, typer.Option("--log-level", envvar="GREENHACK_LOG_LEVEL", help="DEBUG, INFO, WARNING or ERROR.")
    ] = "WARNING",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Set up logging once for every verb."""
    setup_logging(log_level.upper() if log_level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")


# Each verb module exposes register(app). Order here is the order of `greenhack --help`.
for _module in _common.command_modules():
    _module.register(app)


def main() -> None:
    """Console entry point: no traceback ever reaches the user."""
    try:
        app(standalone_mode=True)
    except GreenhackError as exc:
        _common.error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        _common.error("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --log-level DEBUG
        logging.getLogger("greenhack").debug("internal error", exc_info=True)
        _common.error(
            f"internal error: {type(exc).__name__}: {exc} "
            "(run again with --log-level DEBUG for the traceback, and please report it)"
        )
        sys.exit(70)

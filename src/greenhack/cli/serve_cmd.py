"""greenhack serve --config FILE"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from greenhack.cli._common import EXIT_UNAVAILABLE, fail, load_config_or_exit
from greenhack.errors import StoreError
from greenhack.settings import Settings
from greenhack.web import create_app
from greenhack.web.serving import EVENT_CONFIG_ENV

__all__ = ["register", "serve"]


def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="The event YAML.", show_default=False)],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the leaderboard (pages, JSON API under /api/v1, /healthz, /metrics) for one event."""
    event = load_config_or_exit(config)
    settings = Settings()
    try:
        app = create_app(settings, event)  # checks the database is reachable and migrated
    except StoreError as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False)
        return
    os.environ[EVENT_CONFIG_ENV] = str(config.resolve())
    uvicorn.run(
        "greenhack.web.serving:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)

"""greenhack demo [--no-serve] [--port PORT]: a small event end to end, then its board at http://127.0.0.1:8000."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from greenhack.cli._common import EXIT_BAD_INPUT, EXIT_UNAVAILABLE, fail
from greenhack.errors import ServiceError

__all__ = ["demo", "register"]


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every service the demo started is stopped on the way out."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the board at the end (--no-serve: run the event, "
                           "print the board, exit).")
    ] = True,
    host: Annotated[str, typer.Option("--host", help="Address the board listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port the board listens on.", min=1, max=65535)] = 8000,
    workdir: Annotated[
        Path, typer.Option("--workdir", help="The demo's folder: database, jobs and logs (a previous demo's files "
                           "there are replaced).")
    ] = Path(".greenhack/demo"),
    teams: Annotated[
        str | None, typer.Option("--teams", help="Comma-separated teams to run (default: all five).",
                                 show_default=False)
    ] = None,
    prometheus: Annotated[
        bool | None,
        typer.Option("--prometheus/--no-prometheus", help="Scrape the simulated exporter with a real Prometheus "
                     "(default: when the binary is installed).", show_default=False),
    ] = None,
    boavizta: Annotated[
        bool | None,
        typer.Option("--boavizta/--no-boavizta", help="Compute impacts with a local BoaviztAPI (default: when "
                     "installed; otherwise from the shipped BoaviztAPI 2.5.0 factors).", show_default=False),
    ] = None,
) -> None:
    """Run a small Green AI event end to end on this machine, then serve its board.

    Five example teams train real scikit-learn models of different cost on the bundled digits; each job runs
    measured (RAPL, or the CPU-time estimate), is recorded in a stand-in GitLab, and the platform evaluates it
    exactly as in production: telemetry -> impacts (BoaviztAPI) -> scores against the hidden truth -> ranking.
    Ctrl-C stops everything the demo started.
    """
    if find_spec("sklearn") is None:
        fail("the demo trains scikit-learn models: install greenhack[demo] (scripts/setup.sh does)", EXIT_BAD_INPUT)
    from greenhack.demo.cli_view import board_lines, run_lines, serve_command
    from greenhack.demo.event import run_demo_event
    from greenhack.demo.stack import DemoStack, StackOptions
    from greenhack.demo.teams import DEMO_TEAMS, demo_event_dir

    chosen = list(DEMO_TEAMS)
    if teams is not None:
        wanted = [t.strip() for t in teams.split(",") if t.strip()]
        known = {t.name: t for t in DEMO_TEAMS}
        unknown = [t for t in wanted if t not in known]
        if unknown or not wanted:
            fail(f"unknown team(s) {', '.join(unknown) or '(none given)'}; the demo's teams are "
                 f"{', '.join(known)}", EXIT_BAD_INPUT)
        chosen = [known[t] for t in wanted]
    if serve and not _port_free(host, port):
        fail(f"{host}:{port} is already in use: stop what listens there or pass --port", EXIT_UNAVAILABLE)

    url = f"http://{host}:{port}"
    started = time.monotonic()
    with _sigterm_as_interrupt():
        try:
            with DemoStack(StackOptions(workdir=workdir, event_dir=demo_event_dir(), use_prometheus=prometheus,
                                        use_boavizta=boavizta, public_url=url)) as stack:
                for note in stack.notes:
                    typer.secho(f"note: {note}", fg="yellow", err=True)
                typer.echo(f"greenhack demo: event {stack.config.event.name!r}, {len(chosen)} teams, "
                           f"work folder {workdir}")
                outcome = run_demo_event(stack, chosen, say=typer.echo)
                for line in run_lines(outcome):
                    typer.echo(line)
                for line in board_lines(outcome):
                    typer.echo(line)
                typer.echo(f"event evaluated in {time.monotonic() - started:.0f} s; database: {workdir / 'greenhack.db'}")
                if serve:
                    _serve(stack, host=host, port=port, url=url)
                else:
                    command = serve_command(database_url=stack.settings.database_url,
                                            event_yaml=stack.event_yaml, port=port)
                    typer.echo(f"serve this board later: {command}")
        except ServiceError as exc:
            fail(f"{exc}", EXIT_UNAVAILABLE)
        except KeyboardInterrupt:
            typer.secho("interrupted: every service the demo started has been stopped", err=True)
            raise typer.Exit(130) from None


def _serve(stack: object, *, host: str, port: int, url: str) -> None:
    import uvicorn

    from greenhack.demo.stack import DemoStack
    from greenhack.web.app import create_app

    assert isinstance(stack, DemoStack)
    app = create_app(stack.settings, stack.config)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            typer.secho(f"the board is ready: open {url}   (Ctrl-C stops the demo)", fg="green", bold=True)

    threading.Thread(target=announce, name="announce", daemon=True).start()
    server.run()  # returns on Ctrl-C or SIGTERM (uvicorn handles both)
    typer.echo("board stopped; stopping the demo's services")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

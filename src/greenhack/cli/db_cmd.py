"""greenhack db upgrade | current"""

from __future__ import annotations

from typing import Annotated

import typer

from greenhack.cli._common import EXIT_UNAVAILABLE, fail
from greenhack.errors import StoreError
from greenhack.settings import Settings
from greenhack.store.db import create_db_engine, current_revision, head_revision, upgrade_database

__all__ = ["DatabaseUrl", "current", "db_app", "register", "upgrade"]

db_app = typer.Typer(help="The leaderboard database: migrations.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Database URL (default: GREENHACK_DATABASE_URL, else sqlite:///greenhack.db)."
    ),
]


def _url(database_url: str | None) -> str:
    return Settings(database_url=database_url).database_url if database_url else Settings().database_url


@db_app.command("upgrade")
def upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database to the newest schema (PostgreSQL or SQLite)."""
    url = _url(database_url)
    try:
        revision = upgrade_database(url)
    except StoreError as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    typer.echo(f"database at migration {revision}")


@db_app.command("current")
def current(database_url: DatabaseUrl = None) -> None:
    """Print the migration the database is at and the newest one; exit 1 when it needs an upgrade."""
    url = _url(database_url)
    try:
        engine = create_db_engine(url, pool_size=1)
        try:
            at = current_revision(engine)
        finally:
            engine.dispose()
    except StoreError as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    head = head_revision(url)
    typer.echo(f"database at {at or '(none)'}, newest {head}")
    if at != head:
        fail("run `greenhack db upgrade`")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")

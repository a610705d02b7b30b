"""Engines, sessions and migrations, built from ``Settings.database_url`` when asked (never at import time).

PostgreSQL goes through psycopg 3; SQLite is the embedded default, opened with foreign keys on, WAL journaling
and a busy timeout so that the board, the worker and the CLI can share one file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event as sa_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from greenhack.errors import StoreError
from greenhack.settings import normalise_database_url

__all__ = [
    "SessionFactory",
    "alembic_config",
    "create_db_engine",
    "current_revision",
    "downgrade_database",
    "head_revision",
    "make_session_factory",
    "run_in_transaction",
    "store_errors",
    "transaction",
    "upgrade_database",
]

SessionFactory = sessionmaker[Session]
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> sa.Engine:
    """An engine for ``url`` (``postgresql+psycopg://...`` or ``sqlite:///FILE``).

    Raises:
        StoreError: the URL cannot be understood or names a driver that is not installed.
    """
    url = normalise_database_url(url)
    try:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(parsed, echo=echo, connect_args={"timeout": 10})
            sa_event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(
                parsed, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot use database URL {_redact(url)}: {exc}") from exc
    return engine


def make_session_factory(engine: sa.Engine) -> SessionFactory:
    """Sessions whose objects stay readable after commit (routes render them after the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "<unparsable URL>"


@contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Translate SQLAlchemy errors raised inside into :class:`StoreError` naming ``what`` was being done."""
    try:
        yield
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"{what}: {detail}") from exc


@contextmanager
def transaction(factory: SessionFactory, what: str = "database transaction") -> Iterator[Session]:
    """A session in a transaction that commits on success and rolls back (raising StoreError) on failure."""
    with store_errors(what), factory() as session, session.begin():
        yield session


def run_in_transaction(factory: SessionFactory, fn: Callable[[Session], T], what: str) -> T:
    """Call ``fn(session)`` inside :func:`transaction` and return its result."""
    with transaction(factory, what) as session:
        return fn(session)


# ---------------------------------------------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------------------------------------------


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` whose scripts are the ones shipped inside the package."""
    config = Config()
    location = resources.files("greenhack.store").joinpath("alembic")
    config.set_main_option("script_location", str(location))
    # env.py reads the URL from here; '%' must be doubled for configparser
    config.set_main_option("sqlalchemy.url", normalise_database_url(url).replace("%", "%%"))
    return config


def head_revision(url: str) -> str:
    """The newest migration shipped with this version of greenhack."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError("no migrations found in the package")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The migration the database is at, or None for a database never migrated."""
    with store_errors("reading the schema version"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_database(url: str, *, revision: str = "head") -> str:
    """Apply migrations up to ``revision``; return the revision the database is at afterwards.

    Raises:
        StoreError: the database cannot be reached or a migration failed.
    """
    config = alembic_config(url)
    with store_errors("migrating the database"):
        command.upgrade(config, revision)
        engine = create_db_engine(url, pool_size=1)
        try:
            at = current_revision(engine)
        finally:
            engine.dispose()
    if at is None:  # pragma: no cover - upgrade always stamps
        raise StoreError("the migration left no version stamp")
    return at


def downgrade_database(url: str, *, revision: str) -> None:
    """Undo migrations down to ``revision`` (``base``: an empty database). Loses the data of dropped tables.

    Raises:
        StoreError: the database cannot be reached or a migration failed.
    """
    with store_errors("downgrading the database"):
        command.downgrade(alembic_config(url), revision)

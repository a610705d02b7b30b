"""Throwaway PostgreSQL databases on a running server, for tests and demos.

Databases are created and dropped with psycopg 3 in autocommit mode (``CREATE DATABASE`` cannot run inside a
transaction); the URLs handed out name the ``postgresql+psycopg`` driver for SQLAlchemy 2.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from greenhack.errors import ServiceError
from greenhack.settings import normalise_database_url

__all__ = ["DEFAULT_ADMIN_URL", "database_exists", "temporary_database"]

# The local server of the test bench: trust authentication for user postgres on loopback.
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,40}")
_CONNECT_TIMEOUT_S = 5


def _parse(admin_url: str) -> URL:
    try:
        url = make_url(normalise_database_url(admin_url))
    except ArgumentError as exc:
        raise ServiceError(f"not a database URL: {admin_url!r}") from exc
    if url.get_backend_name() != "postgresql":
        raise ServiceError(f"not a PostgreSQL URL: {url.render_as_string(hide_password=True)}")
    return url


def _connect(url: URL) -> psycopg.Connection[tuple[object, ...]]:
    where = f"{url.host or 'localhost'}:{url.port or 5432} as user {url.username or '(default)'}"
    try:
        return psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            dbname=url.database,
            autocommit=True,
            connect_timeout=_CONNECT_TIMEOUT_S,
        )
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceError(
            f"PostgreSQL is not reachable at {where}: {first_line} "
            "(is the server running and does it accept this user?)"
        ) from exc


def database_exists(name: str, admin_url: str = DEFAULT_ADMIN_URL) -> bool:
    """True if the server at ``admin_url`` has a database called ``name``.

    Raises:
        ServiceError: the server is not reachable.
    """
    with _connect(_parse(admin_url)) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


@contextmanager
def temporary_database(admin_url: str = DEFAULT_ADMIN_URL, prefix: str = "greenhack_test") -> Iterator[str]:
    """Create a database with a unique name, yield its SQLAlchemy URL, and drop it afterwards.

    The database is dropped ``WITH (FORCE)`` (PostgreSQL 13 and newer), so connections left open by the code
    under test do not keep it alive.

    Args:
        admin_url: a URL of the server with a user allowed to create databases.
        prefix: start of the database name (lower-case letters, digits, underscores); a random suffix follows.

    Yields:
        A ``postgresql+psycopg://`` URL of the new, empty database.

    Raises:
        ServiceError: the server is not reachable, or refused to create or drop the database.
    """
    if not _PREFIX.fullmatch(prefix):
        raise ServiceError(f"database prefix {prefix!r} must be lower-case letters, digits and underscores")
    url = _parse(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _connect(url) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise ServiceError(f"PostgreSQL refused to create database {name}: {exc}") from exc
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with _connect(url) as conn:
            try:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            except psycopg.Error as exc:
                raise ServiceError(f"PostgreSQL refused to drop database {name}: {exc}") from exc

"""Cross-process locks on the database, named by a string and keyed by one scheme (:func:`lock_key`).

Every lock is a PostgreSQL two-key advisory lock ``(LOCK_NAMESPACE, lock_key(name))``, of one of two lifetimes:

- :func:`try_lock`: session-level (``pg_try_advisory_lock``) on a connection of its own, held for the ``with``
  block and released at its end, or by PostgreSQL when the process dies and its connection closes (a killed
  holder never blocks the others): one process at a time does a given piece of periodic work (the reconciler);
- :func:`xact_lock` / :func:`try_xact_lock`: transaction-level (``pg_advisory_xact_lock``), taken on the caller's
  session and released when its transaction ends: writes that must not interleave (one server's final
  transactions), or work one worker does while the others skip it (ranking an event's boards).

On SQLite, where one process is the norm, every caller gets the lock: SQLite has no advisory locks, and its
single writer serialises the database work anyway.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from greenhack.store.db import store_errors

__all__ = ["LOCK_NAMESPACE", "lock_key", "try_lock", "try_xact_lock", "xact_lock"]

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x6E68  # first key of PostgreSQL's two-key advisory locks: greenhack's own key space
"""The first of the two int4 keys; PostgreSQL keeps two-key locks apart from the one-bigint-key locks."""


def lock_key(name: str) -> int:
    """The second advisory-lock key for ``name``: a stable signed 32-bit hash."""
    value = zlib.crc32(name.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


def _keys(name: str) -> dict[str, int]:
    return {"ns": LOCK_NAMESPACE, "key": lock_key(name)}


def _advisory(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def xact_lock(session: Session, name: str) -> None:
    """Wait for the lock ``name``, held until the session's transaction ends (SQLite: nothing to take).

    Raises:
        StoreError: the database refused.
    """
    if not _advisory(session):
        return
    with store_errors(f"taking the {name} lock"):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:ns, :key)"), _keys(name))


def try_xact_lock(session: Session, name: str) -> bool:
    """Take the lock ``name`` without waiting, held until the session's transaction ends; False when another
    transaction holds it (SQLite: always True).

    Raises:
        StoreError: the database refused.
    """
    if not _advisory(session):
        return True
    with store_errors(f"taking the {name} lock"):
        return bool(
            session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:ns, :key)"), _keys(name)).scalar_one()
        )


@contextmanager
def try_lock(engine: sa.Engine, name: str) -> Iterator[bool]:
    """Try to take the lock ``name`` without waiting; yields True when this process holds it for the block.

    Raises:
        StoreError: the database cannot be reached.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    params = _keys(name)
    with store_errors(f"taking the {name} lock"):
        conn = engine.connect()
    try:
        with store_errors(f"taking the {name} lock"):
            held = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:ns, :key)"), params).scalar())
            conn.commit()  # the lock outlives transactions; the connection idles outside one meanwhile
        if not held:
            yield False
            return
        try:
            yield True
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:ns, :key)"), params)
                conn.commit()
            except SQLAlchemyError as exc:  # closing the connection for good releases the lock
                log.warning("releasing the %s lock: %s; dropping the connection instead", name, exc)
                conn.invalidate()
    finally:
        conn.close()

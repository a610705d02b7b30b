"""Alembic environment: the URL comes from the configuration greenhack builds (``store.db.alembic_config``), or
from ``Settings().database_url`` (``GREENHACK_DATABASE_URL``) when Alembic is run by hand. SQLite runs in batch
mode so that ALTERs work there too."""

from __future__ import annotations

from alembic import context

from greenhack.settings import Settings
from greenhack.store.db import create_db_engine
from greenhack.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url if url else Settings().database_url


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_db_engine(_url(), pool_size=1)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # a batch migration copies a table and drops the old one; with foreign keys on, the drop would
                # delete every row that references it (ON DELETE CASCADE). SQLite ignores this pragma inside a
                # transaction, so it is set before the migrations' one (Alembic's advice for batch mode).
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                compare_type=True,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""The same migrations run on SQLite and PostgreSQL, and leave exactly the schema the models describe."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from greenhack.store.db import (
    create_db_engine,
    current_revision,
    downgrade_database,
    head_revision,
    upgrade_database,
)
from greenhack.store.models import Base


def test_migrated_schema_matches_the_models(engine: sa.Engine, migrated_url: str) -> None:
    assert current_revision(engine) == head_revision(migrated_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_empties(migrated_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert upgrade_database(migrated_url) == head_revision(migrated_url)  # a second run changes nothing
    url = f"sqlite:///{tmp_path / 'down.db'}"
    upgrade_database(url)
    downgrade_database(url, revision="base")
    engine = create_db_engine(url)
    try:
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
        assert current_revision(engine) is None
    finally:
        engine.dispose()

"""Store fixtures: every test runs on SQLite and on PostgreSQL, each migrated once with ``greenhack db upgrade``'s
code path, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from greenhack.config import EventConfig, parse_event
from greenhack.services.postgres import temporary_database
from greenhack.store.db import SessionFactory, create_db_engine, make_session_factory, upgrade_database
from greenhack.store.models import Base

# a one-server event without a freeze, for tests of what the store does with its submissions
EVENT_YAML = """
event: {name: Store, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00}
task: {predictions: p.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.5}
impact: {criterion: gwp, location: FRA, pue: 1.2}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
servers:
  - {name: gpu-1, runner_tags: [g], scaphandre: '{instance="a"}', gpu: '{instance="b"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA A100 80GB}}}
"""


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('store')) / 'board.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade_database(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, for a migration test (the shared test databases are already at the head)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    with temporary_database(prefix="greenhack_migration") as url:
        yield url


@pytest.fixture(scope="session")
def engine(migrated_url: str) -> Iterator[sa.Engine]:
    engine = create_db_engine(migrated_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: sa.Engine) -> SessionFactory:
    """A session factory on an empty, migrated database."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return make_session_factory(engine)


@pytest.fixture
def event_config(tmp_path: Path) -> EventConfig:
    """:data:`EVENT_YAML`, loaded from a folder with its truth file."""
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    return parse_event(EVENT_YAML, source=tmp_path / "event.yaml")

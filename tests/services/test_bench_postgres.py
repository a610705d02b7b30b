"""Throwaway PostgreSQL databases: usable with SQLAlchemy 2 + psycopg 3, and really dropped afterwards."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from greenhack.errors import ServiceError
from greenhack.services.ports import free_port
from greenhack.services.postgres import database_exists, temporary_database


def test_a_row_round_trips(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    metadata = sa.MetaData()
    runs = sa.Table(
        "bench_runs",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team", sa.Text, nullable=False),
        sa.Column("energy_j", sa.Float, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )
    row = {
        "id": 1,
        "team": 'Équipe "verte" 🌱',
        "energy_j": 1234.5678901234,
        "finished_at": dt.datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
    }
    engine = sa.create_engine(postgres_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(runs.insert(), [row])
        with engine.connect() as conn:
            got = conn.execute(sa.select(runs)).mappings().one()
            assert conn.dialect.driver == "psycopg"
    finally:
        metadata.drop_all(engine)
        engine.dispose()
    assert dict(got) == row


def test_the_database_is_dropped_even_with_a_connection_open() -> None:
    with temporary_database(prefix="greenhack_bench") as url:
        name = make_url(url).database
        assert name is not None and name.startswith("greenhack_bench_")
        assert database_exists(name)
        left_open = psycopg.connect(dbname=name, host="127.0.0.1", user="postgres")
    try:
        assert not database_exists(name)
    finally:
        left_open.close()


def test_an_unreachable_server_is_a_clear_error() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    expected = r"PostgreSQL is not reachable at 127\.0\.0\.1:\d+ as user postgres"
    with pytest.raises(ServiceError, match=expected), temporary_database(admin_url=url):
        pass


def test_a_bad_prefix_is_refused() -> None:
    with pytest.raises(ServiceError, match="prefix"), temporary_database(prefix="Robert'); DROP TABLE"):
        pass

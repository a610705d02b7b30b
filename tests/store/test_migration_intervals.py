"""Migration 0007 adds the measurement intervals after 0006 on SQLite and PostgreSQL: the rows stored before it keep
every value and have no interval (empty columns, ``scores.tied`` false), and the way down drops the columns alone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from greenhack.store.db import create_db_engine, current_revision, downgrade_database, upgrade_database

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NEW = {
    "measurements": {"energy_confidence", "energy_integration_j", "energy_edges_j", "energy_sensor_j",
                     "energy_low_j", "energy_high_j"},
    "submissions": {"energy_low_j", "energy_high_j", "impact_measurement_low", "impact_measurement_high",
                    "remeasure_of"},
    "impacts": {"measurement_low", "measurement_high"},
    "performances": {"replicates"},
    "scores": {"tied", "measurements", "energy_j", "energy_low_j", "energy_high_j", "impact", "impact_low",
               "impact_high", "performance_low", "performance_high"},
}  # fmt: skip


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_0007_adds_the_intervals_and_leaves_the_rows(fresh_url: str) -> None:
    assert upgrade_database(fresh_url, revision="0006") == "0006"
    engine = create_db_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (id, name, data_version, boards_pending, created_at) "
                                 "VALUES (1, 'E', 0, 0, :t)"), {"t": T0})  # fmt: skip
            conn.execute(sa.text("INSERT INTO teams (id, event_id, name, created_at) VALUES (1, 1, 'T', :t)"),
                         {"t": T0})  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO submissions (id, event_id, team_id, gitlab_project_id, gitlab_job_id, status, "
                "next_attempt_at, created_at, energy_j) VALUES (1, 1, 1, 1, 1, 'scored', :t, :t, 12.5)"),
                {"t": T0})  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO scores (submission_id, board, event_id, rank, pareto, best_of_team, formula, "
                "computed_at) VALUES (1, 'live', 1, 1, false, true, 'f', :t)"), {"t": T0})  # fmt: skip
        assert upgrade_database(fresh_url, revision="0007") == "0007"
        for table, names in NEW.items():
            assert names <= _columns(engine, table), table
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT energy_j, energy_low_j, remeasure_of FROM submissions")).one()
            assert tuple(row) == (12.5, None, None)
            assert not conn.execute(sa.text("SELECT tied FROM scores")).scalar_one()
        with engine.begin() as conn:  # a re-measurement links to its original, and goes with it
            conn.execute(sa.text(
                "INSERT INTO submissions (id, event_id, team_id, gitlab_project_id, gitlab_job_id, status, "
                "next_attempt_at, created_at, remeasure_of) VALUES (2, 1, 1, 1, 2, 'queued', :t, :t, 1)"),
                {"t": T0})  # fmt: skip
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM scores"))
            conn.execute(sa.text("DELETE FROM submissions WHERE id = 1"))
            assert conn.execute(sa.text("SELECT count(*) FROM submissions")).scalar_one() == 0

        downgrade_database(fresh_url, revision="0006")
        assert current_revision(engine) == "0006"
        for table, names in NEW.items():
            assert not names & _columns(engine, table), table
    finally:
        engine.dispose()

"""Migration 0006 adds the script window, the clock offset and the runner's overhead, on SQLite and PostgreSQL: rows
measured before it measured GitLab's window (``window_kind = 'job'``), nothing else of theirs changes, and the way
down keeps them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from greenhack.store.db import create_db_engine, current_revision, downgrade_database, upgrade_database

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SUBMISSION_COLUMNS = {
    "window_kind", "script_start", "script_end", "script_start_source", "script_end_source",
    "script_start_resolution_s", "script_end_resolution_s", "window_fallback", "window_fallback_reason",
    "overhead_energy_j",
}  # fmt: skip
MEASUREMENT_COLUMNS = {
    "clock_offset_s", "clock_offset_uncertainty_s", "clock_offset_note", "ntp_synchronised", "ntp_offset_s",
    "overhead_before_j", "overhead_after_j", "overhead_duration_s", "overhead_valid", "overhead_problems",
}  # fmt: skip


def _seed_at_0004(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO events (id, name, data_version, boards_pending, created_at) VALUES (1, 'E', 0, 0, :t)"),
            {"t": T0},
        )
        conn.execute(sa.text("INSERT INTO teams (id, event_id, name, created_at) VALUES (1, 1, 'T', :t)"), {"t": T0})
        # job 1 was measured (its window and energy), job 2 is still queued
        for job, window in ((1, (T0, T0 + timedelta(seconds=59))), (2, (None, None))):
            conn.execute(
                sa.text(
                    "INSERT INTO submissions (event_id, team_id, gitlab_project_id, gitlab_job_id, status, server, "
                    "window_start, window_end, energy_j, next_attempt_at, created_at) "
                    "VALUES (1, 1, 1, :job, :status, :server, :a, :b, :e, :t, :t)"
                ),
                {"job": job, "status": "scored" if window[0] else "queued", "server": "gpu-1" if window[0] else None,
                 "a": window[0], "b": window[1], "e": 12345.0 if window[0] else None, "t": T0},
            )  # fmt: skip


def test_rows_measured_before_it_are_gitlab_window_measurements(fresh_url: str) -> None:
    assert upgrade_database(fresh_url, revision="0004") == "0004"
    engine = create_db_engine(fresh_url)
    try:
        _seed_at_0004(engine)
        assert upgrade_database(fresh_url, revision="0006") == "0006"
        inspector = sa.inspect(engine)
        assert SUBMISSION_COLUMNS <= {c["name"] for c in inspector.get_columns("submissions")}
        assert MEASUREMENT_COLUMNS <= {c["name"] for c in inspector.get_columns("measurements")}
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT gitlab_job_id, window_kind, script_start, overhead_energy_j, energy_j "
                        "FROM submissions ORDER BY gitlab_job_id")
            ).all()  # fmt: skip
        assert [tuple(r) for r in rows] == [(1, "job", None, None, 12345.0), (2, None, None, None, None)]

        downgrade_database(fresh_url, revision="0004")
        assert current_revision(engine) == "0004"
        inspector = sa.inspect(engine)
        assert not SUBMISSION_COLUMNS & {c["name"] for c in inspector.get_columns("submissions")}
        assert not MEASUREMENT_COLUMNS & {c["name"] for c in inspector.get_columns("measurements")}
        with engine.connect() as conn:  # the rows themselves survive the way down
            assert conn.execute(sa.text("SELECT sum(energy_j), count(*) FROM submissions")).one() == (12345.0, 2)
    finally:
        engine.dispose()

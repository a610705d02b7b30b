"""Migration 0005 adds ``teams.gitlab_path`` (the project's full path as GitLab's API last named it), on SQLite and
PostgreSQL: the teams and their submissions stored before it stay, both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from greenhack.store.db import create_db_engine, current_revision, downgrade_database, upgrade_database

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_0005_adds_the_project_path_and_keeps_teams_and_submissions(fresh_url: str) -> None:
    assert upgrade_database(fresh_url, revision="0004") == "0004"
    engine = create_db_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO events (id, name, data_version, boards_pending, created_at) "
                        "VALUES (1, 'E', 0, 0, :t)"), {"t": T0},
            )  # fmt: skip
            conn.execute(
                sa.text("INSERT INTO teams (id, event_id, name, gitlab_project_id, created_at) "
                        "VALUES (1, 1, 'alpha', 41, :t)"), {"t": T0},
            )  # fmt: skip
            conn.execute(
                sa.text("INSERT INTO submissions (event_id, team_id, gitlab_project_id, gitlab_job_id, status, "
                        "next_attempt_at, created_at) VALUES (1, 1, 41, 7, 'queued', :t, :t)"), {"t": T0},
            )  # fmt: skip
        assert upgrade_database(fresh_url, revision="0005") == "0005"
        assert "gitlab_path" in {c["name"] for c in sa.inspect(engine).get_columns("teams")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name, gitlab_path FROM teams")).one() == ("alpha", None)
        downgrade_database(fresh_url, revision="0004")
        assert current_revision(engine) == "0004"
        assert "gitlab_path" not in {c["name"] for c in sa.inspect(engine).get_columns("teams")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM submissions")).scalar_one() == 1
            assert conn.execute(sa.text("SELECT name FROM teams")).scalar_one() == "alpha"
    finally:
        engine.dispose()

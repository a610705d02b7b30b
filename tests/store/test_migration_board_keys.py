"""Migration 0009 adds the board key's phase and track to the score rows on SQLite and PostgreSQL: rows stored
before it read as the implicit phase and track (the boards of an event without either), the board index gains
the two columns, a submission gains ``selected`` (false), and the way down drops them and keeps every row (SQLite
included: no copy of the submissions table, whose drop would cascade to the scores)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from greenhack.store.db import create_db_engine, current_revision, downgrade_database, upgrade_database

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_0009_keys_the_scores_by_phase_and_track(fresh_url: str) -> None:
    assert upgrade_database(fresh_url, revision="0008") == "0008"
    engine = create_db_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (id, name, data_version, boards_pending, created_at) "
                                 "VALUES (1, 'E', 0, 0, :t)"), {"t": T0})  # fmt: skip
            conn.execute(sa.text("INSERT INTO teams (id, event_id, name, created_at) VALUES (1, 1, 'T', :t)"),
                         {"t": T0})  # fmt: skip
            conn.execute(sa.text(
                "INSERT INTO submissions (id, event_id, team_id, gitlab_project_id, gitlab_job_id, status, "
                "next_attempt_at, created_at) VALUES (1, 1, 1, 1, 1, 'scored', :t, :t)"), {"t": T0})  # fmt: skip
            for board in ("live", "final"):
                conn.execute(sa.text(
                    "INSERT INTO scores (submission_id, board, event_id, rank, pareto, best_of_team, formula, "
                    "computed_at) VALUES (1, :b, 1, 1, true, true, '', :t)"), {"b": board, "t": T0})  # fmt: skip
        assert upgrade_database(fresh_url, revision="0009") == "0009"
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT board, phase, track FROM scores ORDER BY board")).all()
            selected = conn.execute(sa.text("SELECT selected FROM submissions")).scalars().all()
        assert [tuple(r) for r in rows] == [("final", "", ""), ("live", "", "")]
        assert selected == [False] or selected == [0]  # nobody selected anything before (SQLite reads 0)
        index = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("scores")}
        assert index["ix_scores_board"] == ["event_id", "phase", "track", "board", "rank"]

        downgrade_database(fresh_url, revision="0008")
        assert current_revision(engine) == "0008"
        columns = {c["name"] for c in sa.inspect(engine).get_columns("scores")}
        assert "phase" not in columns and "track" not in columns
        assert "selected" not in {c["name"] for c in sa.inspect(engine).get_columns("submissions")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM scores")).scalar_one() == 2
    finally:
        engine.dispose()

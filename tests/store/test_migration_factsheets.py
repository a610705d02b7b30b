"""Migration 0008 adds the fact sheets table after 0004 on SQLite and PostgreSQL: the submissions stored before it
keep every row, a fact sheet is stored and read back through the models (JSON answers, problems), a submission's
deletion takes its fact sheet with it, and the way down drops the table alone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from greenhack.factsheet import FactsheetResult
from greenhack.store.db import (
    create_db_engine,
    current_revision,
    downgrade_database,
    make_session_factory,
    transaction,
    upgrade_database,
)
from greenhack.store.factsheets import record_factsheet
from greenhack.store.models import Factsheet

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_0008_adds_the_fact_sheets_and_leaves_the_submissions(fresh_url: str) -> None:
    assert upgrade_database(fresh_url, revision="0004") == "0004"
    engine = create_db_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (id, name, data_version, boards_pending, created_at) "
                                 "VALUES (1, 'E', 0, 0, :t)"), {"t": T0})  # fmt: skip
            conn.execute(sa.text("INSERT INTO teams (id, event_id, name, created_at) VALUES (1, 1, 'T', :t)"),
                         {"t": T0})  # fmt: skip
            for job in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO submissions (id, event_id, team_id, gitlab_project_id, gitlab_job_id, status, "
                    "next_attempt_at, created_at) VALUES (:job, 1, 1, 1, :job, 'scored', :t, :t)"),
                    {"job": job, "t": T0})  # fmt: skip
        assert upgrade_database(fresh_url, revision="0008") == "0008"
        sessions = make_session_factory(engine)
        answers = {"model_family": "linear", "parameters": 650, "quantised": False}
        with transaction(sessions) as session:
            record_factsheet(session=session, submission_id=1, now=T0, result=FactsheetResult(
                file="factsheet.yaml", present=True, answers=answers,
                problems=("factsheet.yaml:4: extra: not a question of this event",)))  # fmt: skip
            record_factsheet(session=session, submission_id=2, now=T0,
                             result=FactsheetResult(file="factsheet.yaml", present=False))  # fmt: skip
        with sessions() as session:
            one = session.get(Factsheet, 1)
            assert one is not None and one.answers == answers and one.read_at == T0
            assert one.problems == ["factsheet.yaml:4: extra: not a question of this event"]
            two = session.get(Factsheet, 2)
            assert two is not None and not two.present and two.answers == {} and two.problems == []
        with engine.begin() as conn:  # a submission's fact sheet goes with it
            conn.execute(sa.text("DELETE FROM submissions WHERE id = 2"))
            assert conn.execute(sa.text("SELECT submission_id FROM factsheets")).scalars().all() == [1]

        downgrade_database(fresh_url, revision="0004")
        assert current_revision(engine) == "0004"
        assert "factsheets" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM submissions")).scalar_one() == 1
    finally:
        engine.dispose()

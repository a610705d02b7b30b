"""Migration 0010 flags baseline teams (``teams.baseline``) on SQLite and PostgreSQL: the teams stored before it
read as competing teams, the flag is written and read through the models, and the way down drops the column alone."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from greenhack.store import crud
from greenhack.store.db import (
    create_db_engine,
    current_revision,
    downgrade_database,
    make_session_factory,
    transaction,
    upgrade_database,
)
from greenhack.store.models import Team

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_0010_flags_baselines_and_leaves_the_teams(fresh_url: str) -> None:
    assert upgrade_database(fresh_url, revision="0008") == "0008"
    engine = create_db_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (id, name, data_version, boards_pending, created_at) "
                                 "VALUES (1, 'E', 0, 0, :t)"), {"t": T0})  # fmt: skip
            conn.execute(sa.text("INSERT INTO teams (event_id, name, gitlab_project_id, created_at) "
                                 "VALUES (1, 'T', 7, :t)"), {"t": T0})  # fmt: skip
        assert upgrade_database(fresh_url, revision="0010") == "0010"
        sessions = make_session_factory(engine)
        with transaction(sessions) as session:
            old = session.execute(sa.select(Team).where(Team.name == "T")).scalar_one()
            assert old.baseline is False
            crud.ensure_team(session=session, event_id=1, name="Logistic regression", gitlab_project_id=8,
                             baseline=True)  # fmt: skip
            # the YAML no longer lists it: the next intake clears the flag; None leaves it
            crud.ensure_team(session=session, event_id=1, name="T", gitlab_project_id=7, baseline=None)
        with sessions() as session:
            flags = dict(session.execute(sa.select(Team.name, Team.baseline)).all())
        assert flags == {"T": False, "Logistic regression": True}
        with transaction(sessions) as session:
            # a webhook's hint leaves an existing team's flag; GitLab's API (rename) sets it as the YAML says
            crud.ensure_team(session=session, event_id=1, name="x", gitlab_project_id=8, baseline=False)
            assert session.execute(sa.select(Team.baseline).where(Team.gitlab_project_id == 8)).scalar_one()
            crud.ensure_team(session=session, event_id=1, name="Logistic regression", gitlab_project_id=8,
                             gitlab_path="g/logistic-regression", rename=True, baseline=False)  # fmt: skip
        with sessions() as session:
            flag = session.execute(sa.select(Team.baseline).where(Team.gitlab_project_id == 8)).scalar_one()
            assert flag is False

        downgrade_database(fresh_url, revision="0008")
        assert current_revision(engine) == "0008"
        assert "baseline" not in {c["name"] for c in sa.inspect(engine).get_columns("teams")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM teams")).scalar_one() == 2
    finally:
        engine.dispose()

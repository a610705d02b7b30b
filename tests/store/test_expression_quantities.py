"""Every documented ranking-expression quantity works through a real ranking: stored submissions, the board's
inputs read from the database, the ranking (issue 18: ``team_gwp_g``, ``team_energy_wh``, ``team_jobs``,
``pe_mj`` and ``adpe_kgsbeq`` passed check-config and then left every team unranked, "is not known")."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from greenhack.config import EventConfig, parse_event
from greenhack.quantities import QUANTITIES, REGISTRY
from greenhack.scoring.ranking import rank_submissions
from greenhack.store import crud
from greenhack.store.boards import board_inputs, refresh_boards
from greenhack.store.db import (
    SessionFactory,
    create_db_engine,
    make_session_factory,
    transaction,
    upgrade_database,
)
from greenhack.store.models import Impact, Performance, Score, Submission
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TEAMS, PER_TEAM = 3, 2


def _yaml(metric: str, expression: str) -> str:
    return f"""
event: {{name: Quantities, opens: 2026-12-01T09:00:00+01:00, closes: 2026-12-02T17:00:00+01:00}}
task: {{predictions: p.csv, truth: truth.csv, public_fraction: 0.5}}
performance: {{metric: {metric}}}
impact: {{criterion: gwp, location: FRA, pue: 1.2}}
ranking: {{method: expression, expression: "{expression}"}}
telemetry: {{prometheus: "http://127.0.0.1:9090"}}
boavizta: {{url: "http://127.0.0.1:5000"}}
servers:
  - {{name: gpu-1, runner_tags: [g], scaphandre: '{{instance="a"}}', gpu: '{{instance="b"}}',
     hardware: {{cpu: {{name: Intel Xeon Gold 6248}}, ram_gb: 64, gpu: {{name: NVIDIA A100 80GB}}}}}}
"""


def _config(folder: Path, metric: str, expression: str) -> EventConfig:
    (folder / "truth.csv").write_text("id,label\n1,0.5\n2,1.5\n", encoding="utf-8")
    return parse_event(_yaml(metric, expression), source=folder / "event.yaml")


def _store(sessions: SessionFactory, config: EventConfig) -> int:
    rng = random.Random(18)
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        factors = synthetic_factors("FRA", fetched_at=NOW)
        job = 1
        for t in range(TEAMS):
            team = crud.ensure_team(session=s, event_id=event.id, name=f"team-{t}")
            for _ in range(PER_TEAM):
                write_synthetic_submission(
                    session=s,
                    config=config,
                    event_id=event.id,
                    team_id=team.id,
                    project_id=1,
                    job_id=job,
                    job=synthetic_job(rng, server="gpu-1", start=NOW - timedelta(hours=3, minutes=-10 * job)),
                    factors=factors,
                )
                job += 1
        # a test set of another size for every other submission (the synthetic ones score 300 + 700 rows)
        s.execute(sa.update(Performance).where(Performance.submission_id % 2 == 0).values(rows=Performance.rows * 3))
        return int(event.id)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SessionFactory, int, Path]]:
    folder = tmp_path_factory.mktemp("quantities")
    url = f"sqlite:///{folder / 'board.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    event_id = _store(sessions, _config(folder, "accuracy", "accuracy"))
    yield sessions, event_id, folder
    engine.dispose()


def _expected(sessions: SessionFactory, event_id: int, name: str) -> dict[int, float]:
    """The value each submission should get for ``name``, computed here from the stored rows."""
    with transaction(sessions) as s:
        subs = s.execute(sa.select(Submission).where(Submission.event_id == event_id)).scalars().all()
        impacts = {(i.submission_id, i.criterion): i.total for i in s.execute(sa.select(Impact)).scalars()}
        team_gwp = {t: sum(x.gwp_kgco2e or 0 for x in subs if x.team_id == t) for t in {x.team_id for x in subs}}
        team_j = {t: sum(x.energy_j or 0 for x in subs if x.team_id == t) for t in {x.team_id for x in subs}}
        team_n = {t: sum(1 for x in subs if x.team_id == t) for t in {x.team_id for x in subs}}
        rows: dict[int, int] = {}
        for p in s.execute(sa.select(Performance)).scalars():  # the scored rows, public + private
            rows[p.submission_id] = rows.get(p.submission_id, 0) + p.rows
        table = {
            "performance": lambda x: x.performance_public,
            "impact": lambda x: x.impact_total,
            "gwp_kgco2e": lambda x: x.gwp_kgco2e,
            "gwp_g": lambda x: x.gwp_kgco2e * 1000,
            "energy_j": lambda x: x.energy_j,
            "energy_wh": lambda x: x.energy_j / 3600,
            "energy_kwh": lambda x: x.energy_j / 3.6e6,
            "duration_s": lambda x: x.duration_s,
            "duration_min": lambda x: x.duration_s / 60,
            "adpe_kgsbeq": lambda x: impacts[(x.id, "adpe")],
            "pe_mj": lambda x: impacts[(x.id, "pe")],
            "team_gwp_g": lambda x: team_gwp[x.team_id] * 1000,
            "team_energy_wh": lambda x: team_j[x.team_id] / 3600,
            "team_jobs": lambda x: team_n[x.team_id],
            "impact_per_1k": lambda x: x.impact_total * 1000 / rows[x.id],
            "energy_j_per_1k": lambda x: x.energy_j * 1000 / rows[x.id],
            "energy_wh_per_1k": lambda x: x.energy_j / 3600 * 1000 / rows[x.id],
            "gwp_g_per_1k": lambda x: x.gwp_kgco2e * 1000 * 1000 / rows[x.id],
            "adpe_kgsbeq_per_1k": lambda x: impacts[(x.id, "adpe")] * 1000 / rows[x.id],
            "pe_mj_per_1k": lambda x: impacts[(x.id, "pe")] * 1000 / rows[x.id],
        }
        pick = table.get(name, table["performance"])  # a metric name: the event metric's value
        return {x.id: float(pick(x)) for x in subs}


@pytest.mark.parametrize("name", sorted(QUANTITIES))
def test_each_documented_quantity_ranks_every_team(
    stored: tuple[SessionFactory, int, Path], name: str
) -> None:
    sessions, event_id, folder = stored
    metric = name if REGISTRY[name].metric else "accuracy"
    config = _config(folder, metric, f"{name} * 1")  # check-config accepts it ...
    with transaction(sessions) as s:
        inputs = board_inputs(session=s, event_id=event_id, board="live", cut=None)
    rows = rank_submissions(inputs, config.ranking, config.performance, impact=config.impact)
    # ... and the ranking gives every submission its value: every team ranked, none "is not known"
    assert all(r.note is None or "not known" not in r.note for r in rows), [r.note for r in rows]
    assert sum(1 for r in rows if r.rank is not None) == TEAMS
    expected = _expected(sessions, event_id, name)
    for row in rows:
        assert row.score is not None and math.isclose(row.score, expected[int(row.submission_id)], rel_tol=1e-9)
        assert re.search(rf"{name}=", row.formula)


def test_team_footprint_ranking_through_the_stored_boards(sessions: SessionFactory, tmp_path: Path) -> None:
    # a team's cumulative footprint rewards less trial and error: the refresh the workers run, on both databases
    config = _config(tmp_path, "accuracy", "accuracy - 0.001 * team_gwp_g / team_jobs")
    event_id = _store(sessions, config)
    with transaction(sessions) as s:
        refresh_boards(session=s, event_id=event_id, config=config, now=NOW)
        ranks = s.execute(
            sa.select(Score.rank, Score.note).where(Score.board == "live", Score.best_of_team.is_(True))
        ).all()
    assert sorted(r.rank for r in ranks) == list(range(1, TEAMS + 1))
    assert not [r.note for r in ranks if r.note and "not known" in r.note]

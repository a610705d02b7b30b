"""The organisers' baselines on the running board (issue 19): a project listed under ``baselines:`` is flagged when
its job is taken in, scored like a team's, listed with a badge and never ranked (the teams' ranks, scores and
Pareto front are those without it), drawn as its own mark on the chart; every team's line says how it compares
with it, on the board, in JSON and CSV and on the team page; the baseline's own page has no quota nor budget.

SQLite and PostgreSQL; the intake, the store's refresh and the web app as they run."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_support import DURING, EVENT_YAML, Clock

from greenhack.competition import Standing, compare_with_baselines
from greenhack.config import EventConfig, parse_event
from greenhack.gitlab.webhooks import HookJob
from greenhack.intake import enqueue_hook_jobs
from greenhack.settings import Settings
from greenhack.store import crud
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Score, Submission, Team
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission
from greenhack.units import format_number
from greenhack.web import create_app

GROUP = "web-hack"
WITH_BASELINE = EVENT_YAML + f"""
gitlab:
  url: https://gitlab.example.org
  group: {GROUP}
baselines:
  - {{project: baselines/logreg, name: Logistic regression}}
"""
START = DURING - timedelta(hours=3)
TEAMS = ("alpha", "bravo", "charlie")
BASELINE_PROJECT = 900


@pytest.fixture
def config(tmp_path: Path) -> EventConfig:
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n2,b\n", encoding="utf-8")
    return parse_event(WITH_BASELINE, source=tmp_path / "event.yaml")


def _hook(project_id: int, path: str, job_id: int) -> HookJob:
    return HookJob(project_id=project_id, project_path=path, job_id=job_id, name="submission", stage="test",
                   status="success", pipeline_id=job_id, created_at=START)  # fmt: skip


def _measured(session: object, config: EventConfig, *, team_id: int, project_id: int, job_id: int,
              rng: random.Random, minute: int) -> int:  # fmt: skip
    event = crud.ensure_event(session=session, name=config.event.name)  # type: ignore[arg-type]
    job = synthetic_job(rng, server="gpu-1", start=START + timedelta(minutes=minute))
    return write_synthetic_submission(
        session=session, config=config, event_id=event.id, team_id=team_id, project_id=project_id,  # type: ignore[arg-type]
        job_id=job_id, job=job, factors=synthetic_factors(config.impact.location, fetched_at=START),
    )  # fmt: skip


def _ranks(session: object) -> dict[int, tuple[object, ...]]:
    rows = session.execute(sa.select(Score.submission_id, Score.board, Score.rank, Score.score, Score.pareto))  # type: ignore[attr-defined]
    return {(r.submission_id, r.board): (r.rank, r.score, r.pareto) for r in rows}  # type: ignore[misc]


def test_a_baseline_is_flagged_at_intake_listed_with_a_badge_and_never_ranked(
    sessions: SessionFactory, config: EventConfig, database_url: str
) -> None:
    rng = random.Random(19)
    with transaction(sessions) as session:
        # the intake flags the baseline's project (named by its label) and no team's
        enqueue_hook_jobs(session=session, config=config, jobs=[
            _hook(BASELINE_PROJECT, f"{GROUP}/Baselines/LogReg", 1),
            *(_hook(100 + i, f"{GROUP}/{name}", 10 + i) for i, name in enumerate(TEAMS)),
        ])  # fmt: skip
        teams = {t.name: t for t in session.execute(sa.select(Team)).scalars()}
        assert {name: t.baseline for name, t in teams.items()} == {
            "Logistic regression": True, "alpha": False, "bravo": False, "charlie": False}  # fmt: skip
        session.execute(sa.delete(Submission))  # the queued rows: measured below as synthetic jobs
    with transaction(sessions) as session:
        team_subs = [
            _measured(session, config, team_id=teams[name].id, project_id=100 + i, job_id=100 * (i + 1) + k,
                      rng=rng, minute=10 * (2 * i + k))  # fmt: skip
            for i, name in enumerate(TEAMS) for k in range(2)
        ]
        event_id = crud.ensure_event(session=session, name=config.event.name).id
        refresh_boards(session=session, event_id=event_id, config=config, now=DURING)
        without = _ranks(session)
    with transaction(sessions) as session:
        baseline_subs = [
            _measured(session, config, team_id=teams["Logistic regression"].id, project_id=BASELINE_PROJECT,
                      job_id=900 + k, rng=rng, minute=70 + 10 * k)  # fmt: skip
            for k in range(2)
        ]
        refresh_boards(session=session, event_id=event_id, config=config, now=DURING)
        with_baseline = _ranks(session)
    # the teams' ranks, scores and front are exactly those without the baseline; the baseline has no rank
    assert {k: v for k, v in with_baseline.items() if k[0] in team_subs} == without
    assert all(with_baseline[(sid, "live")][0] is None for sid in baseline_subs)
    assert not any(with_baseline[(sid, "live")][2] for sid in baseline_subs)  # never on the teams' front

    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, config, clock=Clock(DURING), cache_ttl_s=0.0)) as client:
        board = client.get("/api/v1/leaderboard").json()
        text = client.get("/api/v1/leaderboard.csv").text
        page = client.get("/").text
        screen = client.get("/screen").text
        (base,) = [r for r in board["rows"] if r["baseline"]]
        alpha = next(r for r in board["rows"] if r["team_name"] == "alpha")
        baseline_page = client.get(f"/teams/{base['team_id']}").text
        team_page = client.get(f"/teams/{alpha['team_id']}").text
        totals = client.get("/api/v1/event").json()["totals"]
        event_page = client.get("/event").text
        submissions = client.get("/api/v1/submissions").json()

    assert base["team_name"] == "Logistic regression" and base["rank"] is None and base["vs_baselines"] == []
    assert "baseline, never ranked" in base["note"]
    ranked = [r for r in board["rows"] if not r["baseline"]]
    assert len(ranked) == 3
    for row in ranked:  # each team's line against the baseline, as greenhack.competition words it
        (vs,) = row["vs_baselines"]
        expected = compare_with_baselines(
            Standing(row["team_name"], row["performance"], row["energy_j"], row["impact_total"]),
            [Standing(base["team_name"], base["performance"], base["energy_j"], base["impact_total"])],
            metric="accuracy",
        )[0]
        assert vs["text"] == expected.text and vs["baseline"] == "Logistic regression"
        assert vs["energy_change"] == pytest.approx(row["energy_j"] / base["energy_j"] - 1)
        assert vs["performance_delta"] == pytest.approx(row["performance"] - base["performance"])
        assert re.fullmatch(r"(\d+% (less|more) energy than|[\d.]+× the energy of|the same energy as) the baseline"
                            r"( at ([+−][\d.]+ points of accuracy|the same accuracy))?", vs["text"]), vs["text"]

    rows = list(csv.DictReader(io.StringIO(text)))
    by_team = {r["team_name"]: r for r in rows}
    assert by_team["Logistic regression"]["baseline"] == "true" and by_team["Logistic regression"]["rank"] == ""
    assert by_team["alpha"]["baseline"] == "false"
    assert by_team["alpha"]["vs_baseline"].lstrip("'") == alpha["vs_baselines"][0]["text"]
    assert float(by_team["alpha"]["vs_baseline_energy_change"]) == pytest.approx(
        alpha["vs_baselines"][0]["energy_change"])  # fmt: skip

    # the board: the badge in the baseline's row, the sentence under each team's name, the chart's square
    row_html = re.search(r'<tr class="baseline-row">.*?</tr>', page, re.S)
    assert row_html is not None and ">Baseline</span>" in row_html.group(0)
    assert "Logistic regression" in row_html.group(0)
    assert page.count('class="vs-baseline"') == 3
    assert f'<small class="vs-baseline">{alpha["vs_baselines"][0]["text"]}</small>' in page
    squares = re.findall(r'<rect class="point baseline-point"[^>]*data-submission="(\d+)"', page)
    assert sorted(int(s) for s in squares) == sorted(baseline_subs)
    assert "Baseline (never ranked)" in page
    assert 'Logistic regression <span class="badge badge-baseline">Baseline</span></th>' in screen  # projector view

    # the team page says how the team compares; the baseline's page is no competing team's
    assert alpha["vs_baselines"][0]["text"] in team_page
    # its learning curve draws the headline baseline's public-rows accuracy as the dashed reference
    reference = f"<title>baseline Logistic regression: accuracy {format_number(base['performance'], sig=4)}</title>"
    assert reference in team_page and "chart learning-curve-chart" in team_page
    assert "carbon budget" in team_page.lower()
    assert "The organisers' baseline: its jobs run, are measured and scored like a team's" in baseline_page
    assert "uses no submission quota and no carbon budget" in baseline_page
    assert "Carbon budget" not in baseline_page and "left today" not in baseline_page

    # the event's totals count the baseline's jobs and show them apart; it is no team
    mine = [x for x in submissions if x["id"] in baseline_subs]
    assert totals["teams"] == 3 and totals["baseline_jobs"] == 2
    assert totals["baseline_energy_j"] == pytest.approx(sum(x["energy_j"] for x in mine))
    assert totals["energy_j"] == pytest.approx(sum(x["energy_j"] for x in submissions))
    assert "of it the organisers' baselines: 2 jobs" in event_page

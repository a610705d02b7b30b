"""Fact sheets and energy per 1,000 predictions through the whole platform (issue 19): the jobs keep a fact sheet
beside their predictions in GitLab, the worker reads and validates it, the store keeps it, the board ranks by the
YAML's factsheet.invalid and shows the answers and the per-1k figures, the submission page the located problems.

PostgreSQL, the fake GitLab at its HTTP API, a real Prometheus backfilled with the exporters' samples, a real
BoaviztAPI, the platform's worker and web app.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from fb_world import GROUP, TAG, World, backfilled_prometheus, deliver_finished, platform_worker, write_event

from greenhack.config import EventConfig, load_event
from greenhack.services.prometheus import PrometheusServer
from greenhack.settings import Settings
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Factsheet, Submission
from greenhack.testing.runner_log import LogTimes, runner_log
from greenhack.web import create_app

pytestmark = pytest.mark.slow

PREDICTIONS = b"id,label\n1,big\n2,small\n3,big\n4,small\n"  # the 4 truth rows of fb_world's event
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=15)
WINDOWS = [(BASE + timedelta(minutes=2 + 3 * k), BASE + timedelta(minutes=3 + 3 * k)) for k in range(3)]

FACTSHEET = """
factsheet:
  file: factsheet.yaml
  invalid: {invalid}
  questions:
    - {{key: model_family, question: "Which model family?", type: choice,
        choices: [linear, tree ensemble, neural network], board: true, label: Family}}
    - {{key: parameters, question: "How many trainable parameters?", type: integer, min: 0, board: true}}
    - {{key: quantised, question: "Are the weights quantised?", type: boolean}}
    - {{key: trained_from_scratch, question: "Trained from scratch?", type: boolean}}
    - {{key: external_data, question: "What data besides the event's?", type: text, required: false}}
"""

GOOD_SHEET = b"""# answers to the event's fact sheet
model_family: Linear
parameters: 650
quantised: false
trained_from_scratch: true
external_data: none
"""
BAD_SHEET = b"""model_family: linear
parameters: many
quantised: no
"""


@pytest.fixture(scope="module")
def backfilled(prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    return backfilled_prometheus(prometheus_factory, start=BASE, busy=WINDOWS, seed=23)


def _config(
    tmp_path: Path, world: World, backfilled: PrometheusServer, boavizta_url: str, invalid: str
) -> EventConfig:
    return write_event(tmp_path, gitlab_url=world.fake.url, prometheus_url=backfilled.url, boavizta_url=boavizta_url,
                       budget_g=None, extra_sections=FACTSHEET.format(invalid=invalid))  # fmt: skip


def _job(world: World, project_id: int, window: int, artifacts: dict[str, bytes]) -> dict[str, Any]:
    start, end = WINDOWS[window]
    # the runner's log, marks around the team's command (the whole window here), as the CI component prints them
    log = runner_log(LogTimes(started=start, command_start=start, command_end=end, finished=end))
    return world.fake.run_job(project_id, status="success", started_at=start, finished_at=end,
                              runner_id=world.runner_id, tags=[TAG], artifacts=artifacts, log=log)  # fmt: skip


def test_fact_sheets_are_read_validated_stored_ranked_by_the_yaml_and_shown(
    tmp_path: Path, world: World, sessions: SessionFactory, backfilled: PrometheusServer, boavizta_url: str,
    postgres_url: str,
) -> None:  # fmt: skip
    config = _config(tmp_path, world, backfilled, boavizta_url, "unranked")
    other = world.fake.create_project("team-b", namespace_id=world.fake.find_or_create_group(GROUP)["id"])
    answered = _job(world, world.project_id, 0, {"predictions.csv": PREDICTIONS, "factsheet.yaml": GOOD_SHEET})
    wrong = _job(world, world.project_id, 1, {"predictions.csv": PREDICTIONS, "factsheet.yaml": BAD_SHEET})
    missing = _job(world, int(other["id"]), 2, {"predictions.csv": PREDICTIONS})
    for job in (answered, wrong, missing):
        deliver_finished(world, config, sessions, job)
    for worker in platform_worker(config, world, sessions, boavizta_url=boavizta_url, factors=tmp_path / "f.json"):
        worker.run(until_idle=True)
    with sessions() as session:
        rows = {r.gitlab_job_id: r for r in session.execute(sa.select(Submission)).scalars()}
        sheets = {f.submission_id: f for f in session.execute(sa.select(Factsheet)).scalars()}
    assert {r.status for r in rows.values()} == {"scored"}, [r.reason for r in rows.values()]
    good, bad, none = (sheets[rows[j["id"]].id] for j in (answered, wrong, missing))
    assert good.present and good.problems == [] and good.answers == {
        "model_family": "linear", "parameters": 650, "quantised": False, "trained_from_scratch": True,
        "external_data": "none",
    }  # fmt: skip
    assert bad.present and bad.answers == {"model_family": "linear", "quantised": False}
    assert bad.problems == [
        "factsheet.yaml:1: trained_from_scratch: required answer missing (Trained from scratch?)",
        "factsheet.yaml:2: parameters: 'many' is not a number; write it in digits, e.g. 650 or 1.2e6",
    ], bad.problems
    assert not none.present and none.answers == {} and none.problems == []

    settings = Settings(database_url=postgres_url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, config, clock=lambda: datetime.now(UTC))) as client:
        board = {r["team_name"]: r for r in client.get("/api/v1/leaderboard").json()["rows"]}
        page = client.get("/").text
        wrong_page = client.get(f"/submissions/{rows[wrong['id']].id}").text
        missing_page = html.unescape(client.get(f"/submissions/{rows[missing['id']].id}").text)
    # factsheet.invalid: unranked: team-b (no fact sheet) is not ranked, the reason on its submission's page (as a
    # team whose only submission is excluded, it has no board line); team-a is ranked on the submission whose fact
    # sheet is valid
    assert set(board) == {"team-a"}, board
    assert "Not ranked</strong>" in missing_page
    assert "no fact sheet: the job kept no factsheet.yaml artifact" in missing_page
    assert board["team-a"]["rank"] == 1 and board["team-a"]["submission_id"] == rows[answered["id"]].id
    assert board["team-a"]["factsheet_answers"]["model_family"] == "linear"
    # energy and impact per 1,000 predictions: the job's figures over its 4 scored rows
    a = rows[answered["id"]]
    assert board["team-a"]["scored_rows"] == 4
    assert board["team-a"]["energy_wh_per_1k"] == pytest.approx(a.energy_j / 3600 * 1000 / 4)
    assert board["team-a"]["gwp_g_per_1k"] == pytest.approx(a.gwp_kgco2e * 1000 * 1000 / 4)
    assert board["team-a"]["impact_per_1k"] == pytest.approx(a.impact_total * 1000 / 4)
    # the board's columns: the per-1k figures and the answers of the questions the YAML shows on the board
    headers = [h.strip() for h in re.findall(r'<th scope="col"[^>]*>\s*(?:<a [^>]*>)?([^<]+)', page)]
    assert headers[-4:] == ["Energy / 1k predictions", "Impact / 1k predictions", "Family", "parameters"]
    assert re.search(r'data-factsheet="model_family">linear</td>\s*<td class="cell-factsheet" data-label="parameters" '
                     r'data-factsheet="parameters">650</td>', page)  # fmt: skip
    assert "quantised" not in re.findall(r'data-factsheet="(\w+)"', page)  # not a board question
    # the submission page: every question with its answer, the problems located in the team's file
    text = html.unescape(wrong_page)
    assert "2 problems in <code>factsheet.yaml</code>; until it is fixed, the submission is not ranked" in text
    assert "factsheet.yaml:2: parameters: 'many' is not a number" in text
    assert re.search(r"Are the weights quantised\?.*?</th>\s*<td>no</td>", text, re.S)

    # factsheet.invalid: rank ranks them all on the next ranking, from what is stored (no evaluation again)
    ranked = load_event(_config(tmp_path, world, backfilled, boavizta_url, "rank").source or "")
    with transaction(sessions, "rank") as session:
        event_id = rows[answered["id"]].event_id
        refresh_boards(session=session, event_id=event_id, config=ranked, now=datetime.now(UTC))
    with TestClient(create_app(settings, ranked, clock=lambda: datetime.now(UTC))) as client:
        board = {r["team_name"]: r for r in client.get("/api/v1/leaderboard").json()["rows"]}
    assert board["team-b"]["rank"] is not None and board["team-a"]["rank"] is not None

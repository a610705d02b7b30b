"""Intervals on the board (issue 17): with ``ranking.ties: significant`` the rank column writes ``=2`` for a shared
rank; each row shows its energy, impact and performance intervals; the Pareto chart draws error bars on both axes
from the stored intervals; the submission page explains each part of the energy's interval in one sentence; the
JSON and the CSV carry the ends. Everything stored through record_outcome and ranked by a worker's board refresh,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import DURING, EVENT_YAML, Clock

from greenhack.config import EventConfig, parse_event
from greenhack.impacts import impacts_from_factors
from greenhack.scoring.bootstrap import bootstrap_performance
from greenhack.scoring.evaluate import score_predictions, split_for
from greenhack.scoring.truth import load_truth
from greenhack.settings import Settings
from greenhack.status import Status
from greenhack.store import crud, queue
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission
from greenhack.store.outcomes import record_outcome
from greenhack.store.synthetic import synthetic_factors, synthetic_job
from greenhack.telemetry.models import EnergyUncertainty
from greenhack.web import create_app

ROWS = 1000


@pytest.fixture
def config(tmp_path: Path) -> EventConfig:
    labels = "".join(f"{i},{'ab'[i % 2]}\n" for i in range(ROWS))
    (tmp_path / "truth.csv").write_text("id,label\n" + labels, encoding="utf-8")
    text = EVENT_YAML.replace("weights: {performance: 0.5, impact: 0.5}",
                              "weights: {performance: 0.5, impact: 0.5}\n  ties: significant")  # fmt: skip
    return parse_event(text, source=tmp_path / "event.yaml")


def _submit(sessions: SessionFactory, config: EventConfig, *, job: int, wrong_every: int, energy_j: float,
            noise_j: float) -> int:  # fmt: skip
    truth = load_truth(config)
    split = split_for(config, truth)
    rows = "".join(f"{i},{'ba'[i % 2] if i % wrong_every == 0 else 'ab'[i % 2]}\n" for i in range(ROWS))
    result = score_predictions(("id,label\n" + rows).encode(), config=config, truth=truth, split=split)
    assert result.performance is not None and result.predictions is not None
    replicates = bootstrap_performance(result.predictions, truth, metric="accuracy", split=split,
                                       seed=config.event.split_seed)  # fmt: skip
    start = DURING - timedelta(hours=2) + timedelta(minutes=job)
    base = synthetic_job(random.Random(7), server="gpu-1", start=start).energy  # one duration: one embodied share
    parts = EnergyUncertainty(confidence=0.95, integration_j=noise_j, edges_j=0.1 * noise_j, sensor_j=0.02 * energy_j)
    energy = base.model_copy(update={"total_energy_j": energy_j, "uncertainty": parts})
    impacts = impacts_from_factors(synthetic_factors("FRA", fetched_at=start), config.impact, energy_j,
                                   energy.duration_s, energy_low_j=energy.total_energy_low_j,
                                   energy_high_j=energy.total_energy_high_j)  # fmt: skip
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        team = crud.ensure_team(session=s, event_id=event.id, name=f"team-{job}", gitlab_project_id=job)
        queued = queue.enqueue(session=s, event_id=event.id, team_id=team.id, gitlab_project_id=job,
                               gitlab_job_id=job, submitted_at=start, now=start)  # fmt: skip
    with transaction(sessions) as s:
        assert queue.claim(session=s, worker="w", lease_s=600, now=DURING) is not None
        record_outcome(session=s, submission_id=queued.submission_id, worker="w", status=Status.SCORED,
                       energy=energy, impacts=impacts, performance=result.performance, replicates=replicates,
                       now=DURING)  # fmt: skip
    return queued.submission_id


@pytest.fixture
def board(
    database_url: str, sessions: SessionFactory, config: EventConfig, clock: Clock
) -> Iterator[tuple[TestClient, dict[str, int]]]:
    ids = {
        "a": _submit(sessions, config, job=1, wrong_every=10, energy_j=9000.0, noise_j=300.0),
        "b": _submit(sessions, config, job=2, wrong_every=10, energy_j=9100.0, noise_j=300.0),
        "best": _submit(sessions, config, job=3, wrong_every=50, energy_j=4000.0, noise_j=60.0),
    }
    with transaction(sessions) as s:
        event_id = crud.ensure_event(session=s, name=config.event.name).id
        refresh_boards(session=s, event_id=event_id, config=config, now=DURING)
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    client = TestClient(create_app(settings, config, clock=clock, cache_ttl_s=0))
    client.__enter__()
    yield client, ids
    client.__exit__(None, None, None)


def test_the_json_and_the_csv_carry_the_shared_ranks_and_the_intervals(
    board: tuple[TestClient, dict[str, int]], sessions: SessionFactory
) -> None:
    client, ids = board
    data = client.get("/api/v1/leaderboard").json()
    assert (data["ties"], data["confidence"]) == ("significant", 0.95)
    rows = {r["submission_id"]: r for r in data["rows"]}
    assert [rows[ids[k]]["rank_label"] for k in ("best", "a", "b")] == ["1", "=2", "=2"]
    assert rows[ids["a"]]["tied"] and not rows[ids["best"]]["tied"]
    with sessions() as s:
        a = s.get(Submission, ids["a"])
        assert a is not None
        stored = (a.energy_low_j, a.energy_high_j, a.impact_measurement_low, a.impact_measurement_high)
    row = rows[ids["a"]]
    assert (row["energy_low_j"], row["energy_high_j"]) == pytest.approx(stored[:2])
    assert (row["impact_measurement_low"], row["impact_measurement_high"]) == pytest.approx(stored[2:])
    assert row["impact_measurement_low"] < row["impact_total"] < row["impact_measurement_high"]
    assert row["performance_low"] < row["performance"] < row["performance_high"]
    lines = list(csv.DictReader(io.StringIO(client.get("/api/v1/leaderboard.csv").text)))
    by_id = {int(line["submission_id"]): line for line in lines}
    line = by_id[ids["a"]]
    assert (line["rank"], line["tied"], line["measurements"]) == ("2", "true", "1")
    assert float(line["accuracy_low"]) == pytest.approx(row["performance_low"])
    (energy_low,) = [c for c in line if c.startswith("energy_low_")]
    unit = energy_low.removeprefix("energy_low_")
    in_j = {"J": 1.0, "Wh": 3600.0, "kWh": 3.6e6}[unit]
    assert float(line[energy_low]) * in_j == pytest.approx(row["energy_low_j"])
    assert float(line[f"energy_high_{unit}"]) * in_j == pytest.approx(row["energy_high_j"])
    assert any(c.startswith("impact_measurement_low_") for c in line)


def test_the_board_page_writes_shared_ranks_intervals_and_error_bars(board: tuple[TestClient, dict[str, int]]) -> None:
    client, ids = board
    page = client.get("/").text
    assert re.findall(r'<td class="cell-rank" data-label="Rank"[^>]*>([^<]+)</td>', page) == ["1", "=2", "=2"]
    assert "are shared (<code>=2</code>)" in page
    assert len(re.findall(r'<small class="interval" title="measurement interval', page)) == 6  # energy, impact
    assert len(re.findall(r'<small class="interval" title="bootstrap interval">', page)) == 3
    # error bars on both axes of every point, from the stored intervals
    bars = re.findall(r'<path class="error-bar" data-submission="(\d+)"', page)
    assert sorted(bars) == sorted(str(i) for i in ids.values() for _ in range(2))


def test_the_submission_page_explains_each_part_of_the_interval(board: tuple[TestClient, dict[str, int]]) -> None:
    client, ids = board
    page = client.get(f"/submissions/{ids['a']}").text
    assert "At 95 % confidence the energy lies between" in page
    for part in ("Integration ±", "Window edges ±", "Sensor ±"):
        assert part in page
    assert "Measurement interval of the gwp" in page and "BoaviztAPI's factors'" in page
    assert "Rank <strong>=2</strong>" in page and "The rank is shared: at 95 % confidence" in page
    assert "Performance interval on this board:" in page

"""The board as CSV (issue 18): one unit per quantity column, named in its header and the same as the board
page's; the job's duration, server, window and timestamps; booleans as ``true``/``false``."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from web_support import Seeder

from greenhack.units import family_of

UNIT_COLUMN = re.compile(r"^(?P<name>[a-z_]+)_(?P<unit>[^_]+)$")


def _read(client: TestClient) -> tuple[list[str], list[dict[str, str]]]:
    text = client.get("/api/v1/leaderboard.csv").text
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def _page_unit(page: str, label: str) -> str:
    found = set(re.findall(rf'data-label="{label} \(([^)·]+?)\)"', page))
    assert len(found) == 1, (label, found)
    return found.pop()


def test_every_quantity_column_names_its_one_unit_as_the_page_does(client: TestClient, seed: Seeder) -> None:
    seed(teams=4, per_team=2)
    header, lines = _read(client)
    board = client.get("/api/v1/leaderboard").json()
    page = client.get("/").text
    quantities = {m.group("name"): m.group("unit") for h in header if (m := UNIT_COLUMN.match(h))}
    quantities = {name: unit for name, unit in quantities.items() if family_of(unit) is not None}
    assert {"impact_total", "impact_min", "impact_max", "impact_use", "impact_embodied", "energy", "duration",
            "team_energy", "team_gwp"} <= set(quantities), header
    # the impact's five columns share one unit, the board page's; the energy column's unit is the page's too
    impact_unit = _page_unit(page, "Impact")
    assert {quantities[c] for c in ("impact_total", "impact_min", "impact_max", "impact_use", "impact_embodied")} == {
        impact_unit
    }
    assert quantities["energy"] == _page_unit(page, "Energy")
    assert "impact_unit" not in header and "energy_j" not in header  # no unit column apart, no unit twice
    # the values are the JSON's (in its stored units) written in the header's unit
    factors = {"gCO2e": 1e3, "mgCO2e": 1e6, "kgCO2e": 1.0, "J": 1.0, "Wh": 1 / 3600, "kWh": 1 / 3.6e6}
    by_team = {row["team_name"]: row for row in board["rows"]}
    for line in lines:
        row = by_team[line["team_name"]]
        assert float(line[f"impact_total_{impact_unit}"]) == pytest.approx(row["impact_total"] * factors[impact_unit])
        energy = f"energy_{quantities['energy']}"
        assert float(line[energy]) == pytest.approx(row["energy_j"] * factors[quantities["energy"]])
        parts = float(line[f"impact_use_{impact_unit}"]) + float(line[f"impact_embodied_{impact_unit}"])
        assert parts == pytest.approx(float(line[f"impact_total_{impact_unit}"]))  # use + embodied, as counted
        for cell in line.values():
            assert "e-" not in cell and "e+" not in cell, line  # never in exponent notation


def test_the_job_its_server_window_and_timestamps_and_booleans(client: TestClient, seed: Seeder) -> None:
    ids = seed(teams=3, per_team=1)
    header, lines = _read(client)
    for column in ("server", "window_start", "window_end", "created_at", "finished_at", "pareto"):
        assert column in header, header
    duration = next(h for h in header if h.startswith("duration_"))
    for line in lines:
        detail = client.get(f"/api/v1/submissions/{line['submission_id']}").json()["submission"]
        assert int(line["submission_id"]) in ids
        assert line["server"] == detail["server"] == "gpu-1"
        start, end = (datetime.fromisoformat(line[c].replace("Z", "+00:00")) for c in ("window_start", "window_end"))
        assert start == datetime.fromisoformat(detail["window_start"].replace("Z", "+00:00"))
        assert line["window_start"].endswith("Z") and (end - start).total_seconds() > 0
        assert float(line[duration]) > 0
        assert datetime.fromisoformat(line["finished_at"].replace("Z", "+00:00")) >= datetime.fromisoformat(
            line["created_at"].replace("Z", "+00:00")
        )
        assert line["pareto"] in ("true", "false")
    assert "true" in {line["pareto"] for line in lines}

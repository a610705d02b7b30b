"""The team page plots the team's learning curve (issue 19): every job over time, the scored ones' accuracy with
the best so far, the cumulative footprint of all of them (a job with no accuracy still cost), and says in one
sentence what the team's trial and error cost so far, the energy and carbon the team's totals count.

SQLite and PostgreSQL; synthetic submissions stored and ranked as the workers store them; the web app."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from web_support import DURING, Seeder

from greenhack.units import format_quantity

SVG = "{http://www.w3.org/2000/svg}"


def test_the_team_page_draws_every_job_and_says_what_the_trial_and_error_cost(
    seed: Seeder, app_factory: Callable[..., TestClient]
) -> None:
    scored = seed(teams=1, per_team=3, start=DURING - timedelta(hours=3))
    invalid = seed(teams=1, per_team=1, start=DURING - timedelta(hours=1), status="invalid", seed=2)
    client = app_factory()
    (team,) = client.get("/api/v1/teams").json()
    page = client.get(f"/teams/{team['id']}").text

    sentence = (
        f"Its trial and error has cost {format_quantity(team['energy_j'], 'J')} and "
        f"{format_quantity(team['gwp_kgco2e'], 'kgCO2e')} so far, over 4 jobs (failed and invalid ones included: "
        "they ran too)."
    )
    assert f'<p class="trial-cost">{sentence}</p>' in page
    match = re.search(r'<svg[^>]*class="chart learning-curve-chart".*?</svg>', page, re.S)
    assert match is not None, page
    root = ET.fromstring(match.group(0))
    circles = list(root.iter(f"{SVG}circle"))
    on_steps = {int(c.attrib["data-submission"]) for c in circles if c.attrib["class"] == "step"}
    on_metric = {int(c.attrib["data-submission"]) for c in circles if c.attrib["class"] == "point"}
    assert on_steps == set(scored + invalid)  # every job cost, the invalid one too
    assert on_metric == set(scored)  # only the scored ones have an accuracy
    axis = [t.text or "" for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "axis-label"]
    assert any(text.endswith("since the event opened") for text in axis), axis
    assert "gwp (" in " ".join(axis)
    assert not any(e.attrib.get("class") == "baseline" for e in root.iter(f"{SVG}line"))  # no baseline here

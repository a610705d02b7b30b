"""Server-rendered pages: board (sorting, units, chart), submission, team, event; offline assets."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import Seeder, admin_headers


def test_board_page_shows_units_directions_and_chart(client: TestClient, seed: Seeder) -> None:
    seed(teams=3, per_team=2)
    page = client.get("/").text
    assert "accuracy: <strong>higher is better</strong>" in page
    # one unit per column, picked from its values: the seeded jobs weigh grams, so the legend, the header and
    # the phone card labels say gCO2e and the cells are bare numbers (issue 18: the header said kgCO2e)
    legend = re.search(r"gwp \((\w+)\): <strong>lower is better</strong>", page)
    assert legend is not None and legend.group(1) == "gCO2e"
    cells = re.findall(r'data-label="Impact \((\w+)\)">([^<\s]+)', page)
    assert len(cells) == 3 and {u for u, _ in cells} == {"gCO2e"}
    assert all(re.fullmatch(r"\d+(\.\d+)?", v) for _, v in cells), cells
    assert 'gCO2e, lower is better</small>' in page
    # eight columns, and energy and impact per 1,000 predictions (issue 19)
    assert page.count('<th scope="col"') == 8 + 2 and 'aria-sort="ascending"' in page
    assert '<svg class="chart pareto-chart"' in page and page.count("<circle") + page.count("h0") == 6
    assert 'class="front"' in page or page.count("on-front") >= 1
    assert 'name="viewport"' in page
    # nothing is fetched from elsewhere: venues are often offline
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)


def test_board_sorts_server_side(client: TestClient, seed: Seeder) -> None:
    seed(teams=4, per_team=1)
    rows = client.get("/api/v1/leaderboard").json()["rows"]
    page = client.get("/", params={"sort": "energy", "order": "desc"}).text
    shown = re.findall(r'<th scope="row" data-label="Team"><a href="/teams/\d+">([^<]+)</a>', page)
    expected = [r["team_name"] for r in sorted(rows, key=lambda r: r["energy_j"], reverse=True)]
    assert shown == expected
    assert client.get("/", params={"sort": "nonsense"}).status_code == 422


def test_submission_team_and_event_pages(client: TestClient, seed: Seeder) -> None:
    ids = seed(teams=2, per_team=2)
    page = client.get(f"/submissions/{ids[0]}").text
    assert 'data-status="scored"' in page and "timeline-chart" in page and "<polyline" in page
    assert "CPU + memory" in page and "by petrol car" in page and 'class="formula"' in page
    # the GitLab job URL of a team's (private) project is for admins only
    assert "/-/jobs/" not in page
    assert "/-/jobs/" in client.get(f"/submissions/{ids[0]}", headers=admin_headers()).text
    team_id = client.get(f"/api/v1/submissions/{ids[0]}").json()["submission"]["team_id"]
    team = client.get(f"/teams/{team_id}").text
    assert "<meter" in team and "submissions left today" in team
    event = client.get("/event").text
    assert "measured energy of 4 jobs" in event and "by petrol car" in event
    missing = client.get("/submissions/999999", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "does not exist" in missing.text


def test_static_assets_are_served_locally(client: TestClient) -> None:
    css = client.get("/static/style.css")
    js = client.get("/static/live.js")
    assert css.status_code == 200 and "@media (max-width: 40rem)" in css.text
    assert js.status_code == 200 and "data-live-version-url" in js.text
    version = client.get("/api/v1/version").json()
    assert version["board"] == "live" and isinstance(version["data_version"], int)

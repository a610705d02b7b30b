"""The JSON API on SQLite and PostgreSQL: board, CSV, chart points, submissions, teams, event, health, metrics."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_support import CLOSES, FREEZE, Clock, Seeder, admin_headers

from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Score, Submission, Team


def test_board_ranks_one_line_per_team_with_units(client: TestClient, seed: Seeder) -> None:
    seed(teams=4, per_team=3)
    r = client.get("/api/v1/leaderboard")
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["board"] == "live" and board["metric"] == "accuracy" and board["higher_is_better"] is True
    assert board["impact_unit"] == "kgCO2e" and board["impact_lower_is_better"] is True
    rows = board["rows"]
    assert len(rows) == 4 and len({row["team_id"] for row in rows}) == 4
    ranked = [row for row in rows if row["rank"] is not None]
    assert [row["rank"] for row in ranked] == list(range(1, len(ranked) + 1))
    assert ranked, "at least one team passes the 0.6 minimum with these seeds"
    for row in rows:
        assert row["submissions_count"] == 3
        assert row["impact_min"] <= row["impact_total"] <= row["impact_max"]
        assert row["energy_j"] > 0 and row["team_energy_j"] >= row["energy_j"]
        assert row["team_gwp_kgco2e"] > 0
    scores = [row["score"] for row in ranked]
    assert scores == sorted(scores, reverse=True)


def test_board_etag_and_not_modified(client: TestClient, seed: Seeder) -> None:
    seed(teams=2, per_team=1)
    first = client.get("/api/v1/leaderboard")
    again = client.get("/api/v1/leaderboard", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    seed(teams=1, per_team=1, seed=2, team_prefix="late")
    changed = client.get("/api/v1/leaderboard", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and len(changed.json()["rows"]) == 3


def test_csv_export_matches_the_board(client: TestClient, seed: Seeder) -> None:
    seed(teams=3, per_team=2)
    board = client.get("/api/v1/leaderboard").json()
    r = client.get("/api/v1/leaderboard.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(r.text)))
    assert [line["team_name"] for line in lines] == [row["team_name"] for row in board["rows"]]
    # the energy column names its unit, the board page's (issue 18: one unit per column, named in its header)
    (energy,) = [column for column in lines[0] if column in ("energy_J", "energy_Wh", "energy_kWh")]
    in_j = {"energy_J": 1.0, "energy_Wh": 3600.0, "energy_kWh": 3.6e6}[energy]
    assert "accuracy" in lines[0] and float(lines[0][energy]) * in_j == pytest.approx(board["rows"][0]["energy_j"])


def test_csv_cells_with_a_carriage_return_or_a_line_feed_read_back_whole(
    client: TestClient, seed: Seeder, sessions: SessionFactory
) -> None:
    """A bare CR was written unquoted, so a reader split the row there (issue 15)."""
    seed(teams=1, per_team=1, team_prefix="cr\rteam")
    seed(teams=1, per_team=1, seed=2, team_prefix="lf\nteam")
    seed(teams=1, per_team=1, seed=3, team_prefix="crlf\r\nteam")
    notes = {"cr\rteam-0": 'line one\rline "two"', "lf\nteam-0": "=1+1\nsecond", "crlf\r\nteam-0": "a,b\r\nc"}
    with transaction(sessions) as s:
        for name, note in notes.items():
            team_id = s.execute(sa.select(Team.id).where(Team.name == name)).scalar_one()
            ids = sa.select(Submission.id).where(Submission.team_id == team_id).scalar_subquery()
            s.execute(sa.update(Score).where(Score.submission_id.in_(ids)).values(note=note))
    board = client.get("/api/v1/leaderboard").json()
    text = client.get("/api/v1/leaderboard.csv").text
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert len(rows) == 1 + len(board["rows"]) == 4, rows
    header = rows[0]
    by_team = {row[header.index("team_name")]: row for row in rows[1:]}
    assert set(by_team) == set(notes)
    for name, row in by_team.items():
        assert len(row) == len(header)
        # the note's value survives, but for the formula guard's leading quote
        expected = "'" + notes[name] if notes[name].startswith("=") else notes[name]
        assert row[header.index("note")] == expected
    # a reader that splits lines first (as a spreadsheet's import preview does) sees no line break outside quotes
    outside = "".join(part for k, part in enumerate(text.split('"')) if k % 2 == 0)
    assert outside.count("\n") == 4 and "\r" not in outside


def test_pareto_points_flag_a_non_dominated_front(client: TestClient, seed: Seeder) -> None:
    seed(teams=4, per_team=3)
    points = client.get("/api/v1/pareto").json()["points"]
    assert len(points) == 12
    front = [p for p in points if p["pareto"]]
    assert front
    for p in front:  # nobody is both better and lighter than a front point
        assert not any(
            q["performance"] >= p["performance"]
            and q["impact_total"] <= p["impact_total"]
            and (q["performance"] > p["performance"] or q["impact_total"] < p["impact_total"])
            for q in points
        )


def test_submissions_teams_and_event_totals(client: TestClient, seed: Seeder) -> None:
    ids = seed(teams=2, per_team=2)
    listed = client.get("/api/v1/submissions", params={"limit": 10}).json()
    assert sorted(s["id"] for s in listed) == sorted(ids)
    detail = client.get(f"/api/v1/submissions/{ids[0]}").json()
    assert detail["submission"]["status"] == "scored"
    assert {i["criterion"] for i in detail["impacts"]} == {"gwp", "adpe", "pe", "energy"}
    assert detail["measurement"]["payload"]["timeline"]["series"]
    assert [p["split"] for p in detail["performances"]] == [
        "public"
    ]  # private rows stay hidden before the close
    assert {s["board"] for s in detail["scores"]} <= {"live", "frozen"}
    assert all(s["formula"] for s in detail["scores"])
    team_id = detail["submission"]["team_id"]
    team = client.get(f"/api/v1/teams/{team_id}").json()
    assert len(team["detail"]["submissions"]) == 2
    assert team["account"]["submissions_left_today"] == 8 and team["account"]["budget_g"] == 50
    assert abs(team["account"]["gwp_g"] - 1000 * team["detail"]["team"]["gwp_kgco2e"]) < 1e-9
    totals = client.get("/api/v1/event").json()["totals"]
    assert totals["submissions"] == 4 and totals["teams"] == 2 and totals["by_status"]["scored"] == 4
    assert abs(totals["energy_j"] - sum(s["energy_j"] for s in listed)) < 1e-6
    assert client.get("/api/v1/submissions/999999").status_code == 404
    assert client.get("/api/v1/teams/999999").status_code == 404
    assert client.get("/api/v1/submissions", params={"status": "bogus"}).status_code == 422


def test_freeze_and_close_decide_who_sees_which_board(client: TestClient, seed: Seeder, clock: Clock) -> None:
    seed(teams=2, per_team=1)  # before the freeze
    clock.now = FREEZE
    late = seed(teams=1, per_team=1, seed=3, team_prefix="late", start=FREEZE + timedelta(minutes=10))
    visitor = client.get("/api/v1/leaderboard").json()
    assert visitor["board"] == "frozen" and {r["team_name"] for r in visitor["rows"]} == {"team-0", "team-1"}
    assert client.get("/api/v1/leaderboard", params={"board": "live"}).status_code == 403
    live = client.get("/api/v1/leaderboard", params={"board": "live"}, headers=admin_headers()).json()
    assert len(live["rows"]) == 3
    hidden = client.get(f"/api/v1/submissions/{late[0]}").json()
    assert hidden["submission"]["performance_public"] is None and hidden["performances"] == []
    clock.now = CLOSES
    final = client.get("/api/v1/leaderboard").json()
    assert final["board"] == "final" and final["closed"] and len(final["rows"]) == 3
    detail = client.get(f"/api/v1/submissions/{late[0]}").json()
    assert {p["split"] for p in detail["performances"]} == {"public", "private"}


def test_healthz_metrics_and_openapi(client: TestClient, seed: Seeder) -> None:
    seed(teams=1, per_team=2)
    assert client.get("/healthz").text == "ok"
    client.get("/api/v1/leaderboard")
    text = client.get("/metrics").text
    assert 'greenhack_evaluations{status="scored"} 2.0' in text
    assert "greenhack_queue_length 0.0" in text
    assert "greenhack_evaluation_duration_seconds_count 2.0" in text
    assert (
        'greenhack_http_request_duration_seconds_count{method="GET",route="/api/v1/leaderboard",status="200"}'
        in text
    )
    schema = client.get("/openapi.json").json()
    assert {
        "/api/v1/leaderboard",
        "/api/v1/submissions/{submission_id}",
        "/api/v1/teams",
        "/api/v1/event",
        "/api/v1/leaderboard.csv",
        "/api/v1/admin/rescore",
    } <= set(schema["paths"])


def test_app_refuses_an_unmigrated_database(tmp_path, event_config) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from greenhack.errors import StoreError
    from greenhack.settings import Settings
    from greenhack.web import create_app

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(StoreError, match="greenhack db upgrade"):
        create_app(settings, event_config)


def test_client_factory_builds_independent_apps(app_factory: Callable[..., TestClient]) -> None:
    a, b = app_factory(), app_factory(admin_token=None)
    assert a.app is not b.app

"""The boards of an event with two phases and two hardware tracks, through the app on SQLite and PostgreSQL: the
board page and the JSON/CSV API choose a board with ``?phase=&track=`` (default: the open phase's board on the
first track, the last phase's final board once the event is over), a selector lists the (phase, track) pairs,
each phase follows its own freeze and close (the practice phase's private rows stay hidden while the final phase
scores on the same truth), a phase or track the event does not have is a clear 404, and with ``per_team:
selected`` the final phase's boards rank the submission an admin selected for the team, until the phase closes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import ADMIN_TOKEN, Clock

from greenhack.config import EventConfig, parse_event
from greenhack.settings import Settings
from greenhack.store import crud
from greenhack.store.boards import refresh_boards
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission
from greenhack.units import format_number
from greenhack.web import create_app

YAML = """
event: {name: Phased web, opens: 2026-12-01T09:00:00Z, closes: 2026-12-01T17:00:00Z}
task: {predictions: p.csv, truth: truth.csv, public_fraction: 0.3}
performance: {metric: accuracy, minimum: 0.5}
impact: {criterion: gwp, location: FRA, pue: 1.2}
ranking: {method: weighted, weights: {performance: 0.5, impact: 0.5}}
telemetry: {prometheus: "http://127.0.0.1:9090"}
boavizta: {url: "http://127.0.0.1:5000"}
phases:
  - {name: practice, opens: 2026-12-01T09:00:00Z, closes: 2026-12-01T11:30:00Z}
  - {name: final, opens: 2026-12-01T12:00:00Z, closes: 2026-12-01T17:00:00Z, freeze: 2026-12-01T16:00:00Z,
     per_team: selected}
servers:
  - {name: gpu-1, track: a100, runner_tags: [a], scaphandre: '{instance="a"}', gpu: '{instance="b"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA A100 80GB}}}
  - {name: gpu-3, track: h100, runner_tags: [h], scaphandre: '{instance="c"}', gpu: '{instance="d"}',
     hardware: {cpu: {name: Intel Xeon Gold 6248}, ram_gb: 64, gpu: {name: NVIDIA H100 SXM 80GB}}}
"""
T = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
# (team, server, created at)
JOBS = [
    ("early", "gpu-1", T + timedelta(hours=10)),  # practice / a100
    ("amber", "gpu-1", T + timedelta(hours=13)),  # final / a100
    ("hopper", "gpu-3", T + timedelta(hours=13, minutes=30)),  # final / h100
    ("hopper", "gpu-3", T + timedelta(hours=14)),  # final / h100
    ("late-owl", "gpu-1", T + timedelta(hours=11, minutes=45)),  # between the phases: on no board
]


@pytest.fixture
def config(tmp_path: Path) -> EventConfig:
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    return parse_event(YAML, source=tmp_path / "event.yaml")


@pytest.fixture
def clock() -> Clock:
    return Clock(T + timedelta(hours=15))  # the final phase is open, not frozen


@pytest.fixture
def client(
    database_url: str, config: EventConfig, clock: Clock, sessions: SessionFactory
) -> Iterator[TestClient]:
    rng = random.Random(4)
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        factors = synthetic_factors("FRA", fetched_at=T)
        for job_id, (team, server, created) in enumerate(JOBS, start=1):
            row = crud.ensure_team(session=s, event_id=event.id, name=team)
            write_synthetic_submission(
                session=s, config=config, event_id=event.id, team_id=row.id, project_id=job_id, job_id=job_id,
                job=synthetic_job(rng, server=server, start=created + timedelta(seconds=5)), factors=factors,
            )  # fmt: skip
        refresh_boards(session=s, event_id=event.id, config=config, now=T + timedelta(hours=15))
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url, admin_token=ADMIN_TOKEN, webhook_secret="hook-secret", _env_file=None
    )
    with TestClient(create_app(settings, config, clock=clock, cache_ttl_s=0.0)) as test_client:
        yield test_client


def _teams(body: dict[str, object]) -> list[str]:
    rows = body["rows"]
    assert isinstance(rows, list)
    return [row["team_name"] for row in rows]


def test_the_default_board_is_the_open_phase_on_the_first_track(client: TestClient) -> None:
    body = client.get("/api/v1/leaderboard").json()
    assert (body["phase"], body["track"], body["board"]) == ("final", "a100", "live")
    assert _teams(body) == ["amber"]
    h100 = client.get("/api/v1/leaderboard", params={"phase": "final", "track": "h100"}).json()
    assert (h100["phase"], h100["track"]) == ("final", "h100") and _teams(h100) == ["hopper"]
    practice = client.get("/api/v1/leaderboard", params={"phase": "practice", "track": "a100"}).json()
    assert _teams(practice) == ["early"]  # a closed phase's live board stays readable
    points = client.get("/api/v1/pareto", params={"phase": "final", "track": "h100"}).json()
    assert len(points["points"]) == 2 and points["track"] == "h100"


def test_each_phase_shows_its_private_rows_on_its_own_terms(client: TestClient, clock: Clock) -> None:
    # the practice phase closed, but the final phase scores on the same truth: its final board waits
    refused = client.get("/api/v1/leaderboard", params={"phase": "practice", "board": "final"})
    assert refused.status_code == 403
    assert "published at 2026-12-01 17:00:00 UTC, when the last phase scoring on the same truth closes" in (
        refused.json()["detail"]
    )
    admin = client.get(
        "/api/v1/leaderboard",
        params={"phase": "practice", "board": "final"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert admin.status_code == 200 and _teams(admin.json()) == ["early"]
    clock.now = T + timedelta(hours=16, minutes=30)  # the final phase's freeze
    frozen = client.get("/api/v1/leaderboard", params={"track": "h100"}).json()
    assert frozen["board"] == "frozen" and frozen["phase"] == "final"
    assert client.get("/api/v1/leaderboard", params={"phase": "practice"}).json()["board"] == "live"
    clock.now = T + timedelta(hours=17)  # the event is over: the last phase's final board
    final = client.get("/api/v1/leaderboard").json()
    assert (final["phase"], final["track"], final["board"]) == ("final", "a100", "final")
    assert client.get("/api/v1/leaderboard", params={"phase": "practice"}).json()["board"] == "final"


def test_a_phase_or_track_the_event_does_not_have_is_a_clear_404(client: TestClient) -> None:
    phase = client.get("/api/v1/leaderboard", params={"phase": "warmup"})
    assert phase.status_code == 404
    assert phase.json()["detail"] == "no phase 'warmup' in the event (phases: practice, final)"
    track = client.get("/", params={"track": "tpu"}, headers={"Accept": "text/html"})
    assert track.status_code == 404 and "no track &#39;tpu&#39; in the event (tracks: a100, h100)" in track.text


def test_the_board_page_lists_the_boards_and_keeps_its_phase_and_track(client: TestClient) -> None:
    page = client.get("/", params={"phase": "final", "track": "h100"})
    assert page.status_code == 200
    for query, label in (
        ("phase=practice&amp;track=a100", "practice · a100"),
        ("phase=practice&amp;track=h100", "practice · h100"),
        ("phase=final&amp;track=a100", "final · a100"),
    ):
        assert f'<a href="?{query}">{label}</a>' in page.text
    assert '<a href="?phase=final&amp;track=h100" aria-current="page">final · h100</a>' in page.text
    assert "?phase=final&amp;track=h100&amp;sort=team" in page.text  # sorting stays on the board
    assert "leaderboard.csv?phase=final&amp;track=h100" in page.text
    assert "hopper" in page.text and "amber" not in page.text
    csv = client.get("/api/v1/leaderboard.csv", params={"phase": "final", "track": "h100"})
    assert csv.headers["content-disposition"] == 'attachment; filename="leaderboard-final-h100-live.csv"'
    assert csv.text.count("\n") == 2 and "hopper" in csv.text


def _hopper_rows(client: TestClient, board: str) -> list[dict[str, object]]:
    body = client.get(
        "/api/v1/leaderboard",
        params={"phase": "final", "track": "h100", "board": board},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()
    return [row for row in body["rows"] if row["team_name"] == "hopper"]


def test_the_final_board_ranks_the_selected_submission_until_the_phase_closes(
    client: TestClient, clock: Clock, sessions: SessionFactory, config: EventConfig
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    (best,) = _hopper_rows(client, "final")
    assert best["note"] and "the team selected no submission" in str(best["note"])  # its best, with a note
    hopper = sorted(s["id"] for s in client.get("/api/v1/submissions").json() if s["team_name"] == "hopper")
    other = next(i for i in hopper if i != best["submission_id"])
    answer = client.post(f"/api/v1/admin/submissions/{other}/select", headers=admin)
    assert answer.status_code == 200 and "final board of phase 'final'" in answer.json()["message"]
    with transaction(sessions) as s:  # a worker re-ranks the stale boards
        event_id = crud.ensure_event(session=s, name=config.event.name).id
        refresh_boards(session=s, event_id=event_id, config=config, now=clock.now)
    (chosen,) = _hopper_rows(client, "final")
    assert chosen["submission_id"] == other and chosen["rank"] == 1
    # selecting closes with the phase: the practice phase closed at 11:30, the final one at 17:00
    early = next(s["id"] for s in client.get("/api/v1/submissions").json() if s["team_name"] == "early")
    closed = client.post(f"/api/v1/admin/submissions/{early}/select", headers=admin)
    assert closed.status_code == 409
    assert "belongs to phase 'practice', which closed at 2026-12-01T11:30:00+00:00" in closed.json()["detail"]
    clock.now = T + timedelta(hours=17)
    late = client.post(f"/api/v1/admin/submissions/{other}/unselect", headers=admin)
    assert late.status_code == 409 and "its selections are final" in late.json()["detail"]
    assert client.post(f"/api/v1/admin/submissions/{other}/select").status_code == 401  # admins only


def test_a_submission_s_page_names_its_boards_or_why_it_is_on_none(client: TestClient) -> None:
    ids = {s["team_name"]: s["id"] for s in client.get("/api/v1/submissions").json()}
    hopper = client.get(f"/submissions/{ids['hopper']}").text
    assert "On the boards of phase &#39;final&#39;, track &#39;h100&#39;" in hopper
    assert '?phase=final&amp;track=h100">open them</a>' in hopper
    late = client.get(f"/submissions/{ids['late-owl']}").text
    assert (
        "On no board: the job was created at 2026-12-01T11:45:00+00:00, between phase &#39;practice&#39; (closed at "
        "2026-12-01T11:30:00+00:00) and phase &#39;final&#39; (opens at 2026-12-01T12:00:00+00:00)"
    ) in late
    assert all(row["team_name"] != "late-owl" for row in client.get("/api/v1/leaderboard").json()["rows"])


def test_once_the_event_is_over_a_team_s_curve_is_drawn_against_its_phase_s_baseline(
    tmp_path: Path, database_url: str, sessions: SessionFactory
) -> None:
    """The final board shows the private rows, so the team page's dashed reference (the curve plots public rows) is
    the baseline's line on the live board of the same phase and track, not of the event without phases."""
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n", encoding="utf-8")
    yaml = YAML + "gitlab: {url: 'https://gitlab.example.org', group: g}\n"
    yaml += "baselines:\n  - {project: logreg, name: Ref}\n"
    config = parse_event(yaml, source=tmp_path / "event.yaml")
    rng = random.Random(7)
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name=config.event.name)
        factors = synthetic_factors("FRA", fetched_at=T)
        for job_id, (team, baseline) in enumerate([("amber", False), ("Ref", True)], start=1):
            row = crud.ensure_team(session=s, event_id=event.id, name=team, gitlab_project_id=job_id,
                                   baseline=baseline)  # fmt: skip
            write_synthetic_submission(
                session=s, config=config, event_id=event.id, team_id=row.id, project_id=job_id, job_id=job_id,
                job=synthetic_job(rng, server="gpu-1", start=T + timedelta(hours=13, minutes=job_id)),
                factors=factors,
            )  # fmt: skip
        refresh_boards(session=s, event_id=event.id, config=config, now=T + timedelta(hours=15))
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN, _env_file=None)  # type: ignore[call-arg]
    clock = Clock(T + timedelta(hours=18))  # the event is over: visitors see the final phase's final board
    with TestClient(create_app(settings, config, clock=clock, cache_ttl_s=0.0)) as client:
        board = client.get("/api/v1/leaderboard").json()
        live = client.get(  # the live board itself is no longer public once the final one is
            "/api/v1/leaderboard",
            params={"phase": "final", "board": "live"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
        amber = next(t for t in client.get("/api/v1/teams").json() if t["name"] == "amber")
        page = client.get(f"/teams/{amber['id']}").text
    assert (board["phase"], board["board"]) == ("final", "final")
    ref = next(row for row in live["rows"] if row["baseline"])
    metric = config.performance.metric
    assert f"<title>baseline Ref: {metric} {format_number(ref['performance'], sig=4)}</title>" in page


def test_the_projector_shows_the_chosen_board_and_counts_down_to_its_phase_s_freeze_and_close(
    client: TestClient, clock: Clock
) -> None:
    # the final phase is open (15:00), freezes at 16:00 and closes at 17:00; the event itself names no freeze
    screen = client.get("/screen").text
    assert "amber" in screen and "hopper" not in screen  # the open phase on the first track
    assert 'data-until="2026-12-01T16:00:00+00:00"' in screen  # the phase's freeze
    assert 'data-until="2026-12-01T17:00:00+00:00"' in screen
    assert "final · a100" in screen  # which board the room reads
    h100 = client.get("/screen", params={"phase": "final", "track": "h100"}).text
    assert "hopper" in h100 and "amber" not in h100 and "final · h100" in h100
    # a closed phase: its live board, its close passed (11:30), no countdown
    practice = client.get("/screen", params={"phase": "practice"}).text
    assert "early" in practice and "amber" not in practice
    assert '<time datetime="2026-12-01T11:30:00+00:00">' in practice and "data-until" not in practice
    assert client.get("/screen", params={"phase": "warmup"}).status_code == 404
    clock.now = T + timedelta(hours=16, minutes=30)  # frozen: the room reads the frozen board, never the live one
    frozen = client.get("/screen").text
    assert "Frozen board" in frozen and 'data-until="2026-12-01T16:00:00+00:00"' not in frozen

"""Admin actions: 401 and no change without the token; exclude, rerun, freeze and rescore with it, their outcome
on the boards seen after a worker's pass (requests never rank; a rescore is a task a worker runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_support import ADMIN_TOKEN, Clock, Seeder, WorkerPass, admin_headers

from greenhack.config import EventConfig
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import AdminTask, Event, Impact, Score, Submission

ADMIN_ROUTES = [
    ("/api/v1/admin/rescore", None),
    ("/api/v1/admin/submissions/{id}/exclude", {"reason": "copied predictions"}),
    ("/api/v1/admin/submissions/{id}/include", None),
    ("/api/v1/admin/submissions/{id}/rerun", None),
    ("/api/v1/admin/submissions/{id}/remeasure", None),
    ("/api/v1/admin/freeze", None),
    ("/api/v1/admin/unfreeze", None),
    ("/api/v1/admin/freeze/auto", None),
]


def _snapshot(sessions: SessionFactory) -> list[tuple[object, ...]]:
    with transaction(sessions) as s:
        subs = s.execute(
            sa.select(
                Submission.id,
                Submission.status,
                Submission.excluded,
                Submission.attempts,
                Submission.impact_total,
            ).order_by(Submission.id)
        ).all()
        events = s.execute(sa.select(Event.frozen_override, Event.data_version)).all()
    return [tuple(r) for r in subs] + [tuple(r) for r in events]


@pytest.mark.parametrize(
    ("token", "sent"),
    [
        (ADMIN_TOKEN, None),
        (ADMIN_TOKEN, "Bearer wrong-token"),
        (ADMIN_TOKEN, f"Basic {ADMIN_TOKEN}"),
        (ADMIN_TOKEN, f"Bearer {ADMIN_TOKEN}x"),
        (None, f"Bearer {ADMIN_TOKEN}"),  # with the token unset even the "right" one is refused
    ],
)
def test_admin_routes_answer_401_and_change_nothing(
    app_factory: Callable[..., TestClient],
    seed: Seeder,
    sessions: SessionFactory,
    token: str | None,
    sent: str | None,
) -> None:
    ids = seed(teams=1, per_team=1)
    client = app_factory(admin_token=token)
    before = _snapshot(sessions)
    headers = {"Authorization": sent} if sent else {}
    for path, body in ADMIN_ROUTES:
        r = client.post(path.format(id=ids[0]), json=body, headers=headers)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
    assert _snapshot(sessions) == before


def test_exclude_include_and_rerun(
    client: TestClient, seed: Seeder, sessions: SessionFactory, worker_pass: WorkerPass
) -> None:
    ids = seed(teams=2, per_team=1)
    target = ids[0]
    r = client.post(
        f"/api/v1/admin/submissions/{target}/exclude",
        json={"reason": "copied predictions"},
        headers=admin_headers(),
    )
    assert r.status_code == 200, r.text
    assert worker_pass() is False  # re-ranks the boards; evaluates nothing
    rows = client.get("/api/v1/leaderboard").json()["rows"]
    assert target not in {row["submission_id"] for row in rows}
    detail = client.get(f"/api/v1/submissions/{target}").json()["submission"]
    assert detail["excluded"] and detail["excluded_reason"] == "copied predictions"
    assert (
        client.post(
            f"/api/v1/admin/submissions/{target}/exclude", json={"reason": ""}, headers=admin_headers()
        ).status_code
        == 422
    )
    client.post(f"/api/v1/admin/submissions/{target}/include", headers=admin_headers())
    worker_pass()
    assert target in {row["submission_id"] for row in client.get("/api/v1/leaderboard").json()["rows"]}
    r = client.post(f"/api/v1/admin/submissions/{target}/rerun", headers=admin_headers())
    assert r.status_code == 200
    with transaction(sessions) as s:
        row = s.get(Submission, target)
        assert row is not None and row.status == "queued" and row.attempts == 0
    assert client.post("/api/v1/admin/submissions/999999/rerun", headers=admin_headers()).status_code == 404


def test_freeze_unfreeze_by_hand(
    client: TestClient, seed: Seeder, clock: Clock, worker_pass: WorkerPass
) -> None:
    seed(teams=2, per_team=1)
    assert client.get("/api/v1/leaderboard").json()["board"] == "live"
    assert client.post("/api/v1/admin/freeze", headers=admin_headers()).status_code == 200
    worker_pass()
    frozen = client.get("/api/v1/leaderboard").json()
    assert frozen["board"] == "frozen" and frozen["cut"] is not None and len(frozen["rows"]) == 2
    assert client.get("/api/v1/leaderboard", headers=admin_headers()).json()["board"] == "live"
    client.post("/api/v1/admin/unfreeze", headers=admin_headers())
    worker_pass()
    assert client.get("/api/v1/leaderboard").json()["board"] == "live"
    client.post("/api/v1/admin/freeze/auto", headers=admin_headers())
    worker_pass()
    assert client.get("/api/v1/leaderboard").json()["board"] == "live"  # the YAML's freeze is still ahead


def _rescore(client: TestClient, worker_pass: Callable[[], bool]) -> dict[str, Any]:
    """Queue a rescore (202 with the task's address), let a worker pass run it, and return its report."""
    r = client.post("/api/v1/admin/rescore", headers=admin_headers())
    assert r.status_code == 202, r.text
    url = r.json()["url"]
    assert r.headers["location"] == url
    assert client.get(url, headers=admin_headers()).json()["status"] == "queued"
    worker_pass()
    task = client.get(url, headers=admin_headers()).json()
    assert task["status"] == "done", task
    assert task["done"] == task["total"] and task["error"] is None
    result: dict[str, Any] = task["result"]
    return result


def test_rescore_recomputes_impacts_from_stored_factors_only(
    app_factory: Callable[..., TestClient],
    seed: Seeder,
    sessions: SessionFactory,
    event_config: EventConfig,
    clock: Clock,
    worker_pass: WorkerPass,
) -> None:
    ids = seed(teams=3, per_team=2)
    client = app_factory()
    before = client.get(f"/api/v1/submissions/{ids[0]}").json()
    gwp_before = next(i for i in before["impacts"] if i["criterion"] == "gwp")
    # the admins change the YAML: PUE 1.3 -> 1.6 and use only; the app is rebuilt with the new file
    new_impact = event_config.impact.model_copy(update={"pue": 1.6, "include": ["use"]})
    changed = event_config.model_copy(update={"impact": new_impact})
    from greenhack.settings import Settings
    from greenhack.web import create_app

    settings = Settings(
        database_url=str(sessions.kw["bind"].url.render_as_string(hide_password=False)),
        admin_token=ADMIN_TOKEN,
        _env_file=None,
    )  # type: ignore[call-arg]
    with TestClient(create_app(settings, changed, clock=clock, cache_ttl_s=0)) as rescored:
        report = _rescore(rescored, lambda: worker_pass(config=changed))
        assert report["recomputed"] == 6 and report["problems"] == [] and report["boards"]["live"] == 6
        after = rescored.get(f"/api/v1/submissions/{ids[0]}").json()
    gwp_after = next(i for i in after["impacts"] if i["criterion"] == "gwp")
    assert gwp_after["use"] == pytest.approx(gwp_before["use"] * 1.6 / 1.3)
    assert gwp_after["total"] == pytest.approx(gwp_after["use"])
    with transaction(sessions) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Impact)).scalar_one() == 6 * 4


def test_rescore_subtracts_the_idle_baseline_when_the_yaml_says_so(
    app_factory: Callable[..., TestClient],
    seed: Seeder,
    sessions: SessionFactory,
    event_config: EventConfig,
    clock: Clock,
    worker_pass: WorkerPass,
) -> None:
    ids = seed(teams=2, per_team=1)
    before = app_factory().get(f"/api/v1/submissions/{ids[0]}").json()
    measurement = before["measurement"]
    energy_j, duration_s = measurement["total_energy_j"], measurement["duration_s"]
    gwp_use_before = next(i for i in before["impacts"] if i["criterion"] == "gwp")["use"]
    # the admins measured the server idle at a quarter of this job's average power, and switch to subtract
    idle_w = energy_j / duration_s / 4
    servers = [s.model_copy(update={"idle_power_w": idle_w}) for s in event_config.servers]
    changed = event_config.model_copy(
        update={"impact": event_config.impact.model_copy(update={"idle": "subtract"}), "servers": servers}
    )
    from greenhack.settings import Settings
    from greenhack.web import create_app

    settings = Settings(
        database_url=str(sessions.kw["bind"].url.render_as_string(hide_password=False)),
        admin_token=ADMIN_TOKEN,
        _env_file=None,
    )  # type: ignore[call-arg]
    with TestClient(create_app(settings, changed, clock=clock, cache_ttl_s=0)) as rescored:
        report = _rescore(rescored, lambda: worker_pass(config=changed))
        assert report["recomputed"] == 2 and report["problems"] == []
        after = rescored.get(f"/api/v1/submissions/{ids[0]}").json()
    gwp_use_after = next(i for i in after["impacts"] if i["criterion"] == "gwp")["use"]
    # use impacts are linear in energy: three quarters of the energy is charged
    assert gwp_use_after == pytest.approx(gwp_use_before * 0.75, rel=1e-6)
    assert after["measurement"]["total_energy_j"] == energy_j  # the raw measurement itself is never changed

    # subtract with no idle power known anywhere: nothing is changed, and the reason is named
    no_idle = changed.model_copy(update={"servers": event_config.servers})
    with TestClient(create_app(settings, no_idle, clock=clock, cache_ttl_s=0)) as rescored:
        report = _rescore(rescored, lambda: worker_pass(config=no_idle))
        assert report["recomputed"] == 0 and len(report["problems"]) == 2
        assert "idle power is not known" in report["problems"][0]
        kept = rescored.get(f"/api/v1/submissions/{ids[0]}").json()
    assert next(i for i in kept["impacts"] if i["criterion"] == "gwp")["use"] == pytest.approx(gwp_use_after)


def test_a_blank_exclusion_reason_is_refused_where_the_schema_says(client: TestClient, seed: Seeder) -> None:
    """A reason of spaces passed the body's validation and failed later, as a 422 whose body was not the
    documented validation error (found by the schema fuzz)."""
    (target,) = seed(teams=1, per_team=1)
    r = client.post(f"/api/v1/admin/submissions/{target}/exclude", json={"reason": "  \t"}, headers=admin_headers())
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["loc"] == ["body", "reason"]


def _scores(sessions: SessionFactory) -> list[tuple[object, ...]]:
    with transaction(sessions) as s:
        rows = s.execute(
            sa.select(Score.board, Score.submission_id, Score.rank).order_by(Score.board, Score.submission_id)
        )
        return [tuple(r) for r in rows]


def test_admin_requests_never_rank_and_a_rescore_is_a_task_for_the_workers(
    client: TestClient, seed: Seeder, sessions: SessionFactory, worker_pass: WorkerPass
) -> None:
    ids = seed(teams=2, per_team=2)
    ranked = _scores(sessions)
    with transaction(sessions) as s:
        impacts = s.execute(sa.select(Submission.id, Submission.impact_total).order_by(Submission.id)).all()
    assert (
        client.post(
            f"/api/v1/admin/submissions/{ids[0]}/exclude", json={"reason": "late"}, headers=admin_headers()
        ).status_code
        == 200
    )
    assert client.post("/api/v1/admin/freeze", headers=admin_headers()).status_code == 200
    first = client.post("/api/v1/admin/rescore", headers=admin_headers())
    again = client.post("/api/v1/admin/rescore", headers=admin_headers())
    assert first.status_code == again.status_code == 202
    assert again.json()["task"]["id"] == first.json()["task"]["id"]  # one rescore waits for a worker, not two
    # nothing was ranked or recomputed in the requests: the boards are marked stale for the workers
    assert _scores(sessions) == ranked
    with transaction(sessions) as s:
        assert (
            s.execute(sa.select(Submission.id, Submission.impact_total).order_by(Submission.id)).all()
            == impacts
        )
        assert s.execute(sa.select(Event.boards_pending)).scalar_one() > 0
        assert s.execute(sa.select(AdminTask.status)).scalars().all() == ["queued"]
    task = client.get(first.json()["url"], headers=admin_headers()).json()
    assert (task["status"], task["done"], task["total"], task["result"]) == ("queued", 0, None, None)
    worker_pass()
    task = client.get(first.json()["url"], headers=admin_headers()).json()
    assert (task["status"], task["done"], task["total"]) == ("done", 4, 4)
    assert task["result"]["boards"] == {"live": 4, "frozen": 4, "final": 4}
    # the exclusion reached the boards with the worker's pass: listed, not ranked
    assert [rank for board, sid, rank in _scores(sessions) if sid == ids[0]] == [None, None, None]
    assert _scores(sessions) != ranked
    assert client.get("/api/v1/admin/tasks/999999", headers=admin_headers()).status_code == 404


def test_a_remeasure_is_a_task_for_the_workers_about_the_original(
    client: TestClient, seed: Seeder, sessions: SessionFactory
) -> None:
    """Issue 17: POST .../remeasure answers 202 with the task to follow; two clicks queue one task; an unknown
    submission is 404; nothing is retried in GitLab or measured in the request."""
    (target,) = seed(teams=1, per_team=1)
    first = client.post(f"/api/v1/admin/submissions/{target}/remeasure", headers=admin_headers())
    again = client.post(f"/api/v1/admin/submissions/{target}/remeasure", headers=admin_headers())
    assert first.status_code == again.status_code == 202, first.text
    task = first.json()["task"]
    assert (task["kind"], task["submission_id"], task["status"]) == ("remeasure", target, "queued")
    assert first.headers["location"] == first.json()["url"] == f"/api/v1/admin/tasks/{task['id']}"
    assert again.json()["task"]["id"] == task["id"]
    assert client.post("/api/v1/admin/submissions/999999/remeasure", headers=admin_headers()).status_code == 404
    with transaction(sessions) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Submission)).scalar_one() == 1

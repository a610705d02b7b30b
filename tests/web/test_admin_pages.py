"""Admin in the browser: the admin token exchanged for a signed session cookie (HttpOnly, SameSite=Strict, Secure
over https, an expiry), CSRF-checked forms for every action, what visitors cannot see, and sign-out. The
existing bearer-token API keeps working beside it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_support import ADMIN_TOKEN, CLOSES, Clock, Seeder, WorkerPass, admin_headers

from greenhack.status import Reason, ReasonCode
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import AdminTask, Event, Submission
from greenhack.web.admin_session import COOKIE_NAME, DEFAULT_LIFETIME

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _sign_in(client: TestClient, token: str = ADMIN_TOKEN) -> str:
    """Sign in through the form; returns the page's CSRF token."""
    answer = client.post("/admin/sign-in", data={"token": token}, headers=BROWSER, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return _csrf(client.get("/admin", headers=BROWSER).text)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def _act(client: TestClient, csrf: str, action: str, **fields: str) -> object:
    data = {"csrf": csrf, "action": action, **fields}
    return client.post("/admin/act", data=data, headers=BROWSER, follow_redirects=False)


def _cookie_attributes(answer: object) -> dict[str, str]:
    header = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE_NAME))  # type: ignore[attr-defined]
    parsed = SimpleCookie()
    parsed.load(header)
    morsel = parsed[COOKIE_NAME]
    flags = {k: str(v) for k, v in morsel.items() if v}
    flags["raw"] = header
    return flags


def test_sign_in_sets_a_signed_httponly_strict_cookie_with_an_expiry(
    app_factory: Callable[..., TestClient], clock: Clock
) -> None:
    client = app_factory()
    page = client.get("/admin", headers=BROWSER)
    assert page.status_code == 200 and 'name="token"' in page.text and 'type="password"' in page.text
    answer = client.post("/admin/sign-in", data={"token": ADMIN_TOKEN}, headers=BROWSER, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    flags = _cookie_attributes(answer)
    assert "httponly" in flags["raw"].lower() and flags["samesite"].lower() == "strict"
    assert int(flags["max-age"]) == int(DEFAULT_LIFETIME.total_seconds()) and flags["path"] == "/"
    assert "secure" not in flags["raw"].lower()  # served over plain http here
    assert ADMIN_TOKEN not in flags["raw"]  # the token itself never travels in the cookie
    # over https the cookie is Secure
    with TestClient(client.app, base_url="https://board.example.org") as secure:  # type: ignore[arg-type]
        over_https = secure.post("/admin/sign-in", data={"token": ADMIN_TOKEN}, follow_redirects=False)
    assert "; secure" in _cookie_attributes(over_https)["raw"].lower()
    # signed in: the dashboard
    home = client.get("/admin", headers=BROWSER).text
    assert "Signed in until" in home and "Freeze the public board now" in home and "Rescore" in home


@pytest.mark.parametrize("token", ["wrong-token", "", ADMIN_TOKEN + "x"])
def test_a_wrong_token_is_refused_and_sets_no_cookie(client: TestClient, token: str) -> None:
    answer = client.post("/admin/sign-in", data={"token": token}, headers=BROWSER, follow_redirects=False)
    assert answer.status_code == 401 and "not the admin token" in answer.text
    assert "set-cookie" not in {k for k, _ in answer.headers.multi_items()}


def test_without_an_admin_token_nobody_signs_in(app_factory: Callable[..., TestClient]) -> None:
    client = app_factory(admin_token=None)
    assert "sign-in is off" in client.get("/admin", headers=BROWSER).text
    answer = client.post("/admin/sign-in", data={"token": ""}, headers=BROWSER)
    assert answer.status_code == 403


def test_each_action_from_the_forms_and_what_visitors_cannot_see(
    client: TestClient, seed: Seeder, sessions: SessionFactory, worker_pass: WorkerPass, clock: Clock
) -> None:
    ids = seed(teams=2, per_team=1)
    (broken,) = seed(teams=1, per_team=1, seed=3, team_prefix="broken", status="failed")
    with transaction(sessions) as s:
        row = s.get(Submission, broken)
        assert row is not None
        row.last_error = "Prometheus at http://prom:9090 timed out"
    csrf = _sign_in(client)
    home = client.get("/admin", headers=BROWSER).text
    # what visitors cannot see: the reason in full and the last error
    assert "telemetry gap of 40 s" in home and "Prometheus at http://prom:9090 timed out" in home
    assert "timed out" not in client.get(f"/submissions/{broken}", headers={**BROWSER, "Cookie": ""}).text

    # freeze, then the preview of the frozen board; unfreeze; back to the YAML's time
    answer = _act(client, csrf, "freeze")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"  # type: ignore[attr-defined]
    assert "board frozen" in client.get("/admin", headers=BROWSER).text  # the flash says what happened
    with transaction(sessions) as s:
        assert s.execute(sa.select(Event.frozen_override)).scalar_one() is True
    worker_pass()
    visitor = TestClient(client.app)  # type: ignore[arg-type]
    assert visitor.get("/api/v1/leaderboard").json()["board"] == "frozen"
    assert client.get("/api/v1/leaderboard").json()["board"] == "live"  # the signed-in admin still sees live
    assert "Frozen board" in client.get("/", params={"board": "frozen"}, headers=BROWSER).text
    _act(client, csrf, "unfreeze")
    with transaction(sessions) as s:
        assert s.execute(sa.select(Event.frozen_override)).scalar_one() is False
    _act(client, csrf, "freeze/auto")
    with transaction(sessions) as s:
        assert s.execute(sa.select(Event.frozen_override)).scalar_one() is None

    # exclude with a reason, from the submission's admin page; then include again
    target = ids[0]
    page = client.get(f"/admin/submissions/{target}", headers=BROWSER).text
    assert 'data-action="submissions/{}/exclude"' in page and 'data-action="submissions/{}/rerun"' in page
    back = f"/admin/submissions/{target}"
    answer = _act(client, csrf, "submissions/{}/exclude", submission_id=str(target), back=back,
                  **{"body.reason": "copied predictions"})
    assert answer.headers["location"] == back  # type: ignore[attr-defined]
    with transaction(sessions) as s:
        row = s.get(Submission, target)
        assert row is not None and row.excluded and row.excluded_reason == "copied predictions"
    page = client.get(back, headers=BROWSER).text
    assert f"submission {target} excluded" in page and 'data-action="submissions/{}/include"' in page
    # a blank reason is refused by the API's own validation, and the admin reads why
    _act(client, csrf, "submissions/{}/include", submission_id=str(target), back=back)
    _act(client, csrf, "submissions/{}/exclude", submission_id=str(target), back=back, **{"body.reason": "  "})
    page = client.get(back, headers=BROWSER).text
    assert "refused (HTTP 422)" in page and "reason" in page
    with transaction(sessions) as s:
        assert s.get(Submission, target).excluded is False  # type: ignore[union-attr]

    # rescore: a task for the workers; the browser goes to its page, which follows GET /api/v1/admin/tasks/{id}
    answer = _act(client, csrf, "rescore")
    location = answer.headers["location"]  # type: ignore[attr-defined]
    task_id = int(location.rsplit("/", 1)[-1])
    assert location == f"/admin/tasks/{task_id}"
    page = client.get(location, headers=BROWSER).text
    assert f'data-task-url="/api/v1/admin/tasks/{task_id}"' in page and "queued" in page
    worker_pass()
    progress = client.get(f"/api/v1/admin/tasks/{task_id}")  # the cookie may read the task
    assert progress.status_code == 200 and progress.json()["status"] == "done"
    assert "done" in client.get(location, headers=BROWSER).text

    # rerun: the submission goes back to the queue (last: the test's worker must find nothing to evaluate)
    _act(client, csrf, "submissions/{}/rerun", submission_id=str(target), back=back)
    with transaction(sessions) as s:
        row = s.get(Submission, target)
        assert row is not None and row.status == "queued" and row.attempts == 0


@pytest.mark.parametrize(
    "action", ["freeze", "unfreeze", "freeze/auto", "rescore", "submissions/{}/exclude", "submissions/{}/include",
               "submissions/{}/rerun", "submissions/{}/remeasure"],
)
@pytest.mark.parametrize("csrf", ["missing", "wrong", "another session's"])
def test_every_action_is_refused_without_its_csrf_token(
    app_factory: Callable[..., TestClient], seed: Seeder, sessions: SessionFactory, action: str, csrf: str
) -> None:
    (target,) = seed(teams=1, per_team=1)
    client = app_factory()
    own = _sign_in(client)
    other = TestClient(client.app)  # type: ignore[arg-type]
    other_csrf = _sign_in(other)
    assert other_csrf != own
    before = _state(sessions)
    sent = {"missing": None, "wrong": own[:-2] + "xx", "another session's": other_csrf}[csrf]
    data = {"action": action, "submission_id": str(target), "body.reason": "late"}
    if sent is not None:
        data["csrf"] = sent
    answer = client.post("/admin/act", data=data, headers=BROWSER, follow_redirects=False)
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert _state(sessions) == before


def _state(sessions: SessionFactory) -> list[object]:
    with transaction(sessions) as s:
        subs = s.execute(sa.select(Submission.id, Submission.status, Submission.excluded, Submission.attempts))
        events = s.execute(sa.select(Event.frozen_override, Event.data_version))
        task_count = s.execute(sa.select(sa.func.count()).select_from(AdminTask)).scalar_one()
        return [*map(tuple, subs), *map(tuple, events), task_count]


def _forge(value: str) -> list[str]:
    version, sid, expires, mac = value.split(".")
    return [
        f"{version}.{sid}.{int(expires) + 86400 * 365}.{mac}",  # a later expiry under the old signature
        f"{version}.{sid[:-1]}{'A' if sid[-1] != 'A' else 'B'}.{expires}.{mac}",  # another session id
        f"{version}.{sid}.{expires}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # a changed signature
        "v1.x.99999999999.forged",
        ADMIN_TOKEN,
        "",
    ]


def test_a_forged_or_expired_cookie_is_refused(
    client: TestClient, seed: Seeder, sessions: SessionFactory, clock: Clock
) -> None:
    seed(teams=1, per_team=1)
    csrf = _sign_in(client)
    value = client.cookies[COOKIE_NAME]
    forgeries = _forge(value)
    assert value not in forgeries
    for forged in forgeries:
        other = TestClient(client.app, cookies={COOKIE_NAME: forged})  # type: ignore[arg-type]
        assert "Signed in until" not in other.get("/admin", headers=BROWSER).text, forged
        assert other.get("/api/v1/admin/tasks/1").status_code == 401, forged
        before = _state(sessions)
        answer = other.post("/admin/act", data={"csrf": csrf, "action": "freeze"}, headers=BROWSER)
        assert answer.status_code == 401 and _state(sessions) == before, forged
    # a cookie signed under another admin token (the token was changed) is refused too
    with TestClient(client.app) as elsewhere:  # type: ignore[arg-type]
        from greenhack.web.admin_session import SessionKeys

        signed_elsewhere, _ = SessionKeys("another-token").issue(now=clock())
        elsewhere.cookies.set(COOKIE_NAME, signed_elsewhere)
        assert "Signed in until" not in elsewhere.get("/admin", headers=BROWSER).text
    # expiry: the server checks the signed expiry itself, whatever the browser keeps
    clock.now = clock.now + DEFAULT_LIFETIME + timedelta(seconds=1)
    assert "Signed in until" not in client.get("/admin", headers=BROWSER).text
    answer = client.post("/admin/act", data={"csrf": csrf, "action": "freeze"}, headers=BROWSER)
    assert answer.status_code == 401 and "session expired" in answer.text


def test_sign_out_ends_the_session_and_needs_its_csrf_token(client: TestClient) -> None:
    csrf = _sign_in(client)
    refused = client.post("/admin/sign-out", data={"csrf": "nope"}, headers=BROWSER, follow_redirects=False)
    assert refused.status_code == 403
    answer = client.post("/admin/sign-out", data={"csrf": csrf}, headers=BROWSER, follow_redirects=False)
    assert answer.status_code == 303
    header = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE_NAME))
    assert "max-age=0" in header.lower() or "expires=thu, 01 jan 1970" in header.lower()
    assert COOKIE_NAME not in client.cookies
    assert 'name="token"' in client.get("/admin", headers=BROWSER).text


def test_a_cookie_reads_but_never_writes_through_the_api(
    client: TestClient, seed: Seeder, sessions: SessionFactory
) -> None:
    """A page of another site could make a browser POST to the API; only the bearer token may change things."""
    (target,) = seed(teams=1, per_team=1)
    _sign_in(client)
    before = _state(sessions)
    for path in ("/api/v1/admin/freeze", "/api/v1/admin/rescore", f"/api/v1/admin/submissions/{target}/rerun"):
        assert client.post(path).status_code == 401, path
    assert _state(sessions) == before
    # the bearer-token API keeps working as it did
    assert client.post("/api/v1/admin/freeze", headers=admin_headers()).status_code == 200


def test_the_admin_previews_the_final_board_and_visitors_are_refused(
    client: TestClient, seed: Seeder, clock: Clock
) -> None:
    seed(teams=2, per_team=1)
    _sign_in(client)
    preview = client.get("/", params={"board": "final"}, headers=BROWSER)
    assert preview.status_code == 200 and "Preview of the final board" in preview.text
    visitor = TestClient(client.app)  # type: ignore[arg-type]
    assert visitor.get("/", params={"board": "final"}, headers=BROWSER).status_code == 403
    clock.now = CLOSES
    assert visitor.get("/", params={"board": "final"}, headers=BROWSER).status_code == 200


def test_the_remeasure_button_queues_a_remeasure_task_through_the_api(
    client: TestClient, seed: Seeder, sessions: SessionFactory
) -> None:
    """The forms offer the admin API's POST routes: the re-measure (issue 17) shows on the submission page and runs
    through /admin/act (CSRF-checked like the others), queueing a task for a worker; nothing is retried in the
    request."""
    (target,) = seed(teams=1, per_team=1)
    csrf = _sign_in(client)
    back = f"/admin/submissions/{target}"
    assert "Re-measure (retry the GitLab job)" in client.get(back, headers=BROWSER).text
    _act(client, csrf, "submissions/{}/remeasure", submission_id=str(target), back=back)
    with transaction(sessions) as s:
        (task,) = s.execute(sa.select(AdminTask)).scalars().all()
        assert (task.kind, task.submission_id, task.status) == ("remeasure", target, "queued")
        assert s.execute(sa.select(sa.func.count()).select_from(Submission)).scalar_one() == 1
    # an address that is no admin action is refused
    assert _act(client, csrf, "../hooks/gitlab").status_code == 404  # type: ignore[attr-defined]


def test_the_needs_review_reason_shows_to_the_admin_only(
    client: TestClient, seed: Seeder, sessions: SessionFactory
) -> None:
    (target,) = seed(teams=1, per_team=1, status="needs_review")
    with transaction(sessions) as s:
        row = s.get(Submission, target)
        assert row is not None
        reason = Reason(code=ReasonCode.UNCLASSIFIED, text="label 'x' never seen in the truth")
        row.reason, row.reason_code = reason.text, reason.code
    _sign_in(client)
    assert "label &#39;x&#39; never seen in the truth" in client.get("/admin", headers=BROWSER).text
    visitor = TestClient(client.app)  # type: ignore[arg-type]
    assert "never seen in the truth" not in visitor.get(f"/submissions/{target}", headers=BROWSER).text

"""Errors for people: a browser gets an HTML page (403, 404, 422, 500) that says what happened and where to go;
an API client gets JSON. Decided by the route (``/api/`` is always JSON) and the request's ``Accept``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_support import CLOSES, Clock, Seeder, admin_headers

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _is_page(answer: object) -> bool:
    headers = answer.headers  # type: ignore[attr-defined]
    text: str = answer.text  # type: ignore[attr-defined]
    return headers["content-type"].startswith("text/html") and text.lstrip().startswith("<!doctype html>")


def test_a_visitor_asking_for_the_final_board_gets_a_page_not_raw_json(client: TestClient, seed: Seeder) -> None:
    # issue 18: the browser showed {"detail": "the final board is not public now ..."}
    seed(teams=2, per_team=1)
    page = client.get("/", params={"board": "final"}, headers=BROWSER)
    assert page.status_code == 403 and _is_page(page), page.text[:200]
    assert "final board" in page.text and "2026-12-02 16:00:00 UTC" in page.text  # when it becomes public
    assert 'href="/"' in page.text  # and the way back to the board that is public now
    # the API stays JSON, whatever a browser-like Accept says
    api = client.get("/api/v1/leaderboard", params={"board": "final"}, headers=BROWSER)
    assert api.status_code == 403 and api.headers["content-type"] == "application/json"
    assert "not public" in api.json()["detail"]
    # and a client that does not ask for HTML gets JSON on a page route too
    plain = client.get("/", params={"board": "final"})
    assert plain.status_code == 403 and plain.headers["content-type"] == "application/json"


def test_unknown_addresses_and_missing_things_are_pages_for_browsers(client: TestClient) -> None:
    for path in ("/nowhere", "/teams/424242", "/submissions/999999"):
        page = client.get(path, headers=BROWSER)
        assert page.status_code == 404 and _is_page(page), path
        assert "Not found" in page.text, path
    assert client.get("/nowhere").json() == {"detail": "Not Found"}
    assert client.get("/api/v1/nowhere", headers=BROWSER).json() == {"detail": "Not Found"}


def test_a_bad_address_on_a_page_route_is_a_422_page_naming_the_parameter(client: TestClient) -> None:
    page = client.get("/", params={"sort": "nonsense"}, headers=BROWSER)
    assert page.status_code == 422 and _is_page(page)
    assert "sort" in page.text and "nonsense" in page.text and "rank" in page.text
    assert "Traceback" not in page.text and "loc" not in page.text
    page = client.get("/submissions/not-a-number", headers=BROWSER)
    assert page.status_code == 422 and _is_page(page) and "submission_id" in page.text
    # API clients keep FastAPI's documented validation error
    api = client.get("/api/v1/submissions/not-a-number", headers=BROWSER)
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["path", "submission_id"]


def test_a_crash_is_a_500_page_for_browsers_and_json_for_the_api(client: TestClient) -> None:
    def boom() -> None:
        raise RuntimeError("a bug with a secret detail")

    client.app.add_api_route("/test-only/boom", boom)  # type: ignore[attr-defined]
    client.app.add_api_route("/api/v1/test-only/boom", boom)  # type: ignore[attr-defined]
    with TestClient(client.app, raise_server_exceptions=False) as crashing:
        page = crashing.get("/test-only/boom", headers=BROWSER)
        api = crashing.get("/api/v1/test-only/boom", headers=BROWSER)
    assert page.status_code == 500 and _is_page(page)
    assert "secret detail" not in page.text and "RuntimeError" not in page.text
    assert api.status_code == 500 and api.json() == {"detail": "internal error: the board's logs have the details"}


def test_the_admin_preview_of_the_final_board_says_the_event_is_not_closed_yet(
    client: TestClient, seed: Seeder, clock: Clock
) -> None:
    # issue 18: the preview said "the event is closed" hours before the close
    seed(teams=2, per_team=1)
    preview = client.get("/", params={"board": "final"}, headers=admin_headers()).text
    assert "the event is closed" not in preview
    assert "Preview" in preview and "closes 2026-12-02 16:00:00 UTC" in preview
    clock.now = CLOSES
    final = client.get("/", params={"board": "final"}).text
    assert "the event is closed" in final and "Preview" not in final


@pytest.mark.parametrize("path", ["/", "/event"])
def test_pages_still_render_for_browsers(client: TestClient, seed: Seeder, path: str) -> None:
    seed(teams=1, per_team=1)
    page = client.get(path, headers=BROWSER)
    assert page.status_code == 200 and _is_page(page)

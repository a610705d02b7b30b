"""Every response of the board (pages, API, docs, static files, errors, a crash) carries the security headers,
and the pages load nothing their Content-Security-Policy forbids."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient
from web_support import Seeder

from greenhack.web.security import APP_CSP, DOCS_CSP


def _assert_secured(response: object, csp: str = APP_CSP) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == csp
    assert "frame-ancestors 'none'" in csp and csp.startswith("default-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_every_response_carries_the_security_headers(client: TestClient, seed: Seeder) -> None:
    (first, *_) = seed(teams=2, per_team=1)
    for path in ("/", f"/submissions/{first}", "/event", "/api/v1/leaderboard", "/static/style.css", "/metrics",
                 "/openapi.json", "/healthz"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        _assert_secured(answer)
    for path in ("/docs", "/redoc"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        _assert_secured(answer, DOCS_CSP)
    # errors: a 404 page, a JSON 404, a 401 from the webhook, a 422, and an unexpected crash (a 500)
    _assert_secured(client.get("/submissions/999999", headers={"Accept": "text/html"}))
    _assert_secured(client.get("/api/v1/submissions/999999"))
    _assert_secured(client.post("/api/v1/hooks/gitlab", content=b"{}"))
    _assert_secured(client.get("/api/v1/submissions/not-a-number"))

    def boom() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/test-only/boom", boom)  # type: ignore[attr-defined]
    with TestClient(client.app, raise_server_exceptions=False) as crashing:
        crashed = crashing.get("/test-only/boom")
    assert crashed.status_code == 500
    _assert_secured(crashed)


class _Assets(HTMLParser):
    """Every URL a page makes the browser load (scripts, styles, images, frames) and its inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (CSP directive, URL)
        self.inline_scripts = 0
        self.style_attributes = 0
        self.inline_handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "script":
            if "src" in values:
                self.urls.append(("script-src", values["src"]))
            else:
                self._in_script = True
        elif tag == "link" and "stylesheet" in values.get("rel", ""):
            self.urls.append(("style-src", values["href"]))
        elif tag == "link" and "icon" in values.get("rel", ""):
            self.urls.append(("img-src", values["href"]))
        elif tag in ("img", "iframe", "embed", "object"):
            self.urls.append(("img-src" if tag == "img" else "frame-src", values.get("src", values.get("data", ""))))
        if "style" in values:
            self.style_attributes += 1
        self.inline_handlers += [k for k in values if k.startswith("on")]

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def _sources(csp: str, directive: str) -> list[str]:
    policy = dict((part.split()[0], part.split()[1:]) for part in csp.split(";") if part.strip())
    return policy.get(directive, policy["default-src"])


def _allowed(csp: str, directive: str, url: str) -> bool:
    parts = urlsplit(url)
    sources = _sources(csp, directive)
    if not parts.scheme:
        return "'self'" in sources
    return f"{parts.scheme}:" in sources or f"{parts.scheme}://{parts.netloc}" in sources


def test_the_pages_load_nothing_their_policy_forbids(client: TestClient, seed: Seeder) -> None:
    (first, *_) = seed(teams=2, per_team=1)
    team = client.get("/api/v1/teams").json()
    team_id = (team["teams"] if isinstance(team, dict) else team)[0]["id"]
    for path, csp in (("/", APP_CSP), (f"/submissions/{first}", APP_CSP), (f"/teams/{team_id}", APP_CSP),
                      ("/event", APP_CSP), ("/nowhere", APP_CSP), ("/docs", DOCS_CSP), ("/redoc", DOCS_CSP)):
        page = client.get(path, headers={"Accept": "text/html"})
        assets = _Assets()
        assets.feed(page.text)
        for directive, url in assets.urls:
            assert _allowed(csp, directive, urljoin("", url)), (path, directive, url)
        assert not assets.inline_handlers, (path, assets.inline_handlers)
        if assets.inline_scripts:
            assert "'unsafe-inline'" in _sources(csp, "script-src"), path
        if assets.style_attributes:
            assert "'unsafe-inline'" in _sources(csp, "style-src-attr"), path


@pytest.mark.parametrize("csp", [APP_CSP, DOCS_CSP])
def test_policies_forbid_framing_plugins_and_base_rewrites(csp: str) -> None:
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in csp


def test_the_docs_keep_their_policy_behind_a_path_prefix(client: TestClient) -> None:
    with TestClient(client.app, root_path="/board") as prefixed:  # type: ignore[arg-type]
        docs, board = prefixed.get("/board/docs"), prefixed.get("/board/")
    assert docs.status_code == 200 and docs.headers["content-security-policy"] == DOCS_CSP
    assert board.status_code == 200 and board.headers["content-security-policy"] == APP_CSP


def test_docs_served_by_routes_of_their_own_get_the_docs_policy() -> None:
    # fastapi-offline turns FastAPI's docs routes off (docs_url=None) and serves the same pages at /docs, /redoc
    from fastapi import FastAPI  # noqa: PLC0415
    from fastapi.openapi.docs import get_swagger_ui_html  # noqa: PLC0415

    from greenhack.web.security import install_security_headers  # noqa: PLC0415

    app = FastAPI(docs_url=None, redoc_url=None)
    app.add_api_route("/docs", lambda: get_swagger_ui_html(openapi_url="/openapi.json", title="t"))
    install_security_headers(app)
    with TestClient(app) as own:
        assert own.get("/docs").headers["content-security-policy"] == DOCS_CSP
        assert own.get("/openapi.json").headers["content-security-policy"] == APP_CSP

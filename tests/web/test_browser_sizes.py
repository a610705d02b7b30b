"""Chromium at a phone's, a laptop's and a projector's size (390x844, 1366x900, 1920x1080): no page scrolls
sideways, every Pareto point is named and linked, every column has one unit, the phone's cards are short, and the
projector view's text is at least 24 px, turns its pages and refreshes itself.

Screenshots of every page at every size are kept in ``tests/web/_screenshots/`` (ignored by git; the folder is
printed), full-page, for a person to look at.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from test_browser import _chrome
from web_support import ADMIN_TOKEN, DURING, Clock, served, synthetic_board

from greenhack.config import EventConfig
from greenhack.settings import Settings
from greenhack.status import Reason, ReasonCode
from greenhack.store import crud
from greenhack.store.db import create_db_engine, make_session_factory, transaction
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission
from greenhack.web import create_app

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "_screenshots"
SIZES = [(390, 844), (1366, 900), (1920, 1080)]
TEAMS = [
    "Les Éclairs", "GreenBytes", "Team with a rather long name for one card", "kNN-lovers", "Σ-squad",
    "Tiny", "Random Forest Rangers", "Low Watt Club", "Naive Bayesians", "MLP", "Eco Gradient", "Solar Sprint",
]
SUBMISSIONS_PER_TEAM = 2


@pytest.fixture(scope="module")
def board_url(tmp_path_factory: pytest.TempPathFactory, event_config: EventConfig) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sizes') / 'board.db'}"
    job_id = synthetic_board(url, event_config, teams=TEAMS, per_team=SUBMISSIONS_PER_TEAM, seed=18, minutes_apart=7)
    engine = create_db_engine(url)
    with transaction(make_session_factory(engine)) as s:  # and one the admin must look at
        event = crud.ensure_event(session=s, name=event_config.event.name)
        team = crud.ensure_team(session=s, event_id=event.id, name=TEAMS[-1])
        write_synthetic_submission(
            session=s, config=event_config, event_id=event.id, team_id=team.id, project_id=100, job_id=job_id,
            job=synthetic_job(random.Random(1), server="gpu-1", start=DURING - timedelta(minutes=20)),
            factors=synthetic_factors(event_config.impact.location, fetched_at=DURING),
            status="failed", reason=Reason(code=ReasonCode.UNCLASSIFIED, text="Prometheus timed out 5 times"),
        )
    engine.dispose()
    settings = Settings(database_url=url, admin_token=ADMIN_TOKEN, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, event_config, clock=Clock(DURING), cache_ttl_s=0.0)
    with served(app) as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = _chrome()
    yield driver
    driver.quit()


@pytest.fixture(scope="module", autouse=True)
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    print(f"\nscreenshots in {SCREENSHOTS}")
    return SCREENSHOTS


def _size(driver: webdriver.Chrome, width: int, height: int) -> None:
    """The viewport (not the window) at width x height CSS pixels."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _open(driver: webdriver.Chrome, url: str, ready: str = "main#main") -> None:
    driver.get(url)
    WebDriverWait(driver, 15).until(ec.presence_of_element_located((By.CSS_SELECTOR, ready)))


def _shoot(driver: webdriver.Chrome, name: str, size: tuple[int, int]) -> Path:
    """A full-page screenshot (up to 6000 px tall) named after the page and the size."""
    import base64  # noqa: PLC0415

    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    content = metrics["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size[0], "height": min(6000, content["height"]), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = SCREENSHOTS / f"{size[0]}x{size[1]}-{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _overflow_px(driver: webdriver.Chrome) -> int:
    return int(driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth"))


def _sign_in(driver: webdriver.Chrome, base: str) -> None:
    _open(driver, base + "/admin")
    if driver.find_elements(By.CSS_SELECTOR, "input[name=token]"):
        driver.find_element(By.CSS_SELECTOR, "input[name=token]").send_keys(ADMIN_TOKEN)
        driver.find_element(By.CSS_SELECTOR, "form.sign-in button").click()
        WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".session")))


def _sign_out(driver: webdriver.Chrome, base: str) -> None:
    _open(driver, base + "/admin")
    buttons = driver.find_elements(By.XPATH, "//div[@class='session']//button")
    if buttons:
        buttons[0].click()
        WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[name=token]")))


def _pages(base: str) -> dict[str, str]:
    board = httpx.get(base + "/api/v1/leaderboard").json()["rows"]
    first = board[0]
    return {
        "board": "/",
        "screen": "/screen?rows=5&seconds=3",
        "event": "/event",
        "team": f"/teams/{first['team_id']}",
        "submission": f"/submissions/{first['submission_id']}",
        "not-public": "/?board=final",
        "not-found": "/teams/424242",
    }


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_no_page_scrolls_sideways(board_url: str, browser: webdriver.Chrome, size: tuple[int, int]) -> None:
    _size(browser, *size)
    overflowing = {}
    for name, path in _pages(board_url).items():
        _open(browser, board_url + path)
        _shoot(browser, name, size)
        if (extra := _overflow_px(browser)) > 0:
            overflowing[name] = extra
    _sign_in(browser, board_url)
    try:
        admin_pages = {"admin": "/admin"}
        failed = httpx.get(board_url + "/api/v1/submissions", params={"status": "failed"}).json()
        admin_pages["admin-submission"] = f"/admin/submissions/{failed[0]['id']}"
        admin_pages["admin-final-preview"] = "/?board=final"
        for name, path in admin_pages.items():
            _open(browser, board_url + path)
            _shoot(browser, name, size)
            if (extra := _overflow_px(browser)) > 0:
                overflowing[name] = extra
    finally:
        _sign_out(browser, board_url)
    _open(browser, board_url + "/admin")
    _shoot(browser, "admin-sign-in", size)
    assert overflowing == {}, f"pages wider than the {size[0]} px screen (extra px): {overflowing}"


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_pareto_point_is_named_and_linked(board_url: str, browser: webdriver.Chrome, size: tuple[int, int]) -> None:
    _size(browser, *size)
    _open(browser, board_url + "/", "svg.pareto-chart")
    expected = {p["submission_id"]: p["team_name"] for p in httpx.get(board_url + "/api/v1/pareto").json()["points"]}
    points: list[dict[str, Any]] = browser.execute_script(
        """return Array.from(document.querySelectorAll('svg.pareto-chart circle.point')).map(function (c) {
             var a = c.closest('a'), t = c.querySelector('title'), r = c.getBoundingClientRect();
             return {href: a ? (a.getAttribute('href') || a.getAttribute('xlink:href')) : null,
                     title: t ? t.textContent : null, width: r.width};
           });"""
    )
    assert len(points) == len(expected) == len(TEAMS) * SUBMISSIONS_PER_TEAM
    for point in points:
        found = re.fullmatch(r".*/submissions/(\d+)", point["href"] or "")
        assert found is not None, point
        team = expected[int(found.group(1))]
        assert point["title"] and team in point["title"], (point, team)
        assert point["width"] > 0
    # the chart itself fits the screen: no axis label cut off at its edges
    box = browser.execute_script("var r = document.querySelector('svg.pareto-chart').getBoundingClientRect();"
                                 "return [r.left, r.right];")
    assert box[0] >= 0 and box[1] <= size[0]


_NUMBER = re.compile(r"^–$|^-?\d+(\.\d+)?$")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_one_unit_per_column(board_url: str, browser: webdriver.Chrome, size: tuple[int, int]) -> None:
    _size(browser, *size)
    for path, table in (("/", "table#board"), ("/screen", "table#screen-board")):
        _open(browser, board_url + path, table)
        cells: list[dict[str, str]] = browser.execute_script(
            f"""return Array.from(document.querySelectorAll('{table} tbody td[data-label]')).map(function (td) {{
                 var clone = td.cloneNode(true);
                 clone.querySelectorAll('small').forEach(function (s) {{ s.remove(); }});
                 return {{label: td.getAttribute('data-label'), cls: td.className,
                          text: clone.textContent.trim()}};
               }});"""
        )
        by_column: dict[str, set[str]] = {}
        for cell in cells:
            unit = re.search(r"\(([^)]+)\)$", cell["label"])
            if unit is None:
                continue
            by_column.setdefault(cell["cls"] or cell["label"].split(" (")[0], set()).add(unit.group(1))
            for part in cell["text"].split(" · "):
                assert _NUMBER.match(part.strip()), (path, cell)  # a bare number: the unit is the column's
        assert {"cell-impact", "cell-energy"} <= set(by_column), by_column
        assert all(len(units) == 1 for units in by_column.values()), (path, by_column)
        headers = browser.execute_script(
            f"return Array.from(document.querySelectorAll('{table} thead th')).map(function (th) {{"
            "return th.textContent.replace(/\\s+/g, ' ').trim(); });"
        )
        impact_unit = by_column["cell-impact"].pop()
        assert any(impact_unit in h for h in headers), (path, headers, impact_unit)


def test_the_phones_cards_are_short(board_url: str, browser: webdriver.Chrome) -> None:
    _size(browser, 390, 844)
    _open(browser, board_url + "/", "table#board tbody tr")
    heights = browser.execute_script(
        "return Array.from(document.querySelectorAll('table#board tbody tr'))"
        ".map(function (tr) { return tr.getBoundingClientRect().height; });"
    )
    assert len(heights) == len(TEAMS)
    # a card: rank and team on one line (two for the longest name), then two lines of three figures
    assert max(heights) <= 170, heights
    assert sorted(heights)[len(heights) // 2] <= 140, heights
    first = browser.execute_script(
        "return document.querySelector('table#board tbody tr').getBoundingClientRect().top")
    assert first < 844, "the first card is on the first screen"


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_projector_view_reads_across_a_room(board_url: str, browser: webdriver.Chrome, size: tuple[int, int]) -> None:
    _size(browser, *size)
    _open(browser, board_url + "/screen?rows=5&seconds=3", "table#screen-board")
    small: list[Any] = browser.execute_script(
        """var out = [];
           document.querySelectorAll('body *').forEach(function (el) {
             var own = Array.from(el.childNodes).some(function (n) {
               return n.nodeType === 3 && n.textContent.trim().length > 0; });
             var r = el.getBoundingClientRect();
             if (!own || r.width === 0 || r.height === 0 || el.closest('.skip, svg')) { return; }
             var px = parseFloat(getComputedStyle(el).fontSize);
             if (px < 24) { out.push([el.tagName, el.className, el.textContent.trim().slice(0, 40), px]); }
           });
           return out;"""
    )
    assert browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)") >= 24
    assert small == [], small
    # full width: the board and the latest evaluations use the screen, not a column in its middle
    used = browser.execute_script("var r = document.querySelector('main').getBoundingClientRect(); return r.width")
    assert used >= 0.9 * size[0]
    # the pages turn by themselves: one shows at a time, and another after `seconds`
    def shown() -> list[str]:
        return browser.execute_script(
            "return Array.from(document.querySelectorAll('.screen-page')).filter(function (p) {"
            "return !p.hidden; }).map(function (p) { return p.getAttribute('data-page'); });")

    first = shown()
    assert len(first) == 1 and len(browser.find_elements(By.CSS_SELECTOR, ".screen-page")) == 3
    WebDriverWait(browser, 10).until(lambda d: shown() not in ([], first))
    # the time to the freeze and to the close, counted on the server's clock (the board's clock is a test's)
    countdowns = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".countdown")]
    assert len(countdowns) == 2 and countdowns[0].startswith("in 1 d") and countdowns[1].startswith("in 1 d")
    latest = browser.find_elements(By.CSS_SELECTOR, ".latest li")
    assert len(latest) == 6 and any("failed" in item.text for item in latest)
    _shoot(browser, "screen-turned", size)


def test_the_projector_view_refreshes_itself(board_url: str, browser: webdriver.Chrome) -> None:
    _size(browser, 1920, 1080)
    _open(browser, board_url + "/screen?top=50&rows=50", "table#screen-board")
    leader = httpx.get(board_url + "/api/v1/leaderboard").json()["rows"][0]
    answer = httpx.post(
        board_url + f"/api/v1/admin/submissions/{leader['submission_id']}/exclude",
        json={"reason": "a test"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert answer.status_code == 200
    try:
        # the data version moved: live.js fetches the page again and swaps its content, without a reload
        browser.execute_script("window.__same_document = true")
        WebDriverWait(browser, 30).until(
            lambda d: d.find_element(By.CSS_SELECTOR, ".live-status").text.startswith("updated")
        )
        assert browser.execute_script("return window.__same_document === true")
    finally:
        httpx.post(
            board_url + f"/api/v1/admin/submissions/{leader['submission_id']}/include",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )

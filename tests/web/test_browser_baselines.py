"""Debian's Chromium, headless: the organisers' baseline on the board (its badge, its square on the Pareto chart,
each team's comparison line, dropped from the phone's card) and a team's learning curve drawn on its page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from test_browser import _chrome
from web_support import DURING, EVENT_YAML, Clock, served, synthetic_board

from greenhack.config import EventConfig, parse_event
from greenhack.settings import Settings
from greenhack.store.boards import refresh_boards
from greenhack.store.db import create_db_engine, make_session_factory, transaction
from greenhack.store.models import Event, Team
from greenhack.web import create_app

pytestmark = pytest.mark.browser

BASELINE = "Logistic regression"


@pytest.fixture
def baseline_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "truth.csv").write_text("id,label\n1,a\n2,b\n", encoding="utf-8")
    config: EventConfig = parse_event(
        EVENT_YAML + f"baselines:\n  - {{project: baselines/logreg, name: {BASELINE}}}\n",
        source=tmp_path / "event.yaml",
    )
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    synthetic_board(url, config, teams=["team-0", "team-1", "team-2", BASELINE], per_team=3, seed=3, minutes_apart=9)
    engine = create_db_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:  # the intake's flag (see test_baselines_board)
            session.execute(sa.update(Team).where(Team.name == BASELINE).values(baseline=True))
            event_id = session.execute(sa.select(Event.id)).scalar_one()
            refresh_boards(session=session, event_id=event_id, config=config, now=DURING)
    finally:
        engine.dispose()
    app = create_app(Settings(database_url=url, _env_file=None), config, clock=Clock(DURING))  # type: ignore[call-arg]
    with served(app) as address:
        yield address


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = _chrome()
    yield driver
    driver.quit()


def test_the_baseline_badge_chart_mark_comparison_and_learning_curve_are_drawn(
    baseline_server: str, browser: webdriver.Chrome
) -> None:
    wait = WebDriverWait(browser, 15)
    browser.get(baseline_server + "/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table#board tbody tr")))
    (row,) = browser.find_elements(By.CSS_SELECTOR, "table#board tbody tr.baseline-row")
    badge = row.find_element(By.CSS_SELECTOR, ".badge-baseline")
    assert badge.text == "Baseline" and badge.size["width"] > 0
    assert row.find_element(By.CSS_SELECTOR, "td.cell-rank").text == "–"
    lines = browser.find_elements(By.CSS_SELECTOR, "small.vs-baseline")
    assert len(lines) == 3 and all(line.is_displayed() and "the baseline" in line.text for line in lines)
    squares = browser.find_elements(By.CSS_SELECTOR, "svg.pareto-chart rect.point.baseline-point")
    assert len(squares) == 3 and all(s.size["width"] > 0 for s in squares)
    # on a phone the card stays short: the comparison line is dropped, the badge stays
    browser.set_window_size(390, 844)
    browser.get(baseline_server + "/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table#board tbody tr")))
    assert not any(line.is_displayed() for line in browser.find_elements(By.CSS_SELECTOR, "small.vs-baseline"))
    assert browser.find_element(By.CSS_SELECTOR, "tr.baseline-row .badge-baseline").is_displayed()
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
    # a team's page: its learning curve drawn, every job a point, the baseline's dashed reference
    browser.set_window_size(1200, 1000)
    browser.get(baseline_server + "/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table#board tbody tr")))
    browser.find_element(By.CSS_SELECTOR, "table#board tbody tr:not(.baseline-row) th[scope=row] a").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "svg.learning-curve-chart")))
    steps = browser.find_elements(By.CSS_SELECTOR, "svg.learning-curve-chart circle.step")
    assert len(steps) == 3 and all(s.size["width"] > 0 for s in steps)
    assert browser.find_element(By.CSS_SELECTOR, "svg.learning-curve-chart line.baseline:not(.legend-mark)").size["width"] > 100
    assert "trial and error has cost" in browser.find_element(By.CSS_SELECTOR, "p.trial-cost").text
    assert "than the baseline" in browser.find_element(By.CSS_SELECTOR, "p.vs-baseline-line").text

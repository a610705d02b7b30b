"""Debian's Chromium, headless through Selenium and /usr/bin/chromedriver: open the board, sort a column,
open a submission and see its charts drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from web_support import DURING, Clock, served, synthetic_board

from greenhack.config import EventConfig
from greenhack.settings import Settings
from greenhack.web import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def live_server(tmp_path: Path, event_config: EventConfig) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    synthetic_board(url, event_config, teams=[f"team-{t}" for t in range(5)], per_team=2, seed=7, minutes_apart=11)
    app = create_app(Settings(database_url=url, _env_file=None), event_config, clock=Clock(DURING))  # type: ignore[call-arg]
    with served(app) as address:
        yield address


def _chrome(*extra: str) -> webdriver.Chrome:
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "install chromium and chromium-driver (scripts/setup.sh --test)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1200,1000",
        *extra,
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = _chrome()
    yield driver
    driver.quit()


@pytest.fixture
def offline_browser() -> Iterator[webdriver.Chrome]:
    """A browser for which no host but this machine exists: a page that needs a CDN shows it."""
    driver = _chrome("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
    yield driver
    driver.quit()


def _teams(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "table#board tbody th[scope=row] a")]


def _energies_wh(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "table#board tbody td[data-label^=Energy]")]


def test_board_sort_submission_and_charts(live_server: str, browser: webdriver.Chrome) -> None:
    wait = WebDriverWait(browser, 15)
    browser.get(live_server + "/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table#board tbody tr")))
    assert len(_teams(browser)) == 5
    # the Pareto chart is drawn: its points have a real size on the page
    front = browser.find_elements(By.CSS_SELECTOR, "svg.pareto-chart circle.on-front")
    assert front and all(p.size["width"] > 0 for p in front)
    # every submission is a point of its own (issue 18: the dominated ones were one unnamed path)
    drawn = browser.find_elements(By.CSS_SELECTOR, "svg.pareto-chart a circle.point")
    assert len(drawn) == 10 and all(d.size["width"] > 0 for d in drawn)
    if len(front) > 1:
        assert browser.find_element(By.CSS_SELECTOR, "svg.pareto-chart polyline.front").size["width"] > 0
    # sort by energy, twice: ascending then descending
    browser.find_element(By.CSS_SELECTOR, 'a[data-sort="energy"]').click()
    wait.until(lambda d: "sort=energy" in d.current_url)
    header = browser.find_element(By.XPATH, '//a[@data-sort="energy"]/ancestor::th')
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = _teams(browser)
    browser.find_element(By.CSS_SELECTOR, 'a[data-sort="energy"]').click()
    wait.until(lambda d: "order=desc" in d.current_url)
    assert _teams(browser) == list(reversed(ascending))
    # open the first team's submission: status, and the power timeline drawn with one line per component
    browser.find_element(By.CSS_SELECTOR, "table#board tbody td[data-label=accuracy] a").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "svg.timeline-chart")))
    assert browser.find_element(By.CSS_SELECTOR, "[data-status]").text == "scored"
    lines = browser.find_elements(By.CSS_SELECTOR, "svg.timeline-chart polyline.series")
    assert len(lines) == 2 and all(line.size["width"] > 100 for line in lines)
    assert (
        browser.execute_script(
            "return document.querySelector('svg.timeline-chart polyline.series').getTotalLength()"
        )
        > 100
    )
    # usable on a phone: the board's rows become labelled cards, nothing overflows the viewport
    browser.set_window_size(390, 844)
    browser.get(live_server + "/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table#board tbody tr")))
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def test_api_docs_render_their_operations_offline(live_server: str, offline_browser: webdriver.Chrome) -> None:
    # issue 18: Swagger UI and ReDoc came from a CDN and showed a blank page without internet
    wait = WebDriverWait(offline_browser, 30)
    offline_browser.get(live_server + "/docs")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .opblock")))
    operations = offline_browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock-summary-path")
    paths = {o.get_attribute("data-path") or o.text for o in operations}
    assert "/api/v1/leaderboard" in {p.replace("\u200b", "") for p in paths}, paths
    scripts = [e.get_attribute("src") for e in offline_browser.find_elements(By.CSS_SELECTOR, "script[src]")]
    assert scripts and all(src.startswith(live_server) for src in scripts), scripts
    offline_browser.get(live_server + "/redoc")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-section-id^='operation/']")))
    assert len(offline_browser.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")) >= 3


_RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_pages_render_without_content_security_policy_violations(
    live_server: str, browser: webdriver.Chrome
) -> None:
    # record violations from the very start of every document (before the page's own script runs)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _RECORD_CSP_VIOLATIONS})
    wait = WebDriverWait(browser, 15)
    browser.get(live_server + "/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table#board tbody tr")))
    assert browser.execute_script("return window.__cspViolations") == []
    team = browser.find_element(By.CSS_SELECTOR, "table#board tbody th[scope=row] a").get_attribute("href")
    submission = browser.find_element(By.CSS_SELECTOR, "table#board tbody td[data-label=accuracy] a")
    pages = ["/event", "/submissions/999999", str(team), str(submission.get_attribute("href"))]
    for url in pages:
        browser.get(url if url.startswith("http") else live_server + url)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "main#main")))
        assert browser.execute_script("return window.__cspViolations") == [], url
    # the submission page's energy bar: its widths are style attributes, allowed and applied
    bars = browser.find_elements(By.CSS_SELECTOR, ".split-cpu, .split-gpu")
    assert bars and all(bar.size["width"] > 0 for bar in bars)
    # the recorder sees what the policy blocks: an inline script is refused and reported
    browser.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.head.appendChild(s);"
    )
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return window.__cspViolations.length") > 0)
    assert browser.execute_script("return window.__ran === undefined")
    assert browser.execute_script("return window.__cspViolations")[0].startswith("script-src")

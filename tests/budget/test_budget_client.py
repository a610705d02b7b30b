"""greenhack.budget against a small HTTP server that answers like the platform's live-energy endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from greenhack.budget import BudgetError, CarbonBudget, fetch_job_footprint


class Platform:
    """Answers GET /api/v1/jobs/self/energy for one token, with energy growing by 1 Wh per request."""

    def __init__(self) -> None:
        self.requests = 0
        self.status = 200
        self.body: bytes | None = None
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                platform.requests += 1
                if self.path != "/api/v1/jobs/self/energy" or self.headers.get("JOB-TOKEN") != "good":
                    self.send_response(401)
                    self.end_headers()
                    self.wfile.write(b'{"detail": "job token not valid"}')
                    return
                body = platform.body or json.dumps(
                    {
                        "job_id": 42,
                        "elapsed_s": 10.0 * platform.requests,
                        "energy_j": 3600.0 * platform.requests,
                        "gwp_gco2e": 0.5 * platform.requests,
                        "valid": True,
                    }
                ).encode()
                self.send_response(platform.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def platform() -> Iterator[Platform]:
    p = Platform()
    yield p
    p.server.shutdown()


def test_stops_when_the_energy_threshold_is_reached(platform: Platform) -> None:
    budget = CarbonBudget(max_energy_wh=3, url=platform.url, token="good", min_interval_s=0)
    steps = 0
    while not budget.exceeded():
        steps += 1
        assert steps < 10
    assert steps == 2 and budget.last is not None and budget.last.energy_wh == 3.0
    assert "3.00 Wh" in str(budget.last)


def test_gco2e_threshold_and_rate_limit(platform: Platform) -> None:
    budget = CarbonBudget(max_gco2e=1.0, url=platform.url, token="good", min_interval_s=3600)
    assert not budget.exceeded()
    for _ in range(5):  # within min_interval_s the last answer is reused, the platform is not asked
        assert not budget.exceeded()
    assert platform.requests == 1


def test_refused_token_and_unreachable_platform(platform: Platform) -> None:
    with pytest.raises(BudgetError, match="answered 401"):
        fetch_job_footprint(platform.url, "stolen")
    with pytest.raises(BudgetError, match="cannot reach"):
        fetch_job_footprint("http://127.0.0.1:9", "good", timeout_s=1)
    platform.body = b"<html>proxy error</html>"
    with pytest.raises(BudgetError, match="not JSON"):
        fetch_job_footprint(platform.url, "good")


def test_training_goes_on_when_the_platform_is_down(capsys: pytest.CaptureFixture[str]) -> None:
    budget = CarbonBudget(max_gco2e=1, url="http://127.0.0.1:9", token="t", min_interval_s=0, timeout_s=1)
    assert not budget.exceeded() and not budget.exceeded()
    assert capsys.readouterr().err.count("training goes on") == 1
    strict = CarbonBudget(max_gco2e=1, url="http://127.0.0.1:9", token="t", on_error="raise", timeout_s=1)
    with pytest.raises(BudgetError):
        strict.exceeded()


def test_arguments_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI_JOB_TOKEN", raising=False)
    monkeypatch.delenv("GREENHACK_URL", raising=False)
    with pytest.raises(ValueError, match="max_gco2e, max_energy_wh"):
        CarbonBudget(url="http://x", token="t")
    with pytest.raises(ValueError, match="positive"):
        CarbonBudget(max_gco2e=0, url="http://x", token="t")
    with pytest.raises(ValueError, match="GREENHACK_URL"):
        CarbonBudget(max_gco2e=1, token="t")
    with pytest.raises(ValueError, match="CI_JOB_TOKEN"):
        CarbonBudget(max_gco2e=1, url="http://x")
    monkeypatch.setenv("CI_JOB_TOKEN", "from-env")
    monkeypatch.setenv("GREENHACK_URL", "http://platform")
    assert CarbonBudget(max_gco2e=1).token == "from-env"

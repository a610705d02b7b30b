"""``/metrics`` series cannot be grown by visitors: made-up methods and paths share fixed labels."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
_SERIES = re.compile(r'^greenhack_http_request_duration_seconds_count\{method="([^"]*)",route="([^"]*)"', re.M)


def _series(client: TestClient) -> list[tuple[str, str]]:
    return _SERIES.findall(client.get("/metrics").text)


def test_made_up_methods_and_paths_do_not_grow_the_request_series(client: TestClient) -> None:
    client.get("/api/v1/leaderboard")
    before = len(_series(client))
    for n in range(40):
        client.request(f"BREW{n}", "/api/v1/leaderboard")
        client.request("get", f"/nowhere/{n}")  # methods are case-sensitive: 'get' is not GET
        client.get(f"/no/such/page-{n}")
    series = _series(client)
    assert {method for method, _ in series} <= KNOWN_METHODS | {"other"}, series
    assert {route for _, route in series if route.startswith("/no")} == set(), series
    # three kinds of request were made: at most three new series (other x route, other x unmatched, GET x unmatched)
    assert len(series) - before <= 3, series

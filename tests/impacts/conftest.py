"""Fixtures of the impacts tests: BoaviztAPI clients (on the test bench's real server) whose calls are counted."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from impacts_helpers import CountingClient

from greenhack.impacts import BoaviztaClient


@pytest.fixture
def counting_client(boavizta_url: str) -> Iterator[Callable[..., CountingClient]]:
    made: list[httpx.Client] = []

    def make(url: str | None = None) -> CountingClient:
        calls: list[tuple[str, str]] = []
        http = httpx.Client(
            event_hooks={"request": [lambda request: calls.append((request.method, request.url.path))]},
            timeout=30.0,
        )
        made.append(http)
        return CountingClient(BoaviztaClient(url or boavizta_url, http=http), calls)

    yield make
    for http in made:
        http.close()

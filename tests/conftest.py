"""The test bench: real services on free loopback ports, shared by every test area.

Fixtures:
- ``postgres_url`` (session): a ``postgresql+psycopg://`` URL of a fresh throwaway database, dropped at the end.
- ``prometheus_factory`` (session): ``(openmetrics_text=None, *, scrape_config=None) -> PrometheusServer``; the
  text (or a list of ``SeriesSamples``) is backfilled before the server starts; every server it made is stopped
  at the end. See greenhack.services.prometheus for what backfilled data must respect.
- ``boavizta_server`` / ``boavizta_url`` (session): a real BoaviztAPI server started from ``.venv-boavizta``.
  Tests that stop it must start it again (``boavizta_server.restart()``) before they end.
- autouse ``_clean_greenhack_env``: removes ``GREENHACK_*`` variables (except ``GREENHACK_BOAVIZTA_PYTHON``,
  which scripts/test.sh sets) so no test depends on the developer's environment.

A service that cannot start makes the tests that need it error with the reason (ServiceError); they are never
skipped.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from greenhack.services.boavizta import BOAVIZTA_PYTHON_ENV, BoaviztaServer
from greenhack.services.openmetrics import SeriesSamples
from greenhack.services.postgres import temporary_database
from greenhack.services.prometheus import PrometheusServer

PrometheusFactory = Callable[..., PrometheusServer]


# A test run started in the background by a non-interactive shell (`cmd &` in a script) inherits SIGINT ignored,
# and so would every process the tests start (an ignored signal survives exec): the tests that press Ctrl-C on
# `greenhack demo` and `greenhack measure` then wait for nothing. A handler, unlike SIG_IGN, is reset to the
# default on exec, so the processes the tests start get Ctrl-C as a terminal would give it.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _clean_greenhack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GREENHACK_") and name != BOAVIZTA_PYTHON_ENV:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with temporary_database(prefix="greenhack_test") as url:
        yield url


@pytest.fixture(scope="session")
def prometheus_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusFactory]:
    servers: list[PrometheusServer] = []

    def make(
        openmetrics_text: str | Sequence[SeriesSamples] | None = None, *, scrape_config: str | None = None
    ) -> PrometheusServer:
        workdir: Path = tmp_path_factory.mktemp("prometheus")
        server = PrometheusServer(scrape_config=scrape_config, workdir=workdir)
        servers.append(server)
        if openmetrics_text is not None:
            server.backfill(openmetrics_text)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def boavizta_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoaviztaServer]:
    server = BoaviztaServer(workdir=tmp_path_factory.mktemp("boavizta"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def boavizta_url(boavizta_server: BoaviztaServer) -> str:
    return boavizta_server.url

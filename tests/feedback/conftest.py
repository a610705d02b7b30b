"""Fixtures of the feedback tests: a migrated PostgreSQL, the fake GitLab world, and a real HTTP server for the
platform's routes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fb_world import GROUP, TAG, World

from greenhack.store.db import SessionFactory, create_db_engine, make_session_factory, upgrade_database
from greenhack.store.models import Base
from greenhack.testing.fake_gitlab import FakeGitLab


@pytest.fixture(scope="session")
def feedback_sessions(postgres_url: str) -> Iterator[SessionFactory]:
    upgrade_database(postgres_url)
    engine = create_db_engine(postgres_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def sessions(feedback_sessions: SessionFactory) -> SessionFactory:
    with feedback_sessions() as session, session.begin():
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    return feedback_sessions


@pytest.fixture
def world() -> Iterator[World]:
    with FakeGitLab() as fake:
        group = fake.find_or_create_group(GROUP)
        project = fake.create_project("team-a", namespace_id=group["id"])
        runner = fake.add_runner("gpu-1 runner", tags=[TAG])
        yield World(fake, int(project["id"]), str(project["path_with_namespace"]), runner)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """Serve an app on a free loopback port (a real HTTP server, for urllib and curl); returns its URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: FastAPI) -> str:
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise AssertionError("the platform did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)

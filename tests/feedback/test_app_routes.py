"""The board's app serves the job-token routes, with services built on first use from the YAML and settings."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from fb_world import World, write_event

from greenhack.settings import Settings
from greenhack.store.db import SessionFactory
from greenhack.web.app import create_app


def test_create_app_serves_the_job_routes(
    tmp_path: Path, world: World, postgres_url: str, feedback_sessions: SessionFactory
) -> None:
    config = write_event(tmp_path, gitlab_url=world.fake.url)
    app = create_app(Settings(database_url=postgres_url, data_dir=tmp_path / "data"), config)
    paths = set(app.openapi()["paths"])
    assert {"/api/v1/jobs/self/energy", "/api/v1/jobs/self/budget-check"} <= paths
    with TestClient(app) as client:
        answer = client.get("/api/v1/jobs/self/energy", headers={"JOB-TOKEN": "glcbt-unknown"})
        assert answer.status_code == 401
        assert "not a CI_JOB_TOKEN, or its job has already finished" in answer.json()["detail"]
        other = world.fake.create_project(
            "x", namespace_id=world.fake.find_or_create_group("elsewhere")["id"]
        )
        _, foreign = world.running_job(project_id=int(other["id"]))
        assert (
            client.post("/api/v1/jobs/self/budget-check", headers={"JOB-TOKEN": foreign}).status_code == 403
        )

"""The CI template's budget step under gitlab-ci-local (shell executor): the platform refuses an over-budget team
in seconds, before the team's command runs; a team within its budget runs as before."""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fb_world import World, write_event

from greenhack.config import EventConfig
from greenhack.feedback.job_auth import JobTokenVerifier
from greenhack.feedback.router import FeedbackServices, make_feedback_router
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.store import crud, queue
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission
from greenhack.telemetry import PrometheusClient

pytestmark = pytest.mark.slow

ENTRY = 'echo ran > "$CI_PROJECT_DIR/entry-ran"\necho "id,label" > "$GREENHACK_PREDICTIONS"\necho "1,big" >> "$GREENHACK_PREDICTIONS"\n'
INCLUDE = """\
include:
  - component: $CI_SERVER_FQDN/{project}/submission@$CI_COMMIT_SHA
    inputs:
      runner_tag: green-ai-gpu-1
      job_timeout: 1m
      platform_url: {platform}
"""


def _gl_cilocal() -> ModuleType:
    """tests/gitlab/gl_cilocal.py (the GitLab issue's gitlab-ci-local driver), loaded by path."""
    path = Path(__file__).resolve().parents[1] / "gitlab" / "gl_cilocal.py"
    spec = importlib.util.spec_from_file_location("gl_cilocal_for_feedback", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def platform(
    tmp_path: Path, world: World, sessions: SessionFactory, serve: Callable[[FastAPI], str]
) -> tuple[str, EventConfig]:
    config = write_event(tmp_path, gitlab_url=world.fake.url, budget_g=50.0)
    http = httpx.Client(timeout=5.0)
    services = FeedbackServices(
        verifier=JobTokenVerifier(config, http=http),
        telemetry=PrometheusClient("http://127.0.0.1:9"),
        impacts=ImpactCalculator(BoaviztaClient("http://127.0.0.1:9"), FactorCache(None)),
        gitlab=None,
        sessions=sessions,
    )
    app = FastAPI()
    app.include_router(make_feedback_router(config=config, services=lambda: services))
    return serve(app), config


def _spent(sessions: SessionFactory, config: EventConfig, world: World, gwp_g: float) -> None:
    with transaction(sessions, "seeding") as session:
        event = crud.ensure_event(session=session, name=config.event.name)
        team = crud.ensure_team(
            session=session, event_id=event.id, name="team-a", gitlab_project_id=world.project_id
        )
        row = queue.enqueue(
            session=session,
            event_id=event.id,
            team_id=team.id,
            gitlab_project_id=world.project_id,
            gitlab_job_id=1,
            gitlab_pipeline_id=1,
            submitted_at=datetime.now(UTC) - timedelta(days=1),
        )
        session.execute(
            sa.update(Submission)
            .where(Submission.id == row.submission_id)
            .values(status="scored", gwp_kgco2e=gwp_g / 1000, energy_j=gwp_g * 1000)
        )


def _run(tmp_path: Path, platform_url: str, token: str, inputs: Path) -> tuple[Any, Path]:
    gl = _gl_cilocal()
    repo = gl.TeamRepo(tmp_path / "team-a")
    repo.write("run.sh", ENTRY)
    repo.add_component()
    repo.write(".gitlab-ci.yml", INCLUDE.format(project=repo.project_path, platform=platform_url))
    repo.commit()
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(inputs), "CI_JOB_TOKEN": token})
    return run, repo.path


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "srv-inputs"
    folder.mkdir()
    (folder / "test.csv").write_text("id,x\n1,3\n", encoding="utf-8")
    return folder


def test_the_budget_step_refuses_an_over_budget_team_before_its_command_runs(
    tmp_path: Path, world: World, sessions: SessionFactory, platform: tuple[str, EventConfig], inputs: Path
) -> None:
    url, config = platform
    _spent(sessions, config, world, 61.0)
    job, token = world.running_job()
    began = time.monotonic()
    run, repo = _run(tmp_path, url, token, inputs)
    assert run.returncode != 0, run.output
    output: str = run.output
    assert "greenhack: submission refused for team team-a: 61.0 of 50 gCO2e used" in output
    assert "your team's carbon budget is spent" in output
    assert "nothing was measured and it does not count toward your daily limit" in output
    assert not (repo / "entry-ran").exists()
    assert time.monotonic() - began < 60
    with sessions() as session:
        refused = session.execute(
            sa.select(Submission).where(Submission.gitlab_job_id == job["id"])
        ).scalar_one()
    assert refused.status == "invalid" and refused.counts_toward_limit is False


def test_a_team_within_its_budget_runs_with_the_platform_address_exported(
    tmp_path: Path, world: World, sessions: SessionFactory, platform: tuple[str, EventConfig], inputs: Path
) -> None:
    url, config = platform
    _spent(sessions, config, world, 10.0)
    _, token = world.running_job()
    run, repo = _run(tmp_path, url, token, inputs)
    assert run.returncode == 0, run.output
    assert "greenhack: submission allowed for team team-a: 10.0 of 50 gCO2e used" in run.output
    assert (repo / "entry-ran").exists()


def test_the_train_predict_component_runs_both_measured_phases(tmp_path: Path, inputs: Path) -> None:
    gl = _gl_cilocal()
    repo = gl.TeamRepo(tmp_path / "team-b", project_path="green-ai-hack-2026/team-b")
    repo.write("train.sh", 'test "$GREENHACK_PHASE" = train\necho 5 > "$GREENHACK_MODEL_DIR/threshold"\n')
    repo.write(
        "predict.sh",
        'limit="$(cat "$GREENHACK_MODEL_DIR/threshold")"\n'
        'tail -n +2 "$GREENHACK_INPUTS_DIR/test.csv" | { echo id,label; while IFS=, read -r i x; do '
        'if [ "$x" -gt "$limit" ]; then echo "$i,big"; else echo "$i,small"; fi; done; } > "$GREENHACK_PREDICTIONS"\n',
    )
    target = repo.path / "templates"
    target.mkdir()
    (target / "train-predict.yml").write_text(
        (gl.ROOT / "ci-templates" / "templates" / "train-predict.yml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    repo.write(
        ".gitlab-ci.yml",
        "include:\n  - component: $CI_SERVER_FQDN/green-ai-hack-2026/team-b/train-predict@$CI_COMMIT_SHA\n"
        "    inputs:\n      runner_tag: green-ai-gpu-1\n      job_timeout: 1m\n",
    )
    repo.commit()
    run = repo.run(variables={"GREENHACK_INPUTS_DIR": str(inputs)})
    assert run.returncode == 0, run.output
    assert "PASS  submission-train" in run.output and "PASS  submission-predict" in run.output
    assert run.artifact("submission-predict", "predictions.csv").read_text() == "id,label\n1,small\n"
    assert run.artifact("submission-train", "model/threshold").read_text() == "5\n"

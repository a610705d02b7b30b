"""`greenhack worker` and `greenhack evaluate` as processes: a worker SIGKILLed mid-evaluation is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitlab_support import Platform, Windows, command_log, perfect_predictions
from typer.testing import CliRunner

from greenhack.cli import app

pytestmark = pytest.mark.slow

HOOK_URL = "http://testserver/api/v1/hooks/gitlab"


def _env(platform: Platform, gitlab_db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENHACK_")}
    env.update(
        GREENHACK_DATABASE_URL=gitlab_db_url,
        GREENHACK_GITLAB_TOKEN=platform.fake.token,
        GREENHACK_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def _seed(platform: Platform, windows: Windows) -> tuple[int, int]:
    fake = platform.fake
    group = fake.find_or_create_group("green-ai-hack-2026")
    project = fake.create_project("team-a", namespace_id=group["id"])
    fake.add_hook(project["id"], {"url": HOOK_URL, "token": "s3cret-webhook-token", "job_events": True})
    runner = fake.runner_id("gpu-1 runner", tags=["green-ai-gpu-1"])
    job = fake.run_job(
        project["id"],
        started_at=windows.a[0],
        finished_at=windows.a[1],
        runner_id=runner,
        tags=["green-ai-gpu-1"],
        artifacts={"predictions.csv": perfect_predictions()},
        log=command_log(windows.a),
    )
    return project["id"], int(job["id"])


def test_a_sigkilled_worker_process_is_taken_over(
    platform: Platform, windows: Windows, gitlab_db_url: str, event_yaml: Path, tmp_path: Path
) -> None:
    project_id, job_id = _seed(platform, windows)
    platform.fake.deliver_job_hook(job_id, client=platform.client)
    # GitLab answers the job slowly: the worker process is caught mid-evaluation
    platform.fake.delay(rf"/projects/{project_id}/jobs/{job_id}$", seconds=30, times=1)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greenhack",
            "worker",
            "--config",
            str(event_yaml),
            "--once",
            "--lease",
            "2s",
            "--name",
            "doomed",
            "--reconcile-every",
            "1h",
        ],
        env=_env(platform, gitlab_db_url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            subs = platform.submissions()
            if subs and subs[0].status == "measuring" and subs[0].claimed_by == "doomed":
                break
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.1)
        else:
            raise AssertionError("the worker process never claimed the job")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    platform.fake.clear_faults()
    platform.clock.advance(2.1)  # the dead worker's lease (2 s) expires
    platform.drain(platform.worker("survivor"))
    (sub,) = platform.submissions()
    assert (sub.status, sub.attempts) == ("scored", 2), sub.reason


def test_worker_once_reconciles_and_evaluates(
    platform: Platform, windows: Windows, gitlab_db_url: str, event_yaml: Path, tmp_path: Path
) -> None:
    _, job_id = _seed(platform, windows)  # no webhook: only the reconciler can find it
    done = subprocess.run(
        [sys.executable, "-m", "greenhack", "worker", "--config", str(event_yaml), "--once"],
        env=_env(platform, gitlab_db_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 evaluation(s) handled" in done.stderr
    (sub,) = platform.submissions()
    assert (sub.gitlab_job_id, sub.status) == (job_id, "scored"), sub.reason


def test_evaluate_by_hand_prints_the_outcome_and_stores_nothing(
    platform: Platform, windows: Windows, event_yaml: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, job_id = _seed(platform, windows)
    monkeypatch.setenv("GREENHACK_GITLAB_TOKEN", platform.fake.token)
    monkeypatch.setenv("GREENHACK_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--config",
            str(event_yaml),
            "--project",
            "green-ai-hack-2026/team-a",
            "--job",
            str(job_id),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "scored" and data["server"] == "gpu-1"
    assert data["performance"]["public"] == 1.0 and data["energy_j"] > 0
    assert platform.submissions() == []
    missing = CliRunner().invoke(
        app, ["evaluate", "--config", str(event_yaml), "--project", "green-ai-hack-2026/nope", "--job", "1"]
    )
    assert missing.exit_code == 1 and "404" in missing.output

"""``greenhack admin <verb>`` against a served board (uvicorn on a free port): each action, its answer on the
terminal and in the database, and the errors people meet (nothing listening, a wrong token, a refused action)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from fastapi import Request
from typer.testing import CliRunner
from web_support import ADMIN_TOKEN, CLOSES, Clock, Seeder, WorkerPass, free_port, served

from greenhack.cli import admin_cmd
from greenhack.cli import app as cli_app
from greenhack.config import EventConfig
from greenhack.settings import Settings
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import AdminTask, Event, Submission
from greenhack.store.tasks import claim_task
from greenhack.web import create_app

runner = CliRunner()


@pytest.fixture
def board(database_url: str, event_config: EventConfig, clock: Clock, sessions: SessionFactory) -> Iterator[str]:
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, event_config, clock=clock, cache_ttl_s=0.0)
    with served(app) as url:
        yield url


@pytest.fixture(autouse=True)
def _no_settings_from_here(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    # the command reads GREENHACK_* and an .env file when an option is missing: none of this machine's
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for name in ("GREENHACK_ADMIN_TOKEN", "GREENHACK_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


def _admin(url: str, *args: str, token: str = ADMIN_TOKEN, app: typer.Typer = cli_app) -> tuple[int, str]:
    result = runner.invoke(app, ["admin", "--url", url, "--token", token, *args])
    return result.exit_code, result.output


def _override(sessions: SessionFactory) -> bool | None:
    with transaction(sessions) as s:
        return s.execute(sa.select(Event.frozen_override)).scalar_one()


def test_freeze_unfreeze_and_back_to_the_yaml(board: str, seed: Seeder, sessions: SessionFactory) -> None:
    seed(teams=1, per_team=1)
    assert _admin(board, "freeze") == (0, "board frozen\n")
    assert _override(sessions) is True
    code, out = _admin(board, "status")
    assert code == 0 and "board: frozen" in out and "closes: 2026-12-02T17:00:00+01:00" in out
    assert _admin(board, "unfreeze") == (0, "board unfrozen\n") and _override(sessions) is False
    assert _admin(board, "freeze-auto")[0] == 0 and _override(sessions) is None


def test_exclude_include_rerun_and_their_refusals(board: str, seed: Seeder, sessions: SessionFactory) -> None:
    (target,) = seed(teams=1, per_team=1)
    code, out = _admin(board, "exclude", str(target), "--reason", "copied predictions")
    assert (code, out) == (0, f"submission {target} excluded\n")
    with transaction(sessions) as s:
        row = s.get(Submission, target)
        assert row is not None and row.excluded and row.excluded_reason == "copied predictions"
    assert _admin(board, "include", str(target)) == (0, f"submission {target} included again\n")
    assert _admin(board, "rerun", str(target)) == (0, f"submission {target} queued again\n")
    with transaction(sessions) as s:
        assert s.get(Submission, target).status == "queued"  # type: ignore[union-attr]
    # what the board refuses is said with its reason
    code, out = _admin(board, "rerun", "999999")
    assert code == 1 and "HTTP 404" in out and "submission 999999 does not exist" in out
    code, out = _admin(board, "exclude", str(target), "--reason", "   ")
    assert code == 1 and "HTTP 422" in out and "reason" in out and "Traceback" not in out
    # --json prints the board's answer as it came
    code, out = _admin(board, "--json", "include", str(target))
    assert code == 0 and '"ok": true' in out


def test_select_and_unselect_while_the_phase_is_open(
    board: str, seed: Seeder, sessions: SessionFactory, clock: Clock
) -> None:
    (target,) = seed(teams=1, per_team=1)
    assert _admin(board, "select", str(target)) == (
        0, f"submission {target} selected for the final board of the event\n",
    )  # fmt: skip
    with transaction(sessions) as s:
        assert s.get(Submission, target).selected  # type: ignore[union-attr]
    clock.now = CLOSES  # an event without phases is one phase: selecting closes with it
    code, out = _admin(board, "unselect", str(target))
    assert code == 1 and "HTTP 409" in out and "which closed at 2026-12-02T17:00:00+01:00" in out
    assert "its selections are final" in out


def test_rescore_queues_a_task_and_waits_for_a_worker(
    board: str, seed: Seeder, worker_pass: WorkerPass
) -> None:
    seed(teams=2, per_team=1)
    code, out = _admin(board, "rescore")
    assert code == 0 and "rescore task" in out and "queued" in out and "greenhack admin task" in out
    task_id = out.split("rescore task ")[1].split(":")[0]
    code, out = _admin(board, "task", task_id)
    assert code == 0 and f"rescore task {task_id}: queued, 0 done" in out
    # --wait follows the task while a worker runs it
    stop = threading.Event()

    def work() -> None:
        while not stop.wait(0.2):
            worker_pass()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        code, out = _admin(board, "rescore", "--wait", "--poll", "0.1")
    finally:
        stop.set()
        worker.join(timeout=10)
    assert code == 0, out
    assert out.strip().splitlines()[-1].endswith("done, 2 of 2 done"), out
    code, out = _admin(board, "task", task_id)
    assert code == 0 and "done, 2 of 2 done" in out and '"recomputed": 2' in out


def test_rescore_wait_gives_up_after_its_timeout_and_says_why(board: str, seed: Seeder) -> None:
    seed(teams=1, per_team=1)
    # no worker at all: the task is never picked up
    code, out = _admin(board, "rescore", "--wait", "--poll", "0.1", "--wait-timeout", "300ms")
    assert code == 3, out
    task_id = out.split("rescore task ")[1].split(":")[0]
    assert f"no worker picked rescore task {task_id} up in 300ms; is `greenhack worker` running?" in out
    code, out = _admin(board, "rescore", "--wait", "--wait-timeout", "soon")
    assert code == 2 and "--wait-timeout" in out, out


def test_rescore_wait_says_how_far_a_stuck_worker_got(
    database_url: str, event_config: EventConfig, clock: Clock, sessions: SessionFactory, seed: Seeder
) -> None:
    seed(teams=1, per_team=1)
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, event_config, clock=clock, cache_ttl_s=0.0)

    @app.middleware("http")
    async def a_worker_claims_it_and_stops(request: Request, call_next: Any) -> Any:
        # the first time the command asks how the task goes, a worker has taken it and then stopped answering
        if request.method == "GET" and "/tasks/" in request.url.path:
            with transaction(sessions) as session:
                event_id = session.execute(sa.select(Event.id)).scalar_one()
                claim_task(session=session, event_id=event_id, worker="stuck", lease_s=3600.0, now=clock())
        return await call_next(request)

    with served(app) as url:
        code, out = _admin(url, "rescore", "--wait", "--poll", "0.1", "--wait-timeout", "300ms")
    assert code == 3, out
    task_id = out.split("rescore task ")[1].split(":")[0]
    assert f"rescore task {task_id} is still running after 300ms (0 done, attempt 1)" in out
    assert f"follow it with `greenhack admin task {task_id}`" in out


def test_nothing_listening_names_the_url(tmp_path: object) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out = _admin(url, "freeze")
    assert code == 3 and f"cannot reach the board at {url}: connection refused" in out


def test_a_wrong_or_missing_token(board: str) -> None:
    code, out = _admin(board, "freeze", token="not-the-token")
    assert code == 2 and "refused the admin token (HTTP 401)" in out and "GREENHACK_ADMIN_TOKEN" in out
    result = runner.invoke(cli_app, ["admin", "--url", board, "freeze"])
    assert result.exit_code == 2 and "no admin token" in result.output


def test_the_token_and_url_come_from_the_environment(
    board: str, monkeypatch: pytest.MonkeyPatch, sessions: SessionFactory
) -> None:
    monkeypatch.setenv("GREENHACK_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("GREENHACK_PUBLIC_URL", board)
    result = runner.invoke(cli_app, ["admin", "freeze"])
    assert result.exit_code == 0 and _override(sessions) is True


def test_remeasure_is_a_verb_of_its_own_module_and_queues_a_task(
    board: str, seed: Seeder, sessions: SessionFactory
) -> None:
    """``remeasure`` lives in a module of its own (greenhack.cli.remeasure_cmd, named in ADMIN_VERB_MODULES): it
    queues a re-measure task on the board, which a worker runs."""
    (target,) = seed(teams=1, per_team=1)
    assert "greenhack.cli.remeasure_cmd" in admin_cmd.ADMIN_VERB_MODULES
    code, out = _admin(board, "remeasure", str(target))
    with transaction(sessions) as s:
        (task,) = s.execute(sa.select(AdminTask)).scalars().all()
        assert (task.kind, task.submission_id) == ("remeasure", target)
    assert code == 0 and out.startswith(f"remeasure task {task.id} of submission {target}: queued;"), out
    code, out = _admin(board, "remeasure", "999999")
    assert code == 1 and "999999" in out


def test_an_action_is_committed_before_its_answer_is_sent(
    database_url: str, event_config: EventConfig, clock: Clock, sessions: SessionFactory
) -> None:
    """FastAPI ended the request's transaction after sending the answer: a command that read "board frozen" and
    asked again at once could see the board unfrozen (found by `greenhack admin freeze` then a read)."""
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, event_config, clock=clock, cache_ttl_s=0.0)
    sa.event.listen(app.state.context.sessions, "before_commit", lambda _session: time.sleep(0.5))  # a slow disk
    with served(app) as url:
        assert _admin(url, "freeze") == (0, "board frozen\n")
        assert _override(sessions) is True

"""Hostile or oversized webhook bodies get a clear 4xx, never a 500, and the body is read as a stream with a cap.

The cap is GitLab's own: ``WebHookService::REQUEST_BODY_SIZE_LIMIT = 25.megabytes`` (gitlab-org/gitlab,
app/services/web_hook_service.rb) is the largest body GitLab sends. A genuine hook refused by the receiver
counts as a failure, and GitLab disables a webhook after four consecutive failures (4xx or 5xx answers,
timeouts; docs: user/project/integrations/webhooks.md, "Auto-disabled webhooks"), so every body up to that
size must be accepted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from greenhack.config import load_event
from greenhack.errors import WebhookBodyTooLarge, WebhookPayloadError
from greenhack.gitlab.webhooks import MAX_BODY_BYTES, PipelineHook, parse_webhook, read_capped_body
from greenhack.store.db import SessionFactory
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.web.hooks import make_hook_router

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "event.yaml"
SECRET = "hook-secret"
HOOK_PATH = "/api/v1/hooks/gitlab"
MIB = 1024 * 1024


def test_the_cap_is_gitlabs_own_request_size() -> None:
    assert MAX_BODY_BYTES == 25 * MIB  # Rails' 25.megabytes


def test_deeply_nested_json_is_a_payload_error_not_a_recursion_error() -> None:
    for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
        body = opener * 100_000 + closer * 100_000
        with pytest.raises(WebhookPayloadError, match="nested too deeply"):
            parse_webhook("Job Hook", body)


@pytest.mark.parametrize("key", ["build_id", "project_id", "pipeline_id"])
@pytest.mark.parametrize("value", [2**70, 2**63, 0, -5])
def test_ids_outside_gitlabs_range_are_refused(key: str, value: int) -> None:
    body = {
        "object_kind": "build",
        "build_id": 1977,
        "build_name": "submission",
        "build_status": "success",
        "pipeline_id": 2366,
        "project_id": 380,
        key: value,
    }
    with pytest.raises(WebhookPayloadError, match=key):
        parse_webhook("Job Hook", json.dumps(body).encode())
    assert parse_webhook("Job Hook", json.dumps({**body, key: 2**63 - 1}).encode()) is not None


def test_integers_too_long_for_python_and_huge_strings_are_refused_briefly() -> None:
    with pytest.raises(WebhookPayloadError, match="not JSON"):
        parse_webhook("Job Hook", b'{"object_kind": "build", "build_id": ' + b"9" * 5000 + b"}")
    body = {"object_kind": "build", "build_id": "x" * 1_000_000, "project_id": 1}
    with pytest.raises(WebhookPayloadError) as refused:
        parse_webhook("Job Hook", json.dumps(body).encode())
    assert len(str(refused.value)) < 300


async def _chunks(parts: list[bytes], pulled: list[int]) -> AsyncIterator[bytes]:
    for part in parts:
        pulled.append(len(part))
        yield part


def test_the_capped_reader_stops_at_the_first_chunk_past_the_cap() -> None:
    pulled: list[int] = []
    parts = [b"x" * 10] * 100
    with pytest.raises(WebhookBodyTooLarge):
        anyio.run(lambda: read_capped_body(_chunks(parts, pulled), declared_length=None, max_bytes=95))
    assert len(pulled) == 10  # 9 chunks fit (90 bytes), the 10th goes past 95; the other 90 are never read
    assert anyio.run(lambda: read_capped_body(_chunks(parts[:9], []), declared_length=None, max_bytes=95)) == (
        b"x" * 90
    )
    # a declared length over the cap is refused before anything is read
    pulled.clear()
    with pytest.raises(WebhookBodyTooLarge):
        anyio.run(lambda: read_capped_body(_chunks(parts, pulled), declared_length="96", max_bytes=95))
    assert pulled == []


# --- the route ---------------------------------------------------------------------------------------------


@pytest.fixture
def hook_app(sessions: SessionFactory, clean_db: None) -> FastAPI:
    app = FastAPI()
    app.include_router(
        make_hook_router(
            config=load_event(EXAMPLE), sessions=lambda: sessions, webhook_secret=SecretStr(SECRET)
        )
    )
    return app


@pytest.fixture
def client(hook_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(hook_app, raise_server_exceptions=False) as test_client:
        yield test_client


def _headers(event: str = "Job Hook") -> dict[str, str]:
    return {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": event, "Content-Type": "application/json"}


def _post_chunked(app: FastAPI, parts: list[bytes]) -> tuple[int, int]:
    """POST ``parts`` as a chunked body (no Content-Length) straight over ASGI; (status, chunks the app pulled)."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(parts):
            pulled += 1
            return {"type": "http.request", "body": parts[pulled - 1], "more_body": pulled < len(parts)}
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    headers = [(k.lower().encode(), v.encode()) for k, v in _headers().items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": HOOK_PATH,
        "raw_path": HOOK_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    return status, pulled


def test_a_chunked_body_is_refused_once_past_the_cap_without_reading_the_rest(hook_app: FastAPI) -> None:
    parts = [b'{"object_kind": "build", "padding": "'] + [b"x" * MIB] * 40
    status, pulled = _post_chunked(hook_app, parts)
    assert status == 413
    assert pulled <= 27, f"read {pulled} of {len(parts)} chunks (1 MiB each) before refusing"


def test_deep_json_and_huge_ids_get_400_not_500(client: TestClient) -> None:
    deep = client.post(HOOK_PATH, content=b"[" * 100_000 + b"]" * 100_000, headers=_headers())
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]
    huge = {
        "object_kind": "build",
        "build_id": 2**70,
        "build_name": "submission",
        "build_status": "success",
        "pipeline_id": 2366,
        "project_id": 380,
        "project": {"path_with_namespace": "green-ai-hack-2026/alpha"},
    }
    answer = client.post(HOOK_PATH, content=json.dumps(huge).encode(), headers=_headers())
    assert answer.status_code == 400 and "build_id" in answer.json()["detail"]


def test_a_large_genuine_pipeline_hook_is_accepted(client: TestClient) -> None:
    fake = FakeGitLab()
    group = fake.create_group("green-ai-hack-2026")
    project = fake.create_project("alpha", namespace_id=group["id"])
    start = datetime(2026, 12, 1, 10, tzinfo=UTC)
    job = fake.run_job(project["id"], started_at=start, finished_at=start + timedelta(minutes=3), runner_id=None)
    payload = fake.pipeline_hook_payload(job["pipeline"]["id"])
    (submission,) = payload["builds"]
    # a pipeline of several thousand jobs: GitLab lists every one of them in the hook
    payload["builds"] = [submission] + [
        {**submission, "id": submission["id"] + n, "name": f"lint {n}"} for n in range(1, 14_000)
    ]
    body = json.dumps(payload).encode()
    assert 6 * MIB < len(body) < MAX_BODY_BYTES  # over the old 5 MiB cap, under GitLab's own
    hook = parse_webhook("Pipeline Hook", body)
    assert isinstance(hook, PipelineHook) and len(hook.jobs) == 14_000
    answer = client.post(HOOK_PATH, content=body, headers=_headers("Pipeline Hook"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["jobs"] == [submission["id"]]

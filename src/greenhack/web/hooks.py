"""``POST /api/v1/hooks/gitlab``: GitLab's Job Hook and Pipeline Hook, turned into queued evaluations.

The route checks ``X-Gitlab-Token`` in constant time, parses the body as GitLab documents it, and hands the jobs it
names to :mod:`greenhack.intake`, which queues one evaluation per finished submission job. It answers in
milliseconds (one small transaction); the worker does the rest. A webhook is only a hint: the worker reads the job
again from the API with the platform's token.

Answers: 202 with what was queued; 200 for events it ignores; 400 for a body GitLab would not send; 401 for a
missing or wrong token; 413 for an oversized body; 503 while the secret is unset or the database is down (the
reconciler queues whatever a failed delivery missed).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from greenhack.config import EventConfig
from greenhack.errors import StoreError, WebhookBodyTooLarge, WebhookPayloadError
from greenhack.gitlab.webhooks import JobHook, PipelineHook, parse_webhook, read_capped_body
from greenhack.intake import enqueue_hook_jobs, submission_jobs
from greenhack.store.db import SessionFactory, transaction

__all__ = ["make_hook_router"]

log = logging.getLogger(__name__)


# what GitLab sends (a project webhook with a secret token) and what it gets back, for the OpenAPI schema: the
# route reads the raw body itself (to cap its size before parsing), so FastAPI cannot infer either
_HOOK_REQUEST: dict[str, Any] = {
    "parameters": [
        {"name": "X-Gitlab-Token", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "X-Gitlab-Event", "in": "header", "required": False, "schema": {"type": "string"}},
    ],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
}
_HOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "not a job or pipeline event, or no finished submission job in it: ignored"},
    400: {"description": "not a GitLab webhook body"},
    401: {"description": "missing or wrong X-Gitlab-Token"},
    413: {"description": "body too large"},
    503: {"description": "no webhook secret configured, or the database is unavailable"},
}


def make_hook_router(
    *,
    config: EventConfig,
    sessions: Callable[[], SessionFactory],
    webhook_secret: SecretStr | None,
) -> APIRouter:
    """The webhook route, for ``app.include_router(...)``.

    Args:
        config: the event (its name and submission job names).
        sessions: returns the database's session factory (called per request, so the app may build it late).
        webhook_secret: the secret every project webhook sends as ``X-Gitlab-Token``; None refuses every call.
    """
    router = APIRouter(tags=["gitlab"])
    secret = webhook_secret.get_secret_value().encode() if webhook_secret is not None else None

    @router.post("/api/v1/hooks/gitlab", status_code=202, responses=_HOOK_RESPONSES, openapi_extra=_HOOK_REQUEST)
    async def gitlab_hook(request: Request) -> JSONResponse:
        if not secret:
            return JSONResponse({"detail": "the webhook secret is not configured"}, status_code=503)
        given = request.headers.get("X-Gitlab-Token", "").encode()
        if not hmac.compare_digest(given, secret):
            log.warning(
                "webhook with a missing or wrong X-Gitlab-Token from %s",
                request.client.host if request.client else "?",
            )
            return JSONResponse({"detail": "missing or wrong X-Gitlab-Token"}, status_code=401)
        try:
            body = await read_capped_body(request.stream(), declared_length=request.headers.get("content-length"))
        except WebhookBodyTooLarge as exc:
            return JSONResponse({"detail": str(exc)}, status_code=413)
        try:
            hook = parse_webhook(request.headers.get("X-Gitlab-Event"), body)
        except WebhookPayloadError as exc:
            return JSONResponse({"detail": f"not a GitLab webhook body: {exc}"}, status_code=400)
        if hook is None:
            return JSONResponse(
                {"status": "ignored", "reason": "not a job or pipeline event"}, status_code=200
            )
        candidates = [hook.job] if isinstance(hook, JobHook) else list(hook.jobs)
        wanted = submission_jobs(config, candidates)
        if not wanted:
            return JSONResponse(
                {"status": "ignored", "reason": "no finished submission job"}, status_code=200
            )
        try:
            with transaction(sessions(), "queueing webhook jobs") as session:
                intake = enqueue_hook_jobs(session=session, config=config, jobs=wanted)
        except StoreError as exc:
            log.error("webhook: could not queue jobs %s: %s", [j.job_id for j in wanted], exc)
            return JSONResponse(
                {"detail": "the database is unavailable; the reconciler will catch up"}, status_code=503
            )
        answer: dict[str, Any] = {
            "status": "queued",
            "jobs": [j.job_id for j in wanted],
            "new": list(intake.queued),
            "kind": "pipeline" if isinstance(hook, PipelineHook) else "job",
        }
        if intake.refused:  # the store refused these (logged); the reconciler tries them again
            answer["refused"] = list(intake.refused)
        return JSONResponse(answer, status_code=202)

    return router

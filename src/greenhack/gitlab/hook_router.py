"""``POST /api/v1/hooks/gitlab``: GitLab's Job Hook and Pipeline Hook, turned into queued evaluations.

The route checks ``X-Gitlab-Token`` in constant time, parses the body as GitLab documents it, and queues one
evaluation per finished submission job, keyed by (project id, job id): duplicates, retries and out-of-order
deliveries all land on the same row. It answers in milliseconds (one small transaction); the worker does the
rest. A webhook is only a hint: the worker reads the job again from the API with the platform's token.

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
from sqlalchemy.orm import Session

from greenhack.config import EventConfig
from greenhack.errors import StoreError, WebhookBodyTooLarge, WebhookPayloadError
from greenhack.gitlab.webhooks import HookJob, JobHook, PipelineHook, parse_webhook, read_capped_body
from greenhack.store import crud, queue
from greenhack.store.db import SessionFactory, transaction

__all__ = ["enqueue_hook_jobs", "make_hook_router", "submission_job_names", "team_name_of"]

log = logging.getLogger(__name__)


def submission_job_names(config: EventConfig) -> frozenset[str]:
    """The CI job names that are measured submissions (``gitlab.submission_jobs``, default ``submission``)."""
    return frozenset(config.gitlab.submission_jobs if config.gitlab is not None else ("submission",))


def team_name_of(project_path: str, project_id: int) -> str:
    """A team's default name: its project's name (last path segment)."""
    return project_path.rsplit("/", 1)[-1] if project_path else f"project-{project_id}"


def enqueue_hook_jobs(*, session: Session, config: EventConfig, jobs: list[HookJob]) -> list[int]:
    """Queue the evaluation of each job (idempotent); returns the GitLab job ids newly queued."""
    if not jobs:
        return []
    event = crud.ensure_event(session=session, name=config.event.name)
    created: list[int] = []
    teams: dict[int, int] = {}
    for job in jobs:
        if job.project_id not in teams:
            teams[job.project_id] = crud.ensure_team(
                session=session,
                event_id=event.id,
                name=team_name_of(job.project_path, job.project_id),
                gitlab_project_id=job.project_id,
            ).id
        result = queue.enqueue(
            session=session,
            event_id=event.id,
            team_id=teams[job.project_id],
            gitlab_project_id=job.project_id,
            gitlab_job_id=job.job_id,
            gitlab_pipeline_id=job.pipeline_id,
            submitted_at=job.created_at,
        )
        if result.created:
            created.append(job.job_id)
    return created


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
    names = submission_job_names(config)
    secret = webhook_secret.get_secret_value().encode() if webhook_secret is not None else None

    @router.post("/api/v1/hooks/gitlab", status_code=202)
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
        wanted = [j for j in candidates if j.name in names and j.final]
        if not wanted:
            return JSONResponse(
                {"status": "ignored", "reason": "no finished submission job"}, status_code=200
            )
        try:
            with transaction(sessions(), "queueing webhook jobs") as session:
                created = enqueue_hook_jobs(session=session, config=config, jobs=wanted)
        except StoreError as exc:
            log.error("webhook: could not queue jobs %s: %s", [j.job_id for j in wanted], exc)
            return JSONResponse(
                {"detail": "the database is unavailable; the reconciler will catch up"}, status_code=503
            )
        answer: dict[str, Any] = {
            "status": "queued",
            "jobs": [j.job_id for j in wanted],
            "new": created,
            "kind": "pipeline" if isinstance(hook, PipelineHook) else "job",
        }
        return JSONResponse(answer, status_code=202)

    return router

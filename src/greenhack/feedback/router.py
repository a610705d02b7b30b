"""Routes a running CI job calls with its own ``CI_JOB_TOKEN`` (header ``JOB-TOKEN``):

- ``GET /api/v1/jobs/self/energy``: the job's energy and gCO2e so far (see :mod:`greenhack.feedback.live`),
  for carbon-aware early stopping (:mod:`greenhack.budget`).
- ``POST /api/v1/jobs/self/budget-check``: may this submission run? 200 when it may; 403 when the team's carbon
  budget or today's submissions are used up (or the event is not open), the job then recorded as refused so
  that it never counts. The CI template calls it before the team's command.

Both answer 401 for a missing, unknown or expired token, 403 for a job that is not a running submission job of
the event on a measured server, 503 while GitLab, Prometheus, BoaviztAPI or the database cannot answer. Answers
are JSON; with ``Accept: text/plain`` (what the CI template sends) they are the plain sentences a team reads in
its job log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from greenhack.config import EventConfig
from greenhack.errors import (
    GitLabError,
    GitLabUnavailable,
    ImpactsError,
    JobTokenError,
    StoreError,
    TelemetryError,
)
from greenhack.feedback.accounts import (
    budget_verdict,
    find_team,
    known_pipelines,
    record_refusal,
    team_account,
)
from greenhack.feedback.job_auth import JobTokenVerifier, VerifiedJob
from greenhack.feedback.live import live_footprint
from greenhack.gitlab.models import CiJob
from greenhack.impacts.source import ImpactSource
from greenhack.intake import project_team, submission_job_names
from greenhack.settings import Settings
from greenhack.store import crud
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.remeasure import is_remeasure
from greenhack.telemetry import TelemetrySource
from greenhack.wiring import build_services

__all__ = ["FeedbackServices", "RunningJobs", "lazy_services", "make_feedback_router"]

log = logging.getLogger(__name__)


class RunningJobs(Protocol):
    """GitLab with the platform's token (:class:`~greenhack.gitlab.gateway.GitLabGateway`)."""

    def running_jobs(self, project: int) -> list[CiJob]: ...


@dataclass(frozen=True)
class FeedbackServices:
    """What the routes use: token checks, Prometheus, impact factors, GitLab (platform token), the database."""

    verifier: JobTokenVerifier
    telemetry: TelemetrySource
    impacts: ImpactSource
    gitlab: RunningJobs | None
    sessions: SessionFactory
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/plain" in accept and "application/json" not in accept


def _answer(request: Request, status: int, body: dict[str, Any], text: str) -> Response:
    if _wants_text(request):
        return PlainTextResponse(text + "\n", status_code=status)
    return JSONResponse(body, status_code=status)


def _refusal(request: Request, status: int, detail: str) -> Response:
    return _answer(request, status, {"detail": detail}, f"greenhack: {detail}")


def _verify(request: Request, services: FeedbackServices) -> VerifiedJob | Response:
    try:
        return services.verifier.verify(request.headers.get("JOB-TOKEN"))
    except JobTokenError as exc:
        return _refusal(request, exc.status_code or 401, str(exc))
    except GitLabUnavailable as exc:
        return _refusal(request, 503, f"GitLab cannot check the job token right now ({exc}); try again")
    except GitLabError as exc:
        return _refusal(request, 502, f"GitLab answered what the platform cannot read: {exc}")


def _in_flight(services: FeedbackServices, config: EventConfig, job: CiJob, known: set[int]) -> int:
    """Other submission pipelines of the project running now and not yet stored, created before this job (GitLab's
    job ids grow): jobs checking at the same moment are admitted in the order GitLab created them, rather than
    each counting all the others and every one refused."""
    if services.gitlab is None:
        return 0
    names = submission_job_names(config)
    try:
        running = services.gitlab.running_jobs(job.project_id)
    except GitLabError as exc:  # the check goes on with what the database knows
        log.warning("budget check of job %s: cannot list running jobs (%s)", job.id, exc)
        return 0
    return len(
        {
            j.pipeline_id
            for j in running
            if j.name in names
            and j.id < job.id
            and j.pipeline_id != job.pipeline_id
            and j.pipeline_id not in known
        }
    )


def make_feedback_router(*, config: EventConfig, services: Callable[[], FeedbackServices]) -> APIRouter:
    """The job-token routes, for ``app.include_router(...)``.

    Args:
        config: the event.
        services: returns the services (called per request, so they may be built on first use).
    """
    router = APIRouter(tags=["jobs"])

    @router.get("/api/v1/jobs/self/energy")
    def job_energy(request: Request) -> Response:
        """Energy (J) and gCO2e of the calling job so far, measured since its start on its server."""
        svc = services()
        verified = _verify(request, svc)
        if isinstance(verified, Response):
            return verified
        try:
            footprint = live_footprint(
                verified, config=config, telemetry=svc.telemetry, impacts=svc.impacts, now=svc.now()
            )
        except (TelemetryError, ImpactsError) as exc:
            return _refusal(
                request, 503, f"the platform cannot measure job {verified.job.id} right now: {exc}"
            )
        body = footprint.to_json()
        text = (
            f"job {footprint.job_id}: {footprint.energy_j / 3600:.3f} Wh, {footprint.gwp_gco2e:.3f} gCO2e "
            f"in {footprint.elapsed_s:.0f} s" + ("" if footprint.valid else " (telemetry incomplete)")
        )
        return _answer(request, 200, body, text)

    @router.post("/api/v1/jobs/self/budget-check")
    def budget_check(request: Request) -> Response:
        """May the calling submission job run? 200 yes, 403 no (with the reasons), before any GPU time."""
        svc = services()
        verified = _verify(request, svc)
        if isinstance(verified, Response):
            return verified
        job, now = verified.job, svc.now()
        team_name, baseline = project_team(config, job.project_path, job.project_id)
        try:
            with transaction(svc.sessions, f"budget check of job {job.id}") as session:
                event_id = crud.ensure_event(session=session, name=config.event.name).id
                team = find_team(session, event_id=event_id, project_id=job.project_id)
                known = known_pipelines(session, team=team)
                remeasure = is_remeasure(session=session, project_id=job.project_id, job_id=job.id)
            # GitLab is asked outside any transaction
            running = _in_flight(svc, config, job, known)
            with transaction(svc.sessions, f"budget check of job {job.id}") as session:
                account = team_account(
                    session,
                    config=config,
                    team=find_team(session, event_id=event_id, project_id=job.project_id),
                    team_name=team_name,
                    now=now,
                    current_pipeline_id=job.pipeline_id,
                    running=running,
                )
            verdict = budget_verdict(config, account, now=now, in_flight=running, baseline=bool(baseline))
            if remeasure:  # an admin's re-measure: the organisers asked for it, the team's limits do not apply
                verdict = replace(verdict, allowed=True, reasons=())
            if not verdict.allowed:
                with transaction(svc.sessions, f"recording the refusal of job {job.id}") as session:
                    record_refusal(
                        session,
                        config=config,
                        project_id=job.project_id,
                        project_path=job.project_path,
                        job_id=job.id,
                        pipeline_id=job.pipeline_id or None,
                        created_at=job.created_at,
                        reasons=verdict.reasons,
                        now=now,
                    )
        except StoreError as exc:
            return _refusal(request, 503, f"the platform's database is unavailable ({exc}); try again")
        body = verdict.to_json(job_id=job.id, phase=verified.phase)
        return _answer(request, 200 if verdict.allowed else 403, body, verdict.message)

    return router


def lazy_services(
    config: EventConfig, settings: Settings, sessions: Callable[[], SessionFactory]
) -> Callable[[], FeedbackServices]:
    """Services built on the first request (not when the app is created) from the event and settings: GitLab
    (token check with no credentials; running jobs with the platform's token), Prometheus, BoaviztAPI factors."""
    lock = threading.Lock()
    built: list[FeedbackServices] = []

    def get() -> FeedbackServices:
        with lock:
            if not built:
                built.append(_build(config, settings, sessions()))
            return built[0]

    return get


def _build(config: EventConfig, settings: Settings, sessions: SessionFactory) -> FeedbackServices:
    services = build_services(config, settings, gitlab_timeout_s=10.0)
    return FeedbackServices(
        verifier=JobTokenVerifier(config, http=httpx.Client(timeout=10.0)),
        telemetry=services.telemetry,
        impacts=services.impacts,
        gitlab=services.gitlab_or_none,
        sessions=sessions,
    )

"""Intake: finished GitLab jobs, from a webhook or the reconciler, become one queued evaluation each.

Both doors of the queue come here: the webhook route (:mod:`greenhack.web.hooks`) with the jobs a Job Hook or
Pipeline Hook names, and the reconciler (:mod:`greenhack.reconciler`) with the jobs it lists from the API. Intake
keeps the finished submission jobs among them, finds (or creates) each project's team and queues each job once,
keyed by (project id, job id): duplicates, retries and out-of-order deliveries all land on the same row.

A project listed under ``baselines:`` is the organisers' baseline: its team row is flagged (``Team.baseline``,
set again from the YAML at every intake) and named by the baseline's label; its jobs are evaluated like any
team's, and the boards list them with a badge, never ranked (:mod:`greenhack.competition.baselines`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from greenhack.competition.baselines import baseline_for_project
from greenhack.config import EventConfig
from greenhack.gitlab.webhooks import HookJob
from greenhack.store import crud, queue

__all__ = ["enqueue_hook_jobs", "project_team", "submission_job_names", "submission_jobs", "team_name_of"]


def submission_job_names(config: EventConfig) -> frozenset[str]:
    """The CI job names that are measured submissions (``gitlab.submission_jobs``, default ``submission``)."""
    return frozenset(config.gitlab.submission_jobs if config.gitlab is not None else ("submission",))


def team_name_of(project_path: str, project_id: int) -> str:
    """A team's default name: its project's name (last path segment)."""
    return project_path.rsplit("/", 1)[-1] if project_path else f"project-{project_id}"


def project_team(config: EventConfig, project_path: str, project_id: int) -> tuple[str, bool | None]:
    """The name of a project's team row, and whether the project is one of the event's baselines (then named by
    its label); None when the path is unknown (the stored flag is then left as it is)."""
    if not project_path:
        return team_name_of(project_path, project_id), None
    baseline = baseline_for_project(config, project_path)
    if baseline is not None:
        return baseline.label, True
    return team_name_of(project_path, project_id), False


def submission_jobs(config: EventConfig, jobs: Iterable[HookJob]) -> list[HookJob]:
    """The finished submission jobs among ``jobs`` (the others are never evaluated)."""
    names = submission_job_names(config)
    return [job for job in jobs if job.name in names and job.final]


def enqueue_hook_jobs(*, session: Session, config: EventConfig, jobs: list[HookJob]) -> list[int]:
    """Queue the evaluation of each job (idempotent); returns the GitLab job ids newly queued."""
    if not jobs:
        return []
    event = crud.ensure_event(session=session, name=config.event.name)
    created: list[int] = []
    teams: dict[int, int] = {}
    for job in jobs:
        if job.project_id not in teams:
            name, baseline = project_team(config, job.project_path, job.project_id)
            teams[job.project_id] = crud.ensure_team(
                session=session,
                event_id=event.id,
                name=name,
                gitlab_project_id=job.project_id,
                baseline=baseline,
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

"""The reconciler: a dropped webhook costs latency, never a result.

It lists the recent pipelines of every project of the event's GitLab group (``updated_after`` a look-back) and
their jobs (retried ones included), and queues every finished submission job, idempotently: a job the webhook
already queued keeps its row. Run it every few minutes (``greenhack worker`` does, between evaluations).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from greenhack.config import EventConfig
from greenhack.errors import GitLabError
from greenhack.gitlab.hook_router import enqueue_hook_jobs, submission_job_names
from greenhack.gitlab.models import CiJob, CiPipeline, ProjectRef
from greenhack.gitlab.webhooks import EVALUATED_STATUSES, HookJob
from greenhack.store.db import SessionFactory, transaction

__all__ = ["GitLabListing", "ReconcileReport", "reconcile"]

log = logging.getLogger(__name__)


class GitLabListing(Protocol):
    """What the reconciler asks GitLab (:class:`~greenhack.gitlab.gateway.GitLabGateway`)."""

    def group_projects(self, group: str) -> list[ProjectRef]: ...

    def pipelines_updated_after(self, project: int, since: datetime) -> list[CiPipeline]: ...

    def pipeline_jobs(self, project: int, pipeline_id: int) -> list[CiJob]: ...


@dataclass(frozen=True)
class ReconcileReport:
    """One pass: projects and pipelines looked at, finished submission jobs seen, newly queued job ids, and the
    projects GitLab could not list (retried on the next pass)."""

    projects: int
    pipelines: int
    jobs_seen: int
    queued: tuple[int, ...]
    errors: tuple[str, ...] = field(default=())


def reconcile(
    *,
    config: EventConfig,
    gitlab: GitLabListing,
    sessions: SessionFactory,
    now: datetime,
    lookback: timedelta = timedelta(hours=6),
) -> ReconcileReport:
    """Queue every finished submission job of the event's projects updated in the last ``lookback``.

    Raises:
        GitLabError: the group itself cannot be listed (GitLabUnavailable when GitLab is down).
        StoreError: the database refused.
    """
    if config.gitlab is None:
        raise GitLabError("the event YAML has no gitlab section: nothing to reconcile")
    names = submission_job_names(config)
    since = now - lookback
    projects = gitlab.group_projects(config.gitlab.group)
    pipelines_seen = 0
    seen: list[HookJob] = []
    errors: list[str] = []
    for project in projects:
        try:
            pipelines = gitlab.pipelines_updated_after(project.id, since)
            jobs = [
                job
                for pipeline in pipelines
                for job in gitlab.pipeline_jobs(project.id, pipeline.id)
                if job.name in names and job.status in EVALUATED_STATUSES
            ]
        except GitLabError as exc:  # one project failing must not hide the others
            errors.append(f"{project.path}: {exc}")
            log.warning("reconciler: %s: %s", project.path, exc)
            continue
        pipelines_seen += len(pipelines)
        seen.extend(
            HookJob(
                project_id=project.id,
                project_path=project.path,
                job_id=job.id,
                name=job.name,
                stage=job.stage,
                status=job.status,
                pipeline_id=job.pipeline_id,
                created_at=job.created_at,
            )
            for job in jobs
        )
    with transaction(sessions, "reconciling finished jobs") as session:
        queued = enqueue_hook_jobs(session=session, config=config, jobs=seen)
    if queued:
        log.info("reconciler queued %d job(s) no webhook had: %s", len(queued), queued)
    return ReconcileReport(len(projects), pipelines_seen, len(seen), tuple(queued), tuple(errors))

"""The reconciler: a dropped webhook costs latency, never a result.

For every project of the event's GitLab group it lists the recently created finished jobs in one paginated request
(``GET /projects/:id/jobs?scope[]=success&scope[]=failed&scope[]=canceled``, newest first, paging stopped at the
look-back's horizon) and queues every submission job that finished in the look-back through
:mod:`greenhack.intake`, idempotently: a job the webhook already queued keeps its row. Each job is queued on its
own: one the store refuses is logged, named in the pass's report and skipped. The group listing also renames
the team of every project whose path changed (teams are their projects' ids; names are paths below the group).
A pass costs about one request per project (plus one per 100 projects for the group listing), whatever the number
of pipelines.

Run it every few minutes (``greenhack worker`` does, on its own schedule, whatever the queue holds). Several
workers sharing a PostgreSQL database take turns: :func:`greenhack.store.locks.try_lock` lets one pass run at a
time (see ``greenhack worker``). On SQLite one worker process is the norm and no lock is taken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from greenhack.config import EventConfig
from greenhack.errors import GitLabError
from greenhack.gitlab.models import CiJob, ProjectRef
from greenhack.gitlab.webhooks import EVALUATED_STATUSES, HookJob
from greenhack.intake import enqueue_hook_jobs, rename_teams, submission_jobs
from greenhack.store.db import SessionFactory, transaction

__all__ = ["RECONCILE_LOCK", "GitLabListing", "ReconcileReport", "reconcile"]

log = logging.getLogger(__name__)

RECONCILE_LOCK = "greenhack-reconciler"
"""Name of the lock (per event: suffixed with the event's name) one reconciling worker holds for a pass."""


class GitLabListing(Protocol):
    """What the reconciler asks GitLab (:class:`~greenhack.gitlab.gateway.GitLabGateway`)."""

    def group_projects(self, group: str) -> list[ProjectRef]: ...

    def jobs_created_after(
        self, project: int, *, statuses: frozenset[str], created_after: datetime
    ) -> list[CiJob]: ...


@dataclass(frozen=True)
class ReconcileReport:
    """One pass: projects looked at, finished submission jobs seen, newly queued job ids, and what went wrong: the
    projects GitLab could not list (retried on the next pass) and the jobs the store refused to queue (each
    skipped, the others queued)."""

    projects: int
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
    """Queue every finished submission job of the event's projects that finished in the last ``lookback``.

    Jobs are listed back to ``now - lookback - limits.job_timeout`` by creation time: a job that finished in the
    look-back was created at most its queue wait plus ``job_timeout`` (GitLab's limit on its run) before. A job
    that waited in GitLab's queue longer than the look-back itself relies on its webhook alone.

    Raises:
        GitLabError: the group itself cannot be listed (GitLabUnavailable when GitLab is down).
        StoreError: the database refused.
    """
    if config.gitlab is None:
        raise GitLabError("the event YAML has no gitlab section: nothing to reconcile")
    since = now - lookback
    horizon = since - config.limits.job_timeout
    projects = gitlab.group_projects(config.gitlab.group)
    seen: list[HookJob] = []
    errors: list[str] = []
    for project in projects:
        try:
            listed = gitlab.jobs_created_after(project.id, statuses=EVALUATED_STATUSES, created_after=horizon)
        except GitLabError as exc:  # one project failing must not hide the others
            errors.append(f"{project.path}: {exc}")
            log.warning("reconciler: %s: %s", project.path, exc)
            continue
        seen += submission_jobs(
            config,
            (
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
                for job in listed
                if job.finished_at is None or job.finished_at >= since
            ),
        )
    with transaction(sessions, "reconciling finished jobs") as session:
        intake = enqueue_hook_jobs(session=session, config=config, jobs=seen, trusted=True)
        # every project's team takes its project's current path (a rename renames it), jobs or not
        rename_teams(session=session, config=config, projects=projects)
    errors += intake.refused  # each logged by intake; the others were queued
    if intake.queued:
        log.info("reconciler queued %d job(s) no webhook had: %s", len(intake.queued), list(intake.queued))
    return ReconcileReport(len(projects), len(seen), intake.queued, tuple(errors))

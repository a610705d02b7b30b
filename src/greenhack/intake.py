"""Intake: finished GitLab jobs, from a webhook or the reconciler, become one queued evaluation each.

Both doors of the queue come here: the webhook route (:mod:`greenhack.web.hooks`) with the jobs a Job Hook or
Pipeline Hook names, and the reconciler (:mod:`greenhack.reconciler`) with the jobs it lists from the API. Intake
keeps the finished submission jobs among them, finds (or creates) each project's team and queues each job once,
keyed by (project id, job id): duplicates, retries and out-of-order deliveries all land on the same row.

A team is its GitLab project (the project's id); its name is the project's path below the event's group
(:func:`team_name_of`). What a webhook says is a hint, never trusted: a team created from one is named after the
hook's path until GitLab's API names it (the reconciler, or the worker before it evaluates), and its submission
time is when the hook arrived until the worker reads the job's ``created_at`` from the API. Whether the job is
the event's to score at all is decided from the API too (:func:`origin_problem`).

Each job is queued on its own (a SAVEPOINT on PostgreSQL): one the store refuses is reported and skipped, the
others are queued.

A project listed under ``baselines:`` is the organisers' baseline: its team row is flagged (``Team.baseline``,
set again from the YAML at every intake) and named by the baseline's label; its jobs are evaluated like any
team's, and the boards list them with a badge, never ranked (:mod:`greenhack.competition.baselines`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from greenhack.competition.baselines import baseline_for_project
from greenhack.config import EventConfig
from greenhack.errors import StoreError
from greenhack.gitlab.models import CiJob, ProjectRef
from greenhack.gitlab.webhooks import HookJob
from greenhack.status import Reason, ReasonCode
from greenhack.store import crud, queue
from greenhack.store.models import Team

__all__ = [
    "Intake",
    "enqueue_hook_jobs",
    "in_group",
    "origin_problem",
    "project_team",
    "rename_teams",
    "team_from_api",
    "submission_job_names",
    "submission_jobs",
    "team_name_of",
]

log = logging.getLogger(__name__)


def submission_job_names(config: EventConfig) -> frozenset[str]:
    """The CI job names that are measured submissions (``gitlab.submission_jobs``, default ``submission``)."""
    return frozenset(config.gitlab.submission_jobs if config.gitlab is not None else ("submission",))


def _group_of(config: EventConfig) -> str | None:
    return config.gitlab.group.strip("/") if config.gitlab is not None else None


def in_group(project_path: str, group: str) -> bool:
    """Whether a project's full path is inside ``group`` or one of its subgroups (GitLab compares paths
    case-insensitively)."""
    return project_path.strip("/").casefold().startswith(group.strip("/").casefold() + "/")


def team_name_of(project_path: str, project_id: int, *, group: str | None) -> str:
    """A team's display name: its project's path below the event's ``group`` (``track1/alpha``); a project
    outside the group keeps its full path, one whose path is unknown is ``project-<id>``."""
    path = project_path.strip("/")
    if not path:
        return f"project-{project_id}"
    if group and in_group(path, group):
        return path[len(group.strip("/")) + 1 :]
    return path


def project_team(config: EventConfig, project_path: str, project_id: int) -> tuple[str, bool | None]:
    """The name of a project's team row, and whether the project is one of the event's baselines (then named by
    its label); None when the path is unknown (the stored flag is then left as it is)."""
    group = _group_of(config)
    if not project_path:
        return team_name_of(project_path, project_id, group=group), None
    baseline = baseline_for_project(config, project_path)
    if baseline is not None:
        return baseline.label, True
    return team_name_of(project_path, project_id, group=group), False


def submission_jobs(config: EventConfig, jobs: Iterable[HookJob]) -> list[HookJob]:
    """The finished submission jobs among ``jobs`` (the others are never evaluated)."""
    names = submission_job_names(config)
    return [job for job in jobs if job.name in names and job.final]


def origin_problem(config: EventConfig, job: CiJob, project: ProjectRef) -> Reason | None:
    """Why a job GitLab's API describes is not the event's to score, or None when it is: its project must be
    inside ``gitlab.group`` (subgroups included) and its real name one of ``gitlab.submission_jobs``. A webhook
    names any job it likes; this is what the API says of it."""
    group = _group_of(config)
    if group is not None and not in_group(project.path, group):
        return Reason(
            code=ReasonCode.NOT_EVENT_PROJECT,
            text=f"job {job.id} belongs to project {project.path or project.id}, which is not in the event's "
            f"group {group}: it is not scored",
        )
    names = submission_job_names(config)
    if job.name not in names:
        return Reason(
            code=ReasonCode.NOT_SUBMISSION_JOB,
            text=f"job {job.id} is named {job.name!r} in GitLab, not a submission job "
            f"({', '.join(sorted(names))}): it is not scored",
        )
    return None


@dataclass(frozen=True)
class Intake:
    """What one intake did: the GitLab job ids newly queued, and one sentence per job the store refused."""

    queued: tuple[int, ...] = ()
    refused: tuple[str, ...] = field(default=())


def enqueue_hook_jobs(
    *, session: Session, config: EventConfig, jobs: list[HookJob], trusted: bool = False
) -> Intake:
    """Queue the evaluation of each job (idempotent).

    Args:
        trusted: the jobs come from GitLab's API (the reconciler): their project paths rename teams and their
            ``created_at`` is the submission time. A webhook's are not: its path only names a new team until the
            API does, and its time is replaced by the hook's arrival until the worker reads the job.
    """
    if not jobs:
        return Intake()
    event = crud.ensure_event(session=session, name=config.event.name)
    created: list[int] = []
    refused: list[str] = []
    teams: dict[int, int] = {}
    for job in jobs:
        try:
            with crud.savepoint(session):
                team_id = teams.get(job.project_id)
                if team_id is None:
                    name, baseline = project_team(config, job.project_path, job.project_id)
                    team_id = crud.ensure_team(
                        session=session,
                        event_id=event.id,
                        name=name,
                        baseline=baseline,
                        gitlab_project_id=job.project_id,
                        gitlab_path=job.project_path if trusted else None,
                        rename=trusted,
                    ).id
                result = queue.enqueue(
                    session=session,
                    event_id=event.id,
                    team_id=team_id,
                    gitlab_project_id=job.project_id,
                    gitlab_job_id=job.job_id,
                    gitlab_pipeline_id=job.pipeline_id,
                    submitted_at=job.created_at if trusted else None,
                )
        except StoreError as exc:
            if not crud.savepoints_supported(session):
                raise  # without a savepoint the transaction is lost: the caller's retry covers every job
            message = f"job {job.job_id} of project {job.project_path or job.project_id}: {exc}"
            log.warning("intake: could not queue %s; the other jobs are queued", message)
            refused.append(message)
            continue
        teams[job.project_id] = team_id  # kept once its savepoint is released
        if result.created:
            created.append(job.job_id)
    return Intake(tuple(created), tuple(refused))


def team_from_api(
    *, session: Session, config: EventConfig, event_id: int, project_id: int, path: str, url: str | None = None
) -> Team:
    """The team of a project as GitLab's API names it (``path``: its ``path_with_namespace``), created on first
    use; an existing team takes the project's current name and baseline flag (:func:`project_team`)."""
    name, baseline = project_team(config, path, project_id)
    return crud.ensure_team(
        session=session,
        event_id=event_id,
        name=name,
        baseline=baseline,
        gitlab_project_id=project_id,
        gitlab_path=path,
        project_url=url,
        rename=True,
    )


def rename_teams(*, session: Session, config: EventConfig, projects: Iterable[ProjectRef]) -> int:
    """Give the existing team of each project (paths from GitLab's API) its project's current name; teams are
    never created here. Returns how many were renamed."""
    event = crud.ensure_event(session=session, name=config.event.name)
    by_id = {p.id: p for p in projects}
    renamed = 0
    for team in crud.teams_of_projects(session=session, event_id=event.id, project_ids=by_id):
        project = by_id[int(team.gitlab_project_id or 0)]
        before = team.name
        team_from_api(session=session, config=config, event_id=event.id, project_id=project.id, path=project.path)
        if team.name != before:
            log.info("team %r is now %r (project %s renamed)", before, team.name, project.id)
            renamed += 1
    return renamed

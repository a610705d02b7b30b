"""Job Hook and Pipeline Hook bodies, parsed exactly as GitLab documents them (webhook_events.md).

A webhook is only a *hint* that a job may have finished: the worker fetches the job again from the API with the
platform's token, so nothing here is trusted for the window, the runner or the status of record. Parsing keeps
what is needed to decide whether to queue an evaluation: which project, which job, its name and its status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greenhack.errors import WebhookPayloadError
from greenhack.gitlab.models import parse_gitlab_time

__all__ = [
    "EVALUATED_STATUSES",
    "HookJob",
    "JobHook",
    "PipelineHook",
    "parse_webhook",
]

# Final statuses of a job that ran (or was stopped) on a runner; each gets exactly one evaluation.
# "skipped" and "manual" jobs never ran, so there is nothing to evaluate.
EVALUATED_STATUSES: frozenset[str] = frozenset({"success", "failed", "canceled"})

_EVENT_HEADERS = {"build": "Job Hook", "pipeline": "Pipeline Hook"}


@dataclass(frozen=True)
class HookJob:
    """One job named by a webhook: enough to queue it, nothing to trust."""

    project_id: int
    project_path: str
    job_id: int
    name: str
    stage: str
    status: str
    pipeline_id: int
    # when GitLab created the job: the submission's time for daily limits and the freeze
    created_at: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status in EVALUATED_STATUSES


@dataclass(frozen=True)
class JobHook:
    """``X-Gitlab-Event: Job Hook`` (``object_kind: build``): one job changed status."""

    job: HookJob


@dataclass(frozen=True)
class PipelineHook:
    """``X-Gitlab-Event: Pipeline Hook`` (``object_kind: pipeline``): a pipeline changed status; lists its jobs."""

    project_id: int
    project_path: str
    pipeline_id: int
    status: str
    jobs: tuple[HookJob, ...]


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WebhookPayloadError(f"{where}{key}: expected an integer, got {value!r}")
    return value


def _str(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise WebhookPayloadError(f"{where}{key}: expected a string, got {value!r}")
    return value


def _time(raw: Mapping[str, Any], key: str, where: str) -> datetime | None:
    try:
        return parse_gitlab_time(raw.get(key), field=f"{where}{key}")
    except ValueError as exc:
        raise WebhookPayloadError(str(exc)) from None


def _mapping(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


def _parse_job_hook(body: Mapping[str, Any]) -> JobHook:
    project = _mapping(body, "project")
    project_id = _int(body, "project_id", "")
    # project.path_with_namespace is the path; project_name is the display "Group / Name" on older GitLab
    path = project.get("path_with_namespace")
    project_path = path if isinstance(path, str) and path else _str(body, "project_name", "", required=False)
    return JobHook(
        HookJob(
            project_id=project_id,
            project_path=project_path,
            job_id=_int(body, "build_id", ""),
            name=_str(body, "build_name", ""),
            stage=_str(body, "build_stage", "", required=False),
            status=_str(body, "build_status", ""),
            pipeline_id=_int(body, "pipeline_id", ""),
            created_at=_time(body, "build_created_at", ""),
        )
    )


def _parse_pipeline_hook(body: Mapping[str, Any]) -> PipelineHook:
    attrs = body.get("object_attributes")
    project = body.get("project")
    if not isinstance(attrs, Mapping):
        raise WebhookPayloadError("object_attributes: expected an object")
    if not isinstance(project, Mapping):
        raise WebhookPayloadError("project: expected an object")
    project_id = _int(project, "id", "project.")
    project_path = _str(project, "path_with_namespace", "project.")
    pipeline_id = _int(attrs, "id", "object_attributes.")
    builds = body.get("builds") or []
    if not isinstance(builds, list):
        raise WebhookPayloadError("builds: expected a list")
    jobs = []
    for index, build in enumerate(builds):
        if not isinstance(build, Mapping):
            raise WebhookPayloadError(f"builds[{index}]: expected an object")
        where = f"builds[{index}]."
        jobs.append(
            HookJob(
                project_id=project_id,
                project_path=project_path,
                job_id=_int(build, "id", where),
                name=_str(build, "name", where),
                stage=_str(build, "stage", where, required=False),
                status=_str(build, "status", where),
                pipeline_id=pipeline_id,
                created_at=_time(build, "created_at", where),
            )
        )
    return PipelineHook(
        project_id=project_id,
        project_path=project_path,
        pipeline_id=pipeline_id,
        status=_str(attrs, "status", "object_attributes."),
        jobs=tuple(jobs),
    )


def parse_webhook(event_header: str | None, body: bytes) -> JobHook | PipelineHook | None:
    """Parse a webhook body; None for events greenhack does not use (push, merge request, ...).

    Args:
        event_header: the ``X-Gitlab-Event`` header (``Job Hook``, ``Pipeline Hook``; ``System Hook`` when sent by
            a system hook, which carries the same bodies).
        body: the raw request body (JSON).

    Raises:
        WebhookPayloadError: the body is not JSON, or a Job/Pipeline Hook lacks a documented field.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookPayloadError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise WebhookPayloadError("the body is not a JSON object")
    kind = data.get("object_kind")
    expected_header = _EVENT_HEADERS.get(kind) if isinstance(kind, str) else None
    if expected_header is None:
        return None
    if event_header not in (None, expected_header, "System Hook"):
        raise WebhookPayloadError(
            f"X-Gitlab-Event {event_header!r} does not match object_kind {kind!r} (expected {expected_header!r})"
        )
    if kind == "build":
        return _parse_job_hook(data)
    return _parse_pipeline_hook(data)

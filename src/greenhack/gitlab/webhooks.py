"""Job Hook and Pipeline Hook bodies, parsed exactly as GitLab documents them (webhook_events.md).

A webhook is only a *hint* that a job may have finished: the worker fetches the job again from the API with the
platform's token, so nothing here is trusted for the window, the runner or the status of record. Parsing keeps
what is needed to decide whether to queue an evaluation: which project, which job, its name and its status.

Bodies come from the network, so reading and parsing are bounded: :func:`read_capped_body` reads the body as a
stream and stops at the first chunk past :data:`MAX_BODY_BYTES`; :func:`parse_webhook` refuses JSON nested deeper
than Python can decode, integers too long to convert, and ids outside GitLab's range, each as a
:class:`~greenhack.errors.WebhookPayloadError` (a 400, never a 500).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from greenhack.errors import WebhookBodyTooLarge, WebhookPayloadError
from greenhack.gitlab.models import parse_gitlab_time

__all__ = [
    "EVALUATED_STATUSES",
    "MAX_BODY_BYTES",
    "MAX_ID",
    "HookJob",
    "JobHook",
    "PipelineHook",
    "parse_webhook",
    "read_capped_body",
]

# Final statuses of a job that ran (or was stopped) on a runner; each gets exactly one evaluation.
# "skipped" and "manual" jobs never ran, so there is nothing to evaluate.
EVALUATED_STATUSES: frozenset[str] = frozenset({"success", "failed", "canceled"})

_EVENT_HEADERS = {"build": "Job Hook", "pipeline": "Pipeline Hook"}

# GitLab never sends a webhook body larger than this: WebHookService::REQUEST_BODY_SIZE_LIMIT = 25.megabytes
# (gitlab-org/gitlab, app/services/web_hook_service.rb). Refusing a smaller, genuine body would count as a failed
# delivery, and GitLab disables a webhook after four consecutive failures (any 4xx or 5xx answer, or a timeout:
# user/project/integrations/webhooks.md, "Auto-disabled webhooks"), so the cap is exactly GitLab's own.
MAX_BODY_BYTES = 25 * 1024 * 1024

# GitLab's ids are PostgreSQL bigint primary keys (positive); a larger number names nothing GitLab has and would
# overflow the store's bigint columns.
MAX_ID = 2**63 - 1

# how much of a refused value an error message quotes (the body may hold megabytes in one field)
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class HookJob:
    """One job named by a webhook: enough to queue it, nothing to trust."""

    project_id: int
    # the project's full path ("" when the hook does not say: GitLab's API is asked)
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


def _brief(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}... ({len(text)} characters)"


def _shown(value: object) -> str:
    return _brief(repr(value))


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WebhookPayloadError(f"{where}{key}: expected an integer, got {_shown(value)}")
    if not 0 < value <= MAX_ID:
        raise WebhookPayloadError(f"{where}{key}: {_shown(value)} is not a GitLab id (1 to 2**63 - 1)")
    return value


def _str(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise WebhookPayloadError(f"{where}{key}: expected a string, got {_shown(value)}")
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
    # project.path_with_namespace is the path. Without it the path is unknown here (empty): project_name is
    # the display name ("Owner / name", Project#full_name), no path; the worker asks GET /projects/:id
    path = project.get("path_with_namespace")
    project_path = path if isinstance(path, str) else ""
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


async def read_capped_body(
    chunks: AsyncIterable[bytes], *, declared_length: str | None, max_bytes: int = MAX_BODY_BYTES
) -> bytes:
    """Read a request body chunk by chunk, refusing it as soon as it is larger than ``max_bytes``.

    A chunked body has no Content-Length, so the running total is what bounds memory: the chunk that goes past
    the cap is the last one read.

    Args:
        chunks: the body as it arrives (Starlette's ``request.stream()``).
        declared_length: the ``Content-Length`` header, if any; over the cap refuses before reading anything.
        max_bytes: the cap (GitLab's own request size by default).

    Raises:
        WebhookBodyTooLarge: the declared or the actual body is larger than ``max_bytes``.
    """
    too_large = f"the body is larger than {max_bytes} bytes, the most GitLab sends"
    if declared_length is not None and declared_length.strip().isdigit() and int(declared_length) > max_bytes:
        raise WebhookBodyTooLarge(too_large, max_bytes=max_bytes)
    body = bytearray()
    async for chunk in chunks:
        if len(body) + len(chunk) > max_bytes:
            raise WebhookBodyTooLarge(too_large, max_bytes=max_bytes)
        body += chunk
    return bytes(body)


def parse_webhook(event_header: str | None, body: bytes) -> JobHook | PipelineHook | None:
    """Parse a webhook body; None for events greenhack does not use (push, merge request, ...).

    Args:
        event_header: the ``X-Gitlab-Event`` header (``Job Hook``, ``Pipeline Hook``; ``System Hook`` when sent by
            a system hook, which carries the same bodies).
        body: the raw request body (JSON).

    Raises:
        WebhookPayloadError: the body is not JSON (or nested too deeply to decode), or a Job/Pipeline Hook lacks
            a documented field or names an id outside GitLab's range.
    """
    try:
        data = json.loads(body)
    except RecursionError:
        # GitLab's hooks nest a few levels; thousands of brackets are an attack on the decoder, not a hook
        raise WebhookPayloadError("the body is not a GitLab hook: its JSON is nested too deeply") from None
    except ValueError as exc:
        # JSONDecodeError, UnicodeDecodeError, and integers longer than Python converts (4300 digits)
        raise WebhookPayloadError(f"the body is not JSON: {_brief(str(exc))}") from None
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

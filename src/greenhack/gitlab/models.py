"""What greenhack knows of GitLab: frozen dataclasses built from the API's documented JSON, never RESTObjects.

Times are parsed here, once, into timezone-aware datetimes (GitLab writes ``2015-12-24T17:54:30.733Z`` in the REST
API and ``2016-08-12 15:26:12 UTC`` in some webhook fields); durations are seconds (``*_s``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from greenhack.gitlab.joblog import LogTail

__all__ = [
    "FINISHED_STATUSES",
    "ArtifactFile",
    "CiJob",
    "CiPipeline",
    "CommitStatus",
    "GroupInfo",
    "HookInfo",
    "JobTrace",
    "MergeRequestRef",
    "NoteRef",
    "ProjectInfo",
    "ProjectRef",
    "RunnerInfo",
    "UserInfo",
    "parse_gitlab_time",
    "project_path_from_web_url",
]

# Job statuses after which GitLab never changes the job again (a retry creates a new job with a new id).
FINISHED_STATUSES: frozenset[str] = frozenset({"success", "failed", "canceled", "skipped"})

_UTC_SUFFIX = re.compile(r"\s+UTC$")


def parse_gitlab_time(value: object, *, field: str) -> datetime | None:
    """Parse a GitLab timestamp into an aware datetime; ``None`` stays ``None`` (the event has not happened).

    Accepts ISO 8601 with ``Z`` or an offset (REST API, ``*_iso`` webhook fields) and ``YYYY-MM-DD HH:MM:SS UTC``
    (older webhook fields). A naive time or anything else raises ``ValueError`` naming ``field``.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: expected a timestamp, got {value!r}")
    text = value.strip()
    utc_words = _UTC_SUFFIX.search(text) is not None
    if utc_words:
        text = _UTC_SUFFIX.sub("", text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a GitLab timestamp") from None
    if moment.tzinfo is None:
        if not utc_words:
            raise ValueError(f"{field}: {value!r} has no time zone")
        moment = moment.replace(tzinfo=UTC)
    return moment


def project_path_from_web_url(web_url: str, *, base_url: str | None = None) -> str:
    """``https://gitlab.example.org/grp/sub/team-a/-/jobs/7`` → ``grp/sub/team-a`` (the project's full path).

    GitLab served under a relative URL root (``base_url`` ``https://host/gitlab``) writes it in every address
    (``https://host/gitlab/grp/team-a/-/jobs/7``); it is not part of the project's path and is dropped. Only the
    root's path is compared, not the host: the platform may reach GitLab by another name than its external URL.
    """
    match = re.match(r"^[a-z]+://[^/]+/(.+?)/-/(?:jobs|pipelines)/\d+/?$", web_url)
    if match is None:
        raise ValueError(f"web_url {web_url!r} is not a GitLab job or pipeline address")
    path = match.group(1)
    root = urlsplit(base_url).path.strip("/") if base_url else ""
    if root and path.casefold().startswith(root.casefold() + "/"):
        path = path[len(root) + 1 :]
    return path


@dataclass(frozen=True)
class RunnerInfo:
    """The runner that took a job (``runner`` of ``GET /projects/:id/jobs/:job_id``).

    ``runner_type`` is ``instance_type``, ``group_type`` or ``project_type``; ``tags`` are only present in
    webhook payloads (the REST job entity lists the *job's* ``tag_list`` instead).
    """

    id: int
    description: str
    active: bool | None = None
    is_shared: bool | None = None
    runner_type: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> RunnerInfo:
        return cls(
            id=int(raw["id"]),
            description=str(raw.get("description") or ""),
            active=raw.get("active") if isinstance(raw.get("active"), bool) else None,
            is_shared=raw.get("is_shared") if isinstance(raw.get("is_shared"), bool) else None,
            runner_type=raw.get("runner_type") if isinstance(raw.get("runner_type"), str) else None,
            name=raw.get("name") if isinstance(raw.get("name"), str) else None,
            tags=tuple(str(t) for t in raw.get("tags") or ()),
        )


@dataclass(frozen=True)
class ArtifactFile:
    """One entry of a job's ``artifacts`` list (``archive`` is the zip of ``artifacts:paths``)."""

    file_type: str
    filename: str
    size_bytes: int | None
    file_format: str | None


@dataclass(frozen=True)
class CiJob:
    """A CI job as the GitLab API (with the platform's token) describes it."""

    id: int
    name: str
    status: str
    stage: str
    ref: str
    sha: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    queued_duration_s: float | None
    tag_list: tuple[str, ...]
    runner: RunnerInfo | None
    pipeline_id: int
    project_id: int
    project_path: str
    web_url: str
    failure_reason: str | None
    artifacts: tuple[ArtifactFile, ...]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def has_archive(self) -> bool:
        return any(a.file_type == "archive" for a in self.artifacts)

    @classmethod
    def from_api(
        cls, raw: Mapping[str, Any], *, project_id: int | None = None, base_url: str | None = None
    ) -> CiJob:
        """Build from the JSON of ``GET /projects/:id/jobs/:job_id`` (or a list/pipeline-jobs item).

        ``project_id`` comes from the caller when the entity lacks ``pipeline.project_id``; ``base_url`` is
        GitLab's address (its relative URL root is not part of the project path read from ``web_url``).
        """
        pipeline = raw.get("pipeline") or {}
        pid = pipeline.get("project_id", project_id)
        if pid is None:
            raise ValueError(f"job {raw.get('id')}: no project id in the job or from the caller")
        web_url = str(raw.get("web_url") or "")
        runner = raw.get("runner")
        return cls(
            id=int(raw["id"]),
            name=str(raw["name"]),
            status=str(raw["status"]),
            stage=str(raw.get("stage") or ""),
            ref=str(raw.get("ref") or pipeline.get("ref") or ""),
            sha=str(pipeline.get("sha") or (raw.get("commit") or {}).get("id") or ""),
            created_at=parse_gitlab_time(raw.get("created_at"), field="created_at"),
            started_at=parse_gitlab_time(raw.get("started_at"), field="started_at"),
            finished_at=parse_gitlab_time(raw.get("finished_at"), field="finished_at"),
            duration_s=float(raw["duration"]) if raw.get("duration") is not None else None,
            queued_duration_s=(
                float(raw["queued_duration"]) if raw.get("queued_duration") is not None else None
            ),
            tag_list=tuple(str(t) for t in raw.get("tag_list") or ()),
            runner=RunnerInfo.from_api(runner) if isinstance(runner, Mapping) else None,
            pipeline_id=int(pipeline.get("id") or 0),
            project_id=int(pid),
            project_path=project_path_from_web_url(web_url, base_url=base_url) if web_url else "",
            web_url=web_url,
            failure_reason=raw.get("failure_reason") if isinstance(raw.get("failure_reason"), str) else None,
            artifacts=tuple(
                ArtifactFile(
                    file_type=str(a.get("file_type") or ""),
                    filename=str(a.get("filename") or ""),
                    size_bytes=int(a["size"]) if a.get("size") is not None else None,
                    file_format=a.get("file_format"),
                )
                for a in raw.get("artifacts") or ()
                if isinstance(a, Mapping)
            ),
        )


@dataclass(frozen=True)
class JobTrace:
    """A job's log as ``GET /projects/:id/jobs/:job_id/trace`` returns it, read up to a size limit.

    Attributes:
        text: the log, decoded as UTF-8 (a byte sequence that is not UTF-8, or one cut by the limit, is replaced).
        bytes_read: how many bytes GitLab sent (the whole log: it is streamed to its end).
        truncated: the log is longer than twice the limit: ``text`` holds its first ``max_bytes`` bytes, ``tail``
            its last lines (at most ``max_bytes`` bytes), and what lies between them was not kept.
        tail: the end of a truncated log (where the end mark is), None when ``text`` is the whole log.
    """

    text: str
    bytes_read: int
    truncated: bool
    tail: LogTail | None = None


@dataclass(frozen=True)
class CiPipeline:
    """A pipeline as listed by ``GET /projects/:id/pipelines``."""

    id: int
    project_id: int
    status: str
    ref: str
    sha: str
    updated_at: datetime | None
    web_url: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], *, project_id: int) -> CiPipeline:
        return cls(
            id=int(raw["id"]),
            project_id=int(raw.get("project_id") or project_id),
            status=str(raw.get("status") or ""),
            ref=str(raw.get("ref") or ""),
            sha=str(raw.get("sha") or ""),
            updated_at=parse_gitlab_time(raw.get("updated_at"), field="updated_at"),
            web_url=str(raw.get("web_url") or ""),
        )


@dataclass(frozen=True)
class GroupInfo:
    """A group (``GET /groups/:id``)."""

    id: int
    full_path: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> GroupInfo:
        return cls(id=int(raw["id"]), full_path=str(raw["full_path"]))


@dataclass(frozen=True)
class ProjectRef:
    """A project's numeric id and full path (``group/sub/name``)."""

    id: int
    path: str


@dataclass(frozen=True)
class ProjectInfo:
    """A project (``GET /projects/:id``) with the settings provisioning manages."""

    id: int
    path: str
    ci_config_path: str | None
    pipeline_variables_role: str | None
    default_branch: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ProjectInfo:
        return cls(
            id=int(raw["id"]),
            path=str(raw["path_with_namespace"]),
            ci_config_path=raw.get("ci_config_path") or None,
            pipeline_variables_role=raw.get("ci_pipeline_variables_minimum_override_role"),
            default_branch=raw.get("default_branch") or None,
        )


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str


@dataclass(frozen=True)
class HookInfo:
    """A project webhook (``GET /projects/:id/hooks``); GitLab never returns its secret token."""

    id: int
    url: str
    job_events: bool
    pipeline_events: bool
    push_events: bool
    enable_ssl_verification: bool

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> HookInfo:
        return cls(
            id=int(raw["id"]),
            url=str(raw["url"]),
            job_events=bool(raw.get("job_events")),
            pipeline_events=bool(raw.get("pipeline_events")),
            push_events=bool(raw.get("push_events")),
            enable_ssl_verification=bool(raw.get("enable_ssl_verification")),
        )


@dataclass(frozen=True)
class CommitStatus:
    """One external commit status (``GET /projects/:id/repository/commits/:sha/statuses``).

    ``status`` is one of GitLab's states: ``pending``, ``running``, ``success``, ``failed``, ``canceled``.
    """

    id: int
    sha: str
    name: str
    status: str
    description: str
    target_url: str | None
    ref: str | None
    pipeline_id: int | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CommitStatus:
        return cls(
            id=int(raw["id"]),
            sha=str(raw.get("sha") or ""),
            name=str(raw.get("name") or ""),
            status=str(raw["status"]),
            description=str(raw.get("description") or ""),
            target_url=raw.get("target_url") if isinstance(raw.get("target_url"), str) else None,
            ref=raw.get("ref") if isinstance(raw.get("ref"), str) else None,
            pipeline_id=int(raw["pipeline_id"]) if raw.get("pipeline_id") is not None else None,
        )


@dataclass(frozen=True)
class NoteRef:
    """A note (comment) on a commit thread or a merge request, enough to find and edit it.

    ``discussion_id`` is set for commit thread notes (their edit path names the thread); ``mr_iid`` for merge
    request notes.
    """

    id: int
    body: str
    author_id: int
    discussion_id: str | None = None
    mr_iid: int | None = None

    @classmethod
    def from_api(
        cls, raw: Mapping[str, Any], *, discussion_id: str | None = None, mr_iid: int | None = None
    ) -> NoteRef:
        author = raw.get("author") or {}
        return cls(
            id=int(raw["id"]),
            body=str(raw.get("body") or ""),
            author_id=int(author.get("id") or 0),
            discussion_id=discussion_id,
            mr_iid=mr_iid,
        )


@dataclass(frozen=True)
class MergeRequestRef:
    """A merge request a commit belongs to (``GET /projects/:id/repository/commits/:sha/merge_requests``)."""

    iid: int
    project_id: int
    state: str
    web_url: str
    sha: str | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> MergeRequestRef:
        return cls(
            iid=int(raw["iid"]),
            project_id=int(raw["project_id"]),
            state=str(raw.get("state") or ""),
            web_url=str(raw.get("web_url") or ""),
            sha=raw.get("sha") if isinstance(raw.get("sha"), str) else None,
        )

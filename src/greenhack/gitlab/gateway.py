"""The only door to GitLab: a small interface over python-gitlab that returns frozen dataclasses.

Every python-gitlab and requests error is translated here: :class:`~greenhack.errors.GitLabUnavailable` for what
may succeed later (connection, timeout, 429, 5xx), :class:`~greenhack.errors.GitLabError` (with ``status_code``)
for a refusal. No ``RESTObject`` leaves this module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import gitlab
import gitlab.exceptions
import requests

from greenhack.errors import ArtifactTooLarge, GitLabError, GitLabUnavailable
from greenhack.gitlab.joblog import LogTail
from greenhack.gitlab.models import (
    CiJob,
    CiPipeline,
    CommitStatus,
    GroupInfo,
    HookInfo,
    JobTrace,
    MergeRequestRef,
    NoteRef,
    ProjectInfo,
    ProjectRef,
    UserInfo,
)

__all__ = ["GitLabGateway", "make_gitlab_client"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_CHUNK_BYTES = 64 * 1024


def make_gitlab_client(url: str, token: str, *, timeout_s: float = 30.0) -> gitlab.Gitlab:
    """A python-gitlab client with the platform's token. greenhack retries 5xx itself (with backoff, outside
    any request), so python-gitlab does not; on 429 python-gitlab waits out ``Retry-After`` as GitLab asks."""
    return gitlab.Gitlab(url, private_token=token, timeout=timeout_s, retry_transient_errors=False)


def _translate(what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except gitlab.exceptions.GitlabError as exc:
        code = exc.response_code
        message = f"GitLab {what}: {code or ''} {exc.error_message}".replace("  ", " ")
        if code is None or code == 429 or code >= 500:
            raise GitLabUnavailable(message, status_code=code) from exc
        raise GitLabError(message, status_code=code) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise GitLabUnavailable(f"GitLab {what}: no answer ({type(exc).__name__})") from exc
    except requests.RequestException as exc:
        raise GitLabUnavailable(f"GitLab {what}: {exc}") from exc


class GitLabGateway:
    """What greenhack asks of GitLab, with the platform's token (never the team's, never a webhook's word).

    Args:
        gl: a configured ``gitlab.Gitlab`` (see :func:`make_gitlab_client`); injectable for tests.
    """

    def __init__(self, gl: gitlab.Gitlab) -> None:
        self._gl = gl

    @property
    def url(self) -> str:
        return str(self._gl.url)

    # --- jobs and pipelines ------------------------------------------------------------------------------------

    def job(self, project: int | str, job_id: int) -> CiJob:
        """``GET /projects/:id/jobs/:job_id``: the job's status, window (started_at/finished_at), runner, tags."""

        def call() -> CiJob:
            raw = self._gl.projects.get(project, lazy=True).jobs.get(job_id).asdict()
            return CiJob.from_api(
                raw, project_id=project if isinstance(project, int) else None, base_url=self.url
            )

        return _translate(f"job {job_id} of project {project}", call)

    def retry_job(self, project: int | str, job_id: int) -> CiJob:
        """``POST /projects/:id/jobs/:job_id/retry``: run the job again, in its pipeline; GitLab answers with the new
        job (a new id, ``pending``, no window yet). An admin's re-measure (:mod:`greenhack.remeasure`).

        Raises:
            GitLabError: 403 when GitLab will not retry it (a job still running is not retryable), 404 unknown.
        """

        def call() -> CiJob:
            raw = self._gl.projects.get(project, lazy=True).jobs.get(job_id, lazy=True).retry()
            return CiJob.from_api(dict(raw), project_id=project if isinstance(project, int) else None)

        return _translate(f"retry of job {job_id} of project {project}", call)

    def project(self, project: int | str) -> ProjectRef:
        """``GET /projects/:id``: id and full path."""

        def call() -> ProjectRef:
            raw = self._gl.projects.get(project).asdict()
            return ProjectRef(id=int(raw["id"]), path=str(raw["path_with_namespace"]))

        return _translate(f"project {project}", call)

    def group_projects(self, group: str) -> list[ProjectRef]:
        """Every project of the group and its subgroups (``GET /groups/:id/projects?include_subgroups=true``)."""

        def call() -> list[ProjectRef]:
            grp = self._gl.groups.get(group, lazy=True)
            return [
                ProjectRef(id=int(p.id), path=str(p.path_with_namespace))
                for p in grp.projects.list(iterator=True, include_subgroups=True, archived=False)
            ]

        return _translate(f"projects of group {group}", call)

    def pipelines_updated_after(self, project: int, since: datetime) -> list[CiPipeline]:
        """``GET /projects/:id/pipelines?updated_after=...``, newest first."""

        def call() -> list[CiPipeline]:
            items = self._gl.projects.get(project, lazy=True).pipelines.list(
                iterator=True, updated_after=since.isoformat(), order_by="updated_at", sort="desc"
            )
            return [CiPipeline.from_api(p.asdict(), project_id=project) for p in items]

        return _translate(f"pipelines of project {project}", call)

    def pipeline_jobs(self, project: int, pipeline_id: int) -> list[CiJob]:
        """``GET /projects/:id/pipelines/:pipeline_id/jobs?include_retried=true``: retried jobs are jobs too."""

        def call() -> list[CiJob]:
            pipeline = self._gl.projects.get(project, lazy=True).pipelines.get(pipeline_id, lazy=True)
            return [
                CiJob.from_api(j.asdict(), project_id=project, base_url=self.url)
                for j in pipeline.jobs.list(iterator=True, include_retried=True)
            ]

        return _translate(f"jobs of pipeline {pipeline_id} of project {project}", call)

    def jobs_created_after(
        self, project: int, *, statuses: Collection[str], created_after: datetime, per_page: int = 100
    ) -> list[CiJob]:
        """The project's jobs in ``statuses`` created at or after ``created_after``, newest first, in as few requests
        as GitLab allows: ``GET /projects/:id/jobs?scope[]=...&per_page=100``.

        GitLab sorts this list by job id, descending (newest first), and ids grow with creation, so paging stops
        at the first job created before ``created_after``: one request per 100 recent jobs, however many
        pipelines they belong to. Retried jobs are listed too. Offset pagination: a job created while paging
        shifts the pages and is listed twice (kept once), never skipped.

        Args:
            project: the project id.
            statuses: job statuses to list (GitLab's ``scope``), e.g. ``{"success", "failed", "canceled"}``.
            created_after: the oldest creation time wanted (aware datetime).
            per_page: page size (GitLab allows at most 100).
        """
        if not statuses:
            raise ValueError("statuses must name at least one job status")

        def call() -> list[CiJob]:
            items = self._gl.projects.get(project, lazy=True).jobs.list(
                iterator=True, scope=sorted(statuses), per_page=per_page
            )
            found: dict[int, CiJob] = {}
            for item in items:
                job = CiJob.from_api(item.asdict(), project_id=project, base_url=self.url)
                if job.created_at is not None and job.created_at < created_after:
                    break  # every later one is older still
                found.setdefault(job.id, job)
            return list(found.values())

        return _translate(f"jobs of project {project}", call)

    def running_jobs(self, project: int) -> list[CiJob]:
        """``GET /projects/:id/jobs?scope=running``: the project's jobs running now."""

        def call() -> list[CiJob]:
            items = self._gl.projects.get(project, lazy=True).jobs.list(iterator=True, scope="running")
            return [CiJob.from_api(j.asdict(), project_id=project, base_url=self.url) for j in items]

        return _translate(f"running jobs of project {project}", call)

    # --- feedback: commit statuses and notes -------------------------------------------------------------------

    def current_user_id(self) -> int:
        """``GET /user``: the id of the user the platform's token belongs to (the author of its notes)."""

        def call() -> int:
            raw = self._gl.http_get("/user")
            if not isinstance(raw, dict) or "id" not in raw:
                raise GitLabError("GitLab /user: the answer names no user")
            return int(raw["id"])

        return _translate("current user", call)

    def commit_statuses(self, project: int, sha: str, *, name: str) -> list[CommitStatus]:
        """``GET /projects/:id/repository/commits/:sha/statuses?name=...``: the latest status of that name per
        ref (GitLab lists only the latest unless ``all`` is set)."""

        def call() -> list[CommitStatus]:
            commit = self._gl.projects.get(project, lazy=True).commits.get(sha, lazy=True)
            return [
                CommitStatus.from_api(s.asdict())
                for s in commit.statuses.list(iterator=True, name=name)
                if str(s.asdict().get("name")) == name
            ]

        return _translate(f"statuses of commit {sha[:8]} of project {project}", call)

    def set_commit_status(
        self,
        project: int,
        sha: str,
        *,
        state: str,
        name: str,
        description: str,
        target_url: str | None,
        ref: str | None,
        pipeline_id: int | None,
    ) -> CommitStatus:
        """``POST /projects/:id/statuses/:sha``. GitLab refuses (400) a transition its state machine forbids,
        e.g. ``pending`` over ``pending``: callers compare with :meth:`commit_statuses` first."""
        data: dict[str, Any] = {"state": state, "name": name, "description": description}
        if target_url:
            data["target_url"] = target_url
        if ref:
            data["ref"] = ref
        if pipeline_id:
            data["pipeline_id"] = pipeline_id

        def call() -> CommitStatus:
            commit = self._gl.projects.get(project, lazy=True).commits.get(sha, lazy=True)
            return CommitStatus.from_api(commit.statuses.create(data).asdict())

        return _translate(f"set status of commit {sha[:8]} of project {project}", call)

    def commit_merge_requests(self, project: int, sha: str) -> list[MergeRequestRef]:
        """``GET /projects/:id/repository/commits/:sha/merge_requests``."""

        def call() -> list[MergeRequestRef]:
            commit = self._gl.projects.get(project, lazy=True).commits.get(sha, lazy=True)
            raw = commit.merge_requests(get_all=True)
            return [MergeRequestRef.from_api(m) for m in raw if isinstance(m, dict)]

        return _translate(f"merge requests of commit {sha[:8]} of project {project}", call)

    def commit_notes(self, project: int, sha: str) -> list[NoteRef]:
        """Every note of every thread on the commit (``GET .../repository/commits/:sha/discussions``)."""

        def call() -> list[NoteRef]:
            commit = self._gl.projects.get(project, lazy=True).commits.get(sha, lazy=True)
            return [
                NoteRef.from_api(note, discussion_id=str(d.id))
                for d in commit.discussions.list(iterator=True)
                for note in d.asdict().get("notes") or ()
                if isinstance(note, dict)
            ]

        return _translate(f"threads of commit {sha[:8]} of project {project}", call)

    def create_commit_note(self, project: int, sha: str, body: str) -> NoteRef:
        """``POST /projects/:id/repository/commits/:sha/discussions``: a new thread with one note."""

        def call() -> NoteRef:
            commit = self._gl.projects.get(project, lazy=True).commits.get(sha, lazy=True)
            discussion = commit.discussions.create({"body": body})
            raw = discussion.asdict()
            return NoteRef.from_api(raw["notes"][0], discussion_id=str(raw["id"]))

        return _translate(f"comment on commit {sha[:8]} of project {project}", call)

    def update_commit_note(self, project: int, sha: str, discussion_id: str, note_id: int, body: str) -> None:
        """``PUT /projects/:id/repository/commits/:sha/discussions/:discussion_id/notes/:note_id``."""

        def call() -> None:
            commit = self._gl.projects.get(project, lazy=True).commits.get(sha, lazy=True)
            commit.discussions.get(discussion_id, lazy=True).notes.update(note_id, {"body": body})

        _translate(f"edit note {note_id} on commit {sha[:8]} of project {project}", call)

    def merge_request_notes(self, project: int, mr_iid: int) -> list[NoteRef]:
        """``GET /projects/:id/merge_requests/:iid/notes``."""

        def call() -> list[NoteRef]:
            mr = self._gl.projects.get(project, lazy=True).mergerequests.get(mr_iid, lazy=True)
            return [NoteRef.from_api(n.asdict(), mr_iid=mr_iid) for n in mr.notes.list(iterator=True)]

        return _translate(f"notes of merge request !{mr_iid} of project {project}", call)

    def create_merge_request_note(self, project: int, mr_iid: int, body: str) -> NoteRef:
        def call() -> NoteRef:
            mr = self._gl.projects.get(project, lazy=True).mergerequests.get(mr_iid, lazy=True)
            return NoteRef.from_api(mr.notes.create({"body": body}).asdict(), mr_iid=mr_iid)

        return _translate(f"comment on merge request !{mr_iid} of project {project}", call)

    def update_merge_request_note(self, project: int, mr_iid: int, note_id: int, body: str) -> None:
        def call() -> None:
            mr = self._gl.projects.get(project, lazy=True).mergerequests.get(mr_iid, lazy=True)
            mr.notes.update(note_id, {"body": body})

        _translate(f"edit note {note_id} on merge request !{mr_iid} of project {project}", call)

    # --- artifacts ---------------------------------------------------------------------------------------------

    def download_artifact(self, project: int | str, job_id: int, path: str, *, max_bytes: int) -> bytes:
        """One file of a job's artifacts (``GET /projects/:id/jobs/:job_id/artifacts/*path``), streamed.

        Raises:
            ArtifactTooLarge: the file is larger than ``max_bytes`` (reading stops there).
            GitLabError: 404 when the job kept no such file.
        """
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")

        def call() -> bytes:
            job = self._gl.projects.get(project, lazy=True).jobs.get(job_id, lazy=True)
            # python-gitlab puts the path into the URL as given; '#', '?' or '%' in it would cut or change the URL
            chunks: Iterator[Any] = job.artifact(
                quote(path, safe="/"), streamed=True, iterator=True, chunk_size=_CHUNK_BYTES
            )
            received = bytearray()
            try:
                for chunk in chunks:
                    received += chunk
                    if len(received) > max_bytes:
                        raise ArtifactTooLarge(
                            f"artifact {path!r} of job {job_id} is larger than {max_bytes} bytes",
                            max_bytes=max_bytes,
                        )
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            return bytes(received)

        return _translate(f"artifact {path!r} of job {job_id}", call)

    def job_trace(self, project: int | str, job_id: int, *, max_bytes: int) -> JobTrace:
        """The job's log (``GET /projects/:id/jobs/:job_id/trace``), streamed to its end, at most ``2 * max_bytes``
        of it kept: its first ``max_bytes`` bytes and its last ``max_bytes``.

        The start mark is near the start of a log and the end mark near its end, so a team that prints a lot
        between them still has both read. GitLab serves the whole log whatever ``Range`` asks (ranged reads of the
        trace are an open proposal, gitlab-org/gitlab#30391), so the tail is kept while streaming: the bytes
        between the two ends are counted (their lines, to number the tail's) and dropped. A log up to twice the
        limit comes back whole.

        Raises:
            GitLabError: 404 when there is no such job; 403 when the token may not read its log.
            GitLabUnavailable: GitLab did not answer (connection, timeout, 429, 5xx).
        """
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")

        def call() -> JobTrace:
            job = self._gl.projects.get(project, lazy=True).jobs.get(job_id, lazy=True)
            chunks: Iterator[Any] = job.trace(streamed=True, iterator=True, chunk_size=_CHUNK_BYTES)
            head = bytearray()
            # the bytes after the head, at most max_bytes + 1 of them: the one before the tail tells whether the
            # tail starts on a whole line
            after = bytearray()
            dropped = dropped_lines = 0
            try:
                for chunk in chunks:
                    room = max_bytes - len(head)
                    if room > 0:
                        head += chunk[:room]
                        chunk = chunk[room:]
                    after += chunk
                    excess = len(after) - (max_bytes + 1)
                    if excess > 0:
                        dropped += excess
                        dropped_lines += after.count(b"\n", 0, excess)
                        del after[:excess]
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            total = len(head) + dropped + len(after)
            if dropped == 0:
                whole = bytes(head + after)
                return JobTrace(text=whole.decode("utf-8", errors="replace"), bytes_read=total, truncated=False)
            # the byte before the tail is after[0]: unless it ends a line, the tail's first line is partial
            cut = 1 if after[0] == ord("\n") else after.find(b"\n", 1) + 1
            tail_bytes = bytes(after[cut:]) if cut > 0 else b""
            lines_before = head.count(b"\n") + dropped_lines + after.count(b"\n", 0, cut)
            tail = LogTail(text=tail_bytes.decode("utf-8", errors="replace"), first_line=lines_before + 1)
            return JobTrace(
                text=bytes(head).decode("utf-8", errors="replace"), bytes_read=total, truncated=True, tail=tail
            )

        return _translate(f"log of job {job_id} of project {project}", call)

    # --- provisioning ------------------------------------------------------------------------------------------

    def find_group(self, full_path: str) -> GroupInfo | None:
        """The group, or None when there is none (404)."""
        return self._find(
            f"group {full_path}", lambda: GroupInfo.from_api(self._gl.groups.get(full_path).asdict())
        )

    def create_group(self, *, name: str, path: str, parent_id: int | None) -> GroupInfo:
        data: dict[str, Any] = {"name": name, "path": path, "visibility": "private"}
        if parent_id is not None:
            data["parent_id"] = parent_id
        return _translate(
            f"create group {path}", lambda: GroupInfo.from_api(self._gl.groups.create(data).asdict())
        )

    def find_project(self, full_path: str) -> ProjectInfo | None:
        return self._find(
            f"project {full_path}", lambda: ProjectInfo.from_api(self._gl.projects.get(full_path).asdict())
        )

    def create_project(self, *, name: str, path: str, namespace_id: int) -> ProjectInfo:
        data = {"name": name, "path": path, "namespace_id": namespace_id, "visibility": "private"}
        return _translate(
            f"create project {path}", lambda: ProjectInfo.from_api(self._gl.projects.create(data).asdict())
        )

    def update_project(self, project_id: int, changes: dict[str, str]) -> None:
        """``PUT /projects/:id`` with only the attributes that change."""

        def call() -> None:
            self._gl.projects.update(project_id, changes)

        _translate(f"update project {project_id}", call)

    def file_exists(self, project: int | str, file_path: str, *, ref: str) -> bool:
        """Whether ``file_path`` is in the project's repository at ``ref``
        (``GET /projects/:id/repository/files/:file_path?ref=``); False on 404 (no such file, ref or project)."""
        found = self._find(
            f"file {file_path}@{ref} of project {project}",
            lambda: self._gl.projects.get(project, lazy=True).files.get(file_path=file_path, ref=ref),
        )
        return found is not None

    def find_user(self, username: str) -> UserInfo | None:
        """``GET /users?username=...``; None when GitLab knows no such user."""

        def call() -> UserInfo | None:
            for user in self._gl.users.list(username=username, get_all=False):
                raw = user.asdict()
                if str(raw.get("username", "")).lower() == username.lower():
                    return UserInfo(id=int(raw["id"]), username=str(raw["username"]))
            return None

        return _translate(f"user {username}", call)

    def project_members(self, project_id: int) -> dict[int, int]:
        """Direct members of the project: user id → access level."""

        def call() -> dict[int, int]:
            members = self._gl.projects.get(project_id, lazy=True).members.list(iterator=True)
            return {int(m.id): int(m.access_level) for m in members}

        return _translate(f"members of project {project_id}", call)

    def add_member(self, project_id: int, user_id: int, access_level: int) -> None:
        _translate(
            f"add user {user_id} to project {project_id}",
            lambda: self._gl.projects.get(project_id, lazy=True).members.create(
                {"user_id": user_id, "access_level": access_level}
            ),
        )

    def set_member_level(self, project_id: int, user_id: int, access_level: int) -> None:
        _translate(
            f"set access of user {user_id} in project {project_id}",
            lambda: self._gl.projects.get(project_id, lazy=True).members.update(
                user_id, {"access_level": access_level}
            ),
        )

    def project_hooks(self, project_id: int) -> list[HookInfo]:
        return _translate(
            f"hooks of project {project_id}",
            lambda: [
                HookInfo.from_api(h.asdict())
                for h in self._gl.projects.get(project_id, lazy=True).hooks.list(iterator=True)
            ],
        )

    def create_hook(self, project_id: int, settings: dict[str, str | bool]) -> None:
        _translate(
            f"create hook on project {project_id}",
            lambda: self._gl.projects.get(project_id, lazy=True).hooks.create(settings),
        )

    def update_hook(self, project_id: int, hook_id: int, settings: dict[str, str | bool]) -> None:
        _translate(
            f"update hook {hook_id} of project {project_id}",
            lambda: self._gl.projects.get(project_id, lazy=True).hooks.update(hook_id, settings),
        )

    def _find(self, what: str, call: Callable[[], T]) -> T | None:
        try:
            return _translate(what, call)
        except GitLabError as exc:
            if exc.status_code == 404:
                return None
            raise

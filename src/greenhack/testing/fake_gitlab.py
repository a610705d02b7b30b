"""A fake GitLab: a real HTTP server that serves the documented shapes of the REST endpoints greenhack uses, and
sends Job Hook / Pipeline Hook requests the way GitLab does.

It lives in the package (``greenhack.testing``), not under ``tests/``, so that the tests, the rehearsal bench and
demos import it the same way from an installed wheel (as zeus ships ``zeus.utils.testing``). Standard library
plus httpx only; in memory; thread-safe.

Served under ``/api/v4`` with ``PRIVATE-TOKEN`` (or ``Authorization: Bearer``) checked:

- jobs:       ``GET /projects/:id/jobs/:job_id``, ``GET /projects/:id/jobs/:job_id/artifacts/*path``,
              ``GET /projects/:id/jobs/:job_id/trace`` (the job log as ``text/plain``; empty when none was set),
              ``POST /projects/:id/jobs/:job_id/retry`` (201 and the new job: same pipeline, name and stage, a new id,
              ``pending``, no runner or window yet; 403 ``Job is not retryable`` while it has not finished);
              :meth:`FakeGitLab.run_retried_job` runs it
- pipelines:  ``GET /projects/:id/pipelines`` (updated_after, order_by, sort), ``GET .../pipelines/:id/jobs``
- groups:     ``GET /groups/:id``, ``POST /groups``, ``GET /groups/:id/projects`` (include_subgroups)
- projects:   ``GET /projects/:id``, ``POST /projects``, ``PUT /projects/:id``; renamed and deleted with
              :meth:`FakeGitLab.rename_project` and :meth:`FakeGitLab.delete_project`
- users:      ``GET /users?username=``
- members:    ``GET|POST /projects/:id/members``, ``PUT /projects/:id/members/:user_id``
- hooks:      ``GET|POST /projects/:id/hooks``, ``PUT /projects/:id/hooks/:hook_id``
- user:       ``GET /user`` (the token's own user)
- job token:  ``GET /job`` with ``JOB-TOKEN`` (or ``?job_token=``): the job a CI_JOB_TOKEN belongs to, only while
              that job runs (GitLab answers 401 for an unknown token and for the token of a finished job)
- job list:   ``GET /projects/:id/jobs`` with ``scope``/``scope[]`` (one status or several; an unknown one: 400),
              ``order_by=id``, ``sort`` (``desc``, GitLab's default: newest first), paginated
- statuses:   ``POST /projects/:id/statuses/:sha`` with GitLab's transition rules (``pending`` over ``pending``
              or ``running``, ``running`` over ``running``: 400), ``GET .../repository/commits/:sha/statuses``
- threads:    ``GET|POST /projects/:id/repository/commits/:sha/discussions``,
              ``PUT .../discussions/:discussion_id/notes/:note_id`` (only by the note's author, else 403)
- MRs:        ``GET .../repository/commits/:sha/merge_requests``, ``GET|POST /projects/:id/merge_requests/:iid/notes``,
              ``PUT .../notes/:note_id`` (only by the note's author)
- files:      ``GET /projects/:id/repository/files/:file_path?ref=`` (the path URL-encoded; ``ref`` required, as in
              GitLab: 400 without it, 404 ``File Not Found``), files added with :meth:`FakeGitLab.add_file`

``:id`` is a number or a URL-encoded full path, as in GitLab. Boolean parameters are read as Grape reads them
(``True``, as python-gitlab sends a Python bool, as well as ``true``, ``1``, ``yes``; anything else is a 400).
With ``relative_url_root`` (``/gitlab``) everything is served below that path, as GitLab is under
``gitlab_relative_url_root``. Lists are paginated with ``page``/``per_page``,
``Link`` and ``X-Next-Page`` headers. Faults are injected with :meth:`FakeGitLab.fail`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, cast
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import httpx

__all__ = ["FakeGitLab", "Fault", "SentHook"]

_GUEST, _DEVELOPER, _MAINTAINER, _OWNER = 10, 30, 40, 50
# the job statuses GitLab accepts as ``scope`` of ``GET /projects/:id/jobs`` (anything else: 400)
_JOB_SCOPES = frozenset(
    {
        "created",
        "pending",
        "running",
        "failed",
        "success",
        "canceled",
        "skipped",
        "waiting_for_resource",
        "manual",
        "preparing",
        "scheduled",
        "canceling",
    }
)


def _iso(moment: datetime | None) -> str | None:
    """REST API style: ``2015-12-24T17:54:30.733Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _hook_time(moment: datetime | None) -> str | None:
    """Webhook style of ``build_*_at`` and pipeline times: ``2016-08-12 15:26:12 UTC``."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso_seconds(moment: datetime | None) -> str | None:
    """``*_iso`` webhook fields: ``2021-02-23T02:41:37Z``."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    """Answer ``status`` to requests whose ``METHOD path`` matches ``pattern``, ``times`` times (None: always);
    with ``delay_s``, first wait that long (and with ``status`` None, then answer normally: a slow GitLab)."""

    pattern: str
    status: int | None = 500
    times: int | None = 1
    hits: int = 0
    delay_s: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.times is None or self.hits < self.times) and re.search(
            self.pattern, f"{method} {path}"
        ) is not None


@dataclass(frozen=True)
class SentHook:
    """One webhook delivery the fake made: where, which event, what body, and the receiver's answer."""

    url: str
    event: str
    body: dict[str, Any]
    status_code: int | None


@dataclass
class _Runner:
    id: int
    description: str
    tags: tuple[str, ...]
    runner_type: str = "group_type"
    name: str | None = None

    def job_entity(self) -> dict[str, Any]:
        """The runner as the Jobs API shows it on a job that ran (``GET /projects/:id/jobs/:job_id``)."""
        return {
            "id": self.id,
            "description": self.description,
            "ip_address": None,
            "active": True,
            "paused": False,
            "is_shared": self.runner_type == "instance_type",
            "runner_type": self.runner_type,
            "name": self.name,
            "online": True,
            "status": "online",
        }


@dataclass
class _State:
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, dict[int, int]] = field(default_factory=dict)
    hooks: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pipelines: dict[int, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    artifacts: dict[int, dict[str, bytes]] = field(default_factory=dict)
    logs: dict[int, str] = field(default_factory=dict)
    runners: dict[int, _Runner] = field(default_factory=dict)
    job_tokens: dict[str, int] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    # (project id, sha) -> discussions
    discussions: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)
    # project id -> merge requests (each with the shas of its commits under "_shas")
    merge_requests: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # (project id, mr iid) -> notes
    mr_notes: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    # (project id, ref) -> file path -> content
    files: dict[tuple[int, str], dict[str, bytes]] = field(default_factory=dict)
    next_id: int = 1000


class _NotFound(Exception):
    pass


class _BadRequest(Exception):
    pass


class _Forbidden(Exception):
    pass


_STATUS_EVENTS = {
    "pending": "enqueue",
    "running": "run",
    "success": "succeed",
    "failed": "drop",
    "canceled": "cancel",
}



class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-request (a SIGKILLed worker, a timed-out poll) is GitLab's everyday life, not
    an error worth a traceback on stderr; anything else is still reported."""

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

class FakeGitLab:
    """Start with :meth:`start` (or use as a context manager); ``url`` is the instance's base address.

    Args:
        token: the personal access token the platform must present.
        admin_username: the user the token belongs to (owner of everything it creates).
    """

    def __init__(
        self,
        *,
        token: str = "glpat-platform-token",
        admin_username: str = "greenhack-bot",
        relative_url_root: str = "",
    ) -> None:
        self.token = token
        # GitLab served below a path (``gitlab_rails['gitlab_relative_url_root']``, e.g. ``/gitlab``): the API is
        # then at ``<root>/api/v4`` and every ``web_url`` starts with the root
        self.relative_url_root = "/" + relative_url_root.strip("/") if relative_url_root.strip("/") else ""
        self._web = f"http://gitlab.invalid{self.relative_url_root}"
        self._lock = threading.RLock()
        self._state = _State()
        self._faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.sent_hooks: list[SentHook] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.admin = self.add_user(admin_username)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> FakeGitLab:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-gitlab", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://host:port``, without the relative URL root."""
        if self._server is None:
            raise RuntimeError("the fake GitLab is not started")
        host, port = cast(tuple[str, int], self._server.server_address[:2])
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The instance's address, with its relative URL root (what ``gitlab.url`` names)."""
        return self.origin + self.relative_url_root

    # --- faults ------------------------------------------------------------------------------------------------

    def fail(self, pattern: str, *, status: int = 500, times: int | None = 1) -> Fault:
        """Answer ``status`` to the next ``times`` requests matching ``pattern`` (a regex on ``METHOD /path``)."""
        fault = Fault(pattern, status, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def delay(self, pattern: str, *, seconds: float, times: int | None = 1) -> Fault:
        """Answer the next ``times`` requests matching ``pattern`` normally, but only after ``seconds``."""
        fault = Fault(pattern, None, times, delay_s=seconds)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fault_for(self, method: str, path: str) -> int | None:
        hit: Fault | None = None
        with self._lock:
            self.requests.append((method, path))
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    hit = fault
                    break
        if hit is None:
            return None
        if hit.delay_s:
            time.sleep(hit.delay_s)
        return hit.status

    # --- seeding -----------------------------------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._state.next_id += 1
            return self._state.next_id

    def add_user(self, username: str, *, name: str | None = None) -> int:
        with self._lock:
            uid = self._new_id()
            self._state.users[uid] = {
                "id": uid,
                "username": username,
                "name": name or username,
                "state": "active",
                "locked": False,
                "avatar_url": None,
                "web_url": f"{self._web}/{username}",
            }
            return uid

    def add_runner(
        self,
        description: str,
        *,
        tags: Iterable[str],
        runner_type: str = "group_type",
        name: str | None = None,
    ) -> int:
        with self._lock:
            rid = self._new_id()
            self._state.runners[rid] = _Runner(rid, description, tuple(tags), runner_type, name)
            return rid

    def create_group(self, path: str, *, parent_id: int | None = None) -> dict[str, Any]:
        return self._create_group({"name": path, "path": path, "parent_id": parent_id})

    def find_or_create_group(self, full_path: str) -> dict[str, Any]:
        """The group at ``full_path``, created (with its parents) when missing."""
        with self._lock:
            try:
                return _copy(self._group(full_path))
            except _NotFound:
                parent, _, path = full_path.rpartition("/")
                parent_id = self.find_or_create_group(parent)["id"] if parent else None
                return self.create_group(path, parent_id=parent_id)

    def add_hook(self, project_id: int, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Register a project webhook as ``POST /projects/:id/hooks`` would (``token`` is its secret)."""
        return self.handle(  # type: ignore[no-any-return]
            "POST", f"{self.relative_url_root}/api/v4/projects/{project_id}/hooks", {}, dict(settings)
        )[1]

    def runner_id(self, description: str, *, tags: Iterable[str], runner_type: str = "group_type") -> int:
        """The id of the runner with this description, registered on first use."""
        with self._lock:
            for runner in self._state.runners.values():
                if runner.description == description:
                    return runner.id
        return self.add_runner(description, tags=tags, runner_type=runner_type)

    def create_project(self, path: str, *, namespace_id: int) -> dict[str, Any]:
        return self._create_project({"name": path, "path": path, "namespace_id": namespace_id})

    def add_file(self, project: int | str, path: str, content: bytes | str, *, ref: str = "main") -> None:
        """Put a file in a project's repository at ``ref`` (a branch name), as a push would."""
        data = content.encode() if isinstance(content, str) else content
        with self._lock:
            pid = self._project(str(project))["id"]
            self._state.files.setdefault((pid, ref), {})[path] = data

    def run_job(
        self,
        project_id: int,
        *,
        name: str = "submission",
        stage: str = "test",
        status: str = "success",
        started_at: datetime,
        finished_at: datetime | None,
        runner_id: int | None,
        tags: Iterable[str] = (),
        artifacts: Mapping[str, bytes] | None = None,
        pipeline_id: int | None = None,
        ref: str = "main",
        sha: str = "2293ada6b400935a1378653304eaf6221e0fdb8f",
        failure_reason: str | None = None,
        log: str | None = None,
    ) -> dict[str, Any]:
        """Record a job as a runner would have run it; returns its REST JSON. Sends no webhook.

        ``log`` is the job's log (``GET .../trace``); :meth:`set_job_log` sets or replaces it later."""
        with self._lock:
            project = self._project(str(project_id))
            if pipeline_id is None:
                pipeline_id = self._new_id()
                self._state.pipelines[pipeline_id] = {
                    "id": pipeline_id,
                    "iid": len(self._state.pipelines) + 1,
                    "project_id": project["id"],
                    "sha": sha,
                    "ref": ref,
                    "status": status,
                    "source": "push",
                    "created_at": _iso(started_at - timedelta(seconds=5)),
                    "updated_at": _iso(finished_at or started_at),
                    "web_url": f"{project['web_url']}/-/pipelines/{pipeline_id}",
                }
            pipeline = self._state.pipelines[pipeline_id]
            job_id = self._new_id()
            runner = self._state.runners[runner_id] if runner_id is not None else None
            files = dict(artifacts or {})
            self._state.artifacts[job_id] = files
            self._state.jobs[job_id] = {
                "commit": {
                    "author_email": "team@example.com",
                    "author_name": "Team",
                    "created_at": _iso(started_at - timedelta(minutes=1)),
                    "id": sha,
                    "message": "submission",
                    "short_id": sha[:8],
                    "title": "submission",
                },
                "coverage": None,
                "archived": False,
                "allow_failure": False,
                "created_at": _iso(started_at - timedelta(seconds=3)),
                "started_at": _iso(started_at),
                "finished_at": _iso(finished_at),
                "erased_at": None,
                "duration": (finished_at - started_at).total_seconds() if finished_at else None,
                "queued_duration": 1.5,
                "artifacts": (
                    [
                        {
                            "file_type": "archive",
                            "size": sum(map(len, files.values())),
                            "filename": "artifacts.zip",
                            "file_format": "zip",
                        },
                        {
                            "file_type": "metadata",
                            "size": 186,
                            "filename": "metadata.gz",
                            "file_format": "gzip",
                        },
                    ]
                    if files
                    else []
                )
                + [{"file_type": "trace", "size": 1500, "filename": "job.log", "file_format": "raw"}],
                "artifacts_expire_at": _iso((finished_at or started_at) + timedelta(days=90))
                if files
                else None,
                # GitLab returns the tags sorted by name (ActsAsTaggableOn's tag_list, as Ci::Build#tag_list)
                "tag_list": sorted(tags),
                "id": job_id,
                "name": name,
                "pipeline": {
                    "id": pipeline_id,
                    "project_id": project["id"],
                    "ref": pipeline["ref"],
                    "sha": pipeline["sha"],
                    "status": pipeline["status"],
                },
                "ref": pipeline["ref"],
                "runner": runner.job_entity() if runner else None,
                "stage": stage,
                "status": status,
                "tag": False,
                "web_url": f"{project['web_url']}/-/jobs/{job_id}",
                "project": {"ci_job_token_scope_enabled": False},
                "user": {
                    "id": self.admin,
                    "name": "Team",
                    "username": "team",
                    "state": "active",
                    "avatar_url": None,
                    "web_url": f"{self._web}/team",
                },
            }
            job = self._state.jobs[job_id]
            if files:
                # Entities::Ci::Job exposes artifacts_file only for a job that has an archive
                job["artifacts_file"] = {"filename": "artifacts.zip", "size": sum(map(len, files.values()))}
            _set_failure_reason(job, status, failure_reason)
            pipeline["updated_at"] = _iso(datetime.now(UTC))
            if log is not None:
                self.set_job_log(job_id, log)
            return _copy(self._state.jobs[job_id])

    def run_retried_job(
        self,
        job_id: int,
        *,
        started_at: datetime,
        finished_at: datetime,
        runner_id: int,
        status: str = "success",
        artifacts: Mapping[str, bytes] | None = None,
        log: str | None = None,
    ) -> dict[str, Any]:
        """Run a job made by a retry, as a runner would: its runner, window, status, artifacts and log."""
        with self._lock:
            job = self._state.jobs[job_id]
            runner = self._state.runners[runner_id]
            files = dict(artifacts or {})
            self._state.artifacts[job_id] = files
            size = sum(map(len, files.values()))
            job.update(
                status=status,
                started_at=_iso(started_at),
                finished_at=_iso(finished_at),
                duration=(finished_at - started_at).total_seconds(),
                artifacts_file={"filename": "artifacts.zip", "size": size} if files else None,
                artifacts=(
                    [{"file_type": "archive", "size": size, "filename": "artifacts.zip", "file_format": "zip"}]
                    if files
                    else []
                )
                + [{"file_type": "trace", "size": 1500, "filename": "job.log", "file_format": "raw"}],
                runner=runner.job_entity(),
            )
            self._state.pipelines[job["pipeline"]["id"]]["updated_at"] = _iso(datetime.now(UTC))
        if log is not None:
            self.set_job_log(job_id, log)
        return self.job_json(job_id)

    def _retry(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """GitLab's retry (Ci::RetryJobService): a clone of the job in its pipeline, a new id, ``pending``."""
        if job["status"] not in ("success", "failed", "canceled"):
            raise _Forbidden("403 Forbidden - Job is not retryable")
        new_id = self._new_id()
        clone = _copy(dict(job))
        web_url = str(job["web_url"]).rsplit("/", 1)[0] + f"/{new_id}"
        clone.update(
            id=new_id,
            status="pending",
            created_at=_iso(datetime.now(UTC)),
            started_at=None,
            finished_at=None,
            duration=None,
            queued_duration=None,
            failure_reason=None,
            artifacts_file=None,
            artifacts=[],
            artifacts_expire_at=None,
            runner=None,
            web_url=web_url,
        )
        self._state.jobs[new_id] = clone
        self._state.artifacts[new_id] = {}
        self._state.pipelines[job["pipeline"]["id"]]["updated_at"] = _iso(datetime.now(UTC))
        return _copy(clone)

    def set_job_log(self, job_id: int, log: str) -> None:
        """Set the job's log, as the runner would have sent it (the ``trace`` entry of its artifacts follows)."""
        with self._lock:
            job = self._state.jobs[job_id]
            self._state.logs[job_id] = log
            for entry in job["artifacts"]:
                if entry["file_type"] == "trace":
                    entry["size"] = len(log.encode())

    def set_job_status(self, job_id: int, status: str, *, finished_at: datetime | None = None) -> None:
        with self._lock:
            job = self._state.jobs[job_id]
            job["status"] = status
            _set_failure_reason(job, status, job.get("failure_reason"))
            if finished_at is not None:
                job["finished_at"] = _iso(finished_at)
                started = datetime.fromisoformat(job["started_at"])
                job["duration"] = (finished_at - started).total_seconds()
            self._state.pipelines[job["pipeline"]["id"]]["updated_at"] = _iso(datetime.now(UTC))

    def job_json(self, job_id: int) -> dict[str, Any]:
        with self._lock:
            return _copy(self._state.jobs[job_id])

    def end_before_start(
        self, job_id: int, status: str, *, at: datetime, failure_reason: str | None = None
    ) -> None:
        """End a job that never started (canceled or skipped while pending, or failed before any runner took it,
        e.g. ``stuck_or_timeout_failure``): GitLab keeps no ``started_at``, no duration and no runner."""
        with self._lock:
            job = self._state.jobs[job_id]
            job.update(
                status=status,
                started_at=None,
                finished_at=_iso(at),
                duration=None,
                runner=None,
            )
            _set_failure_reason(job, status, failure_reason)
            self._state.pipelines[job["pipeline"]["id"]]["updated_at"] = _iso(datetime.now(UTC))

    def project_json(self, project: int | str) -> dict[str, Any]:
        with self._lock:
            return _copy(self._project(str(project)))

    def rename_project(self, project: int | str, path: str) -> dict[str, Any]:
        """Change a project's path (and name) in its namespace, as ``PUT /projects/:id`` with ``path`` does: its
        id stays, its ``path_with_namespace`` and every address change."""
        with self._lock:
            found = self._project(str(project))
            full = f"{found['namespace']['full_path']}/{path}"
            if any(p["path_with_namespace"] == full for p in self._state.projects.values()):
                raise ValueError(f"{full} has already been taken")
            found.update(
                path=path,
                name=path,
                path_with_namespace=full,
                name_with_namespace=f"{found['namespace']['name']} / {path}",
                web_url=f"{self._web}/{full}",
            )
            for job in self._state.jobs.values():
                if job["pipeline"]["project_id"] == found["id"]:
                    job["web_url"] = f"{found['web_url']}/-/jobs/{job['id']}"
            return _copy(found)

    def delete_project(self, project: int | str) -> None:
        """Delete a project with its jobs and pipelines (``DELETE /projects/:id``, once GitLab has run it); its
        id is never given again."""
        with self._lock:
            pid = self._project(str(project))["id"]
            del self._state.projects[pid]
            for jid in [j for j, job in self._state.jobs.items() if job["pipeline"]["project_id"] == pid]:
                del self._state.jobs[jid]
            for plid in [p for p, pl in self._state.pipelines.items() if pl["project_id"] == pid]:
                del self._state.pipelines[plid]
            self._state.hooks.pop(pid, None)
            self._state.members.pop(pid, None)

    def members_of(self, project_id: int) -> dict[int, int]:
        with self._lock:
            return dict(self._state.members.get(project_id, {}))

    def hooks_of(self, project_id: int) -> list[dict[str, Any]]:
        """Hooks with their secret token (which the API never returns)."""
        with self._lock:
            return [_copy(h) for h in self._state.hooks.get(project_id, [])]

    # --- job tokens, statuses, notes, merge requests ------------------------------------------------------------

    def issue_job_token(self, job_id: int) -> str:
        """The CI_JOB_TOKEN of a job (GitLab gives one to every job when a runner picks it up)."""
        with self._lock:
            if job_id not in self._state.jobs:
                raise KeyError(f"no job {job_id}")
            token = f"glcbt-{secrets.token_hex(12)}"
            self._state.job_tokens[token] = job_id
            return token

    def user_json(self, user_id: int) -> dict[str, Any]:
        with self._lock:
            return _copy(self._state.users[user_id])

    def statuses_of(self, project_id: int, sha: str) -> list[dict[str, Any]]:
        """Every commit status ever set on the commit (retried ones included), oldest first."""
        with self._lock:
            return [
                _copy(x) for x in self._state.statuses if x["_project_id"] == project_id and x["sha"] == sha
            ]

    def add_merge_request(
        self, project_id: int, *, source_branch: str, shas: Iterable[str], state: str = "opened"
    ) -> int:
        """Open a merge request whose commits are ``shas`` (the last is its head); returns its iid."""
        with self._lock:
            project = self._project(str(project_id))
            existing = self._state.merge_requests.setdefault(project["id"], [])
            iid = len(existing) + 1
            commits = list(shas)
            existing.append(
                {
                    "id": self._new_id(),
                    "iid": iid,
                    "project_id": project["id"],
                    "title": f"Draft: {source_branch}",
                    "state": state,
                    "source_branch": source_branch,
                    "target_branch": "main",
                    "sha": commits[-1] if commits else None,
                    "web_url": f"{project['web_url']}/-/merge_requests/{iid}",
                    "_shas": commits,
                }
            )
            self._state.mr_notes[(project["id"], iid)] = []
            return iid

    def commit_notes_of(self, project_id: int, sha: str) -> list[dict[str, Any]]:
        """Every note of every thread on the commit, oldest first."""
        with self._lock:
            return [_copy(n) for d in self._state.discussions.get((project_id, sha), []) for n in d["notes"]]

    def mr_notes_of(self, project_id: int, mr_iid: int) -> list[dict[str, Any]]:
        with self._lock:
            return [_copy(n) for n in self._state.mr_notes.get((project_id, mr_iid), [])]

    def add_commit_note(self, project_id: int, sha: str, body: str, *, author_id: int) -> dict[str, Any]:
        """A thread on the commit started by ``author_id`` (e.g. a team member quoting the platform's marker)."""
        with self._lock:
            return _copy(self._new_discussion(project_id, sha, body, author_id))

    def _note(self, body: str, author_id: int, **extra: Any) -> dict[str, Any]:
        user = self._state.users[author_id]
        now = _iso(datetime.now(UTC))
        return {
            "id": self._new_id(),
            "type": None,
            "body": body,
            "attachment": None,
            "author": {k: user[k] for k in ("id", "username", "name", "state", "avatar_url", "web_url")},
            "created_at": now,
            "updated_at": now,
            "system": False,
            "resolvable": False,
            "confidential": False,
            "internal": False,
            **extra,
        }

    def _new_discussion(self, project_id: int, sha: str, body: str, author_id: int) -> dict[str, Any]:
        if not str(body).strip():
            raise _BadRequest("body is missing")
        note = self._note(str(body), author_id, noteable_type="Commit", noteable_id=None, commit_id=sha)
        discussion = {"id": f"{self._new_id():040x}", "individual_note": True, "notes": [note]}
        self._state.discussions.setdefault((project_id, sha), []).append(discussion)
        return discussion

    def _commit_known(self, project_id: int, sha: str) -> None:
        if not any(p["project_id"] == project_id and p["sha"] == sha for p in self._state.pipelines.values()):
            raise _NotFound("404 Commit Not Found")

    def _set_status(self, project_id: int, sha: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """GitLab's commit status API: the latest pending/running status of (name, ref) moves through the state
        machine; without one, a new status starts (the finished one stays as history)."""
        self._commit_known(project_id, sha)
        state = str(body.get("state") or "")
        if state not in _STATUS_EVENTS:
            raise _BadRequest("state does not have a valid value")
        name = str(body.get("name") or body.get("context") or "default")
        pipelines = [
            p for p in self._state.pipelines.values() if p["project_id"] == project_id and p["sha"] == sha
        ]
        ref = str(body.get("ref") or pipelines[-1]["ref"])
        current = next(
            (
                x
                for x in reversed(self._state.statuses)
                if x["_project_id"] == project_id
                and x["sha"] == sha
                and x["name"] == name
                and x["ref"] == ref
                and x["status"] in ("pending", "running")
            ),
            None,
        )
        if current is not None and (
            (state == "pending") or (state == "running" and current["status"] == "running")
        ):
            event = _STATUS_EVENTS[state]
            raise _BadRequest(
                f"Cannot transition status via :{event} from :{current['status']} "
                f'(Reason(s): Status cannot transition via "{event}")'
            )
        now = datetime.now(UTC)
        if current is None:
            admin = self._state.users[self.admin]
            current = {
                "id": self._new_id(),
                "sha": sha,
                "ref": ref,
                "name": name,
                "created_at": _iso(now),
                "started_at": None,
                "finished_at": None,
                "allow_failure": False,
                "coverage": None,
                "author": {k: admin[k] for k in ("id", "username", "name", "state", "avatar_url", "web_url")},
                "pipeline_id": int(body["pipeline_id"]) if body.get("pipeline_id") else pipelines[-1]["id"],
                "_project_id": project_id,
            }
            self._state.statuses.append(current)
        current["status"] = state
        current["description"] = str(body.get("description") or "")[:255] or None
        current["target_url"] = body.get("target_url") or None
        if state == "running":
            current["started_at"] = _iso(now)
        if state in ("success", "failed", "canceled"):
            current["finished_at"] = _iso(now)
        return {k: v for k, v in current.items() if not k.startswith("_")}

    def job_for_token(self, token: str) -> dict[str, Any] | None:
        """``GET /job``: the job of a CI_JOB_TOKEN while it runs; None (GitLab: 401) otherwise."""
        with self._lock:
            job_id = self._state.job_tokens.get(token)
            job = self._state.jobs.get(job_id) if job_id is not None else None
            if job is None or job["status"] != "running":
                return None
            return _copy(job)

    # --- webhooks ----------------------------------------------------------------------------------------------

    def job_hook_payload(self, job_id: int, *, status: str | None = None) -> dict[str, Any]:
        """The body of a Job Hook for the job (its current status unless ``status`` is given), as documented."""
        with self._lock:
            job = self._state.jobs[job_id]
            pipeline = self._state.pipelines[job["pipeline"]["id"]]
            project = self._state.projects[job["pipeline"]["project_id"]]
            runner = self._runner_of(job)

            def parse(value: str | None) -> datetime | None:
                return None if value is None else datetime.fromisoformat(value)

            created, started, finished = (parse(job[k]) for k in ("created_at", "started_at", "finished_at"))
            state = status or job["status"]
            if state in ("created", "pending"):
                started = finished = None
            elif state == "running":
                finished = None
            return {
                "object_kind": "build",
                "ref": job["ref"],
                "tag": False,
                "before_sha": "0000000000000000000000000000000000000000",
                "sha": pipeline["sha"],
                "build_id": job["id"],
                "build_name": job["name"],
                "build_stage": job["stage"],
                "build_status": state,
                "build_created_at": _hook_time(created),
                "build_created_at_iso": _iso_seconds(created),
                "build_started_at": _hook_time(started),
                "build_started_at_iso": _iso_seconds(started),
                "build_finished_at": _hook_time(finished),
                "build_finished_at_iso": _iso_seconds(finished),
                "build_duration": (finished - started).total_seconds() if started and finished else None,
                "build_queued_duration": job["queued_duration"],
                "build_allow_failure": False,
                "build_failure_reason": job.get("failure_reason") or "unknown_failure",
                "retries_count": 0,
                "pipeline_id": pipeline["id"],
                "project_id": project["id"],
                "project_name": f"{project['namespace']['name']} / {project['name']}",
                "user": {"id": self.admin, "name": "Team", "email": "[REDACTED]", "avatar_url": None},
                "commit": {
                    "id": pipeline["id"],
                    "name": None,
                    "sha": pipeline["sha"],
                    "message": "submission\n",
                    "author_name": "Team",
                    "author_email": "team@example.com",
                    "status": pipeline["status"],
                    "duration": None,
                    "started_at": _hook_time(started),
                    "started_at_iso": _iso_seconds(started),
                    "finished_at": _hook_time(finished),
                    "finished_at_iso": _iso_seconds(finished),
                },
                "repository": {
                    "name": project["name"],
                    "description": "",
                    "homepage": project["web_url"],
                    "git_ssh_url": f"git@gitlab.invalid:{project['path_with_namespace']}.git",
                    "git_http_url": f"{project['web_url']}.git",
                    "visibility_level": 0,
                },
                "project": {
                    "id": project["id"],
                    "name": project["name"],
                    "description": "",
                    "web_url": project["web_url"],
                    "avatar_url": None,
                    "git_ssh_url": f"git@gitlab.invalid:{project['path_with_namespace']}.git",
                    "git_http_url": f"{project['web_url']}.git",
                    "namespace": project["namespace"]["name"],
                    "visibility_level": 0,
                    "path_with_namespace": project["path_with_namespace"],
                    "default_branch": "main",
                    "ci_config_path": project["ci_config_path"],
                },
                "runner": (
                    {
                        "active": True,
                        "runner_type": runner.runner_type,
                        "is_shared": runner.runner_type == "instance_type",
                        "id": runner.id,
                        "description": runner.description,
                        "tags": list(runner.tags),
                    }
                    if runner and state not in ("created", "pending")
                    else None
                ),
                "environment": None,
            }

    def pipeline_hook_payload(self, pipeline_id: int) -> dict[str, Any]:
        """The body of a Pipeline Hook for the pipeline and its jobs, as documented."""
        with self._lock:
            pipeline = self._state.pipelines[pipeline_id]
            project = self._state.projects[pipeline["project_id"]]
            builds = []
            for job in sorted(self._state.jobs.values(), key=lambda j: -j["id"]):
                if job["pipeline"]["id"] != pipeline_id:
                    continue
                runner = self._runner_of(job)
                builds.append(
                    {
                        "id": job["id"],
                        "stage": job["stage"],
                        "name": job["name"],
                        "status": job["status"],
                        "created_at": _hook_time(_parse(job["created_at"])),
                        "started_at": _hook_time(_parse(job["started_at"])),
                        "finished_at": _hook_time(_parse(job["finished_at"])),
                        "duration": job["duration"],
                        "queued_duration": job["queued_duration"],
                        "failure_reason": job.get("failure_reason"),
                        "when": "on_success",
                        "manual": False,
                        "allow_failure": False,
                        "user": {
                            "id": self.admin,
                            "name": "Team",
                            "username": "team",
                            "avatar_url": None,
                            "email": "[REDACTED]",
                        },
                        "runner": (
                            {
                                "id": runner.id,
                                "description": runner.description,
                                "active": True,
                                "runner_type": runner.runner_type,
                                "is_shared": runner.runner_type == "instance_type",
                                "tags": list(runner.tags),
                            }
                            if runner
                            else None
                        ),
                        "artifacts_file": {"filename": None, "size": None},
                        "environment": None,
                    }
                )
            statuses = {b["status"] for b in builds}
            status = (
                "failed"
                if "failed" in statuses
                else ("running" if statuses & {"running", "pending"} else "success")
            )
            return {
                "object_kind": "pipeline",
                "object_attributes": {
                    "id": pipeline["id"],
                    "iid": pipeline["iid"],
                    "name": None,
                    "ref": pipeline["ref"],
                    "tag": False,
                    "sha": pipeline["sha"],
                    "before_sha": "0000000000000000000000000000000000000000",
                    "source": "push",
                    "status": status,
                    "detailed_status": status,
                    "stages": sorted({b["stage"] for b in builds}),
                    "created_at": _hook_time(_parse(pipeline["created_at"])),
                    "finished_at": _hook_time(_parse(pipeline["updated_at"])),
                    "duration": None,
                    "queued_duration": None,
                    "variables": [],
                    "url": pipeline["web_url"],
                },
                "merge_request": None,
                "user": {
                    "id": self.admin,
                    "name": "Team",
                    "username": "team",
                    "avatar_url": None,
                    "email": "[REDACTED]",
                },
                "project": {
                    "id": project["id"],
                    "name": project["name"],
                    "description": "",
                    "web_url": project["web_url"],
                    "avatar_url": None,
                    "git_ssh_url": f"git@gitlab.invalid:{project['path_with_namespace']}.git",
                    "git_http_url": f"{project['web_url']}.git",
                    "namespace": project["namespace"]["name"],
                    "visibility_level": 0,
                    "path_with_namespace": project["path_with_namespace"],
                    "default_branch": "main",
                    "ci_config_path": project["ci_config_path"],
                },
                "commit": {
                    "id": pipeline["sha"],
                    "message": "submission\n",
                    "title": "submission",
                    "timestamp": _iso(_parse(pipeline["created_at"])),
                    "url": f"{project['web_url']}/-/commit/{pipeline['sha']}",
                    "author": {"name": "Team", "email": "team@example.com"},
                },
                "builds": builds,
            }

    def deliver_job_hook(
        self, job_id: int, *, status: str | None = None, client: httpx.Client | None = None
    ) -> list[SentHook]:
        """POST the job's Job Hook to every hook of its project that has ``job_events``, as GitLab would."""
        with self._lock:
            project_id = self._state.jobs[job_id]["pipeline"]["project_id"]
        return self._deliver(
            project_id, "Job Hook", "job_events", self.job_hook_payload(job_id, status=status), client
        )

    def deliver_pipeline_hook(
        self, pipeline_id: int, *, client: httpx.Client | None = None
    ) -> list[SentHook]:
        with self._lock:
            project_id = self._state.pipelines[pipeline_id]["project_id"]
        return self._deliver(
            project_id, "Pipeline Hook", "pipeline_events", self.pipeline_hook_payload(pipeline_id), client
        )

    def _deliver(
        self, project_id: int, event: str, flag: str, body: dict[str, Any], client: httpx.Client | None
    ) -> list[SentHook]:
        with self._lock:
            hooks = [h for h in self._state.hooks.get(project_id, []) if h.get(flag)]
        sent: list[SentHook] = []
        own = client is None
        http = client or httpx.Client(timeout=10.0)
        try:
            for hook in hooks:
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": "GitLab/17.11.0",
                    "X-Gitlab-Event": event,
                    "X-Gitlab-Instance": self.origin if self._server else "http://gitlab.invalid",
                    "X-Gitlab-Webhook-UUID": f"{self._new_id():08d}-0000-4000-8000-000000000000",
                    "X-Gitlab-Event-UUID": f"{self._new_id():08d}-0000-4000-8000-000000000000",
                }
                if hook.get("token"):
                    headers["X-Gitlab-Token"] = hook["token"]
                try:
                    answer = http.post(hook["url"], content=json.dumps(body).encode(), headers=headers)
                    code: int | None = answer.status_code
                except httpx.HTTPError:
                    code = None
                record = SentHook(hook["url"], event, body, code)
                sent.append(record)
                with self._lock:
                    self.sent_hooks.append(record)
        finally:
            if own:
                http.close()
        return sent

    # --- internals used by the handler -------------------------------------------------------------------------

    def _runner_of(self, job: Mapping[str, Any]) -> _Runner | None:
        runner = job.get("runner")
        return self._state.runners.get(runner["id"]) if runner else None

    def _project(self, ident: str) -> dict[str, Any]:
        if ident.isdigit():
            project = self._state.projects.get(int(ident))
        else:
            project = next(
                (p for p in self._state.projects.values() if p["path_with_namespace"] == ident), None
            )
        if project is None:
            raise _NotFound("404 Project Not Found")
        return project

    def _group(self, ident: str) -> dict[str, Any]:
        if ident.isdigit():
            group = self._state.groups.get(int(ident))
        else:
            group = next((g for g in self._state.groups.values() if g["full_path"] == ident), None)
        if group is None:
            raise _NotFound("404 Group Not Found")
        return group

    def _create_group(self, data: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            path = str(data.get("path") or "")
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", path):
                raise _BadRequest("path is invalid")
            parent_id = data.get("parent_id")
            parent = self._group(str(parent_id)) if parent_id not in (None, "") else None
            full_path = f"{parent['full_path']}/{path}" if parent else path
            if any(g["full_path"] == full_path for g in self._state.groups.values()):
                raise _BadRequest('Failed to save group {:path=>["has already been taken"]}')
            gid = self._new_id()
            group = {
                "id": gid,
                "name": str(data.get("name") or path),
                "path": path,
                "full_name": str(data.get("name") or path),
                "full_path": full_path,
                "description": "",
                "visibility": str(data.get("visibility") or "private"),
                "parent_id": parent["id"] if parent else None,
                "web_url": f"{self._web}/groups/{full_path}",
                "created_at": _iso(datetime.now(UTC)),
            }
            self._state.groups[gid] = group
            return _copy(group)

    def _create_project(self, data: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            path = str(data.get("path") or data.get("name") or "")
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", path):
                raise _BadRequest("path is invalid")
            namespace = self._group(str(data.get("namespace_id")))
            full = f"{namespace['full_path']}/{path}"
            if any(p["path_with_namespace"] == full for p in self._state.projects.values()):
                raise _BadRequest('Failed to save project {:path=>["has already been taken"]}')
            pid = self._new_id()
            project = {
                "id": pid,
                "name": str(data.get("name") or path),
                "path": path,
                "name_with_namespace": f"{namespace['name']} / {data.get('name') or path}",
                "path_with_namespace": full,
                "description": None,
                "default_branch": "main",
                "visibility": str(data.get("visibility") or "private"),
                "namespace": {
                    "id": namespace["id"],
                    "name": namespace["name"],
                    "path": namespace["path"],
                    "kind": "group",
                    "full_path": namespace["full_path"],
                    "parent_id": namespace["parent_id"],
                },
                "web_url": f"{self._web}/{full}",
                "ci_config_path": data.get("ci_config_path") or None,
                "ci_pipeline_variables_minimum_override_role": "developer",
                "created_at": _iso(datetime.now(UTC)),
                "archived": False,
            }
            self._state.projects[pid] = project
            self._state.members[pid] = {}
            self._state.hooks[pid] = []
            return _copy(project)

    def handle(self, method: str, raw_path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        """Route one API request; returns (status, JSON or bytes)."""
        if self.relative_url_root:
            if not raw_path.startswith(self.relative_url_root + "/"):
                raise _NotFound("404 Not Found")
            raw_path = raw_path[len(self.relative_url_root) :]
        parts = [unquote(p) for p in raw_path.split("/") if p]
        if parts[:2] != ["api", "v4"]:
            raise _NotFound("404 Not Found")
        p = parts[2:]
        q = {k: v[-1] for k, v in query.items()}
        with self._lock:
            s = self._state
            match (method, p):
                case ("GET", ["projects", pid, "jobs", jid]):
                    job = s.jobs.get(int(jid)) if jid.isdigit() else None
                    if job is None or job["pipeline"]["project_id"] != self._project(pid)["id"]:
                        raise _NotFound("404 Job Not Found")
                    return 200, job
                case ("POST", ["projects", pid, "jobs", jid, "retry"]):
                    job = s.jobs.get(int(jid)) if jid.isdigit() else None
                    if job is None or job["pipeline"]["project_id"] != self._project(pid)["id"]:
                        raise _NotFound("404 Job Not Found")
                    return 201, self._retry(job)
                case ("GET", ["projects", pid, "jobs", jid, "trace"]):
                    job = s.jobs.get(int(jid)) if jid.isdigit() else None
                    if job is None or job["pipeline"]["project_id"] != self._project(pid)["id"]:
                        raise _NotFound("404 Job Not Found")
                    # GitLab answers text/plain, '' for a job with no log yet (lib/api/ci/jobs.rb)
                    return 200, s.logs.get(job["id"], "")
                case ("GET", ["projects", pid, "jobs", jid, "artifacts", *path]) if path:
                    project = self._project(pid)
                    job = s.jobs.get(int(jid)) if jid.isdigit() else None
                    if job is None or job["pipeline"]["project_id"] != project["id"]:
                        raise _NotFound("404 Job Not Found")
                    content = s.artifacts.get(job["id"], {}).get("/".join(path))
                    if content is None:
                        raise _NotFound("404 Not found")
                    return 200, content
                case ("GET", ["projects", pid, "pipelines"]):
                    project = self._project(pid)
                    items = [x for x in s.pipelines.values() if x["project_id"] == project["id"]]
                    if "updated_after" in q:
                        after = _parse(q["updated_after"])
                        items = [x for x in items if _parse(x["updated_at"]) > after]  # type: ignore[operator]
                    key = q.get("order_by", "id")
                    items.sort(
                        key=lambda x: x[key] if key != "id" else x["id"],
                        reverse=q.get("sort", "desc") == "desc",
                    )
                    return 200, [
                        {
                            k: x[k]
                            for k in (
                                "id",
                                "iid",
                                "project_id",
                                "sha",
                                "ref",
                                "status",
                                "source",
                                "created_at",
                                "updated_at",
                                "web_url",
                            )
                        }
                        for x in items
                    ]
                case ("GET", ["projects", pid, "pipelines", plid, "jobs"]):
                    project = self._project(pid)
                    pipeline = s.pipelines.get(int(plid)) if plid.isdigit() else None
                    if pipeline is None or pipeline["project_id"] != project["id"]:
                        raise _NotFound("404 Not found")
                    return 200, sorted(
                        (j for j in s.jobs.values() if j["pipeline"]["id"] == pipeline["id"]),
                        key=lambda j: -j["id"],
                    )
                case ("GET", ["projects", pid]):
                    return 200, self._project(pid)
                case ("POST", ["projects"]):
                    return 201, self._create_project(body)
                case ("PUT", ["projects", pid]):
                    project = self._project(pid)
                    for key in (
                        "ci_config_path",
                        "ci_pipeline_variables_minimum_override_role",
                        "name",
                        "visibility",
                        "description",
                    ):
                        if key in body:
                            project[key] = body[key] or None if key == "ci_config_path" else body[key]
                    return 200, project
                case ("GET", ["groups", gid, "projects"]):
                    group = self._group(gid)
                    subgroups = _flag(q.get("include_subgroups", False), "include_subgroups")
                    archived = _flag(q["archived"], "archived") if "archived" in q else None
                    return 200, sorted(
                        (
                            x
                            for x in s.projects.values()
                            if (
                                x["namespace"]["id"] == group["id"]
                                or (
                                    subgroups
                                    and x["namespace"]["full_path"].startswith(group["full_path"] + "/")
                                )
                            )
                            and (archived is None or x["archived"] == archived)
                        ),
                        key=lambda x: x["id"],
                    )
                case ("GET", ["groups", gid]):
                    return 200, self._group(gid)
                case ("POST", ["groups"]):
                    return 201, self._create_group(body)
                case ("GET", ["users"]):
                    name = q.get("username")
                    users = [
                        u for u in s.users.values() if name is None or u["username"].lower() == name.lower()
                    ]
                    return 200, users
                case ("GET", ["projects", pid, "members"]):
                    project = self._project(pid)
                    return 200, [
                        {**s.users[uid], "access_level": level, "expires_at": None}
                        for uid, level in s.members[project["id"]].items()
                    ]
                case ("POST", ["projects", pid, "members"]):
                    project = self._project(pid)
                    uid = int(body.get("user_id", 0))
                    if uid not in s.users:
                        raise _NotFound("404 User Not Found")
                    if uid in s.members[project["id"]]:
                        return 409, {"message": "Member already exists"}
                    level = int(body["access_level"])
                    if level not in (_GUEST, 20, _DEVELOPER, _MAINTAINER, _OWNER):
                        raise _BadRequest("access_level does not have a valid value")
                    s.members[project["id"]][uid] = level
                    return 201, {**s.users[uid], "access_level": level, "expires_at": None}
                case ("PUT", ["projects", pid, "members", uid]):
                    project = self._project(pid)
                    if int(uid) not in s.members[project["id"]]:
                        raise _NotFound("404 Member Not Found")
                    s.members[project["id"]][int(uid)] = int(body["access_level"])
                    return 200, {
                        **s.users[int(uid)],
                        "access_level": int(body["access_level"]),
                        "expires_at": None,
                    }
                case ("GET", ["projects", pid, "hooks"]):
                    project = self._project(pid)
                    return 200, [{k: v for k, v in h.items() if k != "token"} for h in s.hooks[project["id"]]]
                case ("POST", ["projects", pid, "hooks"]):
                    project = self._project(pid)
                    if not str(body.get("url", "")).startswith(("http://", "https://")):
                        raise _BadRequest("url is blocked: Only allowed schemes are http, https")
                    hook = {
                        "id": self._new_id(),
                        "url": body["url"],
                        "name": body.get("name"),
                        "project_id": project["id"],
                        "push_events": _flag(body.get("push_events", True)),
                        "job_events": _flag(body.get("job_events", False)),
                        "pipeline_events": _flag(body.get("pipeline_events", False)),
                        "issues_events": False,
                        "merge_requests_events": False,
                        "tag_push_events": False,
                        "note_events": False,
                        "wiki_page_events": False,
                        "enable_ssl_verification": _flag(body.get("enable_ssl_verification", True)),
                        "created_at": _iso(datetime.now(UTC)),
                        "token": body.get("token"),
                    }
                    s.hooks[project["id"]].append(hook)
                    return 201, {k: v for k, v in hook.items() if k != "token"}
                case ("PUT", ["projects", pid, "hooks", hid]):
                    project = self._project(pid)
                    found: dict[str, Any] | None = next(
                        (h for h in s.hooks[project["id"]] if str(h["id"]) == hid), None
                    )
                    if found is None:
                        raise _NotFound("404 Not found")
                    for key, value in body.items():
                        if key in ("url", "token", "name"):
                            found[key] = value
                        elif key.endswith("_events") or key == "enable_ssl_verification":
                            found[key] = _flag(value)
                    return 200, {k: v for k, v in found.items() if k != "token"}
                case ("GET", ["user"]):
                    return 200, s.users[self.admin]
                case ("GET", ["projects", pid, "jobs"]):
                    project = self._project(pid)
                    scopes = set(query.get("scope", []) + query.get("scope[]", []))
                    if not scopes <= _JOB_SCOPES:
                        raise _BadRequest("scope does not have a valid value")
                    if query.get("order_by", ["id"])[-1] != "id":
                        raise _BadRequest("order_by does not have a valid value")
                    sort = query.get("sort", ["desc"])[-1]
                    if sort not in ("asc", "desc"):
                        raise _BadRequest("sort does not have a valid value")
                    return 200, sorted(
                        (
                            j
                            for j in s.jobs.values()
                            if j["pipeline"]["project_id"] == project["id"]
                            and (not scopes or j["status"] in scopes)
                        ),
                        key=lambda j: j["id"] if sort == "asc" else -j["id"],
                    )
                case ("POST", ["projects", pid, "statuses", sha]):
                    return 201, self._set_status(self._project(pid)["id"], sha, body)
                case ("GET", ["projects", pid, "repository", "commits", sha, "statuses"]):
                    project = self._project(pid)
                    self._commit_known(project["id"], sha)
                    rows = [
                        x
                        for x in s.statuses
                        if x["_project_id"] == project["id"]
                        and x["sha"] == sha
                        and ("name" not in q or x["name"] == q["name"])
                        and ("ref" not in q or x["ref"] == q["ref"])
                    ]
                    if q.get("all") != "true":
                        latest: dict[tuple[str, str], dict[str, Any]] = {}
                        for x in rows:
                            latest[(x["name"], x["ref"])] = x
                        rows = list(latest.values())
                    return 200, [{k: v for k, v in x.items() if not k.startswith("_")} for x in rows]
                case ("GET", ["projects", pid, "repository", "files", file_path]):
                    project = self._project(pid)
                    if not q.get("ref"):
                        raise _BadRequest("ref is missing")
                    return 200, self._file_json(project, file_path, q["ref"])
                case ("GET", ["projects", pid, "repository", "commits", sha, "merge_requests"]):
                    project = self._project(pid)
                    self._commit_known(project["id"], sha)
                    return 200, [
                        {k: v for k, v in m.items() if not k.startswith("_")}
                        for m in s.merge_requests.get(project["id"], [])
                        if sha in m["_shas"]
                    ]
                case ("GET", ["projects", pid, "repository", "commits", sha, "discussions"]):
                    project = self._project(pid)
                    self._commit_known(project["id"], sha)
                    return 200, s.discussions.get((project["id"], sha), [])
                case ("POST", ["projects", pid, "repository", "commits", sha, "discussions"]):
                    project = self._project(pid)
                    self._commit_known(project["id"], sha)
                    return 201, self._new_discussion(
                        project["id"], sha, str(body.get("body") or ""), self.admin
                    )
                case (
                    "PUT",
                    ["projects", pid, "repository", "commits", sha, "discussions", did, "notes", nid],
                ):
                    project = self._project(pid)
                    discussion = next(
                        (d for d in s.discussions.get((project["id"], sha), []) if d["id"] == did), None
                    )
                    note = next((n for n in (discussion or {}).get("notes", []) if str(n["id"]) == nid), None)
                    if note is None:
                        raise _NotFound("404 Note Not Found")
                    return 200, self._edit_note(note, body)
                case ("GET", ["projects", pid, "merge_requests", iid, "notes"]):
                    return 200, list(reversed(self._mr_notes(pid, iid)))
                case ("POST", ["projects", pid, "merge_requests", iid, "notes"]):
                    notes = self._mr_notes(pid, iid)
                    if not str(body.get("body") or "").strip():
                        raise _BadRequest("body is missing")
                    note = self._note(
                        str(body["body"]), self.admin, noteable_type="MergeRequest", noteable_iid=int(iid)
                    )
                    notes.append(note)
                    return 201, note
                case ("PUT", ["projects", pid, "merge_requests", iid, "notes", nid]):
                    note = next((n for n in self._mr_notes(pid, iid) if str(n["id"]) == nid), None)
                    if note is None:
                        raise _NotFound("404 Note Not Found")
                    return 200, self._edit_note(note, body)
        raise _NotFound("404 Not Found")

    def _file_json(self, project: Mapping[str, Any], path: str, ref: str) -> dict[str, Any]:
        """A file as ``GET /projects/:id/repository/files/:file_path`` returns it (GitLab's documented fields)."""
        content = self._state.files.get((project["id"], ref), {}).get(path)
        if content is None:
            raise _NotFound("404 File Not Found")
        digest = hashlib.sha256(content).hexdigest()
        commit = hashlib.sha1(f"{project['id']}:{ref}".encode()).hexdigest()
        return {
            "file_name": path.rsplit("/", 1)[-1],
            "file_path": path,
            "size": len(content),
            "encoding": "base64",
            "content": base64.b64encode(content).decode(),
            "content_sha256": digest,
            "ref": ref,
            "blob_id": hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest(),
            "commit_id": commit,
            "last_commit_id": commit,
            "execute_filemode": False,
        }

    def _mr_notes(self, pid: str, iid: str) -> list[dict[str, Any]]:
        project = self._project(pid)
        notes = self._state.mr_notes.get((project["id"], int(iid))) if iid.isdigit() else None
        if notes is None:
            raise _NotFound("404 Merge Request Not Found")
        return notes

    def _edit_note(self, note: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        if note["author"]["id"] != self.admin:
            raise _Forbidden("403 Forbidden")
        if not str(body.get("body") or "").strip():
            raise _BadRequest("body is missing")
        note["body"] = str(body["body"])
        note["updated_at"] = _iso(datetime.now(UTC))
        return note


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, through JSON, of what a caller may keep without seeing later changes."""
    return cast(dict[str, Any], json.loads(json.dumps(value)))


# Grape's Boolean parameters (dry-types Params::Bool): python-gitlab sends a Python bool as ``True``/``False``,
# curl users write ``true``, ``1`` or ``yes``; anything else is a 400
_TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE_WORDS = frozenset({"0", "off", "f", "false", "n", "no"})


def _flag(value: Any, name: str = "value") -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise _BadRequest(f"{name} is invalid")


def _set_failure_reason(job: dict[str, Any], status: str, reason: str | None) -> None:
    """Entities::Ci::Job exposes ``failure_reason`` only for a failed job (``script_failure`` unless told)."""
    if status == "failed":
        job["failure_reason"] = reason or "script_failure"
    else:
        job.pop("failure_reason", None)


def _parse(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGitLab
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _respond(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        if isinstance(payload, str):  # a job log
            data, ctype = payload.encode(), "text/plain"
        elif isinstance(payload, bytes):
            data, ctype = payload, "application/octet-stream"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = self.owner._fault_for(method, split.path)
        if fault is not None:
            self._respond(fault, {"message": f"{fault} injected fault"})
            return
        if method == "GET" and split.path.rstrip("/") == f"{self.owner.relative_url_root}/api/v4/job":
            job_token = self.headers.get("JOB-TOKEN") or parse_qs(split.query).get("job_token", [""])[-1]
            job = self.owner.job_for_token(job_token) if job_token else None
            if job is None:
                self._respond(401, {"message": "401 Unauthorized"})
            else:
                self._respond(200, job)
            return
        token = self.headers.get("PRIVATE-TOKEN") or (self.headers.get("Authorization") or "").removeprefix(
            "Bearer "
        )
        if token != self.owner.token:
            self._respond(401, {"message": "401 Unauthorized"})
            return
        query = parse_qs(split.query)
        body: Any = {}
        if raw:
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                body = json.loads(raw)
            else:
                body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        try:
            status, payload = self.owner.handle(method, split.path, query, body)
        except _NotFound as exc:
            self._respond(404, {"message": str(exc)})
            return
        except _BadRequest as exc:
            self._respond(400, {"message": str(exc)})
            return
        except _Forbidden as exc:
            self._respond(403, {"message": str(exc)})
            return
        if isinstance(payload, list):
            self._respond_page(split.path, query, payload)
        else:
            self._respond(status, payload)

    def _respond_page(self, path: str, query: dict[str, list[str]], items: list[Any]) -> None:
        page = int(query.get("page", ["1"])[-1])
        per_page = min(int(query.get("per_page", ["20"])[-1]), 100)
        chunk = items[(page - 1) * per_page : page * per_page]
        total_pages = max(1, -(-len(items) // per_page))
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": str(page + 1) if page < total_pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        if page < total_pages:
            # repeated parameters (``scope[]=success&scope[]=failed``) stay repeated in the next page's address
            params = [(k, v) for k, values in query.items() if k not in ("page", "per_page") for v in values]
            params += [("page", str(page + 1)), ("per_page", str(per_page))]
            headers["Link"] = f'<{self.owner.origin}{quote(path, safe="/%")}?{urlencode(params)}>; rel="next"'
        self._respond(200, chunk, headers)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

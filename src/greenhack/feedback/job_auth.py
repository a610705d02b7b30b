"""Who is calling: a CI job, proven by its ``CI_JOB_TOKEN``, checked with GitLab's ``GET /api/v4/job``.

GitLab answers ``GET /api/v4/job`` with header ``JOB-TOKEN`` with the job the token belongs to, and only while
that job runs (an unknown token, or the token of a finished job, gets 401). The platform then checks, from that
answer and never from anything the job says about itself, that the job

- is running (403 otherwise),
- belongs to a team project of the event (under ``gitlab.group``; 403 otherwise),
- is a submission job (``gitlab.submission_jobs``; 403 otherwise),
- runs on a measured server: the one whose runner runs it, or its tags name
  (:func:`~greenhack.gitlab.server_choice.choose_server`; never a project runner).

Positive answers are cached for a few seconds (``ttl_s``) by a hash of the token, so a training loop asking every
few seconds costs GitLab one call per ``ttl_s``; refusals are never cached.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from greenhack.config import EventConfig, ServerConfig
from greenhack.errors import GitLabError, GitLabUnavailable, JobTokenError
from greenhack.gitlab.models import CiJob
from greenhack.gitlab.server_choice import choose_server
from greenhack.intake import in_group, submission_job_names, team_name_of
from greenhack.scoring.pipeline_stages import Phase, phase_of

__all__ = ["JobTokenVerifier", "VerifiedJob"]

_MAX_CACHED = 4096


@dataclass(frozen=True)
class VerifiedJob:
    """A running submission job of the event, as GitLab describes it.

    Attributes:
        job: the job (id, status, started_at, tags, runner, pipeline, project).
        team_name: the team's name (its project's path below the event's group).
        server: the measured server it runs on.
        phase: train, predict or single (from the job's name).
    """

    job: CiJob
    team_name: str
    server: ServerConfig
    phase: Phase


class JobTokenVerifier:
    """Checks CI job tokens against the event's GitLab.

    Args:
        config: the event (its ``gitlab`` section, servers and submission job names).
        http: the HTTP client used to call GitLab (injectable; the caller closes it).
        ttl_s: how long a verified token is trusted without asking GitLab again, in seconds.
        clock: a monotonic clock in seconds (tests inject one).
    """

    def __init__(
        self,
        config: EventConfig,
        *,
        http: httpx.Client,
        ttl_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config.gitlab is None:
            raise GitLabError("the event YAML has no gitlab section: job tokens cannot be verified")
        self._config = config
        self._gitlab_url = str(config.gitlab.url).rstrip("/")
        self._group = config.gitlab.group.strip("/")
        self._names = submission_job_names(config)
        self._http = http
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, VerifiedJob]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str | None) -> VerifiedJob:
        """The running submission job ``token`` belongs to.

        Raises:
            JobTokenError: 401 no token, or GitLab refuses it (unknown or finished job); 403 the job may not
                use the platform (not running, not the event's, not a submission job, not on a measured server).
            GitLabUnavailable: GitLab did not answer; the caller may retry.
        """
        if not token or not token.strip():
            raise JobTokenError(
                "no JOB-TOKEN header: send the job's own CI_JOB_TOKEN (GitLab sets it in every job)",
                status_code=401,
            )
        key = hashlib.sha256(token.strip().encode()).hexdigest()
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        verified = self._check(self._ask_gitlab(token.strip()))
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[key] = (now + self._ttl_s, verified)
        return verified

    def _ask_gitlab(self, token: str) -> CiJob:
        url = f"{self._gitlab_url}/api/v4/job"
        try:
            answer = self._http.get(url, headers={"JOB-TOKEN": token, "Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise GitLabUnavailable(f"GitLab {url}: no answer ({type(exc).__name__})") from exc
        if answer.status_code in (401, 403):
            raise JobTokenError(
                "GitLab does not accept this job token: it is not a CI_JOB_TOKEN, or its job has already "
                "finished (a job token is valid only while its job runs)",
                status_code=401,
            )
        if answer.status_code == 429 or answer.status_code >= 500:
            raise GitLabUnavailable(f"GitLab {url}: {answer.status_code}", status_code=answer.status_code)
        if answer.status_code != 200:
            raise GitLabError(
                f"GitLab {url}: unexpected {answer.status_code}", status_code=answer.status_code
            )
        try:
            raw = answer.json()
            return CiJob.from_api(raw, base_url=self._gitlab_url)
        except (ValueError, KeyError, TypeError) as exc:
            raise GitLabError(f"GitLab {url}: not a job: {exc}") from exc

    def _check(self, job: CiJob) -> VerifiedJob:
        if job.status != "running":
            raise JobTokenError(
                f"job {job.id} is {job.status}, not running: only a running job can ask about itself",
                status_code=403,
            )
        if not in_group(job.project_path, self._group):
            raise JobTokenError(
                f"job {job.id} belongs to project {job.project_path or job.project_id}, which is not a team "
                f"project of {self._config.event.name} (group {self._group})",
                status_code=403,
            )
        if job.name not in self._names:
            raise JobTokenError(
                f"job {job.id} is named {job.name!r}; only the measured submission job(s) "
                f"({', '.join(sorted(self._names))}) may call the platform",
                status_code=403,
            )
        # the server whose runner runs it, as the evaluation will charge it (never a project runner)
        choice = choose_server(job, self._config.servers)
        if choice.server is None:
            raise JobTokenError(choice.reason or choice.code, status_code=403)
        server = choice.server
        return VerifiedJob(
            job=job,
            team_name=team_name_of(job.project_path, job.project_id, group=self._group),
            server=server,
            phase=phase_of(job.name),
        )

"""The worker's side of GitLab feedback: tell GitLab, and never let GitLab fail an evaluation.

:class:`FeedbackNotifier` is called by :class:`greenhack.worker.Worker` when a measurement starts (commit status
``pending``) and when an evaluation is final (status and comment, read back from the store so they show exactly
what the board shows). Every GitLab or database error is caught and logged; the report is retried later with
exponential backoff from :meth:`FeedbackNotifier.retry_due` (the worker's loop calls it), up to ``max_attempts``.
A final report replaces a pending one for the same submission. Reports are idempotent, so a retry, a worker
restart or a re-evaluation never duplicates a status or a comment.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greenhack.config import EventConfig
from greenhack.errors import GreenhackError, NotFoundError
from greenhack.feedback.gitlab_report import FeedbackGitLab as GitLabReporterGateway
from greenhack.feedback.gitlab_report import GitLabReporter, SubmissionReport
from greenhack.feedback.summary import load_report, submission_page_url
from greenhack.gitlab.models import CiJob
from greenhack.intake import team_name_of
from greenhack.store.db import SessionFactory

__all__ = ["FeedbackNotifier", "PendingReport", "notifier_for"]

log = logging.getLogger(__name__)


@dataclass
class PendingReport:
    """A report GitLab did not take yet: what it is, how many tries, when next, and the last error."""

    submission_id: int
    kind: str
    send: Callable[[], None]
    attempts: int
    due: datetime
    error: str


class FeedbackNotifier:
    """Reports evaluations to GitLab for one event.

    Args:
        reporter: posts statuses and comments (platform token).
        sessions: the database (the final report is read from it).
        config: the event.
        public_url: the board's public address (links in GitLab).
        now: the clock.
        base_delay_s: first retry delay, doubled after each failure (capped at one hour).
        max_attempts: tries before a report is given up (logged as an error).
    """

    def __init__(
        self,
        *,
        reporter: GitLabReporter,
        sessions: SessionFactory,
        config: EventConfig,
        public_url: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        base_delay_s: float = 30.0,
        max_attempts: int = 8,
    ) -> None:
        self._reporter = reporter
        self._sessions = sessions
        self._config = config
        self._public_url = public_url
        self._now = now
        self._base_delay_s = base_delay_s
        self._max_attempts = max_attempts
        self._pending: dict[int, PendingReport] = {}
        self._lock = threading.Lock()

    @property
    def pending(self) -> list[PendingReport]:
        with self._lock:
            return list(self._pending.values())

    def measuring(self, *, submission_id: int, job: CiJob) -> None:
        """Commit status ``pending`` on the job's commit (never raises)."""
        report = SubmissionReport(
            submission_id=submission_id,
            project_id=job.project_id,
            sha=job.sha,
            ref=job.ref or None,
            pipeline_id=job.pipeline_id or None,
            job_id=job.id,
            job_url=job.web_url or None,
            team=team_name_of(
                job.project_path,
                job.project_id,
                group=self._config.gitlab.group if self._config.gitlab is not None else None,
            ),
            status="measuring",
            page_url=submission_page_url(self._public_url, submission_id),
        )
        with self._lock:
            if submission_id in self._pending and self._pending[submission_id].kind == "final":
                return  # a final report is waiting; an older "measuring" must not overtake it

        def send() -> None:
            self._reporter.set_status(report)

        self._run(submission_id, "measuring", send)

    def finished(self, *, submission_id: int, problems: Sequence[str] = ()) -> None:
        """Final status and the comment, from the stored submission (never raises)."""
        kept = tuple(problems)

        def send() -> None:
            with self._sessions() as session:
                report = load_report(
                    session,
                    config=self._config,
                    submission_id=submission_id,
                    public_url=self._public_url,
                    now=self._now(),
                    problems=kept,
                )
            self._reporter.publish(report)

        self._run(submission_id, "final", send)

    def _run(self, submission_id: int, kind: str, send: Callable[[], None], attempts: int = 0) -> None:
        try:
            send()
        except NotFoundError as exc:  # nothing to report to (no commit known): not worth retrying
            log.info("submission %s: no GitLab report (%s)", submission_id, exc)
            with self._lock:
                self._pending.pop(submission_id, None)
            return
        except Exception as exc:  # GitLab or the database: an evaluation is never failed by its report
            attempts += 1
            error = f"{type(exc).__name__}: {exc}"
            if attempts >= self._max_attempts:
                log.error(
                    "submission %s: GitLab %s report given up after %d tries: %s",
                    submission_id,
                    kind,
                    attempts,
                    error,
                )
                with self._lock:
                    self._pending.pop(submission_id, None)
                return
            delay_s = min(self._base_delay_s * 2 ** (attempts - 1), 3600.0)
            log.warning(
                "submission %s: GitLab %s report failed (%s); retry in %.0f s",
                submission_id,
                kind,
                error,
                delay_s,
            )
            with self._lock:
                self._pending[submission_id] = PendingReport(
                    submission_id, kind, send, attempts, self._now() + timedelta(seconds=delay_s), error
                )
            if not isinstance(exc, GreenhackError):
                log.debug("unexpected error reporting submission %s", submission_id, exc_info=True)
            return
        with self._lock:
            current = self._pending.get(submission_id)
            if current is not None and (kind == "final" or current.kind == kind):
                del self._pending[submission_id]

    def retry_due(self) -> int:
        """Send the reports whose retry time has come; returns how many were tried."""
        now = self._now()
        with self._lock:
            due = [p for p in self._pending.values() if p.due <= now]
        for item in due:
            self._run(item.submission_id, item.kind, item.send, item.attempts)
        return len(due)


def notifier_for(
    config: EventConfig, *, gitlab: GitLabReporterGateway, sessions: SessionFactory, public_url: str
) -> FeedbackNotifier:
    """The notifier of a worker process: reports through ``gitlab`` (the platform's gateway), links to
    ``public_url`` (``GREENHACK_PUBLIC_URL``)."""
    return FeedbackNotifier(
        reporter=GitLabReporter(gitlab), sessions=sessions, config=config, public_url=public_url
    )

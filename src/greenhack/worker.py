"""The evaluation worker: claim a queued job, evaluate it, store the outcome, re-rank; any number of them.

Claims come from :mod:`greenhack.store.queue` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) with a lease: a worker
killed mid-evaluation leaves a row whose lease expires, and another worker takes it over. Evaluations are
idempotent (every record replaces the earlier one), so a taken-over evaluation simply runs again.

Errors that may pass (GitLab, Prometheus or BoaviztAPI unavailable, a job still running, telemetry not scraped
yet) put the job back in the queue with exponential backoff and jitter, the reason visible in ``last_error``;
after ``max_attempts`` the store marks it ``failed`` with the reason, where admins see it. Nothing is dropped.

Two jobs whose windows overlap on one server are both flagged ``needs_review``: the final transaction of each
evaluation is serialised per server (an advisory lock on PostgreSQL, the write lock on SQLite), so whichever
finishes second sees the first's window and flags both.

Boards are not re-ranked inside each evaluation (ranking reads the whole event, which would make every
evaluation slower as the event grows): storing marks them stale, and the worker re-ranks
(:func:`greenhack.store.boards.refresh_if_stale`) at most every ``refresh_interval_s`` after storing, while it
waits for Prometheus, and always when its queue is idle; any other worker may do it first.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.admin_tasks import run_due_task
from greenhack.errors import (
    BoaviztaUnavailable,
    GitLabUnavailable,
    GreenhackError,
    JobNotFinished,
    PrometheusUnavailable,
    StoreError,
    TelemetryNotReady,
)
from greenhack.evaluation import EvaluationContext, EvaluationOutcome, run_evaluation
from greenhack.gitlab.models import CiJob
from greenhack.store import crud, queue
from greenhack.store.boards import boards_refresh_due, refresh_if_stale
from greenhack.store.db import SessionFactory, store_errors, transaction
from greenhack.store.models import Submission, utcnow

__all__ = [
    "RETRYABLE",
    "EvaluationFeedback",
    "Worker",
    "WorkerOptions",
    "default_worker_name",
    "flag_overlaps",
]

log = logging.getLogger(__name__)

# errors after which the same evaluation may succeed later
RETRYABLE: tuple[type[GreenhackError], ...] = (
    GitLabUnavailable,
    PrometheusUnavailable,
    BoaviztaUnavailable,
    TelemetryNotReady,
    JobNotFinished,
    StoreError,
)


class EvaluationFeedback(Protocol):
    """Tells the team (:class:`greenhack.feedback.notifier.FeedbackNotifier`); its methods never raise."""

    def measuring(self, *, submission_id: int, job: CiJob) -> None: ...

    def finished(self, *, submission_id: int, problems: Sequence[str] = ()) -> None: ...

    def retry_due(self) -> int: ...


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker claims and retries.

    Attributes:
        name: the worker's name in the queue (host:pid by default).
        lease_s: how long a claim is held before another worker may take it over, in seconds; longer than the
            slowest evaluation (the scrape wait included).
        max_attempts: tries before the store marks the submission ``failed``.
        base_delay_s: first retry delay in seconds; doubles each attempt (capped by the store at one hour).
        jitter: extra random delay, as a fraction of the backoff, so workers do not retry in step.
        poll_s: how long an idle worker sleeps between looks at the queue, in seconds.
        refresh_interval_s: the boards are re-ranked at most this often (per event, across workers) while
            evaluations keep coming, in seconds; an idle worker re-ranks at once. A new result reaches the board
            within about this long after it is stored.
    """

    name: str
    lease_s: float = 900.0
    max_attempts: int = 8
    base_delay_s: float = 30.0
    jitter: float = 0.25
    poll_s: float = 2.0
    refresh_interval_s: float = 2.0


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def _lock_server(session: Session, server: str) -> None:
    """Serialise final transactions per server (PostgreSQL); SQLite serialises writers already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(server.encode()) & 0x7FFFFFFF}
        )


def flag_overlaps(
    *, session: Session, submission_id: int, event_id: int, server: str, start: datetime, end: datetime
) -> list[int]:
    """Ids of the other submissions of the event whose window on ``server`` overlaps [start, end); those already
    finished as ``scored`` are moved to ``needs_review`` here (those still being evaluated will see this one)."""
    with store_errors("checking overlapping jobs"):
        others = session.execute(
            sa.select(Submission.id, Submission.status, Submission.gitlab_job_id).where(
                Submission.event_id == event_id,
                Submission.id != submission_id,
                Submission.server == server,
                Submission.window_start < end,
                Submission.window_end > start,
            )
        ).all()
        for other in others:
            if other.status == "scored":
                session.execute(
                    sa.update(Submission)
                    .where(Submission.id == other.id)
                    .values(
                        status="needs_review",
                        reason=f"its window on {server} overlaps job {_job_of(session, submission_id)}'s: "
                        "neither energy can be trusted",
                    )
                )
    return [o.id for o in others]


def _job_of(session: Session, submission_id: int) -> int:
    return int(
        session.execute(
            sa.select(Submission.gitlab_job_id).where(Submission.id == submission_id)
        ).scalar_one()
    )


class Worker:
    """One evaluation worker of one event.

    Args:
        ctx: what evaluations read (config, GitLab, Prometheus, impacts, truth).
        sessions: the database's session factory.
        event_id: the event's id in the store.
        options: claiming and retry settings.
        now: the clock (tests inject one).
        rng: the jitter's random source.
        feedback: reports to GitLab (commit status when measuring starts, status and comment when final); its
            failures never fail an evaluation.
    """

    def __init__(
        self,
        *,
        ctx: EvaluationContext,
        sessions: SessionFactory,
        event_id: int,
        options: WorkerOptions,
        now: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        feedback: EvaluationFeedback | None = None,
    ) -> None:
        # waits for Prometheus are spent re-ranking stale boards first (see _sleep)
        self.ctx = replace(ctx, sleep=self._sleep)
        self._ctx_sleep = ctx.sleep
        self.feedback = feedback
        self.sessions = sessions
        self.event_id = event_id
        self.options = options
        self._now = now
        self._rng = rng or random.Random()

    # --- one claim ---------------------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and process one due evaluation; False when none is due."""
        if self.feedback is not None:
            self.feedback.retry_due()  # GitLab reports that failed earlier (never raises)
        # admin tasks (a rescore) run here, between evaluations, since web requests never rank (never raises)
        run_due_task(
            sessions=self.sessions,
            event_id=self.event_id,
            config=self.ctx.config,
            worker=self.options.name,
            now=self._now,
        )
        with transaction(self.sessions, "claiming an evaluation") as session:
            claimed = queue.claim(
                session=session,
                worker=self.options.name,
                lease_s=self.options.lease_s,
                now=self._now(),
                event_id=self.event_id,
            )
        if claimed is None:
            self.refresh_boards(force=True)
            return False
        log.info(
            "%s: evaluating job %s of project %s (attempt %s)",
            self.options.name,
            claimed.gitlab_job_id,
            claimed.gitlab_project_id,
            claimed.attempt,
        )
        try:
            outcome = run_evaluation(
                self.ctx,
                project_id=claimed.gitlab_project_id,
                job_id=claimed.gitlab_job_id,
                on_job=lambda job: self._measuring(claimed, job),
            )
        except RETRYABLE as exc:
            if self._retry(claimed, _reason(exc)) == "failed":
                self._tell(claimed.submission_id)
            return True
        except GreenhackError as exc:
            # a refusal that will not change by waiting (e.g. GitLab 404/403 on the job): an admin must look
            if self._finish_without_outcome(claimed, "needs_review", _reason(exc)):
                self._tell(claimed.submission_id)
            return True
        except Exception as exc:  # a bug must not lose the job: retry (bounded), keep the reason for admins
            log.exception("internal error evaluating job %s", claimed.gitlab_job_id)
            if self._retry(claimed, f"internal error: {_reason(exc)}") == "failed":
                self._tell(claimed.submission_id)
            return True
        try:
            self._store(claimed, outcome)
        except StoreError as exc:
            log.warning("storing job %s failed: %s", claimed.gitlab_job_id, exc)
            if self._retry(claimed, _reason(exc)) == "failed":
                self._tell(claimed.submission_id)
            return True
        self.refresh_boards()
        self._tell(claimed.submission_id, outcome.problems)
        return True

    # --- the boards --------------------------------------------------------------------------------------------

    def refresh_boards(self, *, force: bool = False) -> bool:
        """Re-rank the event's boards if results were stored since they were last ranked and (unless ``force``)
        the last ranking is ``refresh_interval_s`` old; True when this worker ranked them. Never raises: a
        database error leaves the stale mark for the next pass."""
        min_interval_s = 0.0 if force else self.options.refresh_interval_s
        try:
            now = self._now()
            with transaction(self.sessions, "checking the boards") as session:
                if not boards_refresh_due(
                    session=session, event_id=self.event_id, now=now, min_interval_s=min_interval_s
                ):
                    return False
            with transaction(self.sessions, "ranking the boards") as session:
                counts = refresh_if_stale(
                    session=session,
                    event_id=self.event_id,
                    config=self.ctx.config,
                    now=now,
                    min_interval_s=min_interval_s,
                )
        except GreenhackError as exc:  # the database (or a ranking problem): the mark stays for the next pass
            log.warning("%s: could not rank the boards (%s); the next pass will", self.options.name, exc)
            return False
        if counts is not None:
            log.info("%s: boards ranked (%s)", self.options.name, counts)
        return counts is not None

    def _sleep(self, seconds: float) -> None:
        """The evaluation's wait for Prometheus: rank stale boards when due, then sleep, in slices short enough
        that a result stored meanwhile by another worker still reaches the board on time."""
        slice_s = max(self.options.refresh_interval_s / 2, 0.05)
        left_s = seconds
        while left_s > 0:
            self.refresh_boards()
            step_s = min(left_s, slice_s)
            self._ctx_sleep(step_s)
            left_s -= step_s

    def _measuring(self, claimed: queue.ClaimedEvaluation, job: CiJob) -> None:
        """Measuring starts: keep the job's commit on the row (the final report needs it), tell GitLab."""
        try:
            with transaction(self.sessions, "recording the job's commit") as session:
                session.execute(
                    sa.update(Submission)
                    .where(Submission.id == claimed.submission_id)
                    .values(commit_sha=job.sha or None, ref=job.ref or None, job_url=job.web_url or None)
                )
        except StoreError as exc:
            log.warning("job %s: could not record its commit (%s)", claimed.gitlab_job_id, exc)
        if self.feedback is not None:
            self.feedback.measuring(submission_id=claimed.submission_id, job=job)

    def _tell(self, submission_id: int, problems: Sequence[str] = ()) -> None:
        if self.feedback is not None:
            self.feedback.finished(submission_id=submission_id, problems=problems)

    def _retry(self, claimed: queue.ClaimedEvaluation, error: str) -> str | None:
        """Re-queue with backoff; returns the new status (``failed`` once attempts are used up), None when the
        row could not be written."""
        now = self._now()
        if claimed.attempt < self.options.max_attempts:
            delay_s = queue.backoff_s(claimed.attempt, base_delay_s=self.options.base_delay_s)
            now += timedelta(seconds=self._rng.uniform(0.0, self.options.jitter * delay_s))
        try:
            with transaction(self.sessions, "re-queueing an evaluation") as session:
                status = queue.retry_later(
                    session=session,
                    submission_id=claimed.submission_id,
                    worker=self.options.name,
                    error=error,
                    max_attempts=self.options.max_attempts,
                    base_delay_s=self.options.base_delay_s,
                    now=now,
                )
                if status == "failed":
                    crud.bump_data_version(session=session, event_id=claimed.event_id)
            log.info("job %s: %s (%s)", claimed.gitlab_job_id, status, error)
            return status
        except StoreError as exc:  # the lease was lost (another worker took over) or the database is down
            log.warning(
                "job %s: could not re-queue (%s); its lease will expire and another worker retry",
                claimed.gitlab_job_id,
                exc,
            )
            return None

    def _finish_without_outcome(self, claimed: queue.ClaimedEvaluation, status: str, reason: str) -> bool:
        try:
            with transaction(self.sessions, "finishing an evaluation") as session:
                queue.finish(
                    session=session,
                    submission_id=claimed.submission_id,
                    worker=self.options.name,
                    status=status,
                    reason=reason,
                    now=self._now(),
                )
        except StoreError as exc:
            log.warning("job %s: could not finish (%s); the lease will expire", claimed.gitlab_job_id, exc)
            return False
        self.refresh_boards()
        return True

    def _store(self, claimed: queue.ClaimedEvaluation, outcome: EvaluationOutcome) -> None:
        """6. store: everything measured and the final status (marking the boards stale); one transaction,
        serialised per server."""
        status, reason = outcome.status, outcome.reason
        sid = claimed.submission_id
        with transaction(self.sessions, f"storing the evaluation of job {claimed.gitlab_job_id}") as session:
            window = outcome.window
            if window is not None:
                # the first statement writes, so SQLite takes its write lock before anything is read
                session.execute(
                    sa.update(Submission)
                    .where(Submission.id == sid)
                    .values(server=window.server.name, window_start=window.start, window_end=window.end)
                )
                _lock_server(session, window.server.name)
            if outcome.energy is not None:
                crud.record_measurement(
                    session=session,
                    submission_id=sid,
                    energy=outcome.energy,
                    idle_power_w=outcome.idle_power_w,
                )
            if outcome.impacts is not None:
                crud.record_impacts(session=session, submission_id=sid, impacts=outcome.impacts)
            if outcome.performance is not None:
                perf = outcome.performance
                crud.record_performance(
                    session=session,
                    submission_id=sid,
                    split="public",
                    metric=perf.metric,
                    value=perf.public,
                    rows=perf.n_public,
                )
                crud.record_performance(
                    session=session,
                    submission_id=sid,
                    split="private",
                    metric=perf.metric,
                    value=perf.private,
                    rows=perf.n_private,
                )
            if window is not None:
                overlapping = flag_overlaps(
                    session=session,
                    submission_id=sid,
                    event_id=claimed.event_id,
                    server=window.server.name,
                    start=window.start,
                    end=window.end,
                )
                if overlapping and status in ("scored", "needs_review"):
                    jobs = (
                        session.execute(
                            sa.select(Submission.gitlab_job_id).where(Submission.id.in_(overlapping))
                        )
                        .scalars()
                        .all()
                    )
                    status = "needs_review"
                    overlap = (
                        f"its window on {window.server.name} overlaps job(s) "
                        f"{', '.join(map(str, sorted(jobs)))}: neither energy can be trusted"
                    )
                    reason = overlap if reason is None else f"{reason}; {overlap}"
            queue.finish(
                session=session,
                submission_id=sid,
                worker=self.options.name,
                status=status,
                reason=reason,
                now=self._now(),
            )  # marks the boards stale; run_once re-ranks them once due
        log.info("job %s: %s%s", claimed.gitlab_job_id, status, f" ({reason})" if reason else "")

    # --- the loop ----------------------------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        until_idle: bool = False,
        between: Callable[[], None] | None = None,
    ) -> int:
        """Work until ``stop`` is set (or, with ``until_idle``, until no evaluation is due); return how many
        evaluations were handled. Database outages are waited out. ``between`` runs before each claim: the
        caller's own periodic work (``greenhack worker``'s reconciler schedule), so a backlog cannot starve it."""
        stop = stop or threading.Event()
        handled = 0
        while not stop.is_set():
            if between is not None:
                between()
            try:
                busy = self.run_once()
            except StoreError as exc:
                log.warning("%s: database unavailable (%s); waiting", self.options.name, exc)
                busy = False
            if busy:
                handled += 1
                continue
            if until_idle:
                return handled
            stop.wait(self.options.poll_s)
        return handled

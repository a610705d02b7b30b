"""The evaluation worker: claim a queued job, evaluate it, store the outcome, re-rank; any number of them.

The worker only sequences: claim (:mod:`greenhack.store.queue`) -> fetch the finished job and its project from
GitLab's API (a webhook only named it), keep its commit and its ``created_at`` (the submission's time), name the
team after the project's path, and stop there, ``invalid`` and unranked, when the job is not the event's
(:func:`greenhack.intake.origin_problem`: a project outside ``gitlab.group``, a job that is not a submission job)
-> tell the team it is being measured -> measure, price and score
(:func:`greenhack.evaluation.evaluate_job`) -> record the outcome (:func:`greenhack.store.outcomes.record_outcome`,
the store owns every write) -> tell the team.

Claims come from :mod:`greenhack.store.queue` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) with a lease: a worker
killed mid-evaluation leaves a row whose lease expires, and another worker takes it over. Evaluations are
idempotent (every record replaces the earlier one), so a taken-over evaluation simply runs again.

Errors that may pass (GitLab, Prometheus or BoaviztAPI unavailable, a job still running, telemetry not scraped
yet) put the job back in the queue with exponential backoff and jitter, the reason visible in ``last_error``;
after ``max_attempts`` the store marks it ``failed`` with the reason, where admins see it. Nothing is dropped.

Two jobs whose windows overlap on one server are both flagged ``needs_review`` (:mod:`greenhack.overlap`): the
store serialises the final transaction of each evaluation per server, so whichever finishes second sees the
first's window and flags both.

Boards are not re-ranked inside each evaluation (ranking reads the whole event, which would make every
evaluation slower as the event grows): storing marks them stale, and the worker re-ranks
(:func:`greenhack.store.boards.refresh_if_stale`) at most every ``refresh_interval_s``: after storing, always when
its queue is idle, and on a timer of its own (:class:`BoardTimer`, a thread of :meth:`Worker.run`), so that a
result stored by another worker reaches the board on time even while this one's evaluation waits for
Prometheus; any other worker may do it first.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

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
from greenhack.evaluation import EvaluationContext, EvaluationOutcome, evaluate_job, fetch_finished_job
from greenhack.gitlab.models import CiJob, ProjectRef
from greenhack.intake import origin_problem, team_from_api
from greenhack.status import Reason, ReasonCode, Status
from greenhack.store import queue
from greenhack.store.boards import boards_refresh_due, refresh_if_stale
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import utcnow
from greenhack.store.outcomes import record_job_origin, record_outcome

__all__ = [
    "RETRYABLE",
    "BoardTimer",
    "EvaluationFeedback",
    "TimerWait",
    "Worker",
    "WorkerOptions",
    "default_worker_name",
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


TimerWait = Callable[[threading.Event, float], bool]
"""How a timer waits: ``wait(stop, seconds)`` returns True once ``stop`` is set (at once if it is), False after
``seconds`` (:meth:`threading.Event.wait` by default; tests inject a simulated clock's)."""


def _event_wait(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


class BoardTimer:
    """Calls ``tick`` every ``period_s`` seconds on a thread of its own, from entering the ``with`` block until
    leaving it; ``tick`` raising is logged and the timer goes on."""

    def __init__(
        self, tick: Callable[[], object], *, period_s: float, wait: TimerWait = _event_wait, name: str = "boards"
    ) -> None:
        if period_s <= 0:
            raise ValueError("period_s must be positive")
        self.period_s = period_s
        self._tick = tick
        self._wait = wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name}-timer", daemon=True)

    def __enter__(self) -> BoardTimer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._wait(self._stop, self.period_s):
            try:
                self._tick()
            except Exception:  # a bug in one pass must not stop the boards from being ranked
                log.exception("board timer: a pass failed; the next one will try again")


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
        wait: how the board timer waits between passes (tests inject a simulated clock's).
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
        wait: TimerWait = _event_wait,
    ) -> None:
        self.ctx = ctx
        self.feedback = feedback
        self.sessions = sessions
        self.event_id = event_id
        self.options = options
        self._now = now
        self._rng = rng or random.Random()
        self._wait = wait

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
            gitlab=self.ctx.gitlab,
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
            job = fetch_finished_job(
                self.ctx.gitlab, project_id=claimed.gitlab_project_id, job_id=claimed.gitlab_job_id
            )
            project = self.ctx.gitlab.project(claimed.gitlab_project_id)
            not_ours = origin_problem(self.ctx.config, job, project)
            self._adopt(claimed, job, project)
            if not_ours is not None:
                # whatever the webhook said: never measured, ranked or reported on the project's commit
                log.warning("job %s: %s", claimed.gitlab_job_id, not_ours.text)
                self._finish_without_outcome(claimed, Status.INVALID, not_ours)
                return True
            self._measuring(claimed, job)
            outcome = evaluate_job(self.ctx, job=job)
        except RETRYABLE as exc:
            if self._retry(claimed, _reason(exc)) == Status.FAILED:
                self._tell(claimed.submission_id)
            return True
        except GreenhackError as exc:
            # a refusal that will not change by waiting (e.g. GitLab 404/403 on the job): an admin must look
            refused = Reason(code=ReasonCode.EVALUATION_REFUSED, text=_reason(exc))
            if self._finish_without_outcome(claimed, Status.NEEDS_REVIEW, refused):
                self._tell(claimed.submission_id)
            return True
        except Exception as exc:  # a bug must not lose the job: retry (bounded), keep the reason for admins
            log.exception("internal error evaluating job %s", claimed.gitlab_job_id)
            if self._retry(claimed, f"internal error: {_reason(exc)}") == Status.FAILED:
                self._tell(claimed.submission_id)
            return True
        try:
            self._record(claimed, outcome)
        except StoreError as exc:
            log.warning("storing job %s failed: %s", claimed.gitlab_job_id, exc)
            if self._retry(claimed, _reason(exc)) == Status.FAILED:
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

    def board_timer(self) -> BoardTimer:
        """A timer that re-ranks the boards when due (:meth:`refresh_boards`) every half ``refresh_interval_s``
        while its ``with`` block runs, whatever the evaluation in progress waits for: a result stored by any
        worker reaches the board within about ``refresh_interval_s``."""
        period_s = max(self.options.refresh_interval_s / 2, 0.05)
        return BoardTimer(self.refresh_boards, period_s=period_s, wait=self._wait, name=self.options.name)

    # --- the steps ---------------------------------------------------------------------------------------------

    def _adopt(self, claimed: queue.ClaimedEvaluation, job: CiJob, project: ProjectRef) -> None:
        """What GitLab's API says replaces what the webhook said: the row keeps the job's commit (the final
        report needs it) and its ``created_at`` (the submission's time: freeze, limits, phases), and the team
        takes its project's path (a hook without one, or a renamed project).

        Raises:
            StoreError: the database refused (retried: the time decides the freeze).
        """
        with transaction(self.sessions, "recording the job's origin") as session:
            record_job_origin(
                session=session,
                submission_id=claimed.submission_id,
                commit_sha=job.sha,
                ref=job.ref,
                job_url=job.web_url,
                submitted_at=job.created_at,
            )
            team_from_api(
                session=session, config=self.ctx.config, event_id=self.event_id, project_id=project.id,
                path=project.path,
            )  # fmt: skip

    def _measuring(self, claimed: queue.ClaimedEvaluation, job: CiJob) -> None:
        """Measuring starts: tell GitLab."""
        if self.feedback is not None:
            self.feedback.measuring(submission_id=claimed.submission_id, job=job)

    def _record(self, claimed: queue.ClaimedEvaluation, outcome: EvaluationOutcome) -> None:
        """Store everything measured and the final status (the store decides overlaps; one transaction)."""
        with transaction(self.sessions, f"storing the evaluation of job {claimed.gitlab_job_id}") as session:
            recorded = record_outcome(
                session=session,
                submission_id=claimed.submission_id,
                worker=self.options.name,
                status=outcome.status,
                reason=outcome.reason,
                window=outcome.window.span if outcome.window is not None else None,
                script=outcome.window.script if outcome.window is not None else None,
                energy=outcome.energy,
                clock=outcome.clock,
                overhead=outcome.overhead,
                idle_power_w=outcome.idle_power_w,
                impacts=outcome.impacts,
                performance=outcome.performance,
                replicates=outcome.replicates,
                factsheet=outcome.factsheet,
                now=self._now(),
            )  # marks the boards stale; run_once re-ranks them once due
        reason = f" ({recorded.reason.text})" if recorded.reason else ""
        log.info("job %s: %s%s", claimed.gitlab_job_id, recorded.status, reason)

    def _tell(self, submission_id: int, problems: Sequence[str] = ()) -> None:
        if self.feedback is not None:
            self.feedback.finished(submission_id=submission_id, problems=problems)

    def _retry(self, claimed: queue.ClaimedEvaluation, error: str) -> Status | None:
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
            log.info("job %s: %s (%s)", claimed.gitlab_job_id, status, error)
            return status
        except StoreError as exc:  # the lease was lost (another worker took over) or the database is down
            log.warning(
                "job %s: could not re-queue (%s); its lease will expire and another worker retry",
                claimed.gitlab_job_id,
                exc,
            )
            return None

    def _finish_without_outcome(self, claimed: queue.ClaimedEvaluation, status: Status, reason: Reason) -> bool:
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
        caller's own periodic work (``greenhack worker``'s reconciler schedule), so a backlog cannot starve it. The
        boards are re-ranked on the worker's own timer meanwhile (:meth:`board_timer`)."""
        stop = stop or threading.Event()
        handled = 0
        with self.board_timer():
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

"""The evaluation's vocabulary: a submission's :class:`Status` and the :class:`Reason` it is not simply scored.

One definition, read by the evaluation, the queue, the store's schema, the web API and the rehearsal:

- ``queued``: waiting for a worker; ``measuring``: claimed by a worker;
- ``scored``: ranked (or listed); ``invalid``: the team's output is unusable (bad predictions, a failed job);
  ``needs_review``: the measurement cannot be trusted (gaps, overlaps), an admin decides; ``failed``: the platform
  gave up (after its retries, or on a failure of its own side).

A reason is a stable :class:`ReasonCode` (stored in ``submissions.reason_code``) and a text for the team and the
admins (``submissions.reason``). What a visitor may read is decided by the code, never by the text's wording
(:func:`greenhack.store.disclosure.public_reason`): a reason is public where it is the job's outcome as GitLab
shows it, the measurement's problems, its window and clock or overlapping windows (the shared server's telemetry is
the platform's transparency; the job log the window is read from is the team's own); the predictions' problems
(which can name truth labels) and the platform's errors (an unknown runner included) are not.

Whether a submission uses one of its team's submissions is one rule here too, :func:`uses_quota`: those the
platform failed (GitLab's :data:`PLATFORM_FAILURE_REASONS`, or its own retries), refused or that never started give
theirs back (:data:`GIVE_BACK_CODES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "FINAL_STATUSES",
    "GIVE_BACK_CODES",
    "PLATFORM_FAILURE_REASONS",
    "RANKABLE_STATUSES",
    "UNFINISHED_STATUSES",
    "Reason",
    "ReasonCode",
    "Status",
    "TaskStatus",
    "uses_quota",
]


class Status(StrEnum):
    """A submission's place in its evaluation (the values are what the database and the API hold)."""

    QUEUED = "queued"
    MEASURING = "measuring"
    SCORED = "scored"
    INVALID = "invalid"
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"


class TaskStatus(StrEnum):
    """An admin task's place (``greenhack.store.tasks``): queued, waiting for a worker; running, a worker holds it
    until its lease expires; done, finished with its result; failed, given up with the error."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# an evaluation ends in one of these; the others are the queue's
FINAL_STATUSES: Final[tuple[Status, ...]] = (
    Status.SCORED,
    Status.INVALID,
    Status.NEEDS_REVIEW,
    Status.FAILED,
)
UNFINISHED_STATUSES: Final[tuple[Status, ...]] = (Status.QUEUED, Status.MEASURING)
# scored submissions are ranked; needs_review ones are listed (not ranked) with their reason
RANKABLE_STATUSES: Final[tuple[Status, ...]] = (Status.SCORED, Status.NEEDS_REVIEW)


class ReasonCode(StrEnum):
    """Why a submission is not simply scored, as a stable code (stored; new codes are added, never renamed)."""

    # the job as GitLab shows it (public: the team's pipeline page says as much)
    JOB_FAILED = "job_failed"
    JOB_NOT_SUCCESSFUL = "job_not_successful"
    NO_PREDICTIONS = "no_predictions"
    # the job failed on the platform's side (runner system failure, ...); not counted toward the limit
    PLATFORM_JOB_FAILURE = "platform_job_failure"
    # the job was canceled (or skipped) before it started: nothing ran, not counted toward the limit
    JOB_NOT_STARTED = "job_not_started"
    # the measurement (public: the shared server's telemetry is the platform's transparency)
    TELEMETRY = "telemetry"
    OVERLAP = "overlap"
    # the job log gave no script window (no marks, marks out of order or outside GitLab's window, a truncated or
    # unreadable log): GitLab's window was measured, the runner's housekeeping included (telemetry.window_fallback)
    WINDOW_FALLBACK = "window_fallback"
    # the server's clock is further from Prometheus's than telemetry.max_clock_offset (the window was shifted by
    # it), or its offset is unknown and telemetry.require_clock_offset asks for one
    CLOCK_OFFSET = "clock_offset"
    CLOCK_UNKNOWN = "clock_unknown"
    # why the job could not be measured or priced (platform details: admins only)
    NOT_MEASURABLE = "not_measurable"
    # GitLab names a runner that no server of the event lists (servers[].runners): whose energy it is is unknown
    UNKNOWN_RUNNER = "unknown_runner"
    NO_SAMPLES = "no_samples"
    IDLE_BASELINE = "idle_baseline"
    IMPACTS = "impacts"
    # the predictions (their problems can name truth labels: the team reads them in GitLab, admins on the page)
    PREDICTIONS_TOO_LARGE = "predictions_too_large"
    PREDICTIONS_INVALID = "predictions_invalid"
    # a train phase job, ranked together with its pipeline's predict job
    TRAIN_PHASE = "train_phase"
    # the platform: a refusal that waiting does not change, retries used up, the team's budget gate
    EVALUATION_REFUSED = "evaluation_refused"
    GAVE_UP = "gave_up"
    REFUSED_BEFORE_RUNNING = "refused_before_running"
    # the job GitLab's API describes is not the event's to score, whatever its webhook said: its project is not
    # in gitlab.group, or its real name is not one of gitlab.submission_jobs (not ranked, uses no submission)
    NOT_EVENT_PROJECT = "not_event_project"
    NOT_SUBMISSION_JOB = "not_submission_job"
    # a reason stored before codes were (or written without one): read as private
    UNCLASSIFIED = "unclassified"

    @property
    def public(self) -> bool:
        """Whether a visitor may read a reason of this code as it is."""
        return self in _PUBLIC_CODES


_PUBLIC_CODES: Final = frozenset(
    {
        ReasonCode.JOB_FAILED,
        ReasonCode.JOB_NOT_SUCCESSFUL,
        ReasonCode.JOB_NOT_STARTED,
        ReasonCode.NO_PREDICTIONS,
        ReasonCode.TELEMETRY,
        ReasonCode.OVERLAP,
        ReasonCode.WINDOW_FALLBACK,
        ReasonCode.CLOCK_OFFSET,
        ReasonCode.CLOCK_UNKNOWN,
    }
)


@dataclass(frozen=True, kw_only=True)
class Reason:
    """Why a submission ended as it did: a stable ``code`` and the ``text`` the team and the admins read."""

    code: ReasonCode
    text: str

    @property
    def public(self) -> bool:
        """Whether a visitor may read ``text`` (decided by the code)."""
        return self.code.public

    def followed_by(self, other: Reason) -> Reason:
        """This reason with ``other``'s text appended; the code (and so who may read it) stays this one's."""
        return Reason(code=self.code, text=f"{self.text}; {other.text}")

    @classmethod
    def stored(cls, *, code: str | None, text: str | None) -> Reason | None:
        """The reason held in a row's ``reason_code`` and ``reason`` columns (an unknown or missing code is
        :attr:`ReasonCode.UNCLASSIFIED`); None when the row has no reason."""
        if text is None:
            return None
        try:
            known = ReasonCode(code) if code is not None else ReasonCode.UNCLASSIFIED
        except ValueError:
            known = ReasonCode.UNCLASSIFIED
        return cls(code=known, text=text)


# GitLab failure reasons that are the platform's doing (the runner, its host, the scheduler, GitLab itself), never
# the team's code: such a job is recorded ``failed`` and gives its submission back. From GitLab's
# app/models/concerns/enums/ci/commit_status.rb (``failure_reasons``); ``stuck_or_timeout_failure`` is the legacy
# name of the four ``stuck_pending_*`` / ``no_updates_*`` reasons that replaced it, and ``job_execution_timeout``
# (the team's command ran past its limit) stays the team's.
PLATFORM_FAILURE_REASONS: Final = frozenset(
    {
        "api_failure",
        "data_integrity_failure",
        "job_router_failure",
        "no_matching_runner",
        "no_updates_canceling",
        "no_updates_running",
        "runner_configuration_error",
        "runner_external_dependency_failure",
        "runner_interrupted",
        "runner_system_failure",
        "runner_unsupported",
        "scheduler_failure",
        "stuck_or_timeout_failure",
        "stuck_pending_no_matching_runners",
        "stuck_pending_with_matching_runners",
    }
)

# a submission whose reason has one of these codes gives its team's submission back: the budget check refused it,
# the platform failed it (GitLab's failure reason or the evaluation's retries), it never started, or it was never
# the event's submission (a webhook named a job of another project, or a job that is not a submission)
GIVE_BACK_CODES: Final = frozenset(
    {
        ReasonCode.REFUSED_BEFORE_RUNNING,
        ReasonCode.PLATFORM_JOB_FAILURE,
        ReasonCode.GAVE_UP,
        ReasonCode.JOB_NOT_STARTED,
        ReasonCode.NOT_EVENT_PROJECT,
        ReasonCode.NOT_SUBMISSION_JOB,
    }
)


def uses_quota(status: Status | str, reason_code: str | None) -> bool:
    """Whether a stored submission job uses one of its team's submissions: the one rule the store writes into
    ``submissions.counts_toward_limit`` whenever it writes a status (queued and measuring jobs use one: they are in
    flight). A job of status ``failed`` (the platform's failure) or with a reason in :data:`GIVE_BACK_CODES` gives it
    back; every other outcome, invalid predictions included, uses it."""
    return Status(status) != Status.FAILED and reason_code not in GIVE_BACK_CODES

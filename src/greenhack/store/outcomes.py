"""The store's side of an evaluation: what the job is (:func:`record_job_origin`) and what it found
(:func:`record_outcome`), written by the store alone.

:func:`record_outcome` writes everything measured, the overlap verdict (:func:`greenhack.overlap.overlap_verdict`)
and the final status in the caller's one transaction, serialised per server: on PostgreSQL an advisory lock
(:func:`greenhack.store.locks.xact_lock`), on SQLite the write lock its first statement takes. So whichever of
two overlapping jobs finishes second sees the first's window and sends both to review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.errors import NotFoundError
from greenhack.factsheet import FactsheetResult
from greenhack.gitlab.script_window import ScriptWindow
from greenhack.impacts.models import JobImpacts
from greenhack.overlap import OtherWindow, Window, overlap_verdict
from greenhack.scoring.bootstrap import PerformanceReplicates
from greenhack.scoring.models import Performance
from greenhack.status import Reason, Status
from greenhack.store import crud, queue
from greenhack.store.db import store_errors
from greenhack.store.factsheets import record_factsheet
from greenhack.store.locks import xact_lock
from greenhack.store.models import Submission, utcnow
from greenhack.telemetry.clock import ClockOffset
from greenhack.telemetry.models import JobEnergy
from greenhack.telemetry.overhead import RunnerOverhead

__all__ = ["SERVER_LOCK", "RecordedOutcome", "record_job_origin", "record_outcome"]

# the lock (greenhack.store.locks) serialising one server's final transactions, named "<SERVER_LOCK>:<server>"
SERVER_LOCK = "greenhack-server"


@dataclass(frozen=True, kw_only=True)
class RecordedOutcome:
    """What was stored as final: the status and reason after the overlap rule, and the overlapping jobs."""

    status: Status
    reason: Reason | None
    overlapping_jobs: tuple[int, ...] = ()


def record_job_origin(
    *,
    session: Session,
    submission_id: int,
    commit_sha: str | None,
    ref: str | None,
    job_url: str | None,
    submitted_at: datetime | None = None,
) -> None:
    """Keep on the row the commit, ref and page of the job as GitLab's API describes it (the final report needs
    them; empty values are stored as missing) and, when given, its ``created_at`` as the submission's time (the
    freeze, the limits and ties read it; a webhook's time is never kept)."""
    values: dict[str, object] = {"commit_sha": commit_sha or None, "ref": ref or None, "job_url": job_url or None}
    if submitted_at is not None:
        values["created_at"] = submitted_at
    with store_errors(f"recording the commit of submission {submission_id}"):
        session.execute(
            sa.update(Submission)
            .where(Submission.id == submission_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _window_values(window: Window, script: ScriptWindow | None) -> dict[str, object]:
    """The submission's window columns: GitLab's window, and the script window charged to the team (None: GitLab's
    whole window is, ``telemetry.window: job``)."""
    values: dict[str, object] = {
        "server": window.server,
        "window_start": window.start,
        "window_end": window.end,
        "window_kind": "job" if script is None else "script",
    }
    bounds = {"start": script.start, "end": script.end} if script is not None else {}
    for edge in ("start", "end"):
        bound = bounds.get(edge)
        values[f"script_{edge}"] = bound.at if bound is not None else None
        values[f"script_{edge}_source"] = bound.source if bound is not None else None
        values[f"script_{edge}_resolution_s"] = bound.resolution_s if bound is not None else None
    fallback = script.fallback if script is not None else None
    values["window_fallback"] = fallback.code if fallback is not None else None
    values["window_fallback_reason"] = fallback.message if fallback is not None else None
    return values


def _claim_window(
    session: Session, submission_id: int, window: Window, script: ScriptWindow | None
) -> tuple[int, int]:
    """Write the window (the transaction's first statement: SQLite takes its write lock before anything is
    read), then wait for the server's lock; the row's (event id, GitLab job id)."""
    with store_errors(f"storing the window of submission {submission_id}"):
        row = session.execute(
            sa.update(Submission)
            .where(Submission.id == submission_id)
            .values(**_window_values(window, script))
            .returning(Submission.event_id, Submission.gitlab_job_id)
            .execution_options(synchronize_session=False)
        ).one_or_none()
    if row is None:
        raise NotFoundError(f"submission {submission_id} does not exist")
    xact_lock(session, f"{SERVER_LOCK}:{window.server}")
    return int(row.event_id), int(row.gitlab_job_id)


def _other_windows(session: Session, *, submission_id: int, event_id: int, window: Window) -> list[OtherWindow]:
    """The event's other windows on the server that overlap ``window`` (filtered in SQL for speed; the verdict
    decides)."""
    with store_errors("checking overlapping jobs"):
        rows = session.execute(
            sa.select(
                Submission.id,
                Submission.gitlab_job_id,
                Submission.status,
                Submission.server,
                Submission.window_start,
                Submission.window_end,
            ).where(
                Submission.event_id == event_id,
                Submission.id != submission_id,
                Submission.server == window.server,
                Submission.window_start < window.end,
                Submission.window_end > window.start,
            )
        ).all()
    return [
        OtherWindow(
            submission_id=r.id,
            job_id=int(r.gitlab_job_id),
            status=r.status,
            window=Window(server=r.server, start=r.window_start, end=r.window_end),
        )
        for r in rows
    ]


def _send_to_review(session: Session, submission_id: int, reason: Reason) -> None:
    with store_errors(f"sending submission {submission_id} to review"):
        session.execute(
            sa.update(Submission)
            .where(Submission.id == submission_id, Submission.status == Status.SCORED)
            .values(status=Status.NEEDS_REVIEW, reason=reason.text, reason_code=reason.code)
            .execution_options(synchronize_session=False)
        )


def record_outcome(
    *,
    session: Session,
    submission_id: int,
    worker: str,
    status: Status,
    reason: Reason | None = None,
    window: Window | None = None,
    script: ScriptWindow | None = None,
    energy: JobEnergy | None = None,
    clock: ClockOffset | None = None,
    overhead: RunnerOverhead | None = None,
    idle_power_w: float | None = None,
    impacts: JobImpacts | None = None,
    performance: Performance | None = None,
    replicates: PerformanceReplicates | None = None,
    factsheet: FactsheetResult | None = None,
    now: datetime | None = None,
) -> RecordedOutcome:
    """Store an evaluation's outcome and close the claimed row with its final status, in the caller's
    transaction (commit it at once: it holds the server's lock); return what was stored.

    ``window`` is GitLab's window of the job on its server, ``script`` the script window charged to the team
    (None: GitLab's whole window, ``telemetry.window: job``), ``energy`` what was measured over it with the
    server's ``clock`` offset, ``overhead`` the runner's energy outside it (stored, never charged). The energy's
    interval parts (``energy.uncertainty``), the impacts' measurement interval and the performance's bootstrap
    ``replicates`` are stored with them, for the board's intervals and ``ranking.ties: significant``.

    Everything measured replaces an earlier record; with a ``window``, the overlap rule decides the final status
    and may send other submissions to review. The rule compares GitLab's windows, not the script windows: that is
    when the runner held the server, and another job's housekeeping (an image pull keeps the CPU busy, an upload)
    inside this job's script window counts in its energy just as another job's script would; GitLab's windows are
    also all on one clock, whatever each server's offset. The boards are marked stale (a worker re-ranks them soon
    after).

    Raises:
        StoreError: the database refused, or ``worker`` no longer holds the row (nothing is kept: roll back).
        ValueError: ``status`` is not a final status.
    """
    claimed = _claim_window(session, submission_id, window, script) if window is not None else None
    if energy is not None:
        crud.record_measurement(
            session=session,
            submission_id=submission_id,
            energy=energy,
            idle_power_w=idle_power_w,
            clock=clock,
            overhead=overhead,
            gitlab_window=window is not None,
        )
    if impacts is not None:
        crud.record_impacts(session=session, submission_id=submission_id, impacts=impacts)
    if performance is not None:
        for split, value, rows, drawn in (
            ("public", performance.public, performance.n_public, replicates.public if replicates else None),
            ("private", performance.private, performance.n_private, replicates.private if replicates else None),
        ):
            crud.record_performance(
                session=session,
                submission_id=submission_id,
                split=split,
                metric=performance.metric,
                value=value,
                rows=rows,
                replicates=drawn.to_bytes() if drawn is not None else None,
            )
    if factsheet is not None:
        record_factsheet(session=session, submission_id=submission_id, result=factsheet, now=now)
    recorded = RecordedOutcome(status=status, reason=reason)
    if window is not None and claimed is not None:
        event_id, job_id = claimed
        others = _other_windows(session, submission_id=submission_id, event_id=event_id, window=window)
        verdict = overlap_verdict(job_id=job_id, window=window, status=status, reason=reason, others=others)
        for flagged in verdict.flagged:
            _send_to_review(session, flagged.submission_id, flagged.reason)
        recorded = RecordedOutcome(
            status=verdict.status, reason=verdict.reason, overlapping_jobs=verdict.overlapping_jobs
        )
    queue.finish(
        session=session,
        submission_id=submission_id,
        worker=worker,
        status=recorded.status,
        reason=recorded.reason,
        now=now or utcnow(),
    )  # marks the boards stale
    return recorded

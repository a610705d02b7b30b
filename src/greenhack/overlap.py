"""Overlapping windows on one server: neither job's energy can be trusted (a server's power is not split by job).

:func:`overlap_verdict` is the rule, a pure function of a job's window and the other windows the store holds on
that server: the job goes to review when it would be ranked or listed, and every other job already ``scored``
whose window overlaps it goes to review too (those still being evaluated will see this one's window when they
finish: the store serialises final transactions per server, :func:`greenhack.store.outcomes.record_outcome`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from greenhack.status import Reason, ReasonCode, Status

__all__ = ["FlaggedWindow", "OtherWindow", "OverlapVerdict", "Window", "overlap_verdict"]


@dataclass(frozen=True, kw_only=True)
class Window:
    """A measured window [start, end) on one server (GitLab's times)."""

    server: str
    start: datetime
    end: datetime

    def overlaps(self, other: Window) -> bool:
        """Whether both windows are on one server and share some time (touching ends do not overlap)."""
        return self.server == other.server and self.start < other.end and other.start < self.end


@dataclass(frozen=True, kw_only=True)
class OtherWindow:
    """Another submission's stored window: its row, its GitLab job, its status now."""

    submission_id: int
    job_id: int
    status: Status
    window: Window


@dataclass(frozen=True, kw_only=True)
class FlaggedWindow:
    """Another submission that the verdict sends to review, with its new reason."""

    submission_id: int
    reason: Reason


@dataclass(frozen=True, kw_only=True)
class OverlapVerdict:
    """The job's final status and reason, and the other submissions to send to review.

    Attributes:
        status / reason: the job's, after the overlap rule.
        overlapping_jobs: GitLab ids of every other job whose window overlaps, sorted.
        flagged: the ``scored`` ones among them, sent to review.
    """

    status: Status
    reason: Reason | None
    overlapping_jobs: tuple[int, ...]
    flagged: tuple[FlaggedWindow, ...]


def overlap_verdict(
    *, job_id: int, window: Window, status: Status, reason: Reason | None, others: Sequence[OtherWindow]
) -> OverlapVerdict:
    """Apply the overlap rule to job ``job_id`` measured over ``window`` and evaluated as ``status``/``reason``.

    ``others`` may hold windows that do not overlap (they are ignored). A job that would be ranked or listed
    (``scored``, ``needs_review``) and overlaps another goes to ``needs_review`` with the overlap appended to its
    reason (its code stays: who may read a reason is decided by its first part); an ``invalid`` or ``failed`` job
    keeps its status, and still sends the overlapped ``scored`` ones to review.
    """
    overlapping = [o for o in others if o.window.overlaps(window)]
    flagged = tuple(
        FlaggedWindow(
            submission_id=o.submission_id,
            reason=Reason(
                code=ReasonCode.OVERLAP,
                text=f"its window on {window.server} overlaps job {job_id}'s: neither energy can be trusted",
            ),
        )
        for o in sorted(overlapping, key=lambda o: o.submission_id)
        if o.status == Status.SCORED
    )
    jobs = tuple(sorted(o.job_id for o in overlapping))
    if not jobs or status not in (Status.SCORED, Status.NEEDS_REVIEW):
        return OverlapVerdict(status=status, reason=reason, overlapping_jobs=jobs, flagged=flagged)
    overlap = Reason(
        code=ReasonCode.OVERLAP,
        text=f"its window on {window.server} overlaps job(s) {', '.join(map(str, jobs))}: "
        "neither energy can be trusted",
    )
    return OverlapVerdict(
        status=Status.NEEDS_REVIEW,
        reason=overlap if reason is None else reason.followed_by(overlap),
        overlapping_jobs=jobs,
        flagged=flagged,
    )

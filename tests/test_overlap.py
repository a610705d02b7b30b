"""The overlap rule on its own: a pure function of a job's window and the other windows of its server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenhack.overlap import FlaggedWindow, OtherWindow, Window, overlap_verdict
from greenhack.status import Reason, ReasonCode, Status

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _w(start_min: float, end_min: float, server: str = "gpu-1") -> Window:
    return Window(server=server, start=T0 + timedelta(minutes=start_min), end=T0 + timedelta(minutes=end_min))


def _other(sid: int, job: int, status: Status, window: Window) -> OtherWindow:
    return OtherWindow(submission_id=sid, job_id=job, status=status, window=window)


def test_windows_overlap_when_they_share_time_on_one_server() -> None:
    assert _w(0, 10).overlaps(_w(5, 15)) and _w(5, 15).overlaps(_w(0, 10))
    assert _w(0, 10).overlaps(_w(2, 3))  # one inside the other
    assert not _w(0, 10).overlaps(_w(10, 20))  # touching ends: [start, end)
    assert not _w(0, 10).overlaps(_w(0, 10, server="gpu-2"))


def test_no_other_window_leaves_the_outcome_as_it_is() -> None:
    reason = Reason(code=ReasonCode.TELEMETRY, text="telemetry: a gap")
    far = _other(2, 20, Status.SCORED, _w(30, 40))
    verdict = overlap_verdict(
        job_id=10, window=_w(0, 10), status=Status.NEEDS_REVIEW, reason=reason, others=[far]
    )
    assert (verdict.status, verdict.reason, verdict.overlapping_jobs, verdict.flagged) == (
        Status.NEEDS_REVIEW,
        reason,
        (),
        (),
    )


def test_an_overlap_sends_the_job_and_the_scored_others_to_review() -> None:
    others = [
        _other(3, 30, Status.SCORED, _w(5, 15)),
        _other(2, 20, Status.MEASURING, _w(8, 9)),  # still evaluated: it will see this window itself
        _other(4, 40, Status.INVALID, _w(-5, 1)),  # counts for this job, keeps its own status
        _other(5, 50, Status.SCORED, _w(10, 20)),  # touches only
    ]
    verdict = overlap_verdict(job_id=10, window=_w(0, 10), status=Status.SCORED, reason=None, others=others)
    assert verdict.status == Status.NEEDS_REVIEW and verdict.overlapping_jobs == (20, 30, 40)
    assert verdict.reason == Reason(
        code=ReasonCode.OVERLAP,
        text="its window on gpu-1 overlaps job(s) 20, 30, 40: neither energy can be trusted",
    )
    assert verdict.reason.public
    assert verdict.flagged == (
        FlaggedWindow(
            submission_id=3,
            reason=Reason(
                code=ReasonCode.OVERLAP,
                text="its window on gpu-1 overlaps job 10's: neither energy can be trusted",
            ),
        ),
    )


def test_an_existing_reason_keeps_its_code_and_gets_the_overlap_appended() -> None:
    train = Reason(code=ReasonCode.TRAIN_PHASE, text="training phase of pipeline 3: measured")
    failed = _other(3, 30, Status.FAILED, _w(1, 2))
    verdict = overlap_verdict(job_id=10, window=_w(0, 10), status=Status.SCORED, reason=train, others=[failed])
    assert verdict.status == Status.NEEDS_REVIEW and verdict.reason is not None
    assert verdict.reason.code == ReasonCode.TRAIN_PHASE and not verdict.reason.public
    assert verdict.reason.text == (
        "training phase of pipeline 3: measured; its window on gpu-1 overlaps job(s) 30: neither energy can be "
        "trusted"
    )


@pytest.mark.parametrize("status", [Status.INVALID, Status.FAILED])
def test_a_job_not_ranked_keeps_its_status_and_still_flags_the_scored_ones(status: Status) -> None:
    reason = Reason(code=ReasonCode.PREDICTIONS_INVALID, text="28 problems in predictions.csv")
    scored = _other(3, 30, Status.SCORED, _w(1, 2))
    verdict = overlap_verdict(job_id=10, window=_w(0, 10), status=status, reason=reason, others=[scored])
    assert (verdict.status, verdict.reason, verdict.overlapping_jobs) == (status, reason, (30,))
    assert [f.submission_id for f in verdict.flagged] == [3]

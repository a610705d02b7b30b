"""The store records an evaluation's outcome in one transaction and returns the final status; on SQLite and
PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from greenhack.errors import StoreError
from greenhack.overlap import Window
from greenhack.scoring.models import Performance
from greenhack.status import Reason, ReasonCode, Status
from greenhack.store import crud, queue
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Event, Submission
from greenhack.store.outcomes import RecordedOutcome, record_job_origin, record_outcome
from greenhack.store.synthetic import synthetic_job

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _claimed(sessions: SessionFactory, job_id: int, *, worker: str = "w") -> int:
    with transaction(sessions) as s:
        event = crud.ensure_event(session=s, name="E")
        team = crud.ensure_team(session=s, event_id=event.id, name=f"t{job_id}")
        queued = queue.enqueue(
            session=s, event_id=event.id, team_id=team.id, gitlab_project_id=1, gitlab_job_id=job_id, now=T0
        )
    with transaction(sessions) as s:
        claimed = queue.claim(session=s, worker=worker, lease_s=600, now=T0)
        assert claimed is not None and claimed.submission_id == queued.submission_id
    return queued.submission_id


def _row(sessions: SessionFactory, sid: int) -> Submission:
    with transaction(sessions) as s:
        row = s.get(Submission, sid)
        assert row is not None
        return row


def _window(start_min: float, end_min: float) -> Window:
    return Window(server="gpu-1", start=T0 + timedelta(minutes=start_min), end=T0 + timedelta(minutes=end_min))


def test_an_outcome_is_stored_whole_with_its_final_status(sessions: SessionFactory) -> None:
    sid = _claimed(sessions, 1)
    job = synthetic_job(random.Random(1), server="gpu-1", start=T0)
    window = Window(server="gpu-1", start=job.energy.start, end=job.energy.end)
    performance = Performance(
        metric="accuracy", higher_is_better=True, public=0.9, private=0.8, n_public=30, n_private=70
    )
    with transaction(sessions) as s:
        recorded = record_outcome(
            session=s,
            submission_id=sid,
            worker="w",
            status=Status.SCORED,
            window=window,
            energy=job.energy,
            performance=performance,
            now=T0 + timedelta(hours=1),
        )
    assert recorded == RecordedOutcome(status=Status.SCORED, reason=None)
    row = _row(sessions, sid)
    assert (row.status, row.reason, row.reason_code, row.claimed_by) == (Status.SCORED, None, None, None)
    assert (row.server, row.window_start, row.window_end) == ("gpu-1", window.start, window.end)
    assert row.energy_j == job.energy.total_energy_j
    assert (row.performance_public, row.performance_private) == (0.9, 0.8)
    with transaction(sessions) as s:
        assert s.execute(sa.select(Event.boards_pending)).scalar_one() == 1  # the boards know


def test_the_second_of_two_overlapping_jobs_sends_both_to_review(sessions: SessionFactory) -> None:
    first, second = _claimed(sessions, 7), _claimed(sessions, 8)
    with transaction(sessions) as s:
        record_outcome(session=s, submission_id=first, worker="w", status=Status.SCORED, window=_window(0, 10))
    telemetry = Reason(code=ReasonCode.TELEMETRY, text="telemetry: a 40 s gap")
    with transaction(sessions) as s:
        recorded = record_outcome(
            session=s,
            submission_id=second,
            worker="w",
            status=Status.NEEDS_REVIEW,
            reason=telemetry,
            window=_window(5, 15),
        )
    text = "telemetry: a 40 s gap; its window on gpu-1 overlaps job(s) 7: neither energy can be trusted"
    assert recorded == RecordedOutcome(
        status=Status.NEEDS_REVIEW,
        reason=Reason(code=ReasonCode.TELEMETRY, text=text),
        overlapping_jobs=(7,),
    )
    assert (_row(sessions, second).reason, _row(sessions, second).reason_code) == (text, "telemetry")
    flagged = _row(sessions, first)
    assert (flagged.status, flagged.reason_code) == (Status.NEEDS_REVIEW, "overlap")
    assert flagged.reason == "its window on gpu-1 overlaps job 8's: neither energy can be trusted"


def test_a_lost_lease_keeps_nothing(sessions: SessionFactory) -> None:
    sid = _claimed(sessions, 1, worker="dead")
    with pytest.raises(StoreError, match="no longer holds"), transaction(sessions) as s:
        record_outcome(session=s, submission_id=sid, worker="other", status=Status.SCORED, window=_window(0, 10))
    row = _row(sessions, sid)
    assert (row.status, row.server, row.window_start) == (Status.MEASURING, None, None)


def test_the_jobs_origin_is_kept_and_empty_values_are_missing(sessions: SessionFactory) -> None:
    sid = _claimed(sessions, 1)
    with transaction(sessions) as s:
        record_job_origin(session=s, submission_id=sid, commit_sha="abc", ref="", job_url="https://x/-/jobs/1")
    row = _row(sessions, sid)
    assert (row.commit_sha, row.ref, row.job_url) == ("abc", None, "https://x/-/jobs/1")


def _script(start_min: float, end_min: float, *, lead_s: float = 25.0, tail_s: float = 4.0):  # type: ignore[no-untyped-def]
    """GitLab's window [start, end] minutes past T0 and a script window inside it, read from a runner's log."""
    from greenhack.gitlab.script_window import script_window
    from greenhack.testing.runner_log import LogTimes, runner_log

    start, end = T0 + timedelta(minutes=start_min), T0 + timedelta(minutes=end_min)
    times = LogTimes(started=start, command_start=start + timedelta(seconds=lead_s),
                     command_end=end - timedelta(seconds=tail_s), finished=end)  # fmt: skip
    return Window(server="gpu-1", start=start, end=end), script_window(runner_log(times), api_start=start, api_end=end)


def test_the_script_window_clock_and_overhead_are_stored_with_gitlabs_window(sessions: SessionFactory) -> None:
    from greenhack.store.models import Measurement
    from greenhack.telemetry.clock import ClockOffset
    from greenhack.telemetry.overhead import RunnerOverhead

    sid = _claimed(sessions, 1)
    window, script = _script(0, 1)
    energy = synthetic_job(random.Random(1), server="gpu-1", start=script.start.at).energy
    clock = ClockOffset(server="gpu-1", known=True, offset_s=0.012, uncertainty_s=0.003, samples=6,
                        ntp_synchronised=False, ntp_offset_s=-0.02)  # fmt: skip
    overhead = RunnerOverhead(before_energy_j=900.0, after_energy_j=100.0, before_s=25.0, after_s=4.0, valid=False,
                              problems=["after the script: no sample inside"])  # fmt: skip
    with transaction(sessions) as s:
        record_outcome(session=s, submission_id=sid, worker="w", status=Status.SCORED, window=window, script=script,
                       energy=energy, clock=clock, overhead=overhead)  # fmt: skip
    row = _row(sessions, sid)
    # GitLab's window stays the submission's (the overlap rule's); the script window is kept beside it
    assert (row.window_start, row.window_end) == (window.start, window.end)
    assert (row.window_kind, row.script_start, row.script_end) == ("script", script.start.at, script.end.at)
    assert (row.script_start_source, row.script_end_source) == ("runner_timestamp", "runner_timestamp")
    assert row.script_start_resolution_s == pytest.approx(1e-6) and row.window_fallback is None
    assert row.overhead_energy_j == 1000.0 and row.energy_j == energy.total_energy_j
    with transaction(sessions) as s:
        m = s.get(Measurement, sid)
        assert m is not None
        assert (m.clock_offset_s, m.clock_offset_uncertainty_s, m.ntp_synchronised, m.ntp_offset_s) == (
            0.012, 0.003, False, -0.02
        )
        assert (m.overhead_before_j, m.overhead_after_j, m.overhead_duration_s, m.overhead_valid) == (
            900.0, 100.0, 29.0, False
        )
        assert m.overhead_problems == ["after the script: no sample inside"]
        assert (m.start, m.end) == (energy.start, energy.end)  # the window integrated


def test_overlaps_are_judged_on_gitlabs_windows_not_the_script_windows(sessions: SessionFactory) -> None:
    # the second job's runner prepared (pulled its image) while the first's script ran: their script windows do
    # not overlap, but the first's energy holds the second's preparation
    first, second = _claimed(sessions, 7), _claimed(sessions, 8)
    first_window, first_script = _script(0, 2)
    second_window, second_script = _script(1.5, 3, lead_s=40.0)
    assert first_script.end.at < second_script.start.at
    with transaction(sessions) as s:
        record_outcome(session=s, submission_id=first, worker="w", status=Status.SCORED, window=first_window,
                       script=first_script)  # fmt: skip
    with transaction(sessions) as s:
        recorded = record_outcome(session=s, submission_id=second, worker="w", status=Status.SCORED,
                                  window=second_window, script=second_script)  # fmt: skip
    assert recorded.status == Status.NEEDS_REVIEW and recorded.overlapping_jobs == (7,)
    assert _row(sessions, first).status == Status.NEEDS_REVIEW

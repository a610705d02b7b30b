"""The window integrated on Prometheus's clock, its edges' timing and the reasons to review it (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenhack.config import TelemetrySection
from greenhack.gitlab.script_window import api_window, script_window
from greenhack.measured_window import measured_window, review_reasons
from greenhack.status import ReasonCode
from greenhack.telemetry.clock import ClockOffset
from greenhack.testing.runner_log import LogTimes, runner_log

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
API = (T0, T0 + timedelta(seconds=59))
TIMES = LogTimes(started=API[0], command_start=T0 + timedelta(seconds=27), command_end=T0 + timedelta(seconds=57),
                 finished=API[1])  # fmt: skip
KNOWN = ClockOffset(server="gpu-1", known=True, offset_s=2.0, uncertainty_s=0.004, samples=8)
UNKNOWN = ClockOffset(server="gpu-1", known=False, reason="no node_time_seconds sample around the window")


def _telemetry(**keys: object) -> TelemetrySection:
    return TelemetrySection.model_validate({"prometheus": "http://127.0.0.1:9090", **keys})


def test_the_logs_bounds_are_shifted_and_the_offset_bound_moves_both_edges() -> None:
    window = script_window(runner_log(TIMES), api_start=API[0], api_end=API[1])
    measured = measured_window(window, KNOWN, telemetry=_telemetry())
    assert (measured.start, measured.end) == (TIMES.command_start - timedelta(seconds=2),
                                              TIMES.command_end - timedelta(seconds=2))  # fmt: skip
    assert measured.shift_s == 2.0 and measured.duration_s == pytest.approx(30.0)
    timing = measured.timing
    assert (timing.start_resolution_s, timing.end_resolution_s, timing.clock_offset_bound_s) == (1e-6, 1e-6, 0.004)
    # no offset known: nothing is shifted, and the event's max_clock_offset bounds how far the edges may be off
    blind = measured_window(window, UNKNOWN, telemetry=_telemetry(max_clock_offset="250ms"))
    assert (blind.start, blind.shift_s, blind.timing.clock_offset_bound_s) == (TIMES.command_start, 0.0, 0.25)


def test_a_mixed_window_shifts_its_logged_edge_alone_and_gitlabs_window_none() -> None:
    no_end = runner_log(TIMES).split("greenhack_mark:end")[0]  # a job stopped before its command returned
    window = script_window(no_end, api_start=API[0], api_end=API[1])
    assert window.fallback is not None and window.fallback.code == "no_end_mark"
    measured = measured_window(window, KNOWN, telemetry=_telemetry())
    assert (measured.start, measured.end) == (TIMES.command_start - timedelta(seconds=2), API[1])
    assert measured.timing.start_resolution_s == pytest.approx(1e-6 + 0.004)
    assert (measured.timing.end_resolution_s, measured.timing.clock_offset_bound_s) == (0.001, 0.0)
    gitlab = measured_window(api_window(*API), KNOWN, telemetry=_telemetry())
    assert (gitlab.start, gitlab.end, gitlab.shift_s, gitlab.timing.clock_offset_bound_s) == (*API, 0.0, 0.0)


def test_review_reasons_follow_the_yaml() -> None:
    window = script_window(runner_log(TIMES), api_start=API[0], api_end=API[1])
    (far,) = review_reasons(window, KNOWN, telemetry=_telemetry())
    assert far.code == ReasonCode.CLOCK_OFFSET and far.public and "+2.000 s" in far.text
    assert review_reasons(window, KNOWN, telemetry=_telemetry(max_clock_offset="3s")) == []
    assert review_reasons(window, UNKNOWN, telemetry=_telemetry()) == []
    (unknown,) = review_reasons(window, UNKNOWN, telemetry=_telemetry(require_clock_offset=True))
    assert unknown.code == ReasonCode.CLOCK_UNKNOWN and "require_clock_offset" in unknown.text
    fallback = script_window("no marks at all\n", api_start=API[0], api_end=API[1])
    (held,) = review_reasons(fallback, UNKNOWN, telemetry=_telemetry(require_clock_offset=True))
    # GitLab's window alone does not depend on the server's clock
    assert held.code == ReasonCode.WINDOW_FALLBACK and "telemetry.window_fallback: review" in held.text
    assert review_reasons(fallback, KNOWN, telemetry=_telemetry(window_fallback="rank")) == []

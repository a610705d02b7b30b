"""The window an evaluation integrates, on Prometheus's clock, and what makes it doubtful. Pure.

The charged window (:class:`~greenhack.gitlab.script_window.ScriptWindow`: the team's command read from the job log,
or GitLab's job window) has bounds in their sources' clocks: those read from the log in the GPU server's, those
from GitLab's API in GitLab's. The samples are stamped by Prometheus's clock, so the log's bounds are shifted by the
server's measured offset (:class:`~greenhack.telemetry.clock.ClockOffset`) before integrating
(:func:`measured_window`), and how well each edge is then known goes to the energy's interval
(:class:`~greenhack.telemetry.models.EdgeTiming`):

* a bound read from the log is known to its mark's resolution (1 µs with the runner's ``FF_TIMESTAMPS``, the
  printed digits of a greenhack mark, 1 s for a section marker); the bound is not centred in that resolution (a
  whole-second end already covers its whole second, so that rounding never shortens a window), so the full
  resolution is the bound, not its half;
* the offset's own uncertainty moves every bound read from the log together; with no offset known, the log's
  bounds are not shifted and the event's ``telemetry.max_clock_offset`` (the largest offset it accepts) is taken
  as that bound;
* a bound from GitLab's API is known to the millisecond its API gives, and the server's offset says nothing of
  GitLab's clock (as before the script window existed, GitLab's clock is taken as Prometheus's).

:func:`review_reasons` says why such a measurement must not be ranked without an organiser: a window that fell back
to GitLab's when ``telemetry.window_fallback: review``, a server clock beyond ``telemetry.max_clock_offset``, or
none known when ``telemetry.require_clock_offset`` (only when a bound comes from the server's clock: GitLab's window
alone does not depend on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from greenhack.config import TelemetrySection
from greenhack.gitlab.script_window import ScriptWindow, WindowBound
from greenhack.status import Reason, ReasonCode
from greenhack.telemetry.clock import ClockOffset
from greenhack.telemetry.models import EdgeTiming

__all__ = ["MeasuredWindow", "from_server_clock", "measured_window", "review_reasons"]


@dataclass(frozen=True, kw_only=True)
class MeasuredWindow:
    """The window integrated, on Prometheus's clock.

    Attributes:
        start / end: its bounds, in Prometheus's clock.
        shift_s: the clock offset subtracted from the bounds read from the log (0.0 when none was known or no
            bound is the log's), seconds.
        timing: how well its edges are known (for the energy's interval).
    """

    start: datetime
    end: datetime
    shift_s: float
    timing: EdgeTiming

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


def from_server_clock(bound: WindowBound) -> bool:
    """Whether the bound was read from the job log (the GPU server's clock), not GitLab's API."""
    return bound.source != "api"


def measured_window(window: ScriptWindow, clock: ClockOffset, *, telemetry: TelemetrySection) -> MeasuredWindow:
    """The charged window on Prometheus's clock, with its edges' timing.

    Raises:
        ValueError: shifting one bound of a window whose other bound is GitLab's leaves no window (a clock offset
            longer than the window).
    """
    shift_s = clock.offset_s if clock.known and clock.offset_s is not None else 0.0
    start, end = window.in_prometheus_clock(shift_s)
    if clock.known:
        offset_bound_s = clock.uncertainty_s or 0.0
    else:
        offset_bound_s = telemetry.max_clock_offset.total_seconds()
    logged_start, logged_end = from_server_clock(window.start), from_server_clock(window.end)
    start_s, end_s = window.start.resolution_s, window.end.resolution_s
    if logged_start and logged_end:
        # the offset moves both edges together: it costs the power difference between them
        timing = EdgeTiming(start_resolution_s=start_s, end_resolution_s=end_s, clock_offset_bound_s=offset_bound_s)
    else:
        # one edge on the server's clock, the other on GitLab's: the offset moves that edge alone
        timing = EdgeTiming(
            start_resolution_s=start_s + (offset_bound_s if logged_start else 0.0),
            end_resolution_s=end_s + (offset_bound_s if logged_end else 0.0),
        )
    applied_s = shift_s if (logged_start or logged_end) else 0.0
    return MeasuredWindow(start=start, end=end, shift_s=applied_s, timing=timing)


def review_reasons(window: ScriptWindow, clock: ClockOffset | None, *, telemetry: TelemetrySection) -> list[Reason]:
    """Why a result measured over ``window`` with this clock must go to review, most telling first (none: it may
    be ranked). ``clock`` None: the offset was not measured (a GitLab window alone needs none)."""
    reasons: list[Reason] = []
    if window.fallback is not None and telemetry.window_fallback == "review":
        reasons.append(
            Reason(
                code=ReasonCode.WINDOW_FALLBACK,
                text=f"window: {window.fallback.message} (telemetry.window_fallback: review holds it for the "
                "organisers)",
            )
        )
    uses_server_clock = from_server_clock(window.start) or from_server_clock(window.end)
    if clock is not None and uses_server_clock:
        problem = clock.problem(max_offset=telemetry.max_clock_offset, required=telemetry.require_clock_offset)
        if problem is not None:
            code = ReasonCode.CLOCK_OFFSET if clock.known else ReasonCode.CLOCK_UNKNOWN
            reasons.append(Reason(code=code, text=f"clock: {problem}"))
    return reasons

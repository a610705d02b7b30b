"""The window of the team's command, read from its job log and bounded by GitLab's job window. Pure.

GitLab's ``started_at .. finished_at`` (the *API window*) holds the runner's housekeeping: preparing the executor
(pulling the image), cloning, restoring caches and artifacts, and after the script, uploading the artifacts. The
*script window* is the team's command alone, from the marks in the job log (:mod:`greenhack.gitlab.joblog`):

1. the greenhack marks the CI component prints right before and right after the team's command; else
2. the runner's ``step_script`` section markers; else
3. the API window, with the reason stored (:class:`WindowFallback`).

Each bound is chosen on its own from the first of these that has one, and takes the runner's timestamp of the
mark's line when the log has ``FF_TIMESTAMPS`` (1 µs, the runner's clock), else the time the mark itself says.

The team's output is in the same log, so marks can be forged. Rule: **start = the earliest start mark, end = the
latest end mark, both clamped inside the API window.** The real start mark is printed before the team's code runs
and the real end mark after it returns, so a forged mark can only make the window earlier at its start or later at
its end: it lengthens the forger's own window, never shortens it. A time given in whole seconds covers the whole
second it names (an end at ``:07`` means up to ``:08``), so rounding never shortens a window either.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from greenhack.gitlab.joblog import SCRIPT_SECTIONS, LogMark, LogTail, find_marks, parse_log

__all__ = [
    "API_RESOLUTION_S",
    "BoundSource",
    "FallbackCode",
    "ScriptWindow",
    "WindowBound",
    "WindowFallback",
    "api_window",
    "script_window",
]

API_RESOLUTION_S = 0.001
"""GitLab's REST API gives ``started_at``/``finished_at`` to the millisecond."""

BoundSource = Literal["runner_timestamp", "mark", "section_marker", "api"]
"""Where a bound's time comes from: the runner's ``FF_TIMESTAMPS`` header of the mark's line (1 µs, the GPU server's
clock), the time a greenhack mark prints (the job's clock, the same server), the whole second of a section marker,
or GitLab's ``started_at``/``finished_at`` (GitLab's own clock)."""

FallbackCode = Literal[
    "no_marks",
    "no_start_mark",
    "no_end_mark",
    "log_truncated",
    "log_unreadable",
    "marks_out_of_order",
    "marks_outside_api_window",
]
"""Why (part of) the API window is used instead of the script window."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WindowBound(_Model):
    """One bound of a window.

    Attributes:
        at: the moment, in the clock of its source.
        source: where it comes from (:data:`BoundSource`).
        resolution_s: how finely that source resolves time, in seconds.
        line: the job log's line of the mark it comes from (None for GitLab's own times).
        clamped: the mark lay outside the API window and the bound was moved onto the API window's edge.
    """

    at: AwareDatetime
    source: BoundSource
    resolution_s: float
    line: int | None = None
    clamped: bool = False


class WindowFallback(_Model):
    """Why GitLab's window is used for a bound or both, for the team and the organisers."""

    code: FallbackCode
    message: str


class ScriptWindow(_Model):
    """The team's command's window, GitLab's window around it, and how each bound was found.

    ``fallback`` is None when both bounds come from the log; otherwise it says why GitLab's window was used (the
    event YAML's ``telemetry.window_fallback`` decides whether such a result is ranked).
    """

    start: WindowBound
    end: WindowBound
    api_start: AwareDatetime
    api_end: AwareDatetime
    phases: tuple[str, ...] = ()
    fallback: WindowFallback | None = None

    @property
    def duration_s(self) -> float:
        return (self.end.at - self.start.at).total_seconds()

    @property
    def api_duration_s(self) -> float:
        return (self.api_end - self.api_start).total_seconds()

    @property
    def resolution_s(self) -> float:
        """The coarser of the two bounds' resolutions, seconds."""
        return max(self.start.resolution_s, self.end.resolution_s)

    def in_prometheus_clock(self, clock_offset_s: float) -> tuple[datetime, datetime]:
        """The window in Prometheus's clock, given the server's measured offset (server clock - Prometheus clock,
        :class:`~greenhack.telemetry.clock.ClockOffset`): bounds read from the log are in the server's clock and
        are shifted; bounds from GitLab's API are in GitLab's clock, which the offset does not describe."""

        def shift(bound: WindowBound) -> datetime:
            return bound.at if bound.source == "api" else bound.at - timedelta(seconds=clock_offset_s)

        start, end = shift(self.start), shift(self.end)
        if end <= start:
            raise ValueError(f"a clock offset of {clock_offset_s:g} s leaves no window ({start} .. {end})")
        return start, end


def _api_bound(at: datetime, *, line: int | None = None, clamped: bool = False) -> WindowBound:
    return WindowBound(at=at, source="api", resolution_s=API_RESOLUTION_S, line=line, clamped=clamped)


def api_window(api_start: datetime, api_end: datetime, *, fallback: WindowFallback | None = None) -> ScriptWindow:
    """GitLab's window as a :class:`ScriptWindow` (``telemetry.window: job``, or a fallback)."""
    if api_end <= api_start:
        raise ValueError(f"GitLab's window ends ({api_end}) before it starts ({api_start})")
    return ScriptWindow(
        start=_api_bound(api_start), end=_api_bound(api_end), api_start=api_start, api_end=api_end, fallback=fallback
    )


def _bound(mark: LogMark) -> WindowBound:
    if mark.stamped_at is not None:
        at, source, resolution_s = mark.stamped_at, "runner_timestamp", 1e-6
    else:
        at = mark.printed_at
        source = "mark" if mark.kind == "greenhack" else "section_marker"
        resolution_s = mark.printed_resolution_s
        if mark.edge == "end" and resolution_s >= 1.0:
            # date +%s and the runner's Unix() truncate: the end lies somewhere in the second named
            at += timedelta(seconds=resolution_s)
    return WindowBound(at=at, source=source, resolution_s=resolution_s, line=mark.line)  # type: ignore[arg-type]


def _tiers(marks: list[LogMark]) -> list[list[LogMark]]:
    return [
        [m for m in marks if m.kind == "greenhack"],
        [m for m in marks if m.kind == "section" and m.name in SCRIPT_SECTIONS],
    ]


def _pick(marks: list[LogMark], edge: str) -> WindowBound | None:
    for tier in _tiers(marks):
        bounds = [_bound(m) for m in tier if m.edge == edge]
        if bounds:
            chooser = min if edge == "start" else max
            return chooser(bounds, key=lambda b: b.at)
    return None


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def script_window(
    log: str, *, api_start: datetime, api_end: datetime, truncated: bool = False, tail: LogTail | None = None
) -> ScriptWindow:
    """The script window of a job from its log, bounded by GitLab's window.

    Args:
        log: the job log, as ``GET /projects/:id/jobs/:job_id/trace`` returns it (decoded text).
        api_start: GitLab's ``started_at`` of the job.
        api_end: GitLab's ``finished_at`` of the job.
        truncated: the platform did not read the whole log (a mark between what it read may be missing).
        tail: the end of a log too long to read whole (``log`` is then its start): its marks count too.

    Returns:
        The window; its ``fallback`` says why GitLab's window is used for a bound, when it is.
    """
    if api_end <= api_start:
        raise ValueError(f"GitLab's window ends ({api_end}) before it starts ({api_start})")
    marks = find_marks(parse_log(log, tail=tail))
    phases = tuple(sorted({m.name for m in marks if m.kind == "greenhack"}))
    start, end = _pick(marks, "start"), _pick(marks, "end")
    where = f"GitLab's window {_when(api_start)} .. {_when(api_end)}"

    def fall_back(code: FallbackCode, message: str) -> ScriptWindow:
        window = api_window(api_start, api_end, fallback=WindowFallback(code=code, message=message))
        return window.model_copy(update={"phases": phases})

    if start is None and end is None:
        if truncated:
            return fall_back(
                "log_truncated",
                "the job log is longer than the platform reads and neither its start nor its end holds a mark: "
                "the whole of GitLab's job window is measured, the runner's housekeeping included",
            )
        return fall_back(
            "no_marks",
            "the job log holds neither greenhack marks nor a step_script section (an older runner or CI "
            "component): the whole of GitLab's job window is measured, the runner's housekeeping included",
        )
    if start is not None and end is not None:
        if end.at <= start.at:
            return fall_back(
                "marks_out_of_order",
                f"the latest end mark (line {end.line}, {_when(end.at)}) is not after the earliest start mark "
                f"(line {start.line}, {_when(start.at)}): {where} is measured instead",
            )
        if start.at >= api_end or end.at <= api_start:
            return fall_back(
                "marks_outside_api_window",
                f"the marks ({_when(start.at)} .. {_when(end.at)}) lie outside {where}: is the GPU server's clock "
                "wrong? GitLab's window is measured instead",
            )
    fallback: WindowFallback | None = None
    if start is None:
        fallback = WindowFallback(
            code="no_start_mark",
            message="the job log has an end mark but no start mark: the window starts at GitLab's started_at, "
            "the runner's preparation included",
        )
        start = _api_bound(api_start)
    if end is None:
        fallback = (
            WindowFallback(
                code="log_truncated",
                message="the job log is longer than the platform reads, and neither its start nor its end holds an "
                "end mark: the window ends at GitLab's finished_at, the artifact upload included",
            )
            if truncated
            else WindowFallback(
                code="no_end_mark",
                message="the job log has a start mark but no end mark (was the job stopped before the team's command "
                "returned?): the window ends at GitLab's finished_at, the artifact upload included",
            )
        )
        end = _api_bound(api_end)
    if start.at < api_start:
        start = _api_bound(api_start, line=start.line, clamped=True)
    if end.at > api_end:
        end = _api_bound(api_end, line=end.line, clamped=True)
    if end.at <= start.at:  # a lone start mark after finished_at, or a lone end mark before started_at
        return fall_back(
            "marks_outside_api_window",
            f"the only marks lie outside {where}: is the GPU server's clock wrong? GitLab's window is measured instead",
        )
    return ScriptWindow(
        start=start, end=end, api_start=api_start, api_end=api_end, phases=phases, fallback=fallback
    )

"""Read a GitLab job log (``GET /projects/:id/jobs/:job_id/trace``) into lines, the runner's timestamps and the marks
that say when the team's command ran. Pure: text in, frozen dataclasses out.

The formats, from GitLab Runner's and GitLab's own sources:

* **Timestamp header** (``FF_TIMESTAMPS``, runner 17.0 and later, on by default from 18.7): every line the runner
  writes starts with ``2021-01-01T01:00:00.020010Z 01O `` - an RFC 3339 UTC time truncated to the microsecond, a
  space, the stream number in two hex digits (``00`` the runner itself, ``01`` the job's script), the stream type
  (``O`` stdout, ``E`` stderr) and ``' '`` for a new line or ``'+'`` for the continuation of the previous one
  (gitlab-runner ``common/buildlogger/internal/timestamper/timestamper.go``; GitLab's
  ``Gitlab::Ci::Trace::Stream::TIMESTAMP_HEADER_REGEX``).
* **Section markers**: ``section_start:<unix s>:<name>[options]\\r\\e[0K`` and ``section_end:<unix s>:<name>\\r\\e[0K``,
  whole seconds (gitlab-runner ``helpers/build_section.go``; GitLab's ``Gitlab::Regex.build_trace_section_regex``).
  ``step_script`` is the job's script (``build_script`` before runner 13.x). The runner writes them on stream 00.
* **greenhack marks** (:data:`MARK_PREFIX`): ``greenhack_mark:<start|end>:<phase>:<unix s>[.<fraction>]``, printed on a
  line of their own by the CI components right before and right after the team's command (``ci-templates/``).

The team's output is in the same log, so anything in it can be forged. Two things cannot: a header (the runner
writes it in front of every line, so a header inside a line is content), and the stream of a line. Hence a log is
timestamped only when its first line (the runner's "Running with gitlab-runner") has a header, and a section marker
counts only on stream 00 of a timestamped log. What the marks mean is decided by
:mod:`greenhack.gitlab.script_window`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = [
    "MARK_PREFIX",
    "Edge",
    "MarkKind",
    "RUNNER_STREAM",
    "SCRIPT_SECTIONS",
    "LogLine",
    "LogMark",
    "LogTail",
    "find_marks",
    "format_mark",
    "parse_log",
]

MARK_PREFIX = "greenhack_mark"
"""What the CI components print in front of their marks (one definition; the templates spell it the same)."""

RUNNER_STREAM = 0
"""The stream number of what the runner itself writes (``StreamExecutorLevel`` in gitlab-runner's buildlogger)."""

SCRIPT_SECTIONS = frozenset({"step_script", "build_script"})
"""Names of the section that holds the job's script: ``step_script``, and ``build_script`` before runner 13.x."""

Edge = Literal["start", "end"]
MarkKind = Literal["greenhack", "section"]

# GitLab's own expression (lib/gitlab/ci/trace/stream.rb), anchored at the start of a line
_HEADER = re.compile(
    r"(\d{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z) ([0-9a-f]{2})([EO])([+ ])"
)
_HEADER_LENGTH = 32
# GitLab's section regex (prefix, options, the \r\e[0K suffix it always ends with)
_SECTION = re.compile(
    r"section_(start|end):(\d{1,12}):([a-zA-Z0-9_.-]+)(\[(?:\w+=\w+)(?:, ?(?:\w+=\w+))*\])?\r\x1b\[0K"
)
_MARK = re.compile(re.escape(MARK_PREFIX) + r":(start|end):([a-z][a-z0-9_-]{0,31}):(\d{1,12})(?:\.(\d{1,9}))?")
# what may precede a mark at the start of a line and still leave it "at the start": erase-line / colour escapes
_LEADING_NOISE = re.compile(r"(?:\x1b\[[0-9;]*[A-Za-z]|\r)*")


@dataclass(frozen=True)
class LogLine:
    """One line of a job log.

    Attributes:
        number: 1-based line number in the log.
        text: the line without its timestamp header and without the line feed (carriage returns kept).
        stamped_at: the runner's timestamp of the line (``FF_TIMESTAMPS``), or None in a log without them.
        stream: the runner's stream number (0: the runner, 1: the script), None without timestamps.
        stderr: the line came from stderr (``E``), None without timestamps.
        continuation: the line continues the previous one (``+``), as the runner writes after a ``\\r``.
    """

    number: int
    text: str
    stamped_at: datetime | None = None
    stream: int | None = None
    stderr: bool | None = None
    continuation: bool = False


@dataclass(frozen=True)
class LogMark:
    """A mark found in a job log: a greenhack mark or a section marker.

    Attributes:
        kind: ``greenhack`` (printed by the CI component) or ``section`` (written by the runner).
        edge: ``start`` or ``end``.
        name: the phase of a greenhack mark (``script``, ``train``, ``predict``) or the section's name.
        line: the log line it is on.
        printed_at: the time written inside the mark (truncated to the microsecond).
        printed_resolution_s: the resolution of that time: 1 s for a section marker, 10^-digits for a mark.
        stamped_at: the runner's timestamp of its line, when the mark opens the line (a mark after other text on
            the line was written later than that timestamp says, so it gets none).
        stream: the stream of its line (None without timestamps).
    """

    kind: MarkKind
    edge: Edge
    name: str
    line: int
    printed_at: datetime
    printed_resolution_s: float
    stamped_at: datetime | None
    stream: int | None


@dataclass(frozen=True)
class LogTail:
    """The end of a log too long to read whole: its last lines, from a whole line on.

    Attributes:
        text: the lines (the first one whole: the partial line the cut left is dropped).
        first_line: the 1-based number of its first line in the whole log (the lines skipped were counted).
    """

    text: str
    first_line: int


def _header(line: str) -> tuple[datetime, int, bool, bool] | None:
    match = _HEADER.match(line)
    if match is None:
        return None
    try:
        moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:  # shaped like a time but not one (month 19): not the runner's
        return None
    return moment, int(match.group(2), 16), match.group(3) == "E", match.group(4) == "+"


def _split(text: str) -> list[str]:
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    return raw_lines


def _lines(raw_lines: list[str], *, stamped: bool, first: int) -> list[LogLine]:
    lines: list[LogLine] = []
    for number, raw in enumerate(raw_lines, start=first):
        header = _header(raw) if stamped else None
        if header is None:
            lines.append(LogLine(number=number, text=raw))
            continue
        moment, stream, stderr, continuation = header
        lines.append(
            LogLine(
                number=number,
                text=raw[_HEADER_LENGTH:],
                stamped_at=moment,
                stream=stream,
                stderr=stderr,
                continuation=continuation,
            )
        )
    return lines


def parse_log(text: str, *, tail: LogTail | None = None) -> list[LogLine]:
    """Split a job log into lines, reading the runner's timestamp header of each when the log has them.

    The log is timestamped when its first line has a header (the runner writes that line before any of the job's
    output); headers on the lines of a log whose first line has none are the job's own text, not the runner's.
    ``text`` is the log, or its start when it was too long to read whole; then ``tail`` is its end, read by the
    same rule (the first line of the log decides) and numbered as in the whole log.
    """
    raw_lines = _split(text)
    stamped = bool(raw_lines) and _header(raw_lines[0]) is not None
    lines = _lines(raw_lines, stamped=stamped, first=1)
    if tail is not None:
        lines += _lines(_split(tail.text), stamped=stamped, first=tail.first_line)
    return lines


# A mark's time is its own text: twelve digits of seconds reach year 33658, past what a datetime holds, and a time
# in year 9999 overflows once a bound adds the second it names or a clock offset. Such a mark is no real time:
# it is read as the team's text (forged or garbled), like a mark without its suffix, and so never changes a window.
_LATEST_READABLE = datetime(9999, 1, 1, tzinfo=UTC)


def _unix(seconds: str, fraction: str | None) -> tuple[datetime, float] | None:
    """The time a mark prints and its resolution; None when it is no time a window could have."""
    digits = fraction or ""
    micro = int((digits + "000000")[:6]) if digits else 0
    try:
        moment = datetime.fromtimestamp(int(seconds), tz=UTC) + timedelta(microseconds=micro)
    except (OverflowError, OSError, ValueError):  # past year 9999 (or the platform's time_t)
        return None
    if moment >= _LATEST_READABLE:
        return None
    return moment, 10.0 ** -min(len(digits), 6) if digits else 1.0


def _opens_line(text: str, position: int) -> bool:
    return _LEADING_NOISE.fullmatch(text, 0, position) is not None


def find_marks(lines: list[LogLine]) -> list[LogMark]:
    """Every greenhack mark and every section marker in the log, in log order.

    Section markers on any stream but the runner's own (00) of a timestamped log are the job's text and are left
    out; without timestamps nothing tells them apart, so all are kept (the window rule makes a forged one harmless).
    A mark whose time is no real one (past year 9999: twelve digits allow year 33658) is left out too.
    """
    marks: list[LogMark] = []

    def add(
        kind: MarkKind, line: LogLine, match: re.Match[str], name: str, unix: tuple[datetime, float] | None
    ) -> None:
        if unix is None:  # no real time: the team's text, not a mark
            return
        marks.append(
            LogMark(
                kind=kind,
                edge="start" if match.group(1) == "start" else "end",
                name=name,
                line=line.number,
                printed_at=unix[0],
                printed_resolution_s=unix[1],
                stamped_at=line.stamped_at if _opens_line(line.text, match.start()) else None,
                stream=line.stream,
            )
        )

    for line in lines:
        for match in _SECTION.finditer(line.text):
            if line.stamped_at is None or line.stream == RUNNER_STREAM:
                add("section", line, match, match.group(3), _unix(match.group(2), None))
        for match in _MARK.finditer(line.text):
            add("greenhack", line, match, match.group(2), _unix(match.group(3), match.group(4)))
    marks.sort(key=lambda m: m.line)
    return marks


def format_mark(edge: Edge, phase: str, at: datetime) -> str:
    """A greenhack mark as the CI components print it (``date -u +%s.%N`` gives nine digits; six are kept here)."""
    if at.tzinfo is None:
        raise ValueError("a mark's time needs its UTC offset")
    utc = at.astimezone(UTC)
    return f"{MARK_PREFIX}:{edge}:{phase}:{calendar.timegm(utc.timetuple())}.{utc.microsecond:06d}"

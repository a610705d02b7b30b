"""Write a job log the way GitLab Runner writes one, for tests, benches and demos (the inverse of
:mod:`greenhack.gitlab.joblog`).

The shapes follow gitlab-runner's sources: each line behind the ``FF_TIMESTAMPS`` header
(``common/buildlogger/internal/timestamper/timestamper.go``: ``2021-01-01T01:00:00.020010Z 00O ``, the time truncated
to the microsecond; ``+`` after a write that ended in ``\\r``), the section markers on the runner's stream 00
(``helpers/build_section.go``: ``section_start:<unix s>:<name>\\r\\e[0K``), the stage headers in bold cyan
(``common/build.go``), and the job's output on stream 01. The greenhack marks are what the CI components print
(``ci-templates/``).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from greenhack.gitlab.joblog import format_mark

__all__ = ["LogTimes", "runner_log"]

_CLEAR = "\x1b[0K"
_CYAN = "\x1b[36;1m"
_RESET = "\x1b[0;m"


@dataclass(frozen=True)
class LogTimes:
    """When each part of a job happened, in the GPU server's clock (aware datetimes, in order).

    Attributes:
        started: the runner took the job (GitLab's ``started_at``, as far as the server's clock goes).
        command_start: the component's start mark, right before the team's command.
        command_end: the component's end mark, right after the team's command returned.
        finished: the runner reported the job finished (GitLab's ``finished_at``).
    """

    started: datetime
    command_start: datetime
    command_end: datetime
    finished: datetime

    def __post_init__(self) -> None:
        if not (self.started <= self.command_start < self.command_end <= self.finished):
            raise ValueError("times must be in order: started <= command_start < command_end <= finished")


def _unix_s(moment: datetime) -> int:
    return calendar.timegm(moment.astimezone(UTC).timetuple())


class _Writer:
    def __init__(self, *, timestamps: bool) -> None:
        self.timestamps = timestamps
        self.parts: list[str] = []
        self._continues: dict[int, bool] = {}

    def write(self, at: datetime, text: str, *, stream: int = 0, stderr: bool = False, raw: bool = False) -> None:
        """One write of the runner's timestamper: ``raw`` writes (a section marker) end in ``\\r`` with no line
        feed, so the runner adds one and marks the next entry of that stream as a continuation (``+``)."""
        if self.timestamps:
            stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            flag = "+" if self._continues.get(stream) else " "
            header = f"{stamp} {stream:02x}{'E' if stderr else 'O'}{flag}"
            self.parts.append(f"{header}{text}\n")
            self._continues[stream] = raw
        else:
            self.parts.append(text if raw else f"{text}\n")

    def section(self, at: datetime, edge: str, name: str) -> None:
        self.write(at, f"section_{edge}:{_unix_s(at)}:{name}\r{_CLEAR}", raw=True)

    def stage(self, at: datetime, text: str) -> None:
        self.write(at, f"{_CLEAR}{_CYAN}{text}{_RESET}")

    def text(self) -> str:
        return "".join(self.parts)


def runner_log(
    times: LogTimes,
    *,
    phase: str = "script",
    timestamps: bool = True,
    marks: bool = True,
    team_lines: Sequence[tuple[datetime, str]] = (),
    runner_version: str = "18.7.0",
    image: str = "nvcr.io/nvidia/pytorch:24.05-py3",
) -> str:
    """A successful submission job's log: executor preparation, sources, the script with the component's marks
    around the team's command (and the team's own lines between them), the artifact upload, ``Job succeeded``.

    Args:
        times: when each part happened, in the server's clock.
        phase: the phase the marks name (``script``, ``train``, ``predict``).
        timestamps: write the runner's ``FF_TIMESTAMPS`` headers (runner 17.0+ with the flag on).
        marks: print the greenhack marks (a component that prints none: older, or not greenhack's).
        team_lines: (moment, text) the team's command prints, on stream 01; text may hold anything, a forged
            mark included.
        runner_version: the version named on the first line.
        image: the job's image named by the executor.
    """
    w = _Writer(timestamps=timestamps)
    t = times
    setup_s = (t.command_start - t.started).total_seconds()

    def at(fraction: float) -> datetime:
        return t.started + timedelta(seconds=setup_s * fraction)

    w.write(t.started, f"{_CLEAR}Running with gitlab-runner {runner_version} (3a5f2314){_RESET}")
    w.write(t.started, f"{_CLEAR}  on gpu-1 glrt-t3_xS6Vzp, system ID: s_6b1e4f06fcfd{_RESET}")
    w.section(t.started, "start", "prepare_executor")
    w.stage(t.started, 'Preparing the "docker" executor')
    w.write(at(0.01), f"{_CLEAR}Using Docker executor with image {image} ...{_RESET}")
    w.write(at(0.02), f"{_CLEAR}Pulling docker image {image} ...{_RESET}")
    w.write(at(0.80), f"{_CLEAR}Using docker image sha256:f61098245d58 for {image} ...{_RESET}")
    w.section(at(0.80), "end", "prepare_executor")
    w.section(at(0.80), "start", "prepare_script")
    w.stage(at(0.80), "Preparing environment")
    w.write(at(0.82), "Running on runner-xs6vzpvoq-project-42-concurrent-0 via gpu-1...")
    w.section(at(0.84), "end", "prepare_script")
    w.section(at(0.84), "start", "get_sources")
    w.stage(at(0.84), "Getting source from Git repository")
    w.write(at(0.85), f"{_CLEAR}Fetching changes with git depth set to 1...{_RESET}")
    w.write(at(0.90), "Checking out 2293ada6 as detached HEAD (ref is main)...")
    w.section(at(0.92), "end", "get_sources")
    w.section(at(0.92), "start", "step_script")
    w.stage(at(0.92), 'Executing "step_script" stage of the job script')
    w.write(at(0.93), f"{_CLEAR}Using docker image sha256:f61098245d58 for {image} ...{_RESET}")
    w.write(at(0.95), f"\x1b[32;1m$ # --- greenhack submission (do not edit) --- # collapsed multi-line command{_RESET}")
    w.write(at(0.97), "greenhack: running the entry command (limit 20m); inputs in /srv/inputs; writing predictions.csv")
    if marks:
        w.write(t.command_start, "", stream=1)
        w.write(t.command_start, format_mark("start", phase, t.command_start), stream=1)
    for moment, line in sorted(team_lines, key=lambda x: x[0]):
        w.write(moment, line, stream=1)
    if marks:
        w.write(t.command_end, "", stream=1)
        w.write(t.command_end, format_mark("end", phase, t.command_end), stream=1)
    tail_s = (t.finished - t.command_end).total_seconds()

    def after(fraction: float) -> datetime:
        return t.command_end + timedelta(seconds=tail_s * fraction)

    w.write(after(0.01), "greenhack: wrote predictions.csv (2841 bytes)", stream=1)
    w.section(after(0.02), "end", "step_script")
    w.section(after(0.02), "start", "upload_artifacts_on_success")
    w.stage(after(0.02), "Uploading artifacts for successful job")
    w.write(after(0.05), f"\x1b[32;1mUploading artifacts...{_RESET}")
    w.write(after(0.10), f"predictions.csv: found 1 matching artifact files and directories {_RESET}")
    w.write(after(0.90), f"Uploading artifacts as \"archive\" to coordinator... 201 Created{_RESET}  id=7 responseStatus=201 Created")
    w.section(after(0.92), "end", "upload_artifacts_on_success")
    w.section(after(0.92), "start", "cleanup_file_variables")
    w.stage(after(0.92), "Cleaning up project directory and file based variables")
    w.section(after(0.98), "end", "cleanup_file_variables")
    w.write(t.finished, f"\x1b[32;1mJob succeeded{_RESET}")
    return w.text()

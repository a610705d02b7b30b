"""What was measured, where and on which clock, in words, written once: the submission page and the demo say it.

:func:`window_facts` gives one (term, text) line each for the server that ran the job and its hardware, the
window charged (the team's command read from the job log, or GitLab's whole job window, and why when it fell
back), GitLab's window, the server's clock against Prometheus's and the runner's overhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from greenhack.config import EventConfig, ServerConfig
from greenhack.store.views import MeasurementView, SubmissionSummary
from greenhack.units import format_number, format_quantity

__all__ = [
    "WindowFact",
    "bound_text",
    "charged_text",
    "clock_text",
    "hardware_text",
    "overhead_text",
    "window_facts",
]

_SOURCES = {
    "runner_timestamp": "the runner's timestamp of the mark's log line",
    "mark": "the time the CI component's mark prints",
    "section_marker": "the runner's step_script section marker",
    "api": "GitLab's API",
}


@dataclass(frozen=True)
class WindowFact:
    """One line of what was measured: a term (``Server``, ``Window measured``, ...) and its text."""

    term: str
    text: str


def hardware_text(server: ServerConfig) -> str:
    """``2 × Intel Xeon Gold 6248, 192 GB RAM, 1 × NVIDIA A100 80GB``."""
    hardware = server.hardware
    parts = [f"{hardware.cpu.units} × {hardware.cpu.name}", f"{format_number(hardware.ram_gb)} GB RAM"]
    if hardware.gpu is not None:
        parts.append(f"{hardware.gpu.units} × {hardware.gpu.name}")
    return ", ".join(parts)


def _resolution(resolution_s: float | None) -> str:
    if resolution_s is None:
        return ""
    if resolution_s >= 1.0:
        return f"{format_number(resolution_s)} s"
    if resolution_s >= 1e-3:
        return f"{format_number(resolution_s * 1e3)} ms"
    return f"{format_number(resolution_s * 1e6)} µs"


def bound_text(source: str | None, resolution_s: float | None) -> str:
    """Where a bound of the window came from and how finely it is known: ``the runner's timestamp ... (1 µs)``."""
    if source is None:
        return "unknown"
    where = _SOURCES.get(source, source)
    resolution = _resolution(resolution_s)
    return f"{where} ({resolution})" if resolution else where


def charged_text(kind: str | None, *, fallback: str | None = None, fallback_reason: str | None = None) -> str:
    """Which window the team was charged for, and why GitLab's stood in when it did."""
    if kind == "job":
        return "GitLab's whole job window (telemetry.window: job), the runner's housekeeping included"
    if kind != "script":
        return "GitLab's job window"
    if fallback is None:
        return "the team's command alone (the script window, from the marks in the job log)"
    return f"GitLab's window for what the log did not give ({fallback}): {fallback_reason or fallback}"


def clock_text(
    *,
    offset_s: float | None,
    uncertainty_s: float | None,
    note: str | None,
    ntp_synchronised: bool | None,
    ntp_offset_s: float | None,
    applied: bool = True,
) -> str:
    """The server's clock against Prometheus's (server minus Prometheus), and its NTP health; ``applied``: a bound
    of the window came from the job log (the server's clock), so the offset shifted it."""
    if offset_s is None:
        text = f"offset unknown ({note or 'not measured'})"
        text += ": the window's log times were not shifted" if applied else ""
    else:
        bound = f" ± {format_number(uncertainty_s * 1e3)} ms" if uncertainty_s is not None else ""
        sign = "+" if offset_s >= 0 else "−"
        text = f"{sign}{format_number(abs(offset_s) * 1e3)} ms{bound} from Prometheus's (node_exporter)"
        text += (
            "; the window's log times were shifted by it"
            if applied
            else "; not applied: GitLab's window is on GitLab's clock"
        )
    if ntp_synchronised is not None:
        text += "; NTP synchronised" if ntp_synchronised else "; NTP NOT synchronised"
        if ntp_offset_s is not None:
            text += f" (kernel offset {format_number(ntp_offset_s * 1e3)} ms)"
    return text


def overhead_text(energy_j: float | None, *, duration_s: float | None = None, valid: bool | None = None) -> str:
    """The runner's overhead: measured, the organisers', not charged to the team."""
    if energy_j is None:
        return "not measured (GitLab's whole window is charged, or its telemetry was missing)"
    during = f" over {format_number(duration_s)} s" if duration_s is not None else ""
    # a 4 s upload between two 5 s scrapes has no sample of its own: part of it is inferred from its neighbours
    doubt = " (partly inferred between samples: an estimate)" if valid is False else ""
    return (
        f"{format_quantity(energy_j, 'J')}{during} before and after the team's command (preparing the executor, "
        f"cloning, uploading){doubt}: the organisers pay for it, the team is not charged"
    )


def _span(start: datetime | None, end: datetime | None, duration_s: float | None) -> str:
    def moment(value: datetime | None) -> str:
        return value.isoformat(timespec="milliseconds") if value is not None else "–"

    length = f" ({format_number(duration_s)} s)" if duration_s is not None else ""
    return f"{moment(start)} → {moment(end)}{length}"


def _from_log(submission: SubmissionSummary) -> bool:
    """Whether a bound of the charged window came from the job log (the server's clock)."""
    sources = (submission.script_start_source, submission.script_end_source)
    return submission.window_kind == "script" and any(s not in (None, "api") for s in sources)


def window_facts(
    submission: SubmissionSummary, measurement: MeasurementView | None, *, config: EventConfig
) -> list[WindowFact]:
    """The lines of what was measured for one submission (none before it was tied to a server)."""
    if submission.server is None:
        return []
    facts: list[WindowFact] = []
    server = next((s for s in config.servers if s.name == submission.server), None)
    hardware = f": {hardware_text(server)}" if server is not None else ""
    facts.append(WindowFact("Server", f"{submission.server}{hardware} (its GitLab runner ran the job)"))
    charged = charged_text(
        submission.window_kind,
        fallback=submission.window_fallback,
        fallback_reason=submission.window_fallback_reason,
    )
    if measurement is not None:
        charged += "; measured " + _span(measurement.start, measurement.end, measurement.duration_s)
        charged += " on Prometheus's clock"
    facts.append(WindowFact("Window measured", charged))
    if submission.window_kind == "script" and submission.script_start is not None:
        facts.append(
            WindowFact(
                "Its bounds",
                f"start from {bound_text(submission.script_start_source, submission.script_start_resolution_s)}"
                f", end from {bound_text(submission.script_end_source, submission.script_end_resolution_s)}",
            )
        )
    if submission.window_start is not None and submission.window_end is not None:
        gitlab_s = (submission.window_end - submission.window_start).total_seconds()
        facts.append(
            WindowFact(
                "GitLab's job window",
                _span(submission.window_start, submission.window_end, gitlab_s) + " (started_at → finished_at)",
            )
        )
    if measurement is not None:
        facts.append(
            WindowFact(
                "Server clock",
                clock_text(
                    offset_s=measurement.clock_offset_s,
                    uncertainty_s=measurement.clock_offset_uncertainty_s,
                    note=measurement.clock_offset_note,
                    ntp_synchronised=measurement.ntp_synchronised,
                    ntp_offset_s=measurement.ntp_offset_s,
                    applied=_from_log(submission),
                ),
            )
        )
        if submission.window_kind == "script":
            facts.append(
                WindowFact(
                    "Runner overhead",
                    overhead_text(
                        submission.overhead_energy_j,
                        duration_s=measurement.overhead_duration_s,
                        valid=measurement.overhead_valid,
                    ),
                )
            )
    return facts

"""Plain-text views of the demo's outcome for the terminal: the jobs as measured and as evaluated, the board, and
the command that serves the board again later."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

from greenhack.demo.event import DemoOutcome
from greenhack.factsheet import answer_text
from greenhack.store.views import BoardEntry, SubmissionSummary
from greenhack.units import CRITERION_UNITS, Scale, pick_scale

__all__ = ["board_lines", "greenhack_command", "run_lines", "serve_command", "window_lines"]


def _cell(scale: Scale, value: float | None) -> str:
    return "-" if value is None else scale.number(value)


def _impact_unit(rows: Iterable[BoardEntry | SubmissionSummary]) -> str:
    """The unit the rows' impacts are stored in (the event's criterion's, greenhack.units.CRITERION_UNITS)."""
    return next((r.impact_unit for r in rows if r.impact_unit), CRITERION_UNITS["gwp"])


def run_lines(outcome: DemoOutcome) -> list[str]:
    """Each job: the energy measured locally next to the energy the platform got from telemetry, and its status."""
    by_job = {s.gitlab_job_id: s for s in outcome.submissions}
    # one unit per column (greenhack.units), named in the header
    carbon = pick_scale([s.impact_total for s in outcome.submissions], _impact_unit(outcome.submissions))
    lines = [
        "",
        (f"jobs (the team's command: energy measured on this machine | as the platform integrated it from "
         f"{outcome.telemetry} telemetry over the script window; the runner's housekeeping around it, measured "
         "and not charged):"),
        f"  {'team':<15} {'measured J':>10} {'platform J':>10} {'window s':>8} {'of job s':>8} "
        f"{'overhead J':>10} {carbon.unit:>8}  status",
    ]
    phased = any(run.phase for run in outcome.runs)
    for run in outcome.runs:
        sub = by_job.get(run.job_id)
        platform = f"{sub.energy_j:10.1f}" if sub is not None and sub.energy_j is not None else f"{'-':>10}"
        status = "not queued" if sub is None else sub.status + (f": {sub.reason}" if sub.reason else "")
        if phased:
            status += f" (phase {run.phase})"
        gwp = _cell(carbon, sub.impact_total) if sub is not None else "-"
        window = f"{sub.duration_s:8.2f}" if sub is not None and sub.duration_s is not None else f"{'-':>8}"
        job_s = "-"
        if sub is not None and sub.window_start is not None and sub.window_end is not None:
            job_s = f"{(sub.window_end - sub.window_start).total_seconds():.2f}"
        overhead = (f"{sub.overhead_energy_j:10.1f}" if sub is not None and sub.overhead_energy_j is not None
                    else f"{'-':>10}")
        lines.append(f"  {run.team.name:<15} {run.report.total_energy_j:10.1f} {platform} {window} {job_s:>8} "
                     f"{overhead} {gwp:>8}  {status}")
    lines.extend(window_lines(outcome))
    if outcome.telemetry == "prometheus":
        lines.append("  (Prometheus scraped the host's exporter every second while the jobs ran; a job of a few seconds "
                     "differs by a few % from its measurement: its first and last second are reconstructed from "
                     "the samples around its edges, stamped with Prometheus's scrape times)")
    else:
        lines.append("  (the platform integrated the exporter's samples as Prometheus would have stored them)")
    lines.append(f"  impacts from {outcome.impacts_from}")
    return lines


def window_lines(outcome: DemoOutcome) -> list[str]:
    """What window the platform measured: the script window read from each job's log (or why it fell back)."""
    kinds = {s.window_kind for s in outcome.submissions if s.window_kind is not None}
    fallbacks = sorted({s.window_fallback for s in outcome.submissions if s.window_fallback is not None})
    overhead_j = sum(s.overhead_energy_j or 0.0 for s in outcome.submissions)
    local_j = sum(run.overhead_j for run in outcome.runs)
    lines: list[str] = []
    if kinds == {"script"} and not fallbacks:
        lines.append(
            "  the platform charged each team for its command alone: the script window (telemetry.window: script) "
            "between the CI component's marks in the job log, stamped by the runner (FF_TIMESTAMPS), inside GitLab's "
            "job window"
        )
    else:
        lines.append(f"  windows measured: {', '.join(sorted(kinds)) or 'none'}"
                     + (f"; fell back to GitLab's window: {', '.join(fallbacks)}" if fallbacks else ""))
    charged_j = sum(s.energy_j or 0.0 for s in outcome.submissions)
    lines.append(
        f"  runner overhead (preparation and upload, inside GitLab's windows, outside the script windows): "
        f"{overhead_j:.1f} J as the platform measured it ({local_j:.1f} J on this machine), not charged to the teams"
        + (f"; charging GitLab's whole job windows (telemetry.window: job) would add {overhead_j / charged_j:.0%} "
           "to the teams' energy" if charged_j > 0 else "")
    )
    return lines


def board_lines(outcome: DemoOutcome) -> list[str]:
    """The live board as the web page shows it: rank, team, public accuracy, energy, impact, score; an event with
    phases prints each phase's live board, the last one's per-1k and fact sheet lines after it."""
    lines: list[str] = []
    for phase, board in outcome.phase_boards[:-1]:
        lines += _live_board_lines(board, f"board (live): phase {phase!r}, closed")
    if outcome.phase_boards:
        lines += _live_board_lines(outcome.board, f"board (live): phase {outcome.phase_boards[-1][0]!r}, open")
    else:
        lines += _live_board_lines(outcome.board, "board (live):")
    lines += _per_1k_and_factsheet_lines(outcome)
    return lines


def _live_board_lines(board: tuple[BoardEntry, ...], title: str) -> list[str]:
    carbon = pick_scale([e.impact_total for e in board], _impact_unit(board))
    header = f"  {'rank':>4}  {'team':<15} {'accuracy':>8} {'energy J':>9} {carbon.unit:>8} {'score':>6}  note"
    lines = ["", title, header]
    for entry in board:
        rank = "-" if entry.rank is None else str(entry.rank)
        perf = "-" if entry.performance is None else f"{entry.performance:.4f}"
        energy = "-" if entry.energy_j is None else f"{entry.energy_j:.1f}"
        score = "-" if entry.score is None else f"{entry.score:.3f}"
        lines.append(f"  {rank:>4}  {entry.team_name:<15} {perf:>8} {energy:>9} {_cell(carbon, entry.impact_total):>8} "
                     f"{score:>6}  {entry.note or ''}")
    if not board:
        lines.append("  (no submission could be ranked)")
    for entry in board:
        if entry.baseline:
            lines.append(f"  [Baseline] {entry.team_name}: the organisers' reference, listed, never ranked")
    compared = [f"{e.team_name} {e.vs_baselines[0].text}" for e in board if e.vs_baselines]
    if compared:
        lines.append(f"  against the baseline: {'; '.join(compared)}")
    return lines


def _per_1k_and_factsheet_lines(outcome: DemoOutcome) -> list[str]:
    """The board's per-1,000-predictions energy and its fact sheet columns, one line each."""
    rows = [e for e in outcome.board if e.energy_wh_per_1k is not None]
    if not rows:
        return []
    per_1k = pick_scale([e.energy_wh_per_1k for e in rows], "Wh")
    figures = ", ".join(f"{e.team_name} {per_1k.number(e.energy_wh_per_1k)}" for e in rows)
    lines = [f"  energy per 1,000 predictions ({per_1k.unit}): {figures}"]
    answered = [e for e in outcome.board if e.factsheet_answers]
    if answered:
        shown = "; ".join(
            f"{e.team_name}: " + ", ".join(f"{k} {answer_text(v)}" for k, v in (e.factsheet_answers or {}).items())
            for e in answered
        )
        lines.append(f"  fact sheets: {shown} (the other teams kept none)")
    return lines


def greenhack_command(argv0: str | None = None) -> list[str]:
    """How to run greenhack again as this process was run, wherever the shell's PATH points: the console script
    by its absolute path (``./scripts/demo.sh`` runs ``.venv/bin/greenhack``, which is not on PATH), or this
    Python with ``-m greenhack``."""
    program = Path(argv0 if argv0 is not None else sys.argv[0])
    if program.name == "greenhack" and program.is_file() and os.access(program, os.X_OK):
        return [str(program.resolve())]
    return [sys.executable, "-m", "greenhack"]


def serve_command(*, database_url: str, event_yaml: Path, port: int, argv0: str | None = None) -> str:
    """The shell command that serves the demo's board again, as it can be pasted."""
    words = [*greenhack_command(argv0), "serve", "--config", str(event_yaml.resolve()), "--port", str(port)]
    return f"GREENHACK_DATABASE_URL={shlex.quote(database_url)} " + " ".join(shlex.quote(w) for w in words)

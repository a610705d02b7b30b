"""The demo event, end to end: teams push, their jobs run measured, the platform evaluates and ranks them.

1. The teams' public data (scikit-learn's bundled digits, a fixed split) is written for the jobs.
2. Each team's ``submission.py`` runs as its CI job would, measured with :func:`greenhack.measure.run_measured`
   (RAPL when readable, else the CPU-time estimate); the simulated Scaphandre exporter serves that power live.
   Around it, the runner's housekeeping runs measured too: its preparation (loading the job's libraries, as an
   executor starts the job's image) and the artifact's upload (archiving the predictions).
3. Each run is recorded in the stand-in GitLab as a finished job: its window (preparation to upload), the event
   runner's tags, its ``predictions.csv`` artifact, and its log as GitLab Runner writes it, with the CI
   component's marks right before and after the team's command (:func:`greenhack.testing.runner_log.runner_log`).
4. The platform's reconciler finds the finished jobs in GitLab and queues them; the platform's worker evaluates
   each one (:func:`greenhack.evaluation.run_evaluation`: the script window from the job log -> Prometheus energy
   of the command alone, the housekeeping as overhead -> BoaviztAPI impacts -> predictions vs hidden truth) and
   stores and ranks them, exactly as in production.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from greenhack.competition import event_phases
from greenhack.demo.dataset import digits_split, write_public_data
from greenhack.demo.stack import DemoStack
from greenhack.demo.teams import DEMO_BASELINE, DemoTeam, team_factsheet, team_script
from greenhack.demo.telemetry import SimulatedPrometheus
from greenhack.errors import ServiceError
from greenhack.measure import MeasureOptions, MeasureReport, Progress, run_measured
from greenhack.reconciler import reconcile
from greenhack.status import FINAL_STATUSES
from greenhack.store import crud, queries
from greenhack.store.board_scope import board_scope
from greenhack.store.db import create_db_engine, make_session_factory, transaction
from greenhack.store.models import utcnow
from greenhack.store.views import BoardEntry, SubmissionSummary
from greenhack.telemetry import TelemetrySource
from greenhack.testing.runner_log import LogTimes, runner_log
from greenhack.web.boards import compare_with_board_baselines
from greenhack.wiring import build_services
from greenhack.worker import Worker, WorkerOptions

__all__ = ["DemoOutcome", "Say", "TeamRun", "evaluate_jobs", "run_demo_event", "run_team"]

Say = Callable[[str], None]

# scrape intervals between two teams' jobs: the server idles in between, as between CI jobs, and no scrape
# interval holds the end of one job and the start of the next (bench/demo_energy_agreement.py: from 2 intervals
# on, the platform's energy of a job is exact; at half an interval, 5 % is moved between neighbours)
_GAP_INTERVALS = 2.5
# teams of the demo's practice round, and how long after its last job the practice phase closes; a job is
# created a few seconds before its runner starts it (the stand-in GitLab: 3 s), so the final round waits past that
_PRACTICE_TEAMS = 2
_BOUNDARY_MARGIN_S = 0.5
_JOB_CREATED_BEFORE_START_S = 3.5
# seconds the demo waits, at most, for every queued job to reach a final status
_EVALUATION_DEADLINE_S = 120.0


@dataclass(frozen=True)
class TeamRun:
    """One team's job: the GitLab ids it was recorded under, the local measurement of its command, and of the
    runner's housekeeping around it (``preparation``: loading the job's libraries, as an executor starts its image;
    ``upload``: archiving the predictions artifact)."""

    team: DemoTeam
    project_id: int
    job_id: int
    report: MeasureReport
    preparation: MeasureReport | None = None
    upload: MeasureReport | None = None
    phase: str = ""  # the event's phase the job was created in

    @property
    def overhead_j(self) -> float:
        """The housekeeping's energy as measured on this machine, joules."""
        return sum(r.total_energy_j for r in (self.preparation, self.upload) if r is not None)


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo event produced.

    Attributes:
        runs: every team's job, in the order they ran.
        submissions: the platform's view of each submission (status, energy, impact).
        board: the live board's lines (ranked first) of the phase open at the end (the final phase).
        telemetry: ``prometheus`` or ``simulated`` (no Prometheus binary).
        impacts_from: ``BoaviztAPI <url>`` or the factor snapshot.
        event_id: the event's id in the store.
        phase_boards: each phase's live board, phases in time order (name, lines); empty for an event without
            phases.
    """

    runs: tuple[TeamRun, ...]
    submissions: tuple[SubmissionSummary, ...]
    board: tuple[BoardEntry, ...]
    telemetry: str
    impacts_from: str
    event_id: int
    phase_boards: tuple[tuple[str, tuple[BoardEntry, ...]], ...] = ()



# the runner's housekeeping around the team's command, run for real: loading the libraries the job's image holds
# (an executor's preparation, CPU busy), and archiving the predictions as the runner uploads its artifact
_PREPARE = ("-c", "import numpy, sklearn.ensemble, sklearn.linear_model, sklearn.svm")
_UPLOAD = ("-m", "zipfile", "-c", "artifacts.zip")


def _measured(stack: DemoStack, command: Sequence[str], *, cwd: Path, log_file: BinaryIO) -> MeasureReport:
    """Run one part of a job measured, and give its power to the simulated exporter (and the live one)."""
    readings: list[tuple[float, float]] = []

    def on_progress(progress: Progress) -> None:
        readings.append((progress.elapsed_s, progress.cpu_energy_j + (progress.gpu_energy_j or 0.0)))

    def on_start(read_now: Callable[[], Progress]) -> None:
        if stack.live is not None:  # Prometheus scrapes the job's meters live
            stack.live.job_started(read_now)

    report = run_measured(
        list(command),
        options=MeasureOptions(interval_s=0.25, cwd=cwd, stdout=log_file, stderr=log_file, new_session=True),
        on_progress=on_progress,
        on_start=on_start,
    )
    if stack.live is not None:
        stack.live.job_finished(report.total_energy_j)
    begin_s = report.started_at.timestamp()
    stack.trace.finished(begin_s, report.finished_at.timestamp(), [(begin_s + t, e) for t, e in readings],
                         report.total_energy_j)
    stack.publish_trace()
    return report


def run_team(
    stack: DemoStack, team: DemoTeam, *, project_id: int, runner_id: int, say: Say, phase: str = ""
) -> TeamRun:
    """Run one team's submission as its CI job, measured (the runner's preparation, the team's command, the
    artifact's upload), and record the job in GitLab with the runner's log: the CI component's marks around the
    command, which the platform measures alone (``telemetry.window: script``)."""
    job_dir = stack.options.workdir / "jobs" / phase / team.name
    job_dir.mkdir(parents=True)
    shutil.copyfile(team_script(stack.options.event_dir, team), job_dir / "submission.py")
    public = stack.options.workdir / "public"
    predictions = job_dir / stack.config.task.predictions
    with (job_dir / "job.log").open("wb") as log_file:
        preparation = _measured(stack, [sys.executable, *_PREPARE], cwd=job_dir, log_file=log_file)
        report = _measured(stack, [sys.executable, "submission.py", str(public.resolve()), str(predictions.name)],
                           cwd=job_dir, log_file=log_file)
        ok = report.exit_code == 0
        upload = None
        if ok and predictions.is_file():
            upload = _measured(stack, [sys.executable, *_UPLOAD, predictions.name], cwd=job_dir, log_file=log_file)
    finished_at = (upload or report).finished_at
    artifacts = {stack.config.task.predictions: predictions.read_bytes()} if predictions.is_file() else {}
    artifacts.update(team_factsheet(stack.options.event_dir, team, stack.config))
    log = runner_log(
        LogTimes(started=preparation.started_at, command_start=report.started_at, command_end=report.finished_at,
                 finished=finished_at),
        image=f"python:{sys.version_info.major}.{sys.version_info.minor}",
    )  # fmt: skip
    job = stack.gitlab.run_job(
        project_id,
        name=stack.config.gitlab.submission_jobs[0] if stack.config.gitlab else "submission",
        status="success" if ok else "failed",
        failure_reason=None if ok else "script_failure",
        started_at=preparation.started_at,
        finished_at=finished_at,
        runner_id=runner_id,
        tags=stack.server.runner_tags,
        artifacts=artifacts,
        log=log,
    )
    say(
        f"  {team.name:<15} {team.model:<38} {report.duration_s:5.1f} s  {report.total_energy_j:7.1f} J "
        f"({report.cpu_source})" + ("" if ok else f"  exit {report.exit_code}: see {job_dir / 'job.log'}")
    )
    return TeamRun(team, project_id, int(job["id"]), report, preparation, upload, phase)


def _simulated_telemetry(stack: DemoStack, runs: Sequence[TeamRun]) -> TelemetrySource | None:
    """None when Prometheus runs (the platform reads it at the settings' address); otherwise the simulated
    exporter's samples as Prometheus would have stored them."""
    if stack.prometheus is not None:
        return None
    interval_s = stack.config.scrape_interval_for(stack.server).total_seconds()
    first = min((r.preparation or r.report).started_at.timestamp() for r in runs)
    last = max((r.upload or r.report).finished_at.timestamp() for r in runs)
    return SimulatedPrometheus([stack.sim], start_s=first - 60.0, end_s=last + 120.0, interval_s=interval_s)


def evaluate_jobs(stack: DemoStack, runs: Sequence[TeamRun], *, say: Say) -> DemoOutcome:
    """The platform's part: reconcile GitLab into the queue, evaluate every job, rank, and read the board back."""
    config, settings = stack.config, stack.settings
    engine = create_db_engine(settings.database_url)
    try:
        sessions = make_session_factory(engine)
        telemetry_kind = "prometheus" if stack.prometheus is not None else "simulated"
        services = build_services(config, settings, telemetry=_simulated_telemetry(stack, runs))
        found = reconcile(config=config, gitlab=services.gitlab, sessions=sessions, now=utcnow())
        say(f"  the reconciler found {found.jobs_seen} finished jobs in GitLab and queued {len(found.queued)}")

        ctx = services.evaluation_context(scrape_wait_s=20.0)
        with transaction(sessions, "reading the demo event") as session:
            event_id = crud.ensure_event(session=session, name=config.event.name).id
        worker = Worker(
            ctx=ctx,
            sessions=sessions,
            event_id=event_id,
            options=WorkerOptions(name="demo-worker", lease_s=120.0, max_attempts=4, base_delay_s=1.0, jitter=0.0),
        )
        deadline = time.monotonic() + _EVALUATION_DEADLINE_S
        while True:
            if worker.run_once():
                continue
            with transaction(sessions, "reading the queue") as session:
                pending = [s for s in queries.list_submissions(session=session, event_id=event_id)
                           if s.status not in FINAL_STATUSES]
            if not pending:
                break
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{len(pending)} demo job(s) still not evaluated after {_EVALUATION_DEADLINE_S:.0f} s: "
                    + "; ".join(f"job {s.gitlab_job_id}: {s.status} {s.reason or ''}" for s in pending)
                )
            time.sleep(0.25)
        services.close()
        with transaction(sessions, "reading the demo board") as session:
            submissions = tuple(queries.list_submissions(session=session, event_id=event_id))
            phase_boards = tuple(
                (phase.name, tuple(queries.board(
                    session=session, event_id=event_id, board_name="live", phase=phase.name,
                    scope=board_scope(config, phase=phase.name, track=""),
                )))
                for phase in event_phases(config)
            )  # fmt: skip
            # each team against the baseline
            phase_boards = tuple((name, tuple(compare_with_board_baselines(list(rows), config)))
                                 for name, rows in phase_boards)  # fmt: skip
            board = phase_boards[-1][1]
    finally:
        engine.dispose()
    impacts_from = (f"BoaviztAPI at {stack.boavizta.url}" if stack.boavizta is not None
                    else "the shipped BoaviztAPI 2.5.0 factor snapshot")
    return DemoOutcome(
        tuple(runs),
        submissions,
        board,
        telemetry_kind,
        impacts_from,
        event_id,
        phase_boards if config.phases else (),
    )


def run_demo_event(
    stack: DemoStack, teams: Sequence[DemoTeam], *, say: Say, baselines: Sequence[DemoTeam] = (DEMO_BASELINE,)
) -> DemoOutcome:
    """Write the teams' data, run the organisers' baselines' jobs and then every team's, measured, then let the
    platform evaluate and rank them (the baselines listed, never ranked)."""
    split = digits_split()
    write_public_data(split, stack.options.workdir / "public")
    group = stack.gitlab.create_group(stack.config.gitlab.group if stack.config.gitlab else "greenhack-demo")
    runner_id = stack.gitlab.add_runner(f"{stack.server.name} runner", tags=stack.server.runner_tags)
    stack.wait_for_first_scrape()
    gap_s = _GAP_INTERVALS * stack.config.scrape_interval_for(stack.server).total_seconds()
    projects: dict[str, int] = {}
    runs: list[TeamRun] = []

    def push(round_teams: Sequence[DemoTeam], phase: str) -> None:
        for team in round_teams:
            if runs:
                time.sleep(gap_s)
            if team.name not in projects:
                projects[team.name] = int(stack.gitlab.create_project(team.name, namespace_id=int(group["id"]))["id"])
            runs.append(run_team(stack, team, project_id=projects[team.name], runner_id=runner_id, say=say,
                                 phase=phase))  # fmt: skip

    phases = [phase.name for phase in stack.config.phases]
    if len(phases) == 2:
        # the practice round: the first teams try the practice phase; the phase closes once their jobs ran
        # (greenhack.demo.phases), a little after, so that no later job's creation time falls before it
        say(f"teams push in phase {phases[0]!r} ({len(teams[:_PRACTICE_TEAMS])} team(s) try the practice phase); "
            f"each job runs measured on {stack.server.name} (this machine):")
        push(teams[:_PRACTICE_TEAMS], phases[0])
        boundary = utcnow() + timedelta(seconds=_BOUNDARY_MARGIN_S)
        time.sleep(_BOUNDARY_MARGIN_S + _JOB_CREATED_BEFORE_START_S)
        stack.date_phases(boundary)
        say(f"teams push in phase {phases[1]!r} (opened at {boundary:%H:%M:%S} UTC): every team submits:")
        push([*baselines, *teams], phases[1])  # the organisers' baselines run first, in the final phase
    else:
        say(f"teams push; each job runs measured on {stack.server.name} (this machine):")
        push([*baselines, *teams], "")
    say("the platform evaluates the jobs (the script window between the marks in each job log -> energy from "
        "telemetry -> impacts -> scores):")
    return evaluate_jobs(stack, runs, say=say)

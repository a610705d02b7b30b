"""The flow of one evaluation, in DESIGN.md's order: one function, :func:`run_evaluation`.

1. JobWindow    ← GitLab API (platform token): status, started_at, finished_at, runner, tags → server
2. Energy       ← Prometheus, once it has scraped past the end of the window
3. Impacts      ← BoaviztAPI factors × measured energy and duration
4. Performance  ← the predictions artifact (size-limited download) vs the hidden truth
5. Score/ranking and 6. store are done by the caller (:mod:`greenhack.worker`), which owns the database.

Each step is a typed call; errors that may pass (GitLab/Prometheus/BoaviztAPI unavailable, a job GitLab still
reports as running, telemetry not scraped yet) propagate for the caller to retry. Everything else ends in an
:class:`EvaluationOutcome` with a final status and a reason the team and the admins can read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from greenhack.config import EventConfig, ServerConfig
from greenhack.errors import (
    ArtifactTooLarge,
    GitLabError,
    GitLabUnavailable,
    HardwareNameError,
    JobNotFinished,
    JobNotMeasurable,
    NoSamplesError,
    PrometheusUnavailable,
    TelemetryError,
    TelemetryNotReady,
)
from greenhack.gitlab.models import CiJob
from greenhack.impacts import ImpactSource, JobImpacts
from greenhack.scoring.evaluate import score_predictions
from greenhack.scoring.models import Performance, Split, Truth
from greenhack.scoring.phases import phase_of
from greenhack.telemetry import (
    IdleBaselines,
    JobEnergy,
    TelemetrySource,
    attributed_energy_j,
    measure_energy,
    ready_margin,
)
from greenhack.telemetry.estimate import GAP_FACTOR
from greenhack.telemetry.profiles import SCAPHANDRE, gpu_profile

__all__ = [
    "EvaluationContext",
    "EvaluationOutcome",
    "GitLabJobs",
    "JobWindow",
    "Status",
    "job_window",
    "run_evaluation",
    "wait_for_scrape",
]

log = logging.getLogger(__name__)

Status = Literal["scored", "invalid", "needs_review", "failed"]

# GitLab failure reasons that are the platform's doing, not the team's: the job is recorded as failed and does
# not use up one of the team's daily submissions.
_PLATFORM_FAILURES = frozenset(
    {
        "runner_system_failure",
        "api_failure",
        "scheduler_failure",
        "data_integrity_failure",
        "runner_unsupported",
    }
)


class GitLabJobs(Protocol):
    """What an evaluation asks GitLab (:class:`~greenhack.gitlab.gateway.GitLabGateway` implements it)."""

    def job(self, project: int | str, job_id: int) -> CiJob: ...

    def download_artifact(self, project: int | str, job_id: int, path: str, *, max_bytes: int) -> bytes: ...


@dataclass(frozen=True)
class EvaluationContext:
    """Everything an evaluation reads, built once per worker process.

    Attributes:
        config: the event.
        gitlab: the GitLab gateway (platform token).
        telemetry: the Prometheus client.
        impacts: the impact calculator (BoaviztAPI factors, cached).
        truth: the hidden truth, and split: its public/private rows.
        now: the clock (tests inject one).
        sleep: how to wait (tests inject one).
        scrape_wait_s: how long one attempt waits for Prometheus to scrape past the window, in seconds.
        scrape_deadline_s: after this many seconds past the window's end, measure whatever Prometheus has (gaps
            then show as problems and the job goes to review) instead of waiting for more.
        idle: each server's idle power, for ``impact.idle: subtract`` (measured once per server).
    """

    config: EventConfig
    gitlab: GitLabJobs
    telemetry: TelemetrySource
    impacts: ImpactSource
    truth: Truth
    split: Split
    now: Callable[[], datetime]
    sleep: Callable[[float], None] = time.sleep
    scrape_wait_s: float = 30.0
    scrape_deadline_s: float = 600.0
    idle: IdleBaselines = field(default_factory=IdleBaselines)


@dataclass(frozen=True)
class JobWindow:
    """The measured job: which server, from when to when (GitLab's times, never the team's)."""

    job: CiJob
    server: ServerConfig
    start: datetime
    end: datetime

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class EvaluationOutcome:
    """The result of one evaluation, to be stored: a final status, a reason when not scored, and what was
    measured and computed along the way (None where the flow stopped before)."""

    status: Status
    reason: str | None
    job: CiJob
    window: JobWindow | None = None
    energy: JobEnergy | None = None
    impacts: JobImpacts | None = None
    performance: Performance | None = None
    problems: tuple[str, ...] = field(default=())
    # the server's idle power subtracted from the energy before impacts (impact.idle: subtract), in W
    idle_power_w: float | None = None


def job_window(job: CiJob, config: EventConfig) -> JobWindow:
    """Tie a finished job to one measured server and its window.

    The server is the one whose ``runner_tags`` the job's ``tag_list`` names; the runner GitLab says took the job
    must exist and must not be a project runner (a team's Maintainer could register one with the event's tag).

    Raises:
        JobNotMeasurable: no start/finish time, no runner, no measured tag, tags of two servers, or a project
            runner.
    """
    if job.started_at is None or job.finished_at is None:
        raise JobNotMeasurable(f"job {job.id}: GitLab gives no start or finish time, so there is no window")
    if job.finished_at <= job.started_at:
        raise JobNotMeasurable(f"job {job.id}: finish {job.finished_at} is not after start {job.started_at}")
    tags = set(job.tag_list)
    servers = [s for s in config.servers if tags & set(s.runner_tags)]
    if not servers:
        known = ", ".join(sorted({t for s in config.servers for t in s.runner_tags}))
        raise JobNotMeasurable(
            f"job {job.id} ran with tags {sorted(tags)}, none of which sends jobs to a measured server ({known})"
        )
    if len(servers) > 1:
        names = ", ".join(s.name for s in servers)
        raise JobNotMeasurable(f"job {job.id} has tags of several servers ({names}); it cannot be attributed")
    if job.runner is None:
        raise JobNotMeasurable(f"job {job.id}: GitLab names no runner for it")
    if job.runner.runner_type == "project_type":
        raise JobNotMeasurable(
            f"job {job.id} ran on project runner #{job.runner.id} ({job.runner.description!r}), not on the "
            "event's group or instance runner"
        )
    return JobWindow(job=job, server=servers[0], start=job.started_at, end=job.finished_at)


def wait_for_scrape(window: JobWindow, ctx: EvaluationContext) -> None:
    """Return once Prometheus holds, from every exporter of the server, the samples past the window's end that the
    estimators use (:data:`~greenhack.telemetry.measure.SAMPLES_PAST_END`: the newest sample at least
    :func:`~greenhack.telemetry.measure.ready_margin` past the end), and no more: at 5 s scrapes that is 5 to 10 s
    after the end (at most ``SAMPLES_PAST_END`` scrape intervals).

    Raises:
        TelemetryNotReady: not yet, after waiting ``ctx.scrape_wait_s`` (the caller retries later); past
            ``ctx.scrape_deadline_s`` after the window it returns anyway, and gaps are judged by the measurement.
        PrometheusUnavailable: Prometheus did not answer.
    """
    interval = ctx.config.scrape_interval_for(window.server)
    needed = window.end + ready_margin(interval)
    server = window.server
    # each exporter is scraped at its own phase: wait for the live one scraped least recently (one that fell
    # silent, GAP_FACTOR intervals behind the other, is down: the measurement reports it, waiting cannot help)
    selectors = [f"{SCAPHANDRE.power_metric}{server.scaphandre}"]
    if server.gpu is not None:
        selectors.append(f"{gpu_profile(server.gpu_exporter).power_metric}{server.gpu}")
    waited_s = 0.0
    while True:
        newest = [t for t in (ctx.telemetry.latest_sample_time(sel) for sel in selectors) if t is not None]
        live = [t for t in newest if t >= max(newest) - GAP_FACTOR * interval]
        latest = min(live) if live else None
        if latest is not None and latest >= needed:
            return
        overdue_s = (ctx.now() - window.end).total_seconds()
        if overdue_s > ctx.scrape_deadline_s:
            log.warning(
                "server %s: no sample past %s after %.0f s; measuring what there is",
                window.server.name,
                needed.isoformat(),
                overdue_s,
            )
            return
        if waited_s >= ctx.scrape_wait_s:
            seen = latest.isoformat() if latest is not None else "none recently"
            raise TelemetryNotReady(
                f"Prometheus has not scraped server {window.server.name} past {needed.isoformat()} yet "
                f"(newest sample: {seen})"
            )
        step_s = min(interval.total_seconds(), max(ctx.scrape_wait_s - waited_s, 0.05))
        ctx.sleep(step_s)
        waited_s += step_s


def _job_status_outcome(job: CiJob) -> tuple[Status, str] | None:
    """The outcome of a job that did not succeed, or None for a successful job."""
    if job.status == "success":
        return None
    reason = job.failure_reason or "unknown"
    if job.status == "failed" and reason in _PLATFORM_FAILURES:
        return (
            "failed",
            f"the job failed on the platform's side ({reason}); it does not count toward the limit",
        )
    if job.status == "failed":
        return "invalid", f"the job failed ({reason}); see its log in GitLab"
    return "invalid", f"the job was {job.status}"


def run_evaluation(
    ctx: EvaluationContext,
    *,
    project_id: int,
    job_id: int,
    on_job: Callable[[CiJob], None] | None = None,
) -> EvaluationOutcome:
    """Evaluate one finished GitLab job of the event.

    ``on_job`` is called with the job as GitLab describes it once it is known to be finished, when measuring
    starts (the worker tells GitLab "pending" then); what it raises propagates.

    A ``train`` phase job (``<name>-train``, see :mod:`greenhack.scoring.phases`) is measured and ends
    ``scored`` with no performance: the board ranks it together with its pipeline's predict job.

    Raises:
        GitLabUnavailable, PrometheusUnavailable, BoaviztaUnavailable, TelemetryNotReady, JobNotFinished: a
            service is down or data is not there yet; retry later.
    """
    config = ctx.config
    # 1. JobWindow ← GitLab (the platform's token; the webhook only said "look at this job")
    job = ctx.gitlab.job(project_id, job_id)
    if not job.finished:
        raise JobNotFinished(
            f"GitLab reports job {job_id} as {job.status!r}; it will be evaluated once finished"
        )
    if on_job is not None:
        on_job(job)
    failed = _job_status_outcome(job)
    try:
        window = job_window(job, config)
    except JobNotMeasurable as exc:
        if failed is not None:
            return EvaluationOutcome(failed[0], failed[1], job)
        return EvaluationOutcome("needs_review", str(exc), job)

    # 2. Energy ← Prometheus
    wait_for_scrape(window, ctx)
    try:
        energy = measure_energy(
            window.server,
            window.start,
            window.end,
            source=ctx.telemetry,
            scrape_interval=config.scrape_interval_for(window.server),
            now=ctx.now(),
        )
    except NoSamplesError as exc:
        return EvaluationOutcome(
            failed[0] if failed else "needs_review", failed[1] if failed else str(exc), job, window
        )
    except TelemetryError as exc:
        if isinstance(exc, TelemetryNotReady | PrometheusUnavailable):
            raise
        return EvaluationOutcome("needs_review", f"telemetry: {exc}", job, window)

    # 3. Impacts ← BoaviztAPI (factors cached; measured energy × PUE, embodied share for the duration),
    #    less the server's idle draw over the window when the YAML says impact.idle: subtract
    idle_power_w: float | None = None
    if config.impact.idle == "subtract":
        try:
            idle_power_w = ctx.idle.power_w(
                window.server, source=ctx.telemetry, scrape_interval=config.scrape_interval_for(window.server)
            )
        except PrometheusUnavailable:
            raise
        except TelemetryError as exc:
            return EvaluationOutcome("needs_review", f"idle baseline: {exc}", job, window, energy)
    charged_j = attributed_energy_j(
        energy.total_energy_j, energy.duration_s, idle=config.impact.idle, idle_power_w=idle_power_w
    )
    try:
        impacts = ctx.impacts.impacts(
            window.server, config.impact, energy_j=charged_j, duration_s=energy.duration_s
        )
    except HardwareNameError as exc:
        return EvaluationOutcome("needs_review", f"impacts: {exc}", job, window, energy)
    outcome = _score(ctx, job, window, energy, impacts, failed, project_id=project_id, job_id=job_id)
    return replace(outcome, idle_power_w=idle_power_w)


def _score(
    ctx: EvaluationContext,
    job: CiJob,
    window: JobWindow,
    energy: JobEnergy,
    impacts: JobImpacts,
    failed: tuple[Status, str] | None,
    *,
    project_id: int,
    job_id: int,
) -> EvaluationOutcome:
    """Steps 4 and 5 of the flow: the job's final status from its predictions and the measurement's validity."""
    config = ctx.config

    if failed is not None:
        return EvaluationOutcome(failed[0], failed[1], job, window, energy, impacts)

    if phase_of(job.name) == "train":
        if not energy.valid:
            return EvaluationOutcome(
                "needs_review", "telemetry: " + "; ".join(energy.problems), job, window, energy, impacts,
                None, tuple(energy.problems),
            )  # fmt: skip
        return EvaluationOutcome(
            "scored",
            f"training phase of pipeline {job.pipeline_id}: measured; ranked together with its predict job",
            job,
            window,
            energy,
            impacts,
        )

    # 4. Performance ← the predictions artifact vs the hidden truth
    try:
        data = ctx.gitlab.download_artifact(
            project_id, job_id, config.task.predictions, max_bytes=config.task.max_predictions_bytes
        )
    except ArtifactTooLarge as exc:
        return EvaluationOutcome(
            "invalid",
            f"{config.task.predictions} is larger than {config.task.max_predictions_mb:g} MB ({exc})",
            job,
            window,
            energy,
            impacts,
        )
    except GitLabUnavailable:
        raise
    except GitLabError as exc:
        if exc.status_code == 404:
            return EvaluationOutcome(
                "invalid", f"the job kept no {config.task.predictions} artifact", job, window, energy, impacts
            )
        raise
    result = score_predictions(
        data, config=config, truth=ctx.truth, split=ctx.split, filename=config.task.predictions
    )
    if result.status == "invalid" or result.performance is None:
        problems = tuple(result.problems)
        reason = (
            problems[0] if len(problems) == 1 else f"{len(problems)} problems in {config.task.predictions}"
        )
        return EvaluationOutcome("invalid", reason, job, window, energy, impacts, None, problems)

    # a measurement that cannot be trusted is never ranked without an admin's review
    if not energy.valid:
        return EvaluationOutcome(
            "needs_review",
            "telemetry: " + "; ".join(energy.problems),
            job,
            window,
            energy,
            impacts,
            result.performance,
            tuple(energy.problems),
        )
    return EvaluationOutcome("scored", None, job, window, energy, impacts, result.performance)

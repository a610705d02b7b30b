"""The flow of one evaluation, in DESIGN.md's order: :func:`fetch_finished_job`, then :func:`evaluate_job`.

1. CiJob        ← GitLab API (platform token), once GitLab reports the job finished (:func:`fetch_finished_job`)
2. JobWindow    ← the job's started_at, finished_at, and the server whose runner ran it
                  (:func:`~greenhack.gitlab.server_choice.choose_server`); with ``telemetry.window: script``, the
                  window of the team's command read from the job's log (:func:`read_script_window`)
3. Energy       ← Prometheus, once it has scraped past the window: the server's clock offset (node_exporter), the
                  window shifted into Prometheus's clock (:mod:`greenhack.measured_window`), its energy with its
                  edges' timing, and the runner's overhead outside it (measured, not charged)
4. Impacts      ← BoaviztAPI factors × measured energy and duration
5. Performance  ← the predictions artifact (size-limited download) vs the hidden truth
6. Fact sheet   ← the fact sheet artifact vs the YAML's questions (``factsheet:``; :mod:`greenhack.factsheet`)
Steps 2 to 6 are :func:`evaluate_job` (measure, price, score); storing the outcome and ranking are the store's
(:func:`greenhack.store.outcomes.record_outcome`, sequenced by :mod:`greenhack.worker`).
:func:`run_evaluation` is the whole flow for one job, without storing (``greenhack evaluate``).

Each step is a typed call; errors that may pass (GitLab/Prometheus/BoaviztAPI unavailable, a job GitLab still
reports as running, telemetry not scraped yet) propagate for the caller to retry. Everything else ends in an
:class:`EvaluationOutcome` with a final status and a reason the team and the admins can read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from greenhack.competition import event_phases, phase_at
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
from greenhack.factsheet import MAX_FACTSHEET_BYTES, FactsheetResult, oversized_factsheet, read_factsheet
from greenhack.gitlab.models import CiJob, JobTrace, ProjectRef
from greenhack.gitlab.script_window import ScriptWindow, WindowFallback, api_window, script_window
from greenhack.gitlab.server_choice import choose_server
from greenhack.impacts import ImpactSource, JobImpacts
from greenhack.measured_window import MeasuredWindow, measured_window, review_reasons
from greenhack.overlap import Window
from greenhack.scoring.bootstrap import PerformanceReplicates, bootstrap_performance
from greenhack.scoring.evaluate import score_predictions
from greenhack.scoring.models import Performance, Split, Truth
from greenhack.scoring.pipeline_stages import phase_of
from greenhack.status import PLATFORM_FAILURE_REASONS, Reason, ReasonCode, Status
from greenhack.telemetry import (
    IdleBaselines,
    JobEnergy,
    TelemetrySource,
    attributed_energy_j,
    attributed_interval_j,
    measure_energy,
    ready_margin,
)
from greenhack.telemetry.clock import ClockOffset, measure_clock_offset
from greenhack.telemetry.estimate import GAP_FACTOR
from greenhack.telemetry.overhead import RunnerOverhead, measure_overhead
from greenhack.telemetry.profiles import SCAPHANDRE, gpu_profile

__all__ = [
    "EvaluationContext",
    "EvaluationOutcome",
    "GitLabJobs",
    "JobWindow",
    "evaluate_job",
    "fetch_finished_job",
    "job_window",
    "read_script_window",
    "run_evaluation",
    "wait_for_scrape",
]

log = logging.getLogger(__name__)

# GitLab failure reasons that are the platform's doing, not the team's: the job is recorded as failed and does
# not use up one of the team's submissions (one list: greenhack.status)
_PLATFORM_FAILURES = PLATFORM_FAILURE_REASONS


class GitLabJobs(Protocol):
    """What an evaluation asks GitLab (:class:`~greenhack.gitlab.gateway.GitLabGateway` implements it)."""

    def job(self, project: int | str, job_id: int) -> CiJob: ...

    def project(self, project: int | str) -> ProjectRef: ...

    def download_artifact(self, project: int | str, job_id: int, path: str, *, max_bytes: int) -> bytes: ...

    def job_trace(self, project: int | str, job_id: int, *, max_bytes: int) -> JobTrace: ...

    def retry_job(self, project: int | str, job_id: int) -> CiJob: ...


@dataclass(frozen=True)
class EvaluationContext:
    """Everything an evaluation reads, built once per worker process.

    Attributes:
        config: the event.
        gitlab: the GitLab gateway (platform token).
        telemetry: the Prometheus client.
        impacts: the impact calculator (BoaviztAPI factors, cached).
        truth: the hidden truth, and split: its public/private rows.
        phase_truths: per phase name, the truth and split of a phase that names its own truth file
            (``phases[].truth``): its submissions are scored against it (:meth:`truth_for`).
        now: the clock (tests inject one).
        sleep: how the evaluation waits for Prometheus to scrape past a window (tests inject one).
        scrape_wait_s: how long one attempt waits for Prometheus to scrape past the window, in seconds.
        scrape_deadline_s: after this many seconds past the window's end, measure whatever Prometheus has (gaps
            then show as problems and the job goes to review) instead of waiting for more.
        idle: each server's idle power, for ``impact.idle: subtract`` (measured once per server).
        max_log_bytes: how much of each end of a job's log is kept for its marks (the start mark is near the
            start, the end mark near the end; what lies between is streamed past). A mark missing from both ends
            falls back to GitLab's window, ``log_truncated``. GitLab's own default limit on a job log is 100 MB.
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
    max_log_bytes: int = 32 * 1024 * 1024
    phase_truths: Mapping[str, tuple[Truth, Split]] = field(default_factory=dict)

    def truth_for(self, created_at: datetime | None) -> tuple[Truth, Split]:
        """The truth and split a job created at ``created_at`` is scored against: its phase's own (the phase open
        then, by GitLab's created_at), else the event's ``task.truth``."""
        if created_at is None or not self.phase_truths:
            return self.truth, self.split
        phase = phase_at(event_phases(self.config), created_at).phase
        if phase is not None and phase.name in self.phase_truths:
            return self.phase_truths[phase.name]
        return self.truth, self.split


@dataclass(frozen=True)
class JobWindow:
    """The measured job: the server whose runner ran it, GitLab's window (``start``..``end``: when the runner held
    the server, GitLab's times, never the team's) and the window charged to the team.

    Attributes:
        script: the team's command's window read from the job log, bounded by GitLab's (``telemetry.window:
            script``); None: GitLab's whole window is charged (``telemetry.window: job``).
    """

    job: CiJob
    server: ServerConfig
    start: datetime
    end: datetime
    script: ScriptWindow | None = None

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def charged(self) -> ScriptWindow:
        """The window charged to the team, each bound in its source's clock: the script window, else GitLab's."""
        return self.script if self.script is not None else api_window(self.start, self.end)

    @property
    def span(self) -> Window:
        """The window as the store and the overlap rule see it: the server's name and GitLab's window (when the
        runner held the server: another job's image pull or upload inside it is not the team's either)."""
        return Window(server=self.server.name, start=self.start, end=self.end)


@dataclass(frozen=True, kw_only=True)
class EvaluationOutcome:
    """The result of one evaluation, to be stored: a final status, a reason when not (simply) scored, and what
    was measured and computed along the way (None where the flow stopped before)."""

    status: Status
    reason: Reason | None = None
    job: CiJob
    window: JobWindow | None = None
    energy: JobEnergy | None = None
    impacts: JobImpacts | None = None
    performance: Performance | None = None
    # the performance's bootstrap replicates on each board's resamples (None: not scored)
    replicates: PerformanceReplicates | None = None
    problems: tuple[str, ...] = field(default=())
    # the server's idle power subtracted from the energy before impacts (impact.idle: subtract), in W
    idle_power_w: float | None = None
    # the server's clock against Prometheus's around the window (None: not measured)
    clock: ClockOffset | None = None
    # the energy inside GitLab's window but outside the script window: the organisers', never charged
    overhead: RunnerOverhead | None = None
    # the job's fact sheet as read (None when the event asks none, or the predictions were not scored)
    factsheet: FactsheetResult | None = None


def job_window(job: CiJob, config: EventConfig) -> JobWindow:
    """Tie a finished job to one measured server and GitLab's window (the script window is read next, by
    :func:`read_script_window`).

    The server is the one whose runner GitLab says ran the job (``servers[].runners``), or the one its tags name
    (:func:`~greenhack.gitlab.server_choice.choose_server`); a project runner is never the event's (a team's
    Maintainer could register one with the event's tag).

    Raises:
        JobNotMeasurable: no start/finish time, no runner, a project runner, a runner no server lists, no measured
            tag or tags of several servers that do not list their runners.
    """
    if job.started_at is None or job.finished_at is None:
        raise JobNotMeasurable(f"job {job.id}: GitLab gives no start or finish time, so there is no window")
    if job.finished_at <= job.started_at:
        raise JobNotMeasurable(f"job {job.id}: finish {job.finished_at} is not after start {job.started_at}")
    server = choose_server(job, config.servers).require()
    return JobWindow(job=job, server=server, start=job.started_at, end=job.finished_at)


# server choices that mean a runner the event does not know ran the job (its energy is some unknown server's)
_UNKNOWN_RUNNER = frozenset({"runner_on_no_server", "runner_not_on_tagged_server", "runner_on_several_servers"})


def _not_measurable(job: CiJob, config: EventConfig, exc: JobNotMeasurable) -> Reason:
    """The reason of a job :func:`job_window` refused: an unknown runner, or another reason it has no window."""
    choice = choose_server(job, config.servers)
    unknown = choice.reason == str(exc) and choice.code in _UNKNOWN_RUNNER
    return Reason(code=ReasonCode.UNKNOWN_RUNNER if unknown else ReasonCode.NOT_MEASURABLE, text=str(exc))


def read_script_window(ctx: EvaluationContext, window: JobWindow) -> ScriptWindow:
    """The window of the team's command, from the job's log (``GET /projects/:id/jobs/:job_id/trace``, the
    platform's token, at most ``ctx.max_log_bytes``), bounded by GitLab's window.

    A log GitLab refuses to give (403, 404) is a fallback (``log_unreadable``): GitLab's window is measured.

    Raises:
        GitLabUnavailable: GitLab did not answer (retry later).
    """
    job = window.job
    try:
        trace = ctx.gitlab.job_trace(job.project_id, job.id, max_bytes=ctx.max_log_bytes)
    except GitLabUnavailable:
        raise
    except GitLabError as exc:
        fallback = WindowFallback(
            code="log_unreadable",
            message=f"GitLab does not give the platform the job log ({exc}): the whole of GitLab's job window is "
            "measured, the runner's housekeeping included",
        )
        return api_window(window.start, window.end, fallback=fallback)
    return script_window(
        trace.text, api_start=window.start, api_end=window.end, truncated=trace.truncated, tail=trace.tail
    )


def wait_for_scrape(window: JobWindow, ctx: EvaluationContext, *, until: datetime | None = None) -> None:
    """Return once Prometheus holds, from every exporter of the server, the samples past the end of what is
    measured that the estimators use (:data:`~greenhack.telemetry.measure.SAMPLES_PAST_END`: the newest sample at
    least :func:`~greenhack.telemetry.measure.ready_margin` past the end), and no more: at 5 s scrapes that is 5 to
    10 s after the end (at most ``SAMPLES_PAST_END`` scrape intervals).

    The end is ``until`` (the end of the window measured, on Prometheus's clock), else GitLab's ``finished_at``
    (the runner's overhead is measured up to it).

    Raises:
        TelemetryNotReady: not yet, after waiting ``ctx.scrape_wait_s`` (the caller retries later); past
            ``ctx.scrape_deadline_s`` after the window it returns anyway, and gaps are judged by the measurement.
        PrometheusUnavailable: Prometheus did not answer.
    """
    interval = ctx.config.scrape_interval_for(window.server)
    end = until or window.end
    needed = end + ready_margin(interval)
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
        overdue_s = (ctx.now() - end).total_seconds()
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


def _job_status_outcome(job: CiJob) -> tuple[Status, Reason] | None:
    """The outcome of a job that did not succeed, or None for a successful job."""
    if job.status == "success":
        return None
    reason = job.failure_reason or "unknown"
    if job.status in ("canceled", "skipped") and job.started_at is None:
        # nothing ran on the measured server: the submission is given back (greenhack.status.uses_quota)
        return Status.INVALID, Reason(
            code=ReasonCode.JOB_NOT_STARTED,
            text=f"the job was {job.status} before it started; it does not count toward the limit",
        )
    if job.status == "failed" and reason in _PLATFORM_FAILURES:
        return Status.FAILED, Reason(
            code=ReasonCode.PLATFORM_JOB_FAILURE,
            text=f"the job failed on the platform's side ({reason}); it does not count toward the limit",
        )
    if job.status == "failed":
        return Status.INVALID, Reason(
            code=ReasonCode.JOB_FAILED, text=f"the job failed ({reason}); see its log in GitLab"
        )
    return Status.INVALID, Reason(code=ReasonCode.JOB_NOT_SUCCESSFUL, text=f"the job was {job.status}")


def fetch_finished_job(gitlab: GitLabJobs, *, project_id: int, job_id: int) -> CiJob:
    """The job as GitLab describes it (the platform's token; a webhook only says "look at this job").

    Raises:
        JobNotFinished: GitLab does not report it finished yet (retry later).
        GitLabUnavailable, GitLabError: GitLab did not answer, or refused.
    """
    job = gitlab.job(project_id, job_id)
    if not job.finished:
        raise JobNotFinished(
            f"GitLab reports job {job_id} as {job.status!r}; it will be evaluated once finished"
        )
    return job


def run_evaluation(ctx: EvaluationContext, *, project_id: int, job_id: int) -> EvaluationOutcome:
    """Evaluate one finished GitLab job of the event: :func:`fetch_finished_job`, then :func:`evaluate_job`.

    Raises:
        see :func:`fetch_finished_job` and :func:`evaluate_job`.
    """
    return evaluate_job(ctx, job=fetch_finished_job(ctx.gitlab, project_id=project_id, job_id=job_id))


def evaluate_job(ctx: EvaluationContext, *, job: CiJob) -> EvaluationOutcome:
    """Measure, price and score one finished job (as :func:`fetch_finished_job` returned it).

    A ``train`` phase job (``<name>-train``, see :mod:`greenhack.scoring.pipeline_stages`) is measured and ends
    ``scored`` with no performance: the board ranks it together with its pipeline's predict job.

    Raises:
        GitLabUnavailable, PrometheusUnavailable, BoaviztaUnavailable, TelemetryNotReady: a service is down or
            data is not there yet; retry later.
    """
    config = ctx.config
    failed = _job_status_outcome(job)
    try:
        window = job_window(job, config)
    except JobNotMeasurable as exc:
        status, reason = failed or (Status.NEEDS_REVIEW, _not_measurable(job, config, exc))
        return EvaluationOutcome(status=status, reason=reason, job=job)
    if config.telemetry.window == "script":
        window = replace(window, script=read_script_window(ctx, window))

    # Energy ← Prometheus, once it has scraped past GitLab's window (the overhead is measured up to its end)
    server, interval = window.server, config.scrape_interval_for(window.server)
    wait_for_scrape(window, ctx)
    clock = _clock_offset(ctx, window)
    try:
        measured = measured_window(window.charged, clock, telemetry=config.telemetry)
    except ValueError as exc:
        status, reason = failed or (
            Status.NEEDS_REVIEW,
            Reason(code=ReasonCode.WINDOW_FALLBACK, text=f"window: {exc}: GitLab's window and the log disagree"),
        )
        return EvaluationOutcome(status=status, reason=reason, job=job, window=window, clock=clock)
    if measured.end > window.end:  # a server clock behind Prometheus's: the window ends after finished_at
        wait_for_scrape(window, ctx, until=measured.end)
    try:
        energy = measure_energy(
            server,
            measured.start,
            measured.end,
            source=ctx.telemetry,
            scrape_interval=interval,
            now=ctx.now(),
            timing=measured.timing,
        )
    except NoSamplesError as exc:
        status, reason = failed or (Status.NEEDS_REVIEW, Reason(code=ReasonCode.NO_SAMPLES, text=str(exc)))
        return EvaluationOutcome(status=status, reason=reason, job=job, window=window, clock=clock)
    except TelemetryError as exc:
        if isinstance(exc, TelemetryNotReady | PrometheusUnavailable):
            raise
        reason = Reason(code=ReasonCode.TELEMETRY, text=f"telemetry: {exc}")
        return EvaluationOutcome(status=Status.NEEDS_REVIEW, reason=reason, job=job, window=window, clock=clock)
    overhead = _overhead(ctx, window, measured)
    doubts = review_reasons(window.charged, clock, telemetry=config.telemetry)
    found = EvaluationOutcome(
        status=Status.SCORED, job=job, window=window, energy=energy, clock=clock, overhead=overhead
    )

    # Impacts ← BoaviztAPI (factors cached; measured energy × PUE, embodied share for the duration),
    #    less the server's idle draw over the window when the YAML says impact.idle: subtract
    idle_power_w: float | None = None
    if config.impact.idle == "subtract":
        try:
            idle_power_w = ctx.idle.power_w(server, source=ctx.telemetry, scrape_interval=interval)
        except PrometheusUnavailable:
            raise
        except TelemetryError as exc:
            reason = Reason(code=ReasonCode.IDLE_BASELINE, text=f"idle baseline: {exc}")
            return replace(found, status=Status.NEEDS_REVIEW, reason=reason)
    charged_j = attributed_energy_j(
        energy.total_energy_j, energy.duration_s, idle=config.impact.idle, idle_power_w=idle_power_w
    )
    charged_low_j, charged_high_j = attributed_interval_j(
        energy.total_energy_low_j,
        energy.total_energy_high_j,
        energy.duration_s,
        idle=config.impact.idle,
        idle_power_w=idle_power_w,
    )
    try:
        impacts = ctx.impacts.impacts(
            server,
            config.impact,
            energy_j=charged_j,
            duration_s=energy.duration_s,
            energy_low_j=charged_low_j,
            energy_high_j=charged_high_j,
        )
    except HardwareNameError as exc:
        reason = Reason(code=ReasonCode.IMPACTS, text=f"impacts: {exc}")
        return replace(found, status=Status.NEEDS_REVIEW, reason=reason)
    measured_outcome = replace(found, impacts=impacts, idle_power_w=idle_power_w)
    return _score(ctx, measured=measured_outcome, energy=energy, doubts=doubts, failed=failed)


def _clock_offset(ctx: EvaluationContext, window: JobWindow) -> ClockOffset:
    """The server's clock offset around GitLab's window (a refused query leaves it unknown, with the reason)."""
    try:
        return measure_clock_offset(
            window.server,
            window.start,
            window.end,
            source=ctx.telemetry,
            scrape_interval=ctx.config.scrape_interval_for(window.server),
        )
    except PrometheusUnavailable:
        raise
    except TelemetryError as exc:
        return ClockOffset(server=window.server.name, known=False, reason=f"Prometheus refused its query: {exc}")


def _overhead(ctx: EvaluationContext, window: JobWindow, measured: MeasuredWindow) -> RunnerOverhead | None:
    """The runner's overhead around the script window (None with GitLab's whole window charged, or when its
    telemetry is missing: it is the organisers' figure, never a reason to hold the team's result)."""
    if window.script is None:
        return None
    try:
        return measure_overhead(
            window.server,
            job_start=window.start,
            script_start=measured.start,
            script_end=measured.end,
            job_end=window.end,
            source=ctx.telemetry,
            scrape_interval=ctx.config.scrape_interval_for(window.server),
            now=ctx.now(),
        )
    except PrometheusUnavailable:
        raise
    except TelemetryError as exc:
        log.warning("job %s: the runner's overhead was not measured (%s)", window.job.id, exc)
        return None


def _score(
    ctx: EvaluationContext,
    *,
    measured: EvaluationOutcome,
    energy: JobEnergy,
    doubts: list[Reason],
    failed: tuple[Status, Reason] | None,
) -> EvaluationOutcome:
    """The job's final status from its predictions and the measurement's validity (``measured`` holds what was
    measured and priced, ``energy`` its measurement, ``doubts`` why its window or clock must be reviewed)."""
    config = ctx.config
    job = measured.job

    def outcome(
        status: Status,
        reason: Reason | None = None,
        *,
        performance: Performance | None = None,
        problems: tuple[str, ...] = (),
    ) -> EvaluationOutcome:
        return replace(measured, status=status, reason=reason, performance=performance, problems=problems)

    if failed is not None:
        return outcome(*failed)

    # why the measurement cannot be ranked without an admin's review: telemetry first, then window, then clock
    if not energy.valid:
        doubts = [Reason(code=ReasonCode.TELEMETRY, text="telemetry: " + "; ".join(energy.problems)), *doubts]
    doubt = _joined(doubts)
    doubtful = (*energy.problems, *(d.text for d in doubts if d.code != ReasonCode.TELEMETRY))
    if phase_of(job.name) == "train":
        if doubt is not None:
            return outcome(Status.NEEDS_REVIEW, doubt, problems=doubtful)
        return outcome(
            Status.SCORED,
            Reason(
                code=ReasonCode.TRAIN_PHASE,
                text=f"training phase of pipeline {job.pipeline_id}: measured; ranked together with its "
                "predict job",
            ),
        )

    # Performance ← the predictions artifact vs the hidden truth
    try:
        data = ctx.gitlab.download_artifact(
            job.project_id, job.id, config.task.predictions, max_bytes=config.task.max_predictions_bytes
        )
    except ArtifactTooLarge as exc:
        text = f"{config.task.predictions} is larger than {config.task.max_predictions_mb:g} MB ({exc})"
        return outcome(Status.INVALID, Reason(code=ReasonCode.PREDICTIONS_TOO_LARGE, text=text))
    except GitLabUnavailable:
        raise
    except GitLabError as exc:
        if exc.status_code == 404:
            text = f"the job kept no {config.task.predictions} artifact"
            return outcome(Status.INVALID, Reason(code=ReasonCode.NO_PREDICTIONS, text=text))
        raise
    truth, split = ctx.truth_for(job.created_at)
    result = score_predictions(data, config=config, truth=truth, split=split, filename=config.task.predictions)
    if result.status == "invalid" or result.performance is None:
        problems = tuple(result.problems)
        text = problems[0] if len(problems) == 1 else f"{len(problems)} problems in {config.task.predictions}"
        return outcome(
            Status.INVALID, Reason(code=ReasonCode.PREDICTIONS_INVALID, text=text), problems=problems
        )

    # Bootstrap replicates ← the scored predictions, on each board's shared resamples (event.seed): drawn once, here,
    #    and stored, so the board compares submissions on every refresh without their predictions
    assert result.predictions is not None
    replicates = bootstrap_performance(
        result.predictions, ctx.truth, metric=config.performance.metric, split=ctx.split, seed=config.event.split_seed
    )

    # Fact sheet ← its artifact vs the YAML's questions (what a missing one does to the ranking: the board's)
    factsheet = _read_factsheet(ctx, job)
    # a measurement that cannot be trusted is never ranked without an admin's review
    if doubt is not None:
        review = outcome(Status.NEEDS_REVIEW, doubt, performance=result.performance, problems=doubtful)
        return replace(review, factsheet=factsheet, replicates=replicates)
    scored = outcome(Status.SCORED, performance=result.performance)
    return replace(scored, factsheet=factsheet, replicates=replicates)


def _joined(reasons: list[Reason]) -> Reason | None:
    """One reason of several (the first's code: it decides who may read them), None for none."""
    if not reasons:
        return None
    first, *rest = reasons
    for other in rest:
        first = first.followed_by(other)
    return first


def _read_factsheet(ctx: EvaluationContext, job: CiJob) -> FactsheetResult | None:
    """The job's fact sheet validated against the event's questions (None when the event asks none).

    Raises:
        GitLabUnavailable, GitLabError: GitLab did not answer, or refused otherwise than "no such artifact".
    """
    section = ctx.config.factsheet
    if section is None:
        return None
    try:
        data: bytes | None = ctx.gitlab.download_artifact(
            job.project_id, job.id, section.file, max_bytes=MAX_FACTSHEET_BYTES
        )
    except ArtifactTooLarge:
        return oversized_factsheet(section)
    except GitLabUnavailable:
        raise
    except GitLabError as exc:
        if exc.status_code != 404:
            raise
        data = None
    return read_factsheet(data, section=section)

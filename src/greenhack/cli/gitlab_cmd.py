"""greenhack provision | worker | evaluate: the GitLab side of an event.

- ``provision --config FILE --teams teams.csv [--dry-run]``: group, projects, Developer members, CI config path,
  webhook (idempotent).
- ``worker --config FILE``: claim queued evaluations and run them (any number of workers); reconcile with GitLab
  every ``--reconcile-every`` so that a dropped webhook only costs latency (workers sharing a PostgreSQL
  database take turns through an advisory lock: one pass at a time; on SQLite run one worker).
- ``evaluate --config FILE --project PATH --job ID``: evaluate one job by hand and print the outcome; ``--queue``
  also queues it for the workers, which store it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from greenhack.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_UNAVAILABLE,
    OutputFormat,
    fail,
    load_config_or_exit,
    print_json,
)
from greenhack.config import EventConfig, parse_duration
from greenhack.errors import (
    BoaviztaUnavailable,
    ConfigError,
    GitLabError,
    GitLabUnavailable,
    GreenhackError,
    PrometheusUnavailable,
    SettingsError,
    StoreError,
    TelemetryNotReady,
)
from greenhack.evaluation import EvaluationOutcome, run_evaluation
from greenhack.feedback.notifier import notifier_for
from greenhack.gitlab.credentials import gitlab_token, webhook_secret
from greenhack.gitlab.provisioning import (
    OfflineGitLab,
    ProvisioningGitLab,
    baseline_clashes,
    pipeline_line,
    provision,
    read_teams_csv,
)
from greenhack.gitlab.webhooks import HookJob
from greenhack.intake import enqueue_hook_jobs
from greenhack.reconciler import RECONCILE_LOCK, reconcile
from greenhack.settings import Settings
from greenhack.store import crud
from greenhack.store.db import create_db_engine, make_session_factory, transaction
from greenhack.store.locks import try_lock
from greenhack.store.models import utcnow
from greenhack.wiring import Services, build_services
from greenhack.worker import Worker, WorkerOptions, default_worker_name

__all__ = ["ConfigOption", "evaluate_cmd", "provision_cmd", "register", "worker_cmd"]

log = logging.getLogger(__name__)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The event YAML.", show_default=False)]
_UNAVAILABLE = (GitLabUnavailable, PrometheusUnavailable, BoaviztaUnavailable, TelemetryNotReady, StoreError)


def _services(config: EventConfig, settings: Settings, *, truth: bool = True) -> Services:
    """The process's clients, with the GitLab gateway (and the truth) checked now, so a missing token or truth
    file is a clear error before any work starts."""
    services = build_services(config, settings)
    try:
        services.gitlab  # noqa: B018  (built now: a missing section or token fails here)
        if truth:
            services.split  # noqa: B018
    except (SettingsError, ConfigError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    return services


# --- provision --------------------------------------------------------------------------------------------------


def provision_cmd(
    config: ConfigOption,
    teams: Annotated[
        Path, typer.Option("--teams", help="CSV with a header team,username; one row per member.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    hook_url: Annotated[
        str | None,
        typer.Option(help="Webhook address (default: GREENHACK_PUBLIC_URL + /api/v1/hooks/gitlab)."),
    ] = None,
    ci_config_path: Annotated[
        str | None,
        typer.Option(
            help="CI configuration file of every team project (default: pipeline.yml@GROUP/organisers)."
        ),
    ] = None,
    rotate_secret: Annotated[
        bool, typer.Option(help="Send the webhook secret again to existing hooks.")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
) -> None:
    """Create the event's GitLab group, one project per team, Developer members, CI config path and webhook.

    Checks first what would go wrong later (webhook address GitLab cannot reach, users in two teams, team names
    that lose characters in their project path, the organisers' CI project and its component; a team whose
    project is one of the baselines stops it before any change) and ends with a one-line summary. --dry-run needs no secret, nor a token (then GitLab is not read).
    """
    event = load_config_or_exit(config)
    settings = Settings()
    try:
        specs = read_teams_csv(teams)
    except ConfigError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if event.gitlab is None:
        fail("the event YAML has no gitlab section (url, group)", EXIT_BAD_INPUT)
    clashes = baseline_clashes(event, specs, source=teams)
    if clashes:  # before GitLab is asked anything: a team's project must not be a baseline
        fail("\n".join(str(p) for p in clashes), EXIT_BAD_INPUT)
    url = str(event.gitlab.url).rstrip("/")
    notes: list[str] = []
    gateway: ProvisioningGitLab
    if dry_run and gitlab_token(event, settings) is None:
        gateway = OfflineGitLab()
        notes.append(
            f"GitLab at {url} not read (no token in ${event.gitlab.token_env}): the plan assumes nothing exists "
            "yet, users are not looked up and the organisers' CI project is not checked"
        )
    else:
        gateway = _services(event, settings, truth=False).gitlab
    secret = webhook_secret(event, settings)
    if secret is None and not dry_run:
        fail(f"set the webhook secret in ${event.gitlab.webhook_secret_env}", EXIT_BAD_INPUT)
    ci_config_path = ci_config_path or f"pipeline.yml@{event.gitlab.group}/organisers"
    try:
        report = provision(
            gateway,
            group=event.gitlab.group,
            teams=specs,
            ci_config_path=ci_config_path,
            hook_url=hook_url or settings.public_url.rstrip("/") + "/api/v1/hooks/gitlab",
            webhook_secret=secret.get_secret_value() if secret is not None else None,
            dry_run=dry_run,
            rotate_secret=rotate_secret,
            check_ci=not isinstance(gateway, OfflineGitLab),
        )
    except GitLabUnavailable as exc:
        fail(f"GitLab at {url} did not answer: {exc} (check gitlab.url in {config})", EXIT_UNAVAILABLE)
    except GitLabError as exc:
        fail(f"GitLab at {url}: {exc}")
    report = replace(report, warnings=(*notes, *report.warnings))
    warnings = list(report.warnings)
    summary = report.summary(event.gitlab.group)
    if output is OutputFormat.json:
        print_json(
            {
                "dry_run": report.dry_run,
                "actions": [asdict(a) for a in report.actions],
                "warnings": warnings,
                "problems": list(report.problems),
                "pipeline": pipeline_line(ci_config_path, event.servers),
                "summary": summary,
            }
        )
    else:
        verb = "would" if dry_run else "did"
        for action in report.actions:
            typer.echo(f"{verb} {action.kind:<15} {action.target:<40} {action.detail}")
        if not report.actions:
            typer.echo(f"nothing to do: {len(specs)} team(s) already provisioned in {event.gitlab.group}")
        for warning in warnings:
            typer.secho(f"warning: {warning}", err=True, fg="yellow")
        for problem in report.problems:
            typer.secho(f"problem: {problem}", err=True, fg="red")
        typer.echo(pipeline_line(ci_config_path, event.servers))
        typer.echo(summary)
    if report.problems:
        raise typer.Exit(1)


# --- worker -----------------------------------------------------------------------------------------------------


def worker_cmd(
    config: ConfigOption,
    name: Annotated[
        str | None, typer.Option(help="This worker's name in the queue (default host:pid).")
    ] = None,
    lease: Annotated[
        str, typer.Option(help="How long a claim holds before another worker takes it over.")
    ] = "15m",
    max_attempts: Annotated[
        int, typer.Option(min=1, max=50, help="Tries before a submission is failed.")
    ] = 8,
    retry_delay: Annotated[str, typer.Option(help="First retry delay (doubles each attempt).")] = "30s",
    reconcile_every: Annotated[str, typer.Option(help="How often to list GitLab for missed jobs.")] = "5m",
    lookback: Annotated[str, typer.Option(help="How far back the reconciler looks.")] = "6h",
    once: Annotated[
        bool, typer.Option("--once", help="Reconcile once, work until the queue is idle, exit.")
    ] = False,
) -> None:
    """Evaluate queued jobs: GitLab window → Prometheus energy → BoaviztAPI impacts → scoring → store."""
    event = load_config_or_exit(config)
    settings = Settings()
    try:
        lease_s, delay_s = parse_duration(lease).total_seconds(), parse_duration(retry_delay).total_seconds()
        every_s, look = parse_duration(reconcile_every).total_seconds(), parse_duration(lookback)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    services = _services(event, settings)
    gateway = services.gitlab
    try:
        engine = create_db_engine(settings.database_url)
        sessions = make_session_factory(engine)
        with transaction(sessions, "registering the event") as session:
            event_id = crud.ensure_event(session=session, name=event.event.name).id
    except StoreError as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    options = WorkerOptions(
        name=name or default_worker_name(), lease_s=lease_s, max_attempts=max_attempts, base_delay_s=delay_s
    )
    feedback = notifier_for(event, gitlab=gateway, sessions=sessions, public_url=settings.public_url)
    worker = Worker(
        ctx=services.evaluation_context(),
        sessions=sessions,
        event_id=event_id,
        options=options,
        feedback=feedback,
    )
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current evaluation, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def _reconcile() -> None:
        # workers sharing a PostgreSQL database take turns: whoever holds the lock does the pass, the others skip
        # it and try again on their own schedule (SQLite: one worker process, no lock)
        try:
            with try_lock(engine, f"{RECONCILE_LOCK}:{event.event.name}") as held:
                if not held:
                    log.info("reconciler: another worker is reconciling; skipping this pass")
                    return
                report = reconcile(
                    config=event, gitlab=gateway, sessions=sessions, now=utcnow(), lookback=look
                )
            log.info(
                "reconciled %d project(s), %d job(s) seen, %d queued, %d problem(s)%s",
                report.projects,
                report.jobs_seen,
                len(report.queued),
                len(report.errors),
                "".join(f"; {e}" for e in report.errors[:5]),
            )
        except GreenhackError as exc:  # GitLab or the database down: the next pass catches up
            log.warning("reconciler: %s", exc)

    next_reconcile_at = 0.0

    def _reconcile_when_due() -> None:
        # reconcile on time even while the queue never empties (a backlog must not starve it: jobs whose
        # webhook was lost would fall out of the look-back and never be queued)
        nonlocal next_reconcile_at
        if time.monotonic() >= next_reconcile_at:
            _reconcile()
            next_reconcile_at = time.monotonic() + every_s

    typer.echo(f"worker {options.name}: evaluating jobs of {event.event.name!r}", err=True)
    try:
        if once:
            _reconcile()
            handled = worker.run(stop, until_idle=True)
        else:
            handled = worker.run(stop, between=_reconcile_when_due)
    finally:
        services.close()
        engine.dispose()
    typer.echo(f"worker {options.name}: {handled} evaluation(s) handled", err=True)


# --- evaluate ---------------------------------------------------------------------------------------------------


def _outcome_json(outcome: EvaluationOutcome) -> dict[str, object]:
    window = outcome.window
    return {
        "status": outcome.status,
        "reason": outcome.reason.text if outcome.reason else None,
        "job": {
            "id": outcome.job.id,
            "name": outcome.job.name,
            "status": outcome.job.status,
            "project": outcome.job.project_path,
            "web_url": outcome.job.web_url,
        },
        "server": window.server.name if window else None,
        "window": [window.start.isoformat(), window.end.isoformat()] if window else None,
        "duration_s": window.duration_s if window else None,
        # the window charged (telemetry.window): the script window read from the job log, its bounds' sources
        "charged_window": window.charged.model_dump(mode="json") if window else None,
        "measured_window": (
            [outcome.energy.start.isoformat(), outcome.energy.end.isoformat()] if outcome.energy else None
        ),
        "clock": outcome.clock.model_dump(mode="json") if outcome.clock else None,
        "overhead": outcome.overhead.model_dump(mode="json") if outcome.overhead else None,
        "energy_j": outcome.energy.total_energy_j if outcome.energy else None,
        "impact": (
            {
                "criterion": outcome.impacts.criterion,
                "total": outcome.impacts.headline.total,
                "unit": outcome.impacts.headline.unit,
            }
            if outcome.impacts
            else None
        ),
        "performance": asdict(outcome.performance) if outcome.performance else None,
        "problems": list(outcome.problems),
    }


def evaluate_cmd(
    config: ConfigOption,
    project: Annotated[str, typer.Option(help="The team project: its path (group/team) or numeric id.")],
    job: Annotated[int, typer.Option(help="The GitLab job id.")],
    queue_it: Annotated[
        bool, typer.Option("--queue", help="Also queue it for the workers to store.")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
) -> None:
    """Evaluate one GitLab job by hand (nothing is stored unless --queue) and print the outcome."""
    event = load_config_or_exit(config)
    settings = Settings()
    services = _services(event, settings)
    gateway = services.gitlab
    ctx = services.evaluation_context()
    try:
        ref = gateway.project(int(project) if project.isdigit() else project)
        outcome = run_evaluation(ctx, project_id=ref.id, job_id=job)
    except _UNAVAILABLE as exc:
        fail(f"{exc} (retry later)", EXIT_UNAVAILABLE)
    except GreenhackError as exc:
        fail(str(exc))
    if queue_it:
        try:
            engine = create_db_engine(settings.database_url)
            with transaction(make_session_factory(engine), "queueing the job") as session:
                new = enqueue_hook_jobs(
                    session=session,
                    config=event,
                    jobs=[
                        HookJob(
                            project_id=ref.id,
                            project_path=ref.path,
                            job_id=job,
                            name=outcome.job.name,
                            stage=outcome.job.stage,
                            status=outcome.job.status,
                            pipeline_id=outcome.job.pipeline_id,
                            created_at=outcome.job.created_at,
                        )
                    ],
                    trusted=True,  # the job and the project's path were read from GitLab's API
                ).queued
            engine.dispose()
        except StoreError as exc:
            fail(str(exc), EXIT_UNAVAILABLE)
        typer.echo(
            "queued for the workers" if new else "already queued: the workers evaluate it once", err=True
        )
    data = _outcome_json(outcome)
    if output is OutputFormat.json:
        print_json(data)
        return
    for key, value in data.items():
        if value not in (None, [], {}):
            typer.echo(f"{key:<12} {value}")


def register(app: typer.Typer) -> None:
    app.command("provision")(provision_cmd)
    app.command("worker")(worker_cmd)
    app.command("evaluate")(evaluate_cmd)

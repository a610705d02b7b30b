"""Helpers of the feedback tests: the GitLab world (fake GitLab with the event's group, a team project, the measured
runner) and the event YAML tying the services together."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from greenhack.config import EventConfig, load_event
from greenhack.evaluation import EvaluationContext
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.webhooks import HookJob
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.intake import enqueue_hook_jobs
from greenhack.scoring.evaluate import split_for
from greenhack.scoring.truth import load_truth
from greenhack.services.prometheus import PrometheusServer
from greenhack.store import crud
from greenhack.store.db import SessionFactory, transaction
from greenhack.telemetry import NVIDIA_SMI, SCAPHANDRE, PrometheusClient
from greenhack.telemetry.simulator import Constant, ExporterSim, PowerTrace, SimDevice, openmetrics
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.worker import Worker, WorkerOptions

GROUP = "green-ai-hack-2026"
TAG = "green-ai-gpu-1"


@dataclass
class World:
    """The fake GitLab with the event's group, team-a's project and the measured runner."""

    fake: FakeGitLab
    project_id: int
    project_path: str
    runner_id: int

    def running_job(self, *, name: str = "submission", project_id: int | None = None, tags: tuple[str, ...] = (TAG,),
                    runner_id: int | None = None, started_at: datetime | None = None,
                    pipeline_id: int | None = None, sha: str = "2293ada6b400935a1378653304eaf6221e0fdb8f",
                    ) -> tuple[dict[str, Any], str]:  # fmt: skip
        """A job the runner is running now, and its CI_JOB_TOKEN."""
        job = self.fake.run_job(
            project_id or self.project_id,
            name=name,
            status="running",
            started_at=started_at or datetime.now(UTC) - timedelta(seconds=5),
            finished_at=None,
            runner_id=runner_id or self.runner_id,
            tags=tags,
            pipeline_id=pipeline_id,
            sha=sha,
        )
        return job, self.fake.issue_job_token(int(job["id"]))


def write_event(
    folder: Path,
    *,
    gitlab_url: str,
    prometheus_url: str = "http://127.0.0.1:9",
    boavizta_url: str = "http://127.0.0.1:9",
    scaphandre: str = '{instance="gpu-1:8080"}',
    gpu: str = '{instance="gpu-1:9835"}',
    scrape_s: float = 5.0,
    budget_g: float | None = 50.0,
    per_day: int = 3,
    opens: str = "2026-01-01T09:00:00+01:00",
    closes: str = "2030-12-31T17:00:00+01:00",
    submission_jobs: tuple[str, ...] = ("submission",),
    extra_impact: str = "",
    extra_limits: str = "",
    extra_sections: str = "",
) -> EventConfig:
    """An event YAML tying the services together; returns it loaded (``extra_limits``: more lines of the limits
    section, indented as its first; ``extra_sections``: top-level sections appended as they are)."""
    (folder / "truth.csv").write_text("id,label\n1,big\n2,small\n3,big\n4,small\n", encoding="utf-8")
    budget = f"\n              carbon_budget_g: {budget_g:g}" if budget_g is not None else ""
    jobs = ", ".join(submission_jobs)
    path = folder / "event.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            event:
              name: Feedback test
              opens: {opens}
              closes: {closes}
            task:
              predictions: predictions.csv
              truth: truth.csv
              public_fraction: 0.5
            performance:
              metric: accuracy
            impact:
              criterion: gwp
              pue: 1.2
              location: FRA{extra_impact}
            ranking:
              method: weighted
              weights: {{performance: 0.5, impact: 0.5}}
            limits:
              submissions_per_day: {per_day}{budget}{extra_limits}
            telemetry:
              prometheus: {prometheus_url}
              scrape_interval: {scrape_s:g}s
            boavizta:
              url: {boavizta_url}
            servers:
              - name: gpu-1
                runner_tags: [{TAG}]
                scaphandre: '{scaphandre}'
                gpu: '{gpu}'
                gpu_exporter: nvidia_smi
                hardware:
                  cpu: {{name: Intel Xeon Gold 6248, units: 2}}
                  ram_gb: 192
                  gpu: {{name: NVIDIA A100 80GB, units: 1}}
            gitlab:
              url: {gitlab_url}
              group: {GROUP}
              submission_jobs: [{jobs}]
            """
        )
        + extra_sections,
        encoding="utf-8",
    )
    return load_event(path)


def backfilled_prometheus(
    prometheus_factory: Callable[..., PrometheusServer],
    *,
    start: datetime,
    busy: Sequence[tuple[datetime, datetime]],
    seed: int,
) -> PrometheusServer:
    """A real Prometheus holding gpu-1's Scaphandre and NVIDIA exporter samples from ``start`` until now, the
    server busy (420 W host, 310 W GPU) during each ``busy`` window and idle (180 W, 55 W) otherwise."""
    windows = tuple(Constant(s.timestamp(), e.timestamp(), 0.0) for s, e in busy)
    host = PowerTrace(180.0, tuple(Constant(c.start_s, c.end_s, 420.0) for c in windows))
    gpu = PowerTrace(55.0, tuple(Constant(c.start_s, c.end_s, 310.0) for c in windows))
    sims = [
        ExporterSim(SCAPHANDRE, (SimDevice(host, counter_offset_j=5e6),), {"instance": "gpu-1:8080", "job": "s"}),
        ExporterSim(
            NVIDIA_SMI,
            (SimDevice(gpu, uuid="GPU-3b1c8f2e-6a0d-4e7b-9d53-0c2f6e8a1b47"),),
            {"instance": "gpu-1:9835", "job": "g"},
            with_counter=False,
        ),
    ]
    end = datetime.now(UTC) - timedelta(seconds=2)
    return prometheus_factory(openmetrics(sims, start.timestamp(), end.timestamp(), 5.0, jitter_s=0.05, seed=seed))


def platform_worker(
    config: EventConfig, world: World, sessions: SessionFactory, *, boavizta_url: str, factors: Path,
    max_attempts: int = 3,
) -> Iterator[Worker]:  # fmt: skip
    """The platform's worker on the event's services (a generator: iterate once, the services close after)."""
    gateway = GitLabGateway(make_gitlab_client(world.fake.url, world.fake.token, timeout_s=5.0))
    truth = load_truth(config)
    boavizta = BoaviztaClient(boavizta_url)
    with PrometheusClient(str(config.telemetry.prometheus)) as prometheus:
        ctx = EvaluationContext(
            config=config, gitlab=gateway, telemetry=prometheus,
            impacts=ImpactCalculator(boavizta, FactorCache(factors)),
            truth=truth, split=split_for(config, truth), now=lambda: datetime.now(UTC), scrape_wait_s=0.5,
        )  # fmt: skip
        with transaction(sessions, "event") as session:
            event_id = crud.ensure_event(session=session, name=config.event.name).id
        options = WorkerOptions(name="w1", lease_s=60.0, max_attempts=max_attempts, base_delay_s=0.0, poll_s=0.05)
        yield Worker(ctx=ctx, sessions=sessions, event_id=event_id, options=options)
    boavizta.close()


def deliver_finished(world: World, config: EventConfig, sessions: SessionFactory, job: dict[str, Any]) -> None:
    """What the Job Hook of a finished job does: queue its evaluation."""
    raw = world.fake.job_json(int(job["id"]))
    project = world.fake.project_json(int(raw["pipeline"]["project_id"]))
    hook = HookJob(int(project["id"]), str(project["path_with_namespace"]), int(raw["id"]), raw["name"], "test",
                   raw["status"], int(raw["pipeline"]["id"]), datetime.fromisoformat(raw["created_at"]))  # fmt: skip
    with transaction(sessions, "webhook") as session:
        enqueue_hook_jobs(session=session, config=config, jobs=[hook])

"""The platform under rehearsal, started for real: PostgreSQL, Prometheus (backfilled past + live scrapes of the
simulated exporters), BoaviztAPI, the fake GitLab, one ``greenhack serve`` and ``workers`` ``greenhack worker``
processes, each with its log.

What is simulated here is only what cannot run on this machine: GPU servers (their exporters are
:mod:`greenhack.telemetry.simulator` servers serving each job's scripted power) and GitLab (the fake's HTTP API).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml

from greenhack.rehearsal.scenario import DAY_S, JobPlan, Plan, team_paths
from greenhack.services._process import ManagedProcess
from greenhack.services.boavizta import BoaviztaServer
from greenhack.services.ports import free_port
from greenhack.services.postgres import temporary_database
from greenhack.services.prometheus import PrometheusServer
from greenhack.store.db import upgrade_database
from greenhack.telemetry.profiles import NVIDIA_SMI, SCAPHANDRE
from greenhack.telemetry.simulator import (
    Constant,
    ExporterSim,
    Noise,
    Outage,
    PowerTrace,
    ScrapeSpan,
    SimDevice,
    SimulatorServer,
    openmetrics_spans,
)
from greenhack.testing.fake_gitlab import FakeGitLab
from greenhack.testing.runner_log import LogTimes, runner_log

__all__ = [
    "ADMIN_TOKEN",
    "GROUP",
    "WEBHOOK_SECRET",
    "PrometheusMaker",
    "ServerSim",
    "Stack",
    "job_energy_j",
    "predictions_for",
    "server_name",
    "truth_rows",
    "GPU_IDLE_W",
    "HOST_IDLE_W",
    "LABELS",
]

WEBHOOK_SECRET = "rehearsal-webhook-secret"
ADMIN_TOKEN = "rehearsal-admin-token"
GROUP = "green-ai-rehearsal"
HOST_IDLE_W, GPU_IDLE_W = 170.0, 50.0
LABELS = ("a", "b", "c")

PrometheusMaker = Callable[[str, str], PrometheusServer]
"""(openmetrics text to backfill, scrape_configs YAML) -> a started PrometheusServer."""


def server_name(index: int) -> str:
    return f"gpu-{index + 1}"


def _gpu_uuid(index: int) -> str:
    return f"GPU-{index + 1:08x}-6a0d-4e7b-9d53-0c2f6e8a1b47"


@dataclass
class ServerSim:
    """One simulated GPU server: its Scaphandre and nvidia_gpu_exporter, their true power, and live servers."""

    index: int
    host: ExporterSim
    gpu: ExporterSim
    live: list[SimulatorServer] = field(default_factory=list)

    @property
    def name(self) -> str:
        return server_name(self.index)


def _job_power(job: JobPlan, seed: int) -> tuple[float, float]:
    rng = random.Random(seed * 7_919 + job.index)
    return rng.uniform(300.0, 450.0), rng.uniform(150.0, 330.0)


def _traces(plan: Plan, server: int, jobs: list[JobPlan]) -> tuple[PowerTrace, PowerTrace]:
    host, gpu = [], []
    for job in jobs:
        if job.server != server:
            continue
        host_w, gpu_w = _job_power(job, plan.scenario.seed)
        host.append(Constant(job.start_s, job.end_s, host_w))
        gpu.append(Noise(job.start_s, job.end_s, gpu_w, 0.1 * gpu_w, seed=job.index + 1))
    return PowerTrace(HOST_IDLE_W, tuple(host)), PowerTrace(GPU_IDLE_W, tuple(gpu))


def job_energy_j(
    sims: list[ServerSim], job: JobPlan, start_s: float | None = None, end_s: float | None = None
) -> float:
    """The exact energy (host + GPU) of the job's server over [start_s, end_s] (default: its window), joules."""
    sim = sims[job.server]
    a = job.start_s if start_s is None else start_s
    b = job.end_s if end_s is None else end_s
    return sim.host.devices[0].trace.energy_j(a, b) + sim.gpu.devices[0].trace.energy_j(a, b)


def truth_rows(count: int, seed: int) -> list[tuple[int, str]]:
    rng = random.Random(seed)
    return [(i, rng.choice(LABELS)) for i in range(1, count + 1)]


def predictions_for(job: JobPlan, truth: list[tuple[int, str]], *, max_bytes: int) -> bytes:
    """What the job uploads as predictions.csv, by kind (good ones get the job's accuracy, roughly)."""
    rng = random.Random(job.index)
    rows = [(i, label if rng.random() < job.accuracy else rng.choice(LABELS)) for i, label in truth]
    good = ("id,label\n" + "".join(f"{i},{label}\n" for i, label in rows)).encode()
    if job.kind == "corrupt":
        return b"id,label\n1,a\n2\n3,b,extra\nthis is not a row\n" + good[len(good) // 2 :]
    if job.kind == "empty":
        return b""
    if job.kind == "huge":
        body = good
        while len(body) <= 2 * max_bytes:
            body += good[len(b"id,label\n") :]
        return body
    if job.kind == "binary":
        return b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(4096))
    return good


def _process_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENHACK_")}
    env.update(extra)
    return env


class Stack:
    """Starts and stops everything; ``close()`` stops whatever was started, in reverse order.

    Args:
        plan: the rehearsal's plan.
        workdir: where logs, the event YAML, the truth and the factor cache go.
        make_prometheus: builds a started Prometheus from backfill text and scrape configs (tests pass the
            bench fixture); by default a PrometheusServer of its own in ``workdir``.
        boavizta: a started BoaviztAPI server to use (tests pass the session's); by default one of its own.
    """

    def __init__(
        self,
        plan: Plan,
        workdir: Path,
        *,
        make_prometheus: PrometheusMaker | None = None,
        boavizta: BoaviztaServer | None = None,
    ) -> None:
        self.plan = plan
        self.workdir = workdir
        self._make_prometheus = make_prometheus
        self.boavizta = boavizta
        self._owns_boavizta = boavizta is None
        self._exit = contextlib.ExitStack()
        self.sims: list[ServerSim] = []
        self.prometheus: PrometheusServer | None = None
        self.fake: FakeGitLab | None = None
        self.database_url = ""
        self.web: ManagedProcess | None = None
        self.web_port = 0
        self.workers: dict[str, ManagedProcess] = {}
        self.dead_workers: list[str] = []
        self.projects: list[int] = []
        self.runners: list[int] = []
        self.truth = truth_rows(plan.scenario.truth_rows, plan.scenario.seed)
        self.event_yaml = workdir / "event.yaml"
        self.setup_s: dict[str, float] = {}

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        t = time.monotonic()
        self.database_url = self._exit.enter_context(temporary_database(prefix="greenhack_rehearsal"))
        upgrade_database(self.database_url)
        self.setup_s["postgresql"] = time.monotonic() - t
        t = time.monotonic()
        self._start_telemetry()
        self.setup_s["prometheus (backfill + start)"] = time.monotonic() - t
        t = time.monotonic()
        if self.boavizta is None:
            self.boavizta = BoaviztaServer(workdir=self.workdir / "boavizta")
            self.boavizta.start()
            self._exit.callback(self.boavizta.close)
        self.setup_s["boaviztapi"] = time.monotonic() - t
        self.fake = FakeGitLab().start()
        self._exit.callback(self.fake.stop)
        self.web_port = free_port()
        self._seed_gitlab()
        self._write_event()
        t = time.monotonic()
        self._start_web()
        self.setup_s["greenhack serve"] = time.monotonic() - t
        t = time.monotonic()
        for n in range(self.plan.scenario.workers):
            self.start_worker(f"w{n + 1}")
        self.setup_s[f"greenhack worker x{self.plan.scenario.workers}"] = time.monotonic() - t

    def close(self) -> None:
        for proc in list(self.workers.values()):
            proc.stop()
        if self.web is not None:
            self.web.stop()
        for sim in self.sims:
            for server in sim.live:
                server.stop()
        self._exit.close()

    # --- telemetry ---------------------------------------------------------------------------------------------

    def _start_telemetry(self) -> None:
        plan, sc = self.plan, self.plan.scenario
        past = [j for j in plan.jobs if not j.live]
        outage = plan.outage_span()
        for s in range(sc.servers):
            host_trace, gpu_trace = _traces(plan, s, past)
            name = server_name(s)
            host = ExporterSim(
                SCAPHANDRE,
                (SimDevice(host_trace, counter_origin_s=plan.anchor_s - 3 * 86_400.0, counter_offset_j=1e6),),
                target_labels={"instance": f"{name}:8080", "job": "scaphandre"},
            )
            gpu = ExporterSim(
                NVIDIA_SMI,
                (SimDevice(gpu_trace, uuid=_gpu_uuid(s), model_name="NVIDIA A100 80GB PCIe"),),
                target_labels={"instance": f"{name}:9835", "job": "nvidia_gpu"},
                with_counter=False,
                outages=(Outage(*outage),) if outage and s == plan.faults.outage_server else (),
            )
            self.sims.append(ServerSim(s, host, gpu))
        text = openmetrics_spans(self._spans(past))
        for sim in self.sims:
            sim.live = [SimulatorServer(sim.host), SimulatorServer(sim.gpu)]
        scrape = self._scrape_configs()
        if self._make_prometheus is not None:
            self.prometheus = self._make_prometheus(text, scrape)
        else:
            self.prometheus = PrometheusServer(scrape_config=scrape, workdir=self.workdir / "prometheus")
            self.prometheus.backfill(text)
            self.prometheus.start()
            self._exit.callback(self.prometheus.close)

    def _spans(self, past: list[JobPlan]) -> list[ScrapeSpan]:
        """Scrapes around every replayed job (window +- fetch margin + 2 intervals), merged per server."""
        interval = self.plan.scenario.scrape_interval_s
        pad = 5 * interval + 2.0
        spans: list[ScrapeSpan] = []
        for sim in self.sims:
            merged: list[list[float]] = []
            for job in sorted((j for j in past if j.server == sim.index), key=lambda j: j.start_s):
                a, b = job.start_s - pad, job.end_s + pad
                if merged and a <= merged[-1][1] + interval:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            for n, (a, b) in enumerate(merged):
                seed = self.plan.scenario.seed + 1000 * sim.index + n
                spans.append(ScrapeSpan(sim.host, a, b, interval, 0.05, seed))
                spans.append(ScrapeSpan(sim.gpu, a, b, interval, 0.05, seed + 500_000))
        return spans

    def _scrape_configs(self) -> str:
        interval_ms = int(self.plan.scenario.scrape_interval_s * 1000)
        jobs = []
        for kind, index in (("scaphandre", 0), ("nvidia_gpu", 1)):
            port = "8080" if index == 0 else "9835"
            jobs.append(
                {
                    "job_name": kind,
                    "scrape_interval": f"{interval_ms}ms",
                    "scrape_timeout": f"{min(interval_ms, 2000)}ms",
                    "static_configs": [
                        {"targets": [sim.live[index].address], "labels": {"instance": f"{sim.name}:{port}"}}
                        for sim in self.sims
                    ],
                }
            )
        return str(yaml.safe_dump(jobs, sort_keys=False))

    def arm_live_jobs(self, started_at_s: float) -> list[JobPlan]:
        """Put the live jobs on real time (their windows offset by the rehearsal's start) and into the
        exporters' traces (and the GPU outage over the outage server's live job); returns the re-based plan."""
        jobs = [
            replace(
                j, start_s=j.start_s + started_at_s, end_s=j.end_s + started_at_s, live_offset_s=started_at_s
            )
            if j.live
            else j
            for j in self.plan.jobs
        ]
        for sim in self.sims:
            host_trace, gpu_trace = _traces(self.plan, sim.index, jobs)
            sim.host.devices = (replace(sim.host.devices[0], trace=host_trace),)
            sim.gpu.devices = (replace(sim.gpu.devices[0], trace=gpu_trace),)
            live_down = [j for j in jobs if j.live and j.exporter_down and j.server == sim.index]
            sim.gpu.outages = tuple(sim.gpu.outages) + tuple(
                Outage(j.start_s - 1.0, j.end_s + 1.0) for j in live_down
            )
        return jobs

    # --- GitLab ------------------------------------------------------------------------------------------------

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _seed_gitlab(self) -> None:
        assert self.fake is not None
        group = self.fake.find_or_create_group(GROUP)
        hook = {
            "url": f"{self.web_url}/api/v1/hooks/gitlab",
            "token": WEBHOOK_SECRET,
            "job_events": True,
            "pipeline_events": False,
            "push_events": False,
        }
        for path in team_paths(self.plan.scenario):
            subgroup, _, name = f"{group['full_path']}/{path}".rpartition("/")
            project = self.fake.create_project(name, namespace_id=self.fake.find_or_create_group(subgroup)["id"])
            self.fake.add_hook(project["id"], hook)
            self.projects.append(int(project["id"]))
        for s in range(self.plan.scenario.servers):
            self.runners.append(
                self.fake.runner_id(f"{server_name(s)} runner", tags=[f"rh-{server_name(s)}"])
            )

    def record_job(self, job: JobPlan) -> int:
        """GitLab runs the job: its record (window, runner, artifact) appears in the API; returns its id."""
        assert self.fake is not None
        crashed = job.kind == "crashed"
        max_bytes = int(self.plan.scenario.max_predictions_mb * 1024 * 1024)
        started, finished = datetime.fromtimestamp(job.start_s, tz=UTC), datetime.fromtimestamp(job.end_s, tz=UTC)
        record = self.fake.run_job(
            self.projects[job.team],
            started_at=started,
            finished_at=finished,
            # the runner's log with the CI component's marks: the command ran over the job's whole window here
            log=runner_log(LogTimes(started=started, command_start=started, command_end=finished, finished=finished)),
            runner_id=self.runners[job.server],
            tags=[f"rh-{server_name(job.server)}"],
            status="failed" if crashed else "success",
            failure_reason="script_failure" if crashed else None,
            artifacts={}
            if crashed
            else {"predictions.csv": predictions_for(job, self.truth, max_bytes=max_bytes)},
        )
        return int(record["id"])

    # --- the event YAML ----------------------------------------------------------------------------------------

    def _write_event(self) -> None:
        plan, sc = self.plan, self.plan.scenario
        assert self.prometheus is not None and self.boavizta is not None and self.fake is not None
        (self.workdir / "truth.csv").write_text(
            "id,label\n" + "".join(f"{i},{label}\n" for i, label in self.truth), encoding="utf-8"
        )
        opens = datetime.fromtimestamp(plan.anchor_s - (sc.simulated_days + 0.5) * 86_400.0, tz=UTC)
        closes = datetime.fromtimestamp(plan.anchor_s + 86_400.0, tz=UTC)
        servers = ""
        for s in range(sc.servers):
            name = server_name(s)
            ram = 384 if s == plan.late_server else 192
            servers += textwrap.dedent(
                f"""\
                  - name: {name}
                    runner_tags: [rh-{name}]
                    scaphandre: '{{instance="{name}:8080"}}'
                    gpu: '{{instance="{name}:9835"}}'
                    gpu_exporter: nvidia_smi
                    hardware:
                      cpu: {{name: Intel Xeon Gold 6248, units: 2}}
                      ram_gb: {ram}
                      gpu: {{name: NVIDIA A100 80GB, units: 1}}
                """
            )
        text = textwrap.dedent(
            f"""\
            event:
              name: Rehearsal {int(plan.anchor_s)}
              opens: {opens.isoformat()}
              closes: {closes.isoformat()}
            task:
              predictions: predictions.csv
              truth: truth.csv
              public_fraction: 0.5
              max_predictions_mb: {sc.max_predictions_mb}
            performance:
              metric: accuracy
            impact:
              criterion: gwp
              pue: 1.2
              location: FRA
            ranking:
              method: weighted
              weights: {{performance: 0.5, impact: 0.5}}
            limits:
              submissions_per_day: {sc.submissions_per_team}
            telemetry:
              prometheus: {self.prometheus.url}
              scrape_interval: {sc.scrape_interval_s:g}s
            boavizta:
              url: {self.boavizta.url}
            gitlab:
              url: {self.fake.url}
              group: {GROUP}
            servers:
            """
        )
        self.event_yaml.write_text(text + servers, encoding="utf-8")

    # --- processes ---------------------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        assert self.fake is not None
        return _process_env(
            GREENHACK_DATABASE_URL=self.database_url,
            GREENHACK_GITLAB_TOKEN=self.fake.token,
            GREENHACK_WEBHOOK_SECRET=WEBHOOK_SECRET,
            GREENHACK_ADMIN_TOKEN=ADMIN_TOKEN,
            GREENHACK_DATA_DIR=str(self.workdir / "data"),
            GREENHACK_LOG_LEVEL="INFO",
        )

    def _start_web(self) -> None:
        self.web = ManagedProcess(
            "greenhack serve", self.workdir / "web.log", cwd=self.workdir, env=self._env()
        )
        argv = [sys.executable, "-m", "greenhack", "serve", "--config", str(self.event_yaml)]
        self.web.start([*argv, "--port", str(self.web_port)], f"{self.web_url}/healthz", 60.0)

    def start_worker(self, name: str) -> ManagedProcess:
        """Start one ``greenhack worker`` named ``name`` and wait until it works."""
        sc = self.plan.scenario
        proc = ManagedProcess(
            f"worker {name}", self.workdir / f"worker-{name}.log", cwd=self.workdir, env=self._env()
        )
        # replayed jobs reach the fake GitLab now but carry their simulated-past times (GitLab's created_at and
        # finished_at), which is what the reconciler's look-back is measured on: it spans that past too
        lookback_s = sc.lookback_s + sc.simulated_days * DAY_S
        argv = [
            sys.executable, "-m", "greenhack", "worker", "--config", str(self.event_yaml), "--name", name,
            "--lease", f"{sc.lease_s:g}s", "--retry-delay", f"{sc.retry_delay_s:g}s", "--max-attempts", "12",
            "--reconcile-every", f"{sc.reconcile_every_s:g}s", "--lookback", f"{lookback_s:.0f}s",
        ]  # fmt: skip

        def working() -> bool:
            return "evaluating jobs of" in proc.log_path.read_text(encoding="utf-8", errors="replace")

        proc.start(argv, working, 60.0)
        self.workers[name] = proc
        return proc

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker (no clean-up of any kind happens in it)."""
        proc = self.workers.pop(name)
        pid = proc.pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        proc.stop()  # reaps it
        self.dead_workers.append(name)

    def worker_logs(self) -> dict[str, str]:
        names = list(self.workers) + self.dead_workers
        return {
            n: (self.workdir / f"worker-{n}.log").read_text(encoding="utf-8", errors="replace") for n in names
        }

    def http(self, timeout_s: float = 10.0) -> httpx.Client:
        return httpx.Client(base_url=self.web_url, timeout=timeout_s)

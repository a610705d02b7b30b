"""The demo's local platform: every service the production flow talks to, started on loopback and stopped on exit.

* database: SQLite in the work folder, migrated with Alembic like any deployment;
* BoaviztAPI: a real server from ``.venv-boavizta`` (scripts/setup.sh installs it). Without it, impacts come from
  the factors BoaviztAPI 2.5.0 gave for the demo server (``examples/demo/boavizta-factors.json``), through the
  platform's own factor cache, and the demo says so;
* telemetry: when the ``prometheus`` binary is installed, a real Prometheus scraping :class:`LiveScaphandre`
  (Scaphandre's host metrics read from the running job's meters at each scrape); otherwise the exporter
  simulator's scrapes of the measured power curve, read through :class:`SimulatedPrometheus` (what Prometheus
  would have stored); see :mod:`greenhack.demo.telemetry`;
* GitLab: :class:`greenhack.testing.FakeGitLab`, an in-process server answering the REST API as GitLab documents
  it, where each team's run is recorded as a CI job with its window, runner tags and predictions artifact.
"""

from __future__ import annotations

import logging
import shutil
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import yaml
from pydantic import SecretStr

from greenhack.config import EventConfig, GitLabSection, ServerConfig
from greenhack.demo.phases import dated_event_yaml
from greenhack.demo.telemetry import LiveScaphandre, MeasuredPowerTrace, parse_selector
from greenhack.errors import ServiceError
from greenhack.impacts.factors import FACTOR_CACHE_FILE
from greenhack.preflight import load_checked_event
from greenhack.services.boavizta import BoaviztaServer, find_boavizta_python
from greenhack.services.ports import free_port
from greenhack.services.prometheus import PrometheusServer, find_prometheus_binaries
from greenhack.settings import Settings
from greenhack.shipped import FACTORS_SNAPSHOT
from greenhack.store.db import upgrade_database
from greenhack.telemetry.profiles import SCAPHANDRE
from greenhack.telemetry.prometheus import PrometheusClient
from greenhack.telemetry.simulator import ExporterSim, SimDevice
from greenhack.testing.fake_gitlab import FakeGitLab

__all__ = ["FACTORS_SNAPSHOT", "DemoStack", "StackOptions", "target_labels"]

log = logging.getLogger(__name__)

_GITLAB_TOKEN = "glpat-greenhack-demo"
# the variable the demo's event reads the GitLab token from: nobody sets it, so the demo's settings' token is used
_DEMO_TOKEN_ENV = "GREENHACK_DEMO_ONLY_GITLAB_TOKEN"
# what a previous demo run left in the work folder (removed at start: each demo is a fresh event)
_PREVIOUS_RUN = ("greenhack.db", "greenhack.db-wal", "greenhack.db-shm", "data", "public", "jobs", "prometheus",
                 "boavizta", "event.yaml")


@dataclass(frozen=True)
class StackOptions:
    """What to start.

    Attributes:
        workdir: the demo's folder (database, jobs, logs); emptied of a previous run's files first.
        event_dir: where ``event.yaml`` and the factor snapshot are.
        use_prometheus: start Prometheus (None: when the binary is installed).
        use_boavizta: start BoaviztAPI (None: when it is installed).
        public_url: the board's address, for links.
    """

    workdir: Path
    event_dir: Path
    use_prometheus: bool | None = None
    use_boavizta: bool | None = None
    public_url: str = "http://127.0.0.1:8000"


def target_labels(server: ServerConfig) -> dict[str, str]:
    """The labels a scrape must give a server's Scaphandre series so that its event selector matches them."""
    _, matchers = parse_selector(server.scaphandre)
    labels = {m.label: m.value for m in matchers if m.op == "="}
    if not labels:
        raise ServiceError(f"server {server.name!r}: the demo needs an equality matcher in its scaphandre selector")
    return {"job": "scaphandre", **labels}


def _with_stand_in_gitlab(config: EventConfig, url: str) -> EventConfig:
    """The event with its GitLab at the stand-in's address, and its token read from the demo's settings only (a
    token the user exported for a real GitLab must not be sent to the stand-in)."""
    if config.gitlab is None:
        return config
    section = GitLabSection.model_validate(
        {**config.gitlab.model_dump(), "url": url, "token_env": _DEMO_TOKEN_ENV}
    )
    return config.model_copy(update={"gitlab": section})


@dataclass
class DemoStack:
    """The running services; use as a context manager (everything started is stopped on exit, Ctrl-C included).

    Attributes set by :meth:`start`: ``config``, ``settings``, ``server``, ``trace``, ``sim``, ``prometheus`` and
    ``live`` (None without the binary), ``boavizta`` (None without BoaviztAPI), ``gitlab``, ``notes`` (one line per
    fallback taken, for the user).
    """

    options: StackOptions
    notes: list[str] = field(default_factory=list)
    prometheus: PrometheusServer | None = None
    boavizta: BoaviztaServer | None = None
    live: LiveScaphandre | None = None
    _exit: ExitStack = field(default_factory=ExitStack)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every service started, in reverse order."""
        self._exit.close()

    def start(self) -> None:
        """Start the services (see the module docstring), the slowest first."""
        wd = self.options.workdir
        wd.mkdir(parents=True, exist_ok=True)
        for name in _PREVIOUS_RUN:
            path = wd / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        # the event the platform evaluates and serves: the shipped file, or the one the demo writes once it has
        # dated the phases (date_phases)
        self.event_yaml: Path = self.options.event_dir / "event.yaml"
        self.config: EventConfig = load_checked_event(self.event_yaml)
        self.server: ServerConfig = self.config.servers[0]
        data_dir = wd / "data"
        data_dir.mkdir()

        boavizta_url = self._start_boavizta(data_dir)
        self.trace = MeasuredPowerTrace(baseline_w=0.0)
        self.sim = ExporterSim(
            SCAPHANDRE, (SimDevice(self.trace.snapshot()),), target_labels=target_labels(self.server)
        )
        prometheus_url = self._start_prometheus()

        self.gitlab = FakeGitLab(token=_GITLAB_TOKEN).start()
        self._exit.callback(self.gitlab.stop)
        self.config = _with_stand_in_gitlab(self.config, self.gitlab.url)

        database_url = f"sqlite:///{(wd / 'greenhack.db').resolve()}"
        upgrade_database(database_url)
        self.settings = Settings(
            database_url=database_url,
            data_dir=data_dir,
            prometheus_url=prometheus_url,
            boavizta_url=boavizta_url,
            gitlab_token=SecretStr(_GITLAB_TOKEN),
            public_url=self.options.public_url,
        )

    def _start_boavizta(self, data_dir: Path) -> str:
        wanted = self.options.use_boavizta
        python = find_boavizta_python() if wanted is not False else None
        if python is not None:
            self.boavizta = BoaviztaServer(python=python, workdir=self.options.workdir / "boavizta")
            self._exit.callback(self.boavizta.stop)
            self.boavizta.start()
            return self.boavizta.url
        if wanted:
            raise ServiceError("BoaviztAPI is not installed: run scripts/setup.sh (it installs .venv-boavizta)")
        snapshot = self.options.event_dir / FACTORS_SNAPSHOT
        if not snapshot.is_file():
            raise ServiceError(f"BoaviztAPI is not installed and the factor snapshot {snapshot} is missing")
        shutil.copyfile(snapshot, data_dir / FACTOR_CACHE_FILE)
        self.notes.append(
            "BoaviztAPI is not installed (run scripts/setup.sh to install it): impacts use the factors BoaviztAPI "
            f"2.5.0 gave for this server at {self.config.impact.location}, shipped in {snapshot.name}, through the "
            "platform's factor cache, exactly as the platform does while BoaviztAPI is down"
        )
        # nothing listens there: the platform's calculator finds BoaviztAPI down and uses the cached factors
        return f"http://127.0.0.1:{free_port()}"

    def _start_prometheus(self) -> str | None:
        wanted = self.options.use_prometheus
        if wanted is False:
            self.notes.append("Prometheus not used (--no-prometheus): the platform reads the simulated exporter's "
                              "samples as Prometheus would store them")
            return None
        try:
            find_prometheus_binaries()
        except ServiceError as exc:
            if wanted:
                raise
            self.notes.append(
                f"Prometheus is not installed ({str(exc).split(':')[0]}): the platform reads the simulated "
                "exporter's samples as Prometheus would store them, through the same energy integration"
            )
            return None
        self.live = LiveScaphandre()
        address = self.live.serve()
        self._exit.callback(self.live.stop)
        interval_s = self.config.scrape_interval_for(self.server).total_seconds()
        job = {
            "job_name": "scaphandre",
            "scrape_interval": f"{int(interval_s * 1000)}ms",
            "scrape_timeout": f"{int(interval_s * 1000)}ms",
            "static_configs": [{"targets": [address], "labels": target_labels(self.server)}],
        }
        self.prometheus = PrometheusServer(
            scrape_config=yaml.safe_dump([job], sort_keys=False), workdir=self.options.workdir / "prometheus"
        )
        self._exit.callback(self.prometheus.stop)
        self.prometheus.start()
        return self.prometheus.url

    def wait_for_first_scrape(self, timeout_s: float = 30.0) -> None:
        """Return once Prometheus holds a sample of the simulated exporter (so the first job has one before it).

        Raises:
            ServiceError: no sample after ``timeout_s`` seconds (the scrape target is unreachable).
        """
        if self.prometheus is None:
            return
        selector = f"{SCAPHANDRE.power_metric}{self.server.scaphandre}"
        deadline = time.monotonic() + timeout_s
        with PrometheusClient(self.prometheus.url) as client:
            while client.latest_sample_time(selector) is None:
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"Prometheus at {self.prometheus.url} has not scraped the simulated exporter after "
                        f"{timeout_s:.0f} s; see {self.prometheus.log_path}"
                    )
                time.sleep(0.2)

    # --- the phases ------------------------------------------------------------------------------------------------

    def date_phases(self, boundary: datetime) -> None:
        """Close the practice phase and open the final one at ``boundary`` (greenhack.demo.phases): the event as
        run is written to the work folder, checked and loaded as the platform's event."""
        dated = self.options.workdir / "event.yaml"
        dated.write_text(dated_event_yaml(self.options.event_dir / "event.yaml", boundary=boundary), encoding="utf-8")
        self.event_yaml = dated
        self.config = _with_stand_in_gitlab(load_checked_event(dated), self.gitlab.url)

    # --- the simulated exporter ----------------------------------------------------------------------------------

    def publish_trace(self) -> None:
        """Give the exporter simulator the power curve as measured so far."""
        device = self.sim.devices[0]
        self.sim.devices = (replace(device, trace=self.trace.snapshot()),)

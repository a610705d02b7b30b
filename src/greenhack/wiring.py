"""The clients of one process, wired once: :func:`build_services` for every entry point.

The CLI verbs, the worker, the board's job-token routes, the demo and ``greenhack measure`` all talk to the same
services, built from the event YAML and the settings by the same rules:

- GitLab: the event's ``gitlab.url`` with the platform's token (:mod:`greenhack.gitlab.credentials`);
- Prometheus and BoaviztAPI: ``GREENHACK_PROMETHEUS_URL`` / ``GREENHACK_BOAVIZTA_URL`` when set, else the YAML's
  address (:func:`service_addresses`, the one place that decides it);
- impacts: the BoaviztAPI client behind the per-server factor cache under ``GREENHACK_DATA_DIR``;
- the hidden truth, its public/private split, and the servers' idle baselines.

Each client is built on first use (the ``impacts`` verb never reads the truth file; the board's app builds
nothing before a job calls it) and closed by :meth:`Services.close` (or the ``with`` block).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from types import TracebackType
from typing import Any, Self

import httpx

from greenhack.competition import event_phases
from greenhack.config import EventConfig
from greenhack.errors import SettingsError
from greenhack.evaluation import EvaluationContext
from greenhack.gitlab.credentials import gitlab_token
from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.scoring.evaluate import split_for
from greenhack.scoring.models import Split, Truth
from greenhack.scoring.truth import load_truth
from greenhack.settings import Settings
from greenhack.store.models import utcnow
from greenhack.telemetry import IdleBaselines, PrometheusClient, TelemetrySource

__all__ = ["ServiceAddresses", "Services", "build_services", "phase_truths", "service_addresses"]


@dataclass(frozen=True)
class ServiceAddresses:
    """Where Prometheus and BoaviztAPI answer for this process."""

    prometheus_url: str
    boavizta_url: str


def service_addresses(config: EventConfig, settings: Settings) -> ServiceAddresses:
    """The settings' address of each service when set (e.g. inside docker compose), else the event YAML's."""
    return ServiceAddresses(
        prometheus_url=settings.prometheus_url or str(config.telemetry.prometheus),
        boavizta_url=settings.boavizta_url or str(config.boavizta.url),
    )


class Services:
    """The clients of one process (see the module docstring); build it with :func:`build_services`.

    Attributes (each built on first use, then kept):
        gitlab: the GitLab gateway with the platform's token; raises SettingsError without a gitlab section or
            token (:attr:`gitlab_or_none` answers None instead).
        telemetry: the Prometheus client (or the source given to :func:`build_services`).
        impacts: the impact calculator (BoaviztAPI and the factor cache).
        truth, split: the hidden truth (ConfigError when its file is bad) and its public/private rows.
        idle: each server's idle power, measured once per server.
    """

    def __init__(
        self,
        config: EventConfig,
        settings: Settings,
        *,
        gitlab_timeout_s: float,
        telemetry: TelemetrySource | None,
        boavizta_http: httpx.Client | None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.addresses = service_addresses(config, settings)
        self._gitlab_timeout_s = gitlab_timeout_s
        self._given_telemetry = telemetry
        self._boavizta_http = boavizta_http
        self._closers: list[Callable[[], None]] = []
        # the board's app builds its services from request threads
        self._lock = threading.RLock()

    def _keep(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    @cached_property
    def gitlab(self) -> GitLabGateway:
        with self._lock:
            gitlab = self.config.gitlab
            if gitlab is None:
                raise SettingsError("the event YAML has no gitlab section (url, group)")
            token = gitlab_token(self.config, self.settings)
            if token is None:
                raise SettingsError(f"set the platform's GitLab token in ${gitlab.token_env}")
            client = make_gitlab_client(
                str(gitlab.url).rstrip("/"), token.get_secret_value(), timeout_s=self._gitlab_timeout_s
            )
            self._keep(client.session.close)
            return GitLabGateway(client)

    @property
    def gitlab_or_none(self) -> GitLabGateway | None:
        """The gateway, or None when the event has no gitlab section or the token is unset."""
        try:
            return self.gitlab
        except SettingsError:
            return None

    @cached_property
    def telemetry(self) -> TelemetrySource:
        with self._lock:
            if self._given_telemetry is not None:
                return self._given_telemetry
            client = PrometheusClient(self.addresses.prometheus_url)
            self._keep(client.close)
            return client

    @cached_property
    def boavizta(self) -> BoaviztaClient:
        with self._lock:
            client = BoaviztaClient(self.addresses.boavizta_url, http=self._boavizta_http)
            self._keep(client.close)
            return client

    @cached_property
    def impacts(self) -> ImpactCalculator:
        with self._lock:
            return ImpactCalculator(self.boavizta, FactorCache.in_data_dir(self.settings.data_dir))

    @cached_property
    def truth(self) -> Truth:
        with self._lock:
            return load_truth(self.config)

    @cached_property
    def split(self) -> Split:
        with self._lock:
            return split_for(self.config, self.truth)

    @cached_property
    def phase_truths(self) -> dict[str, tuple[Truth, Split]]:
        with self._lock:
            return phase_truths(self.config)

    @cached_property
    def idle(self) -> IdleBaselines:
        with self._lock:
            return IdleBaselines()

    def evaluation_context(
        self, *, now: Callable[[], datetime] = utcnow, **options: Any
    ) -> EvaluationContext:
        """What an evaluation reads: these clients, the truth and its split; ``options`` are the context's
        timing fields (``sleep``, ``scrape_wait_s``, ``scrape_deadline_s``)."""
        return EvaluationContext(
            config=self.config,
            gitlab=self.gitlab,
            telemetry=self.telemetry,
            impacts=self.impacts,
            truth=self.truth,
            split=self.split,
            phase_truths=self.phase_truths,
            now=now,
            idle=self.idle,
            **options,
        )

    def close(self) -> None:
        """Close every client this bundle built (a telemetry source given to it stays the caller's)."""
        with self._lock:
            closers, self._closers = self._closers, []
        for close in reversed(closers):
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def build_services(
    config: EventConfig,
    settings: Settings,
    *,
    gitlab_timeout_s: float = 30.0,
    telemetry: TelemetrySource | None = None,
    boavizta_http: httpx.Client | None = None,
) -> Services:
    """The clients of one process for ``config`` under ``settings`` (built on first use; see :class:`Services`).

    Args:
        config: the event YAML.
        settings: the deployment settings (tokens, service address overrides, data folder).
        gitlab_timeout_s: timeout of each GitLab request, in seconds.
        telemetry: a telemetry source to use instead of Prometheus (the demo without the binary).
        boavizta_http: an httpx client for BoaviztAPI (tests inject one).
    """
    return Services(
        config, settings, gitlab_timeout_s=gitlab_timeout_s, telemetry=telemetry, boavizta_http=boavizta_http
    )


def phase_truths(config: EventConfig) -> dict[str, tuple[Truth, Split]]:
    """Per phase that names its own truth file (``phases[].truth``, other than ``task.truth``): that truth and its
    split with the event's seed, each file read once; what the evaluation scores that phase's submissions on.

    Raises:
        ConfigError: a phase's truth file is missing or has bad rows (located).
    """
    by_path: dict[str, tuple[Truth, Split]] = {}
    out: dict[str, tuple[Truth, Split]] = {}
    for phase in event_phases(config):
        key = os.path.normpath(phase.truth_path)
        if key == os.path.normpath(config.truth_path):
            continue
        if key not in by_path:
            truth = load_truth(config, phase.truth_path)
            by_path[key] = (truth, split_for(config, truth))
        out[phase.name] = by_path[key]
    return out

"""Carbon-aware early stopping for training code running inside a submission job.

Dependency-free on purpose (standard library only): teams copy or import it inside their own job image, where
greenhack's other dependencies are not installed. The platform measures the calling job from Prometheus since
the job's start on its runner's server and answers ``GET /api/v1/jobs/self/energy``, authenticated by the job's
own ``CI_JOB_TOKEN`` (GitLab sets it in every job)::

    from greenhack.budget import CarbonBudget

    budget = CarbonBudget(max_gco2e=50)          # or max_energy_wh=...
    for epoch in range(100):
        train_one_epoch()
        if budget.exceeded():
            print(f"stopping: {budget.last}")
            break

``GREENHACK_URL`` (the platform's address, set by the CI template) and ``CI_JOB_TOKEN`` are read from the
environment unless given. The platform is asked at most once per ``min_interval_s``; between two answers the last
one is reused, so calling ``exceeded()`` every batch is cheap. If the platform cannot be reached, training goes on
(``on_error="continue"``, a warning is printed once) or the error is raised (``on_error="raise"``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["BudgetError", "CarbonBudget", "ENDPOINT", "JobFootprint", "fetch_job_footprint"]

ENDPOINT = "/api/v1/jobs/self/energy"


class BudgetError(Exception):
    """The platform could not tell this job's footprint (unreachable, refused the token, bad answer)."""


@dataclass(frozen=True)
class JobFootprint:
    """What the platform measured of the calling job so far.

    Attributes:
        job_id: the GitLab job id the token belongs to.
        elapsed_s: seconds since the job started, in seconds.
        energy_j: energy of the server since the job started, in joules.
        gwp_gco2e: global warming potential as the event counts it (impact.include: use with the PUE and grid
            factor, and/or the embodied share of the server for the elapsed time), in gCO2e.
        valid: False when the platform's telemetry had gaps; the numbers are then a lower bound.
    """

    job_id: int
    elapsed_s: float
    energy_j: float
    gwp_gco2e: float
    valid: bool

    @property
    def energy_wh(self) -> float:
        return self.energy_j / 3600.0

    def __str__(self) -> str:
        return (
            f"job {self.job_id}: {self.energy_wh:.2f} Wh, {self.gwp_gco2e:.2f} gCO2e in {self.elapsed_s:.0f} s"
            + ("" if self.valid else " (telemetry incomplete)")
        )


def fetch_job_footprint(url: str, token: str, *, timeout_s: float = 5.0) -> JobFootprint:
    """Ask the platform at ``url`` for the footprint of the job that owns ``token``."""
    request = urllib.request.Request(
        url.rstrip("/") + ENDPOINT, headers={"JOB-TOKEN": token, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (URL from config)
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise BudgetError(f"the platform answered {exc.code}: {detail}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise BudgetError(f"cannot reach the platform at {url}: {exc}") from exc
    except ValueError as exc:
        raise BudgetError(f"the platform's answer is not JSON: {exc}") from exc
    try:
        return JobFootprint(
            job_id=int(body["job_id"]),
            elapsed_s=float(body["elapsed_s"]),
            energy_j=float(body["energy_j"]),
            gwp_gco2e=float(body["gwp_gco2e"]),
            valid=bool(body["valid"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BudgetError(f"unexpected answer from the platform: {body!r}") from exc


class CarbonBudget:
    """Tells training code when the job's measured footprint has reached a threshold."""

    def __init__(
        self,
        *,
        max_gco2e: float | None = None,
        max_energy_wh: float | None = None,
        url: str | None = None,
        token: str | None = None,
        min_interval_s: float = 10.0,
        timeout_s: float = 5.0,
        on_error: Literal["continue", "raise"] = "continue",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (seconds, only differences count) paces the questions: a test's own, or a loop's epochs."""
        if max_gco2e is None and max_energy_wh is None:
            raise ValueError("give max_gco2e, max_energy_wh or both")
        for name, value in (("max_gco2e", max_gco2e), ("max_energy_wh", max_energy_wh)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")
        self.url = url or os.environ.get("GREENHACK_URL", "")
        self.token = token or os.environ.get("CI_JOB_TOKEN", "")
        if not self.url:
            raise ValueError("no platform address: pass url= or set GREENHACK_URL")
        if not self.token:
            raise ValueError("no job token: pass token= or run inside a GitLab job (CI_JOB_TOKEN)")
        self.max_gco2e = max_gco2e
        self.max_energy_wh = max_energy_wh
        self.min_interval_s = min_interval_s
        self.timeout_s = timeout_s
        self.on_error = on_error
        self._clock = clock
        self.last: JobFootprint | None = None
        self._asked_at = -float("inf")
        self._warned = False

    def check(self) -> JobFootprint | None:
        """The latest footprint, asking the platform if the last answer is older than ``min_interval_s``."""
        now = self._clock()
        if now - self._asked_at < self.min_interval_s:
            return self.last
        self._asked_at = now
        try:
            self.last = fetch_job_footprint(self.url, self.token, timeout_s=self.timeout_s)
        except BudgetError as exc:
            if self.on_error == "raise":
                raise
            if not self._warned:
                print(f"greenhack.budget: {exc}; training goes on", file=sys.stderr)
                self._warned = True
        return self.last

    def exceeded(self) -> bool:
        """True once the footprint has reached ``max_gco2e`` or ``max_energy_wh``."""
        footprint = self.check()
        if footprint is None:
            return False
        if self.max_gco2e is not None and footprint.gwp_gco2e >= self.max_gco2e:
            return True
        return self.max_energy_wh is not None and footprint.energy_wh >= self.max_energy_wh

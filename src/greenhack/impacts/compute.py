"""The impacts of one job: measured energy and duration x the server's factors.

For each BoaviztAPI criterion (GWP kgCO2e, ADPe kgSbeq, PE MJ)::

    use      = energy_j x PUE x use_per_j          (the grid's factor of impact.location, or
                                                     carbon_intensity_g_per_kwh for GWP when given)
    embodied = min(duration_s, lifetime_s) x embodied_per_s
    total    = the phases listed in impact.include; min and max likewise from the factors' bounds

and ``energy`` (kWh) = energy_j x PUE / 3.6e6, which needs no BoaviztAPI.

``impacts_from_factors`` is pure (rescoring runs it on stored factors); ``ImpactCalculator`` gets the factors
from the cache, or from BoaviztAPI once per (hardware, location), and then calls it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from greenhack.config import ImpactSection, ServerConfig
from greenhack.errors import BoaviztaUnavailable, ImpactsError
from greenhack.impacts.client import BoaviztaClient
from greenhack.impacts.factors import FactorCache, derive_factors, factor_key, hardware_query
from greenhack.impacts.models import (
    BOAVIZTA_CRITERIA,
    CRITERION_UNITS,
    J_PER_KWH,
    Bound,
    CriterionImpact,
    JobImpacts,
    ServerFactors,
)

__all__ = ["ImpactCalculator", "impacts_from_factors"]

log = logging.getLogger(__name__)

_CARBON_INTENSITY_SOURCE = "impact.carbon_intensity_g_per_kwh of the event YAML"


def _check_inputs(energy_j: float, duration_s: float) -> None:
    if not (isinstance(energy_j, int | float) and math.isfinite(energy_j) and energy_j >= 0):
        raise ImpactsError(f"energy_j must be a finite number of joules >= 0 (got {energy_j!r})")
    if not (isinstance(duration_s, int | float) and math.isfinite(duration_s) and duration_s > 0):
        raise ImpactsError(f"duration_s must be a finite number of seconds > 0 (got {duration_s!r})")


def impacts_from_factors(
    factors: ServerFactors, impact_section: ImpactSection, energy_j: float, duration_s: float
) -> JobImpacts:
    """The impacts of a job from stored factors, without BoaviztAPI.

    Args:
        factors: the server's factors at ``impact_section.location``.
        impact_section: the event's ``impact`` section (PUE, include, carbon intensity, criterion).
        energy_j: the job's measured energy at the server, in J (before PUE).
        duration_s: the job's duration, in s.

    Raises:
        ImpactsError: negative or non-finite inputs, or factors of another location.
    """
    _check_inputs(energy_j, duration_s)
    if factors.location != impact_section.location:
        raise ImpactsError(
            f"factors are for location {factors.location!r} but impact.location is {impact_section.location!r}"
        )
    grid_energy_j = energy_j * impact_section.pue
    allocated_s = min(duration_s, factors.lifetime_s)  # BoaviztAPI allocates at most the whole server
    include = tuple(impact_section.include)
    results: dict[str, CriterionImpact] = {}
    for criterion in BOAVIZTA_CRITERIA:
        own = factors.criterion(criterion)
        use_factor, source = own.use_per_j, own.use_source
        if criterion == "gwp" and impact_section.carbon_intensity_g_per_kwh is not None:
            use_factor = Bound.exact(impact_section.carbon_intensity_g_per_kwh / 1000.0 / J_PER_KWH)
            source = _CARBON_INTENSITY_SOURCE
        use = use_factor.scaled(grid_energy_j)
        embodied = own.embodied_per_s.scaled(allocated_s)
        counted = [bound for phase, bound in (("use", use), ("embodied", embodied)) if phase in include]
        results[criterion] = CriterionImpact(
            criterion=criterion,
            unit=CRITERION_UNITS[criterion],
            use=use.value,
            embodied=embodied.value,
            total=sum(b.value for b in counted),
            min=sum(b.min for b in counted),
            max=sum(b.max for b in counted),
            use_factor=use_factor,
            use_factor_source=source,
            embodied_factor=own.embodied_per_s,
        )
    energy_kwh = grid_energy_j / J_PER_KWH
    results["energy"] = CriterionImpact(
        criterion="energy",
        unit=CRITERION_UNITS["energy"],
        use=energy_kwh,
        embodied=None,
        total=energy_kwh,
        min=None,
        max=None,
    )
    return JobImpacts(
        energy_j=float(energy_j),
        duration_s=float(duration_s),
        pue=impact_section.pue,
        location=impact_section.location,
        carbon_intensity_g_per_kwh=impact_section.carbon_intensity_g_per_kwh,
        include=include,
        criterion=impact_section.criterion,
        gwp=results["gwp"],
        adpe=results["adpe"],
        pe=results["pe"],
        energy=results["energy"],
        boavizta_version=factors.boavizta_version,
        factors=factors,
    )


class ImpactCalculator:
    """Impacts of jobs, asking BoaviztAPI once per (server hardware, location) and BoaviztAPI version.

    The live BoaviztAPI version is checked at most every ``version_ttl_s`` seconds; cached factors of another
    version are derived again. When BoaviztAPI is down, factors already cached are still used (each result
    records the version they came from); without them, :class:`~greenhack.errors.BoaviztaUnavailable` is raised
    and nothing is published.

    Args:
        client: the BoaviztAPI client.
        cache: where factors are kept between jobs and processes.
        version_ttl_s: how long a checked BoaviztAPI version is trusted, in seconds.
        clock: a monotonic clock in seconds (tests inject one).
    """

    def __init__(
        self,
        client: BoaviztaClient,
        cache: FactorCache,
        *,
        version_ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._cache = cache
        self._version_ttl_s = version_ttl_s
        self._clock = clock
        self._version: str | None = None
        self._version_checked_at = -math.inf
        self._lock = threading.RLock()

    def _live_version(self) -> str:
        now = self._clock()
        if self._version is None or now - self._version_checked_at > self._version_ttl_s:
            self._version = self._client.version()
            self._version_checked_at = now
        return self._version

    def factors(
        self, server: ServerConfig, impact: ImpactSection, *, server_key: str | None = None
    ) -> ServerFactors:
        """The server's factors at ``impact.location``: from the cache when current, else from BoaviztAPI.

        Args:
            server: the server the job ran on.
            impact: the event's ``impact`` section.
            server_key: the server's place in the YAML (``servers[0]``), to name keys in errors; see
                :func:`greenhack.impacts.factors.server_yaml_key`.
        """
        query = hardware_query(server)
        key = factor_key(query, impact.location)
        with self._lock:
            cached = self._cache.get(key)
            try:
                version = self._live_version()
            except BoaviztaUnavailable as exc:
                if cached is None:
                    raise
                log.warning(
                    "BoaviztAPI unavailable (%s); using cached factors of BoaviztAPI %s",
                    exc,
                    cached.boavizta_version,
                )
                return cached
            if cached is not None and cached.boavizta_version == version:
                return cached
            derived = derive_factors(
                self._client,
                query,
                impact.location,
                version=version,
                server_key=server_key or f"servers[name={server.name}]",
            )
            self._cache.put(derived)
            return derived

    def impacts(
        self,
        server: ServerConfig,
        impact: ImpactSection,
        *,
        energy_j: float,
        duration_s: float,
        server_key: str | None = None,
    ) -> JobImpacts:
        """The impacts of one job (see :func:`impacts_from_factors`)."""
        _check_inputs(energy_j, duration_s)
        return impacts_from_factors(
            self.factors(server, impact, server_key=server_key), impact, energy_j, duration_s
        )

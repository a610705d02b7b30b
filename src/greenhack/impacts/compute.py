"""The impacts of one job: measured energy and duration x the server's factors.

For each BoaviztAPI criterion (GWP kgCO2e, ADPe kgSbeq, PE MJ)::

    use      = energy_j x PUE x use_per_j          (the grid's factor of impact.location, or
                                                     carbon_intensity_g_per_kwh for GWP when given)
    embodied = min(duration_s, lifetime_s) x embodied_per_s
    total    = the phases listed in impact.include; min and max likewise from the factors' bounds

and ``energy`` (kWh) = energy_j x PUE / 3.6e6, which needs no BoaviztAPI.

Two ranges are kept apart on every criterion: ``min``/``max`` is BoaviztAPI's factor range (the factors' bounds,
energy as measured: shared by every job on the server and location, so it cannot reorder them), and
``measurement_low``/``measurement_high`` is the energy's interval carried through the same formula with the
factors at their value (what differs from job to job, and what the ranking's significance rests on).

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


def _check_inputs(
    energy_j: float, duration_s: float, energy_low_j: float | None = None, energy_high_j: float | None = None
) -> None:
    if not (isinstance(energy_j, int | float) and math.isfinite(energy_j) and energy_j >= 0):
        raise ImpactsError(f"energy_j must be a finite number of joules >= 0 (got {energy_j!r})")
    if not (isinstance(duration_s, int | float) and math.isfinite(duration_s) and duration_s > 0):
        raise ImpactsError(f"duration_s must be a finite number of seconds > 0 (got {duration_s!r})")
    if (energy_low_j is None) != (energy_high_j is None):
        raise ImpactsError("energy_low_j and energy_high_j come together (the energy's interval), or not at all")
    if energy_low_j is not None and energy_high_j is not None:
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (energy_low_j, energy_high_j)):
            raise ImpactsError(f"the energy interval must be finite (got {energy_low_j!r}..{energy_high_j!r})")
        if not 0 <= energy_low_j <= energy_j <= energy_high_j:
            raise ImpactsError(
                f"the energy interval {energy_low_j!r}..{energy_high_j!r} J must hold energy_j {energy_j!r} J "
                "and start at 0 J or above"
            )


def impacts_from_factors(
    factors: ServerFactors,
    impact_section: ImpactSection,
    energy_j: float,
    duration_s: float,
    *,
    energy_low_j: float | None = None,
    energy_high_j: float | None = None,
) -> JobImpacts:
    """The impacts of a job from stored factors, without BoaviztAPI.

    Args:
        factors: the server's factors at ``impact_section.location``.
        impact_section: the event's ``impact`` section (PUE, include, carbon intensity, criterion).
        energy_j: the job's measured energy at the server, in J (before PUE).
        duration_s: the job's duration, in s.
        energy_low_j: low end of the energy's interval, J (``JobEnergy.total_energy_low_j``); with
            ``energy_high_j``, every criterion gets its ``measurement_low``/``measurement_high``.
        energy_high_j: high end of the energy's interval, J.

    Raises:
        ImpactsError: negative or non-finite inputs, an interval that does not hold the energy, or factors of
            another location.
    """
    _check_inputs(energy_j, duration_s, energy_low_j, energy_high_j)
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
        measured = _measured_range(
            use_factor.value * impact_section.pue, embodied.value if "embodied" in include else 0.0,
            "use" in include, energy_low_j, energy_high_j,
        )
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
            measurement_low=measured[0],
            measurement_high=measured[1],
        )
    energy_kwh = grid_energy_j / J_PER_KWH
    measured_kwh = _measured_range(impact_section.pue / J_PER_KWH, 0.0, True, energy_low_j, energy_high_j)
    results["energy"] = CriterionImpact(
        criterion="energy",
        unit=CRITERION_UNITS["energy"],
        use=energy_kwh,
        embodied=None,
        total=energy_kwh,
        min=None,
        max=None,
        measurement_low=measured_kwh[0],
        measurement_high=measured_kwh[1],
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
        energy_low_j=None if energy_low_j is None else float(energy_low_j),
        energy_high_j=None if energy_high_j is None else float(energy_high_j),
    )


def _measured_range(
    per_measured_j: float, fixed: float, use_counts: bool, energy_low_j: float | None, energy_high_j: float | None
) -> tuple[float | None, float | None]:
    """A total's ends when the measured energy is at the ends of its interval: ``fixed`` (the embodied part, when
    it counts) plus ``per_measured_j`` (impact per joule at the server, PUE included) times the energy, when the
    use phase counts."""
    if energy_low_j is None or energy_high_j is None:
        return None, None
    if not use_counts:
        return fixed, fixed
    return fixed + per_measured_j * energy_low_j, fixed + per_measured_j * energy_high_j


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
        energy_low_j: float | None = None,
        energy_high_j: float | None = None,
    ) -> JobImpacts:
        """The impacts of one job (see :func:`impacts_from_factors`)."""
        _check_inputs(energy_j, duration_s, energy_low_j, energy_high_j)
        return impacts_from_factors(
            self.factors(server, impact, server_key=server_key),
            impact,
            energy_j,
            duration_s,
            energy_low_j=energy_low_j,
            energy_high_j=energy_high_j,
        )

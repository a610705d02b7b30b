"""Typed values of the impacts step: the hardware asked about, the factors derived, the impacts of one job.

Units are in the names: ``use_per_j`` is impact per joule of electricity drawn from the grid (after PUE),
``embodied_per_s`` is impact per second of server time, ``lifetime_s`` is seconds. The criteria are GWP (kgCO2e),
ADPe (kgSbeq), PE (MJ) from BoaviztAPI, and ``energy`` (kWh), which needs no BoaviztAPI.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from greenhack.units import CRITERION_UNITS

__all__ = [
    "BOAVIZTA_CRITERIA",
    "CRITERIA",
    "CRITERION_UNITS",
    "J_PER_KWH",
    "BoaviztaCriterion",
    "Bound",
    "Criterion",
    "CriterionFactors",
    "CriterionImpact",
    "Equivalence",
    "HardwareQuery",
    "JobImpacts",
    "ServerFactors",
]

# 1 kWh = 3.6 MJ
J_PER_KWH = 3_600_000.0

Criterion = Literal["gwp", "adpe", "pe", "energy"]
BoaviztaCriterion = Literal["gwp", "adpe", "pe"]
CRITERIA: tuple[Criterion, ...] = ("gwp", "adpe", "pe", "energy")
BOAVIZTA_CRITERIA: tuple[BoaviztaCriterion, ...] = ("gwp", "adpe", "pe")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bound(_Frozen):
    """A value with the lower and upper bounds BoaviztAPI gives for it (all in the same unit)."""

    value: float
    min: float
    max: float

    @model_validator(mode="after")
    def _finite_and_ordered(self) -> Bound:
        for name in ("value", "min", "max"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite")
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def scaled(self, factor: float) -> Bound:
        """This bound multiplied by a non-negative factor."""
        return Bound(value=self.value * factor, min=self.min * factor, max=self.max * factor)

    @classmethod
    def exact(cls, value: float) -> Bound:
        return cls(value=value, min=value, max=value)


class HardwareQuery(_Frozen):
    """What greenhack asks BoaviztAPI about one server: its hardware as the event YAML describes it.

    ``ram_gb`` is sent as a whole number of GB (BoaviztAPI's RAM capacity is an integer).
    """

    cpu_name: str
    cpu_units: int = Field(gt=0)
    ram_gb: int = Field(gt=0)
    gpu_name: str | None = None
    gpu_units: int = Field(default=0, ge=0)
    lifetime_hours: float = Field(gt=0.0)

    @property
    def lifetime_s(self) -> float:
        return self.lifetime_hours * 3600.0


class CriterionFactors(_Frozen):
    """Linear factors of one criterion for one server at one location.

    ``use_per_j``: impact per joule drawn from the grid (the grid's factor per kWh / 3.6e6).
    ``embodied_per_s``: the server's whole-life manufacturing impact / its lifetime in seconds.
    """

    unit: str
    use_per_j: Bound
    embodied_per_s: Bound
    use_source: str = ""

    @property
    def use_per_kwh(self) -> Bound:
        return self.use_per_j.scaled(J_PER_KWH)


class ServerFactors(_Frozen):
    """Everything needed to score any job on one server at one location without asking BoaviztAPI again."""

    key: str
    boavizta_version: str
    boavizta_url: str
    fetched_at: datetime
    location: str
    hardware: HardwareQuery
    cpu_matched_name: str
    gpu_matched_name: str | None
    gwp: CriterionFactors
    adpe: CriterionFactors
    pe: CriterionFactors
    # the (pinned) server request the embodied values were read from, so anyone can ask BoaviztAPI again
    request: dict[str, Any]

    @property
    def lifetime_s(self) -> float:
        return self.hardware.lifetime_s

    def criterion(self, name: BoaviztaCriterion) -> CriterionFactors:
        factors: CriterionFactors = getattr(self, name)
        return factors


class CriterionImpact(_Frozen):
    """One criterion of one job: use + embodied, the total that counts (per ``impact.include``) and two ranges.

    ``embodied`` is None for ``energy`` (manufacturing has no electricity figure in kWh; see PE).
    ``use_factor`` is the factor applied to the job's grid energy (per J), ``embodied_factor`` per second.

    The two ranges answer different questions and are kept apart:

    * ``min``/``max``, **BoaviztAPI's factor range**: ``total`` with the factors at their low and high values and
      the energy as measured; None for ``energy`` (it needs no factor). It is the same for every job on the same
      server at the same location, so it cannot change who ranks above whom.
    * ``measurement_low``/``measurement_high``, **the measurement interval**: ``total`` with the energy at the ends
      of its interval (integration, window edges, sensor; see :mod:`greenhack.telemetry.uncertainty`) and the
      factors at their value; None when the energy came without an interval. This part differs from job to job,
      and is what significance in the ranking rests on.
    """

    criterion: Criterion
    unit: str
    use: float
    embodied: float | None
    total: float
    min: float | None
    max: float | None
    use_factor: Bound | None = None
    use_factor_source: str = ""
    embodied_factor: Bound | None = None
    measurement_low: float | None = None
    measurement_high: float | None = None


class JobImpacts(_Frozen):
    """The impacts of one job on one server, with the inputs and factors they came from.

    ``energy_low_j``/``energy_high_j`` are the measured energy's interval (at the server, before PUE) that each
    criterion's ``measurement_low``/``measurement_high`` came from; None when the energy came without one.
    """

    energy_j: float
    duration_s: float
    pue: float
    location: str
    carbon_intensity_g_per_kwh: float | None
    include: tuple[Literal["use", "embodied"], ...]
    criterion: Criterion
    gwp: CriterionImpact
    adpe: CriterionImpact
    pe: CriterionImpact
    energy: CriterionImpact
    boavizta_version: str
    factors: ServerFactors
    energy_low_j: float | None = None
    energy_high_j: float | None = None

    @property
    def grid_energy_j(self) -> float:
        """Energy drawn from the grid for the job: measured energy x PUE, in J."""
        return self.energy_j * self.pue

    @property
    def headline(self) -> CriterionImpact:
        """The criterion the event ranks on (``impact.criterion``)."""
        return self.of(self.criterion)

    def of(self, name: Criterion) -> CriterionImpact:
        impact: CriterionImpact = getattr(self, name)
        return impact

    def use_share(self, name: Criterion) -> float:
        """The share (0..1) of criterion ``name``'s total that scales with the measured energy: its use phase when
        ``include`` counts it (``energy`` is all use); what a measurement error moves."""
        impact = self.of(name)
        if impact.total <= 0 or (name != "energy" and "use" not in self.include):
            return 0.0
        return min(1.0, impact.use / impact.total)

    def all(self) -> tuple[CriterionImpact, ...]:
        return (self.gwp, self.adpe, self.pe, self.energy)


class Equivalence(_Frozen):
    """An everyday picture of an impact: ``quantity`` ``unit`` ``label`` (3.2 km by petrol car), with its source."""

    key: str
    label: str
    quantity: float
    unit: str
    basis: Literal["gwp", "energy"]
    factor: float
    factor_unit: str
    source: str

"""The one registry of the quantities a ranking expression may name: what each means, its unit, and where its
value comes from.

Both sides read it: ``check-config`` (:func:`not_provided`: a name the event cannot give a value, such as a
metric other than the event's) and the ranking (:func:`greenhack.scoring.quantities.quantity_values`: the values
of one submission). So a name that passes the check has a value for every submission that has the underlying measurement, and one that
has no value is refused before the event starts, not after every team is left unranked.

It lives below config and scoring (config checks formulas without importing scoring).

Each quantity is read from one field of :class:`~greenhack.scoring.models.RankInput`, times a unit factor:
the job's own figures (energy, duration, impacts of every criterion), the team's cumulative footprint over all
its jobs (``team_*``, what an event uses to reward less trial and error) and the event metric (under its own
name and as ``performance``). Metrics other than the event's are not computed, so they are not provided.

The ``*_per_1k`` quantities are the job's figures per 1,000 predictions (the functional unit AI Energy Score and
ML.ENERGY report): divided by the rows its predictions were scored on (public and private,
``RankInput.scored_rows``) and multiplied by 1,000 (:func:`per_thousand`), so that events whose test sets differ in
size stay comparable. The board's per-1k columns are computed by the same function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from greenhack.metrics import METRIC_SPECS

__all__ = [
    "PER_ROWS",
    "QUANTITIES",
    "REGISTRY",
    "Quantity",
    "not_provided",
    "per_thousand",
    "provided_names",
]

# the functional unit of the *_per_1k quantities: this many scored predictions
PER_ROWS = 1000


@dataclass(frozen=True)
class Quantity:
    """One name a ranking expression may use.

    Attributes:
        name: the name in formulas (``gwp_g``).
        meaning: what it is, in words, with its unit.
        unit: its unit (empty for metrics and counts).
        source: the :class:`RankInput` field its value is read from.
        factor: multiply the field's value by this (``1000`` for ``gwp_g`` from ``gwp_kgco2e``).
        metric: a performance metric, provided only when it is the event's ``performance.metric``.
        per_1k: the value is per 1,000 scored predictions (:func:`per_thousand` of the field's value).
    """

    name: str
    meaning: str
    unit: str
    source: str
    factor: float = 1.0
    metric: bool = False
    per_1k: bool = False


def per_thousand(value: float | None, rows: int | None) -> float | None:
    """``value`` per :data:`PER_ROWS` scored predictions, from a job's total over ``rows`` predictions; None when
    either is unknown or the job scored no row."""
    if value is None or rows is None or isinstance(rows, bool) or rows <= 0:
        return None
    return value * PER_ROWS / rows


def _per_1k(name: str, what: str, unit: str, source: str, factor: float = 1.0) -> Quantity:
    meaning = f"{what} of the job per 1,000 predictions (its scored rows), {unit}"
    return Quantity(name, meaning, unit, source, factor, per_1k=True)


_ENTRIES: tuple[Quantity, ...] = (
    *(Quantity(name, f"the {name} metric", "", "performance", metric=True) for name in METRIC_SPECS),
    Quantity("performance", "the event metric (whichever it is)", "", "performance"),
    Quantity("impact", "the impact in the event criterion's unit (kgCO2e, kgSbeq, MJ or kWh)", "", "impact"),
    Quantity("gwp_kgco2e", "global warming potential of the job, kgCO2e", "kgCO2e", "gwp_kgco2e"),
    Quantity("gwp_g", "global warming potential of the job, gCO2e", "gCO2e", "gwp_kgco2e", 1000.0),
    Quantity("energy_j", "energy of the job, J", "J", "energy_j"),
    Quantity("energy_wh", "energy of the job, Wh", "Wh", "energy_j", 1 / 3600.0),
    Quantity("energy_kwh", "energy of the job, kWh", "kWh", "energy_j", 1 / 3_600_000.0),
    Quantity("duration_s", "duration of the job, s", "s", "duration_s"),
    Quantity("duration_min", "duration of the job, min", "min", "duration_s", 1 / 60.0),
    Quantity("adpe_kgsbeq", "abiotic resource depletion of the job, kgSbeq", "kgSbeq", "adpe_kgsbeq"),
    Quantity("pe_mj", "primary energy of the job, MJ", "MJ", "pe_mj"),
    Quantity(
        "team_gwp_g",
        "cumulative global warming potential of all the team's jobs, gCO2e",
        "gCO2e",
        "team_gwp_kgco2e",
        1000.0,
    ),
    Quantity("team_energy_wh", "cumulative energy of all the team's jobs, Wh", "Wh", "team_energy_j", 1 / 3600.0),
    Quantity("team_jobs", "number of jobs the team ran (those the platform failed do not count)", "", "team_jobs"),
    _per_1k("impact_per_1k", "the impact in the event criterion's unit", "criterion unit", "impact"),
    _per_1k("energy_j_per_1k", "energy", "J", "energy_j"),
    _per_1k("energy_wh_per_1k", "energy", "Wh", "energy_j", 1 / 3600.0),
    _per_1k("gwp_g_per_1k", "global warming potential", "gCO2e", "gwp_kgco2e", 1000.0),
    _per_1k("adpe_kgsbeq_per_1k", "abiotic resource depletion", "kgSbeq", "adpe_kgsbeq"),
    _per_1k("pe_mj_per_1k", "primary energy", "MJ", "pe_mj"),
)

REGISTRY: Mapping[str, Quantity] = MappingProxyType({q.name: q for q in _ENTRIES})

# name → meaning, for documentation and error messages
QUANTITIES: Mapping[str, str] = MappingProxyType({q.name: q.meaning for q in _ENTRIES})


def provided_names(metric: str) -> frozenset[str]:
    """Every name an event whose ``performance.metric`` is ``metric`` gives a value for."""
    return frozenset(q.name for q in _ENTRIES if not q.metric or q.name == metric)


def not_provided(name: str, *, metric: str) -> str | None:
    """Why an event with ``metric`` has no value for ``name`` (None when it has one, or when ``name`` is not
    a quantity at all: the expression parser reports those)."""
    quantity = REGISTRY.get(name)
    if quantity is None or not quantity.metric or name == metric:
        return None
    return (
        f"{name!r} is not computed in this event: performance.metric is {metric!r} "
        f"(write {metric} or performance)"
    )

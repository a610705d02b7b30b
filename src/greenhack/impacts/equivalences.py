"""Everyday pictures of a job's footprint, for people who would rather picture than read numbers.

Each factor is written here with its source, so a picture on the board can be traced like any other number.
They are orders of magnitude, not measurements: a car, a phone or a laptop varies more than these digits.

:func:`picture_text` writes one in a size people read: metres or centimetres rather than ``1.67e-04 km``,
minutes or seconds rather than a fraction of an hour, a share of one phone charge rather than ``0.0123 charges``.
The :class:`~greenhack.impacts.models.Equivalence` itself keeps the unit its key names (``car_km`` in km).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from greenhack.errors import ImpactsError
from greenhack.impacts.models import Equivalence
from greenhack.units import format_number, format_quantity

__all__ = [
    "CAR_KGCO2E_PER_KM",
    "LAPTOP_POWER_W",
    "SMARTPHONE_CHARGE_KWH",
    "equivalences",
    "picture_text",
]

_KM_PER_MILE = 1.609344

# A typical passenger car emits about 400 g of CO2 per mile from its tailpipe (~22 miles per US gallon).
# Source: US EPA, "Greenhouse Gas Emissions from a Typical Passenger Vehicle", EPA-420-F-23-014 (June 2023).
CAR_KGCO2E_PER_KM = 0.400 / _KM_PER_MILE
_CAR_SOURCE = (
    "US EPA, Greenhouse Gas Emissions from a Typical Passenger Vehicle, EPA-420-F-23-014 (2023): "
    "about 400 gCO2 per mile (tailpipe)"
)

# Energy to charge a smartphone fully: 0.012 kWh.
# Source: US EPA, Greenhouse Gas Equivalencies Calculator - Calculations and References, "Number of smartphones
# charged" (2021 edition, citing the US Department of Energy).
SMARTPHONE_CHARGE_KWH = 0.012
_SMARTPHONE_SOURCE = (
    "US EPA, Greenhouse Gas Equivalencies Calculator - Calculations and References, smartphones charged: "
    "0.012 kWh per full charge"
)

# Average power of a laptop in use: 75 W (range 50-100 W).
# Source: BoaviztAPI 2.5.0, data/archetypes/user_terminal.csv, archetype laptop-pro, USAGE.avg_power, the same
# reference data the server impacts come from.
LAPTOP_POWER_W = 75.0
_LAPTOP_SOURCE = (
    "BoaviztAPI 2.5.0 archetype laptop-pro (data/archetypes/user_terminal.csv): 75 W average power"
)


@dataclass(frozen=True)
class _Picture:
    key: str
    label: str
    unit: str
    basis: str
    factor: float
    factor_unit: str
    source: str


_PICTURES = (
    _Picture("car_km", "by petrol car", "km", "gwp", CAR_KGCO2E_PER_KM, "kgCO2e/km", _CAR_SOURCE),
    _Picture(
        "smartphone_charges",
        "of a smartphone",
        "charges",
        "energy",
        SMARTPHONE_CHARGE_KWH,
        "kWh/charge",
        _SMARTPHONE_SOURCE,
    ),
    _Picture(
        "laptop_hours",
        "of laptop use",
        "hours",
        "energy",
        LAPTOP_POWER_W / 1000.0,
        "kWh/hour",
        _LAPTOP_SOURCE,
    ),
)


def equivalences(gwp_kgco2e: float, energy_kwh: float) -> list[Equivalence]:
    """Pictures of a footprint: km by car (from GWP), smartphone charges and laptop hours (from energy).

    Args:
        gwp_kgco2e: the job's GWP, in kgCO2e (usually the total that counts for the event).
        energy_kwh: the job's energy from the grid (after PUE), in kWh.
    """
    for name, value in (("gwp_kgco2e", gwp_kgco2e), ("energy_kwh", energy_kwh)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ImpactsError(f"{name} must be a finite number >= 0 (got {value!r})")
    amounts = {"gwp": float(gwp_kgco2e), "energy": float(energy_kwh)}
    return [
        Equivalence(
            key=p.key,
            label=p.label,
            quantity=amounts[p.basis] / p.factor,
            unit=p.unit,
            basis="gwp" if p.basis == "gwp" else "energy",
            factor=p.factor,
            factor_unit=p.factor_unit,
            source=p.source,
        )
        for p in _PICTURES
    ]


# a count of things below one reads as a share of one thing
_SHARE_OF_ONE = {"smartphone_charges": "of one smartphone charge"}


def picture_text(picture: Equivalence) -> tuple[str, str]:
    """The amount and the words of a picture, e.g. ``("16.7 cm", "by petrol car")``, ``("22 min", "of laptop
    use")``, ``("1.23 %", "of one smartphone charge")``: never in exponent notation."""
    if picture.key in _SHARE_OF_ONE and 0 < picture.quantity < 1:
        return f"{format_number(picture.quantity * 100.0, sig=3)} %", _SHARE_OF_ONE[picture.key]
    return format_quantity(picture.quantity, picture.unit, sig=3), picture.label

"""One unit per quantity for what people read: a board column, a chart axis, a CSV column, a GitLab note.

Values are stored in one unit each (kgCO2e, J, s, ...). Written one by one in whatever unit reads best, a column
mixes ``969 mgCO2e`` with ``2.59 gCO2e`` and the eye compares digits, not magnitudes. So a *scale* is picked once
for a set of values of one quantity (:func:`pick_scale`: the largest unit in which the smallest value is at least
1, so no cell reads ``0.00x``, unless the largest value would then need more than five integer digits), its unit
named once (the column header, the axis label), and every value written in it (:meth:`Scale.format`).

Numbers are written with a few significant figures and never in exponent notation (``0.000012``, not
``1.2e-05``); integer digits are never replaced by zeros (``2594``, not ``2590``).

A unit's name says its family: ``kgCO2e``/``gCO2e``/``mgCO2e``/``µgCO2e`` (global warming potential),
``kgSbeq``... (abiotic depletion), ``MJ``/``kJ``/``J`` (primary energy), ``kWh``/``Wh``/``J`` (electricity),
``km``/``m``/``cm``/``mm``, ``h``/``min``/``s``/``ms``, ``kW``/``W``/``mW``. A unit outside every family is
left as it is (values are only formatted).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CRITERION_UNITS",
    "Scale",
    "UnitFamily",
    "family_of",
    "format_number",
    "format_quantity",
    "pick_scale",
    "tick_label",
]


# the unit each impact criterion is stored and ranked in (BoaviztAPI's own units; energy in kWh)
CRITERION_UNITS: dict[str, str] = {"gwp": "kgCO2e", "adpe": "kgSbeq", "pe": "MJ", "energy": "kWh"}


@dataclass(frozen=True)
class UnitFamily:
    """Units of one quantity, largest first, each with its size in the family's reference unit.

    Attributes:
        units: ``(name, size)`` pairs, largest first (``size`` in the smallest-but-one common unit: any
            reference works, only ratios matter).
        short: the names axis ticks use (``mg`` for ``mgCO2e``), in the same order.
        suffix: what the short names leave out (``CO2e``), for the axis label of a chart whose ticks are short.
    """

    units: tuple[tuple[str, float], ...]
    short: tuple[str, ...]
    suffix: str = ""

    def size(self, unit: str) -> float:
        return dict(self.units)[unit]

    def short_name(self, unit: str) -> str:
        return self.short[[name for name, _ in self.units].index(unit)]


def _mass(suffix: str) -> UnitFamily:
    return UnitFamily(
        units=(
            (f"kg{suffix}", 1.0),
            (f"g{suffix}", 1e-3),
            (f"mg{suffix}", 1e-6),
            (f"µg{suffix}", 1e-9),
            (f"ng{suffix}", 1e-12),
        ),
        short=("kg", "g", "mg", "µg", "ng"),
        suffix=suffix,
    )


# electricity reads in Wh above a watt-hour; below, joules (a phone's charge is about 43,000 J)
_ELECTRICITY = UnitFamily(units=(("kWh", 3.6e6), ("Wh", 3600.0), ("J", 1.0)), short=("kWh", "Wh", "J"))

_FAMILIES: tuple[UnitFamily, ...] = (
    _mass("CO2e"),
    _mass("Sbeq"),
    UnitFamily(units=(("MJ", 1e6), ("kJ", 1e3), ("J", 1.0), ("mJ", 1e-3)), short=("MJ", "kJ", "J", "mJ")),
    _ELECTRICITY,
    UnitFamily(units=(("kW", 1e3), ("W", 1.0), ("mW", 1e-3)), short=("kW", "W", "mW")),
    UnitFamily(units=(("km", 1e3), ("m", 1.0), ("cm", 1e-2), ("mm", 1e-3)), short=("km", "m", "cm", "mm")),
    UnitFamily(units=(("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3)), short=("h", "min", "s", "ms")),
)

# other spellings of the same units, as they appear in names and older text
_ALIASES = {"hours": "h", "minutes": "min", "seconds": "s", "kgCO2eq": "kgCO2e", "kgSbeq.": "kgSbeq"}

# above this many integer digits in the unit the smallest value picks, a larger unit is taken
_MAX_INTEGER = 1e5


def _canonical(unit: str) -> str:
    return _ALIASES.get(unit, unit)


def family_of(unit: str) -> UnitFamily | None:
    """The family ``unit`` belongs to (J: the electricity family, which holds Wh and kWh), or None."""
    unit = _canonical(unit)
    if unit == "J":  # energies stored in J are electricity (energy_j); primary energy is stored in MJ
        return _ELECTRICITY
    for family in _FAMILIES:
        if unit in dict(family.units):
            return family
    return None


def format_number(value: float | None, *, sig: int = 3) -> str:
    """``value`` with ``sig`` significant figures, in positional notation (never ``1e-05``); integer digits are
    kept as they are (``2594``); trailing zeros after the point are dropped; an en dash when missing."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, sig - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Scale:
    """The unit a set of values is written in.

    Attributes:
        unit: the unit written (``mgCO2e``): name it once, in the header or on the axis.
        source: the unit the values are given in (``kgCO2e``).
        factor: multiply a value in ``source`` by this to get it in ``unit``.
    """

    unit: str
    source: str
    factor: float

    def __call__(self, value: float) -> float:
        """``value`` (in ``source``) in ``unit``."""
        return value * self.factor

    def number(self, value: float | None, *, sig: int = 3) -> str:
        """``value`` (in ``source``) written in ``unit``, without the unit (a table cell under its header)."""
        return format_number(None if value is None else value * self.factor, sig=sig)

    def format(self, value: float | None, *, sig: int = 3) -> str:
        """``value`` (in ``source``) written in ``unit``, with the unit (``969 mgCO2e``)."""
        text = self.number(value, sig=sig)
        return text if text == "–" else f"{text} {self.unit}"


def _identity(unit: str) -> Scale:
    return Scale(unit=unit, source=unit, factor=1.0)


def pick_scale(values: Iterable[float | None], unit: str) -> Scale:
    """The unit to write ``values`` (given in ``unit``) in: the largest unit of its family in which the smallest
    non-zero magnitude is at least 1, stepping up again while the largest would need more than five integer
    digits. Missing, zero and non-finite values are ignored; a unit outside every family is kept."""
    family = family_of(unit)
    if family is None:
        return _identity(unit)
    source = _canonical(unit)
    size = family.size(source)
    magnitudes = [
        abs(v) * size for v in values if isinstance(v, int | float) and math.isfinite(v) and v != 0
    ]
    if not magnitudes:
        return Scale(unit=source, source=unit, factor=1.0)
    low, high = min(magnitudes), max(magnitudes)
    names = [name for name, _ in family.units]
    index = next((i for i, (_, s) in enumerate(family.units) if low / s >= 1.0 - 1e-9), len(names) - 1)
    while index > 0 and high / family.units[index][1] >= _MAX_INTEGER:
        index -= 1
    chosen, chosen_size = family.units[index]
    return Scale(unit=chosen, source=unit, factor=size / chosen_size)


def format_quantity(value: float | None, unit: str, *, sig: int = 3) -> str:
    """One value on its own, in the unit that reads best for it (``12.3 gCO2e`` for 0.0123 kgCO2e)."""
    if value is None:
        return "–"
    return pick_scale([value], unit).format(value, sig=sig)


def tick_label(value: float, unit: str, *, sig: int = 3) -> str:
    """An axis tick that names its own unit in short (``10 µg`` for 1e-8 kgCO2e), for log axes whose ticks span
    several units; see :class:`UnitFamily` ``suffix`` for what the axis label must add."""
    family = family_of(unit)
    scale = pick_scale([value], unit)
    if family is None or value == 0:
        return scale.format(value, sig=sig)
    return f"{scale.number(value, sig=sig)} {family.short_name(scale.unit)}"

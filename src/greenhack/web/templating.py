"""Jinja2 filters and globals that write numbers with their units for the pages (see :mod:`greenhack.units`).

A table column or a group of cards names its unit once: ``{% set s = scale_for(rows | map(attribute="energy_j"),
"J") %}`` picks it from the values shown, ``{{ s.unit }}`` goes in the header and ``{{ s.number(v) }}`` in each
cell. ``| energy`` and ``| impact(unit)`` write a value on its own in the unit that suits it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from jinja2 import Environment

from greenhack.factsheet import answer_text
from greenhack.impacts.equivalences import picture_text
from greenhack.units import Scale, format_number, format_quantity, pick_scale
from greenhack.window_text import hardware_text, window_facts
from greenhack.wording import plural, rank_text, shown_status, why_not_ranked

__all__ = [
    "fmt_duration",
    "fmt_energy",
    "fmt_impact",
    "fmt_number",
    "fmt_time",
    "install_filters",
    "scale_for",
]


def fmt_number(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` significant figures, never in exponent notation; an en dash when missing."""
    return format_number(value, sig=digits)


def fmt_energy(energy_j: float | None) -> str:
    """An energy given in J, written in J, Wh or kWh, whichever reads best for it."""
    return format_quantity(energy_j, "J")


def fmt_impact(value: float | None, unit: str | None) -> str:
    """An impact in ``unit`` (kgCO2e, kgSbeq, MJ, kWh) written in the unit of its family that reads best."""
    if value is None or unit is None:
        return "–"
    return format_quantity(value, unit)


def scale_for(values: Iterable[float | None], unit: str | None) -> Scale:
    """The one unit a column (or a group of cards) of ``values`` given in ``unit`` is written in."""
    return pick_scale(list(values), unit or "")




def fmt_time(value: datetime | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS UTC`` (a time with another offset, as the event YAML's, is converted)."""
    if value is None:
        return "–"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_duration(duration_s: float | None) -> str:
    """Seconds as ``1h 02m 03s``, ``2m 05s`` or ``4.2 s``."""
    if duration_s is None:
        return "–"
    if duration_s < 60:
        return f"{format_number(duration_s, sig=3)} s"
    minutes, seconds = divmod(round(duration_s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def install_filters(env: Environment) -> None:
    env.filters.update(
        number=fmt_number,
        energy=fmt_energy,
        impact=fmt_impact,
        quantity=lambda value, unit: format_quantity(value, unit),
        picture=picture_text,
        factsheet_answer=answer_text,
        time=fmt_time,
        duration=fmt_duration,
        plural=plural,
        status_text=lambda status, excluded=False: shown_status(status, excluded=bool(excluded)),
        why_not_ranked=why_not_ranked,
        hardware=hardware_text,
    )
    env.globals.update(scale_for=scale_for, rank_text=rank_text, window_facts=window_facts)

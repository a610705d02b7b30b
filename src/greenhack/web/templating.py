"""Jinja2 filters that format numbers with their units for the pages."""

from __future__ import annotations

import math
from datetime import datetime

from jinja2 import Environment

__all__ = ["fmt_duration", "fmt_energy", "fmt_impact", "fmt_number", "fmt_time", "install_filters"]


def fmt_number(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` significant figures; an en dash for a missing value."""
    if value is None or not math.isfinite(value):
        return "–"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.{max(1, digits - 1)}e}"
    return f"{value:.{digits}g}"


def fmt_energy(energy_j: float | None) -> str:
    """An energy given in J, written in J, Wh or kWh, whichever reads best."""
    if energy_j is None:
        return "–"
    wh = energy_j / 3600.0
    if wh >= 1000:
        return f"{fmt_number(wh / 1000, 3)} kWh"
    if wh >= 1:
        return f"{fmt_number(wh, 3)} Wh"
    return f"{fmt_number(energy_j, 3)} J"


_SCALED = {
    "kgCO2e": ("gCO2e", "mgCO2e"),
    "kgSbeq": ("gSbeq", "mgSbeq"),
    "MJ": ("kJ", "J"),
    "kWh": ("Wh", "mWh"),
}


def fmt_impact(value: float | None, unit: str | None) -> str:
    """An impact in ``unit`` (kgCO2e, kgSbeq, MJ, kWh), scaled down by 1000s when small (g, mg; kJ; Wh)."""
    if value is None or unit is None:
        return "–"
    names = _SCALED.get(unit)
    if names and value != 0:
        if abs(value) < 1e-3:
            return f"{fmt_number(value * 1e6, 3)} {names[1]}"
        if abs(value) < 1:
            return f"{fmt_number(value * 1e3, 3)} {names[0]}"
    return f"{fmt_number(value, 3)} {unit}"


def fmt_time(value: datetime | None) -> str:
    """A UTC time as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "–"


def fmt_duration(duration_s: float | None) -> str:
    """Seconds as ``1h 02m 03s``, ``2m 05s`` or ``4.2 s``."""
    if duration_s is None:
        return "–"
    if duration_s < 60:
        return f"{duration_s:.3g} s"
    minutes, seconds = divmod(round(duration_s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def install_filters(env: Environment) -> None:
    env.filters.update(
        number=fmt_number, energy=fmt_energy, impact=fmt_impact, time=fmt_time, duration=fmt_duration
    )

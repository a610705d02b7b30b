"""The values of one submission for a ranking expression, read from the registry in :mod:`greenhack.quantities`."""

from __future__ import annotations

import math

from greenhack.quantities import REGISTRY
from greenhack.scoring.models import RankInput

__all__ = ["quantity_values"]


def quantity_values(row: RankInput, *, metric: str) -> dict[str, float]:
    """The values of one submission for a ranking expression: every registered quantity whose field is known
    (a missing measurement leaves its names out, and the expression says which one it needed), plus the
    extra named numbers the row carries in ``quantities``."""
    values = dict(row.quantities)
    for quantity in REGISTRY.values():
        if quantity.metric and quantity.name != metric:
            continue
        raw = getattr(row, quantity.source)
        if raw is None or isinstance(raw, bool) or not math.isfinite(raw):
            continue
        values[quantity.name] = float(raw) * quantity.factor
    return values

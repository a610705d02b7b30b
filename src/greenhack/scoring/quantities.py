"""The values of one submission for a ranking expression, read from the registry in :mod:`greenhack.quantities`."""

from __future__ import annotations

import math

from greenhack.quantities import REGISTRY, per_thousand
from greenhack.scoring.models import RankInput

__all__ = ["quantity_values"]


def quantity_values(row: RankInput, *, metric: str) -> dict[str, float]:
    """The values of one submission for a ranking expression: every registered quantity whose field is known
    (a missing measurement leaves its names out, and the expression says which one it needed), plus the
    extra named numbers the row carries in ``quantities``. The ``*_per_1k`` names need the row's scored rows."""
    values = dict(row.quantities)
    for quantity in REGISTRY.values():
        if quantity.metric and quantity.name != metric:
            continue
        raw = getattr(row, quantity.source)
        if raw is None or isinstance(raw, bool) or not math.isfinite(raw):
            continue
        value = float(raw) * quantity.factor
        if quantity.per_1k:
            per_1k = per_thousand(value, row.scored_rows)
            if per_1k is None:  # no scored row: the expression says which name it needed
                continue
            value = per_1k
        values[quantity.name] = value
    return values

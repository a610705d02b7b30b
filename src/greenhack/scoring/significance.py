"""What the ranking's significance test draws: R replicates of every submission's performance and energy.

With ``ranking.ties: significant`` the event's own ranking method (:mod:`greenhack.scoring.ranking`) is run again
on each replicate r, and two neighbours share a rank unless the upper one stays strictly above in enough of them.
A replicate r gives each submission:

* **performance**: its bootstrap replicate r (:mod:`greenhack.scoring.bootstrap`). Every submission's replicate r
  reads the same resampled rows of the board, so the comparison is paired; a submission without replicates keeps
  its performance.
* **energy**: ``energy × (1 + ε)``, with ε normal, of standard deviation ``energy_rel / k`` for the part of its own
  job (integration and edges) plus ``sensor_rel / k`` for its sensor, that draw shared by every job of the same
  group (server), so the sensor moves one server's jobs together (k: the normal quantile of the spread's
  confidence). The impact and the GWP move by their use share of it (``impact × (1 + share × ε)``); embodied
  impacts do not move.

Every draw is a pure function of the event's seed, the submission's id (or the group's name) and r (SplitMix64,
then Box-Muller), so a submission keeps its draws whichever other submissions exist: a board refresh never
reshuffles unrelated teams, and two runs give the same ranks.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from greenhack.scoring.models import RankInput

__all__ = ["SIGNIFICANCE_REPLICATES", "Replicates", "draw_replicates", "standard_normals"]

SIGNIFICANCE_REPLICATES = 200
"""Replicates the ranking draws (at most: fewer when the submissions' bootstrap vectors are shorter). At 0.95,
a neighbour must stay strictly above in at least 195 of them."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _key(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest(), "big")


def _splitmix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = x.copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def standard_normals(keys: Sequence[int], count: int) -> NDArray[np.float64]:
    """``count`` standard normal draws for each key, shape (count, len(keys)); draw r of a key depends on the
    key and r only (SplitMix64 of key + r·φ, two uniforms, Box-Muller)."""
    base = np.asarray(keys, dtype=np.uint64)[None, :]
    steps = np.arange(1, 2 * count + 1, dtype=np.uint64)[:, None] * _GOLDEN
    with np.errstate(over="ignore"):
        raw = _splitmix64(base + steps)
    uniform = ((raw >> np.uint64(11)).astype(np.float64) + 1.0) / 2.0**53  # in (0, 1]
    u1, u2 = uniform[0::2], uniform[1::2]
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


@dataclass(frozen=True)
class Replicates:
    """Replicate values of the submissions asked for (columns, in the order given), R rows.

    Attributes:
        performance: each submission's performance in replicate r (its point value where it has no replicates).
        energy_error: the relative error ε of each submission's measured energy in replicate r (0 without a
            measurement spread).
        uncertain: per submission, whether it has replicates or a spread at all (rows without either, made
            before intervals were, keep today's ranks against each other).
    """

    performance: NDArray[np.float64]
    energy_error: NDArray[np.float64]
    uncertain: NDArray[np.bool_]

    @property
    def count(self) -> int:
        return int(self.performance.shape[0])

    def moved(self, columns: Sequence[int], bases: Sequence[RankInput]) -> _Moved:
        """Performance, impact, energy and GWP of the submissions at ``columns`` (``bases``, aligned) in every
        replicate, shape (R, len(columns)); NaN where the submission has no such value."""
        error = self.energy_error[:, columns]

        def scaled(values: list[float | None], shares: list[float]) -> NDArray[np.float64]:
            base = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            return base[None, :] * np.maximum(0.0, 1.0 + np.asarray(shares)[None, :] * error)

        spreads = [b.measurement for b in bases]
        impact_share = [0.0 if s is None else s.impact_use_share for s in spreads]
        gwp_share = [0.0 if s is None else s.gwp_use_share for s in spreads]
        energy_share = [0.0 if s is None else 1.0 for s in spreads]
        return _Moved(
            performance=self.performance[:, columns],
            impact=scaled([b.impact for b in bases], impact_share),
            energy_j=scaled([b.energy_j for b in bases], energy_share),
            gwp_kgco2e=scaled([b.gwp_kgco2e for b in bases], gwp_share),
        )


@dataclass(frozen=True)
class _Moved:
    performance: NDArray[np.float64]
    impact: NDArray[np.float64]
    energy_j: NDArray[np.float64]
    gwp_kgco2e: NDArray[np.float64]


def draw_replicates(
    inputs: Sequence[RankInput],
    *,
    seed: str,
    count: int = SIGNIFICANCE_REPLICATES,
    moving: Sequence[bool] | None = None,
) -> Replicates:
    """The replicates of ``inputs`` (see the module docstring); R is ``count``, or less when a submission's
    bootstrap vector is shorter (every submission uses the same first R, so the pairing holds).

    ``moving`` (one flag per input) limits the energy draws to the submissions whose energy can matter (the
    others keep it): the caller's saving when thousands of eligible submissions only set a scale's extremes.
    """
    lengths = [len(row.performance_replicates) for row in inputs if row.performance_replicates is not None]
    r_count = max(1, min([count, *lengths]))
    n = len(inputs)
    performance = np.empty((r_count, n), dtype=np.float64)
    for column, row in enumerate(inputs):
        if row.performance_replicates is not None:
            performance[:, column] = np.asarray(row.performance_replicates, dtype=np.float64)[:r_count]
        else:
            performance[:, column] = np.nan if row.performance is None else row.performance
    energy_error = np.zeros((r_count, n), dtype=np.float64)
    spread_columns = [
        c for c, row in enumerate(inputs) if row.measurement is not None and (moving is None or moving[c])
    ]
    if spread_columns:
        own = standard_normals([_key(seed, "energy", str(inputs[c].submission_id)) for c in spread_columns], r_count)
        groups = sorted({str(inputs[c].measurement.group) for c in spread_columns})  # type: ignore[union-attr]
        shared = standard_normals([_key(seed, "sensor", g) for g in groups], r_count)
        group_of = {g: i for i, g in enumerate(groups)}
        for j, c in enumerate(spread_columns):
            spread = inputs[c].measurement
            assert spread is not None
            k = statistics.NormalDist().inv_cdf(0.5 + 0.5 * spread.confidence)
            energy_error[:, c] = (
                spread.energy_rel / k * own[:, j] + spread.sensor_rel / k * shared[:, group_of[spread.group]]
            )
    uncertain = np.array(
        [row.performance_replicates is not None or row.measurement is not None for row in inputs], dtype=bool
    )
    return Replicates(performance, energy_error, uncertain)

"""The boards' intervals, read from what the evaluations stored (issue 17): per submission, its measurements (the
original's and its re-measurements', :mod:`greenhack.scoring.repeats`), the parts of their energy intervals, the use
share of its impacts and its performance's bootstrap replicates; then, per board, the ranking's inputs with their
replicates and measurement spread (``ranking.ties: significant``) and the intervals each row shows.

Rows stored before intervals were have none: they are ranked as they were, and shown without an interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.config import EventConfig
from greenhack.scoring.bootstrap import ReplicateVector, percentile_interval
from greenhack.scoring.models import MeasurementSpread, RankInput
from greenhack.scoring.repeats import MeasuredRun, RepeatedMeasurement, combine_runs
from greenhack.status import Status
from greenhack.store.db import store_errors
from greenhack.store.models import Impact, Measurement, Performance, Submission
from greenhack.telemetry.uncertainty import coverage_factor

__all__ = ["BoardIntervals", "ShownIntervals", "read_intervals"]


@dataclass(frozen=True)
class ShownIntervals:
    """What one board row shows beside its figures: how many measurements stand behind it, the energy (J) and
    impact ranked (their median) with their intervals (the impact's measurement part, not BoaviztAPI's factor
    range), and the performance's bootstrap interval; None where there is none."""

    measurements: int | None = None
    energy_j: float | None = None
    energy_low_j: float | None = None
    energy_high_j: float | None = None
    impact: float | None = None
    impact_low: float | None = None
    impact_high: float | None = None
    performance_low: float | None = None
    performance_high: float | None = None


@dataclass(frozen=True)
class _Stored:
    """One submission's stored intervals."""

    repeated: RepeatedMeasurement | None
    own: MeasuredRun | None
    server: str
    impact_share: float
    gwp_share: float
    impact_low: float | None
    impact_high: float | None
    replicates: Mapping[str, ReplicateVector]


@dataclass(frozen=True)
class BoardIntervals:
    """The intervals of every submission of the event's boards, at ``confidence`` (``ranking.confidence``)."""

    confidence: float
    stored: Mapping[int, _Stored]

    def inputs(self, inputs: Sequence[RankInput], *, split: str) -> list[RankInput]:
        """The ranking's inputs with their ``split``'s replicates and their measurement spread; a re-measured
        submission with the median of its measurements."""
        out = []
        for row in inputs:
            stored = self.stored.get(int(row.submission_id))
            if stored is None:
                out.append(row)
                continue
            repeated = stored.repeated
            spread = None
            if repeated is not None and repeated.measurement_j is not None:
                spread = MeasurementSpread.from_half_widths(
                    energy_j=repeated.energy_j,
                    measurement_j=repeated.measurement_j,
                    sensor_j=repeated.sensor_j or 0.0,
                    confidence=self.confidence,
                    group=stored.server,
                    impact_use_share=stored.impact_share,
                    gwp_use_share=stored.gwp_share,
                )
            changes: dict[str, object] = {
                "performance_replicates": stored.replicates.get(split),
                "measurement": spread,
            }
            if repeated is not None and repeated.runs > 1 and stored.own is not None:
                # the board ranks the median of the measurements: the row's figures move by the median's distance
                # from the original's own (a pipeline's folded figures keep their other phase)
                changes |= {
                    "energy_j": _moved(row.energy_j, stored.own.energy_j, repeated.energy_j),
                    "impact": _moved(row.impact, stored.own.impact, repeated.impact),
                    "gwp_kgco2e": _moved(row.gwp_kgco2e, stored.own.gwp_kgco2e, repeated.gwp_kgco2e),
                }
            out.append(replace(row, **changes))  # type: ignore[arg-type]
        return out

    def shown(self, row: RankInput, *, split: str) -> ShownIntervals:
        """What the board row of ``row`` (an input as ranked) shows."""
        stored = self.stored.get(int(row.submission_id))
        if stored is None:
            return ShownIntervals()
        low = high = None
        if (vector := stored.replicates.get(split)) is not None and len(vector):
            low, high = percentile_interval(vector, self.confidence)
        repeated = stored.repeated
        if repeated is None:
            return ShownIntervals(performance_low=low, performance_high=high)
        energy_low = energy_high = impact_low = impact_high = None
        if (half := repeated.total_j) is not None:
            energy_low, energy_high = max(0.0, repeated.energy_j - half), repeated.energy_j + half
            if repeated.runs == 1:  # as the evaluation priced it
                impact_low, impact_high = stored.impact_low, stored.impact_high
            elif repeated.impact is not None and repeated.energy_j > 0:
                moved = repeated.impact * stored.impact_share * half / repeated.energy_j
                impact_low, impact_high = max(0.0, repeated.impact - moved), repeated.impact + moved
        return ShownIntervals(
            measurements=repeated.runs,
            energy_j=repeated.energy_j,
            energy_low_j=energy_low,
            energy_high_j=energy_high,
            impact=repeated.impact,
            impact_low=impact_low,
            impact_high=impact_high,
            performance_low=low,
            performance_high=high,
        )


def _moved(value: float | None, own: float | None, median: float | None) -> float | None:
    if value is None or own is None or median is None:
        return value
    return max(0.0, value + median - own)


def _use_share(use: float | None, total: float | None, *, counted: bool) -> float:
    # as JobImpacts.use_share: the share of the total that scales with the measured energy
    if use is None or total is None or total <= 0 or not counted:
        return 0.0
    return max(0.0, min(1.0, use / total))


def read_intervals(session: Session, *, event_id: int, ids: Sequence[int], config: EventConfig) -> BoardIntervals:
    """The stored intervals of the submissions ``ids`` (the boards' rows) and of their scored re-measurements."""
    confidence = config.ranking.confidence
    wanted = sorted(set(ids))
    if not wanted:
        return BoardIntervals(confidence, {})
    original = sa.func.coalesce(Submission.remeasure_of, Submission.id)
    with store_errors("reading the boards' intervals"):
        runs = session.execute(
            sa.select(
                original.label("original"),
                Submission.id,
                Submission.server,
                Submission.energy_j,
                Submission.impact_total,
                Submission.gwp_kgco2e,
                Submission.impact_measurement_low,
                Submission.impact_measurement_high,
                Measurement.energy_integration_j,
                Measurement.energy_edges_j,
                Measurement.energy_sensor_j,
                Measurement.energy_confidence,
            )
            .outerjoin(Measurement, Measurement.submission_id == Submission.id)
            .where(
                Submission.event_id == event_id,
                sa.or_(
                    Submission.id.in_(wanted),
                    sa.and_(Submission.remeasure_of.in_(wanted), Submission.status == Status.SCORED),
                ),
            )
            .order_by(Submission.id)
        ).all()
        criteria = {config.impact.criterion, "gwp"}
        impacts = session.execute(
            sa.select(Impact.submission_id, Impact.criterion, Impact.use, Impact.total).where(
                Impact.submission_id.in_(wanted), Impact.criterion.in_(criteria)
            )
        ).all()
        replicates = session.execute(
            sa.select(Performance.submission_id, Performance.split, Performance.replicates).where(
                Performance.submission_id.in_(wanted), Performance.replicates.is_not(None)
            )
        ).all()
    uses_energy = "use" in config.impact.include
    shares: dict[tuple[int, str], float] = {
        (r.submission_id, r.criterion): _use_share(r.use, r.total, counted=uses_energy or r.criterion == "energy")
        for r in impacts
    }
    vectors: dict[int, dict[str, ReplicateVector]] = defaultdict(dict)
    for r in replicates:
        vectors[r.submission_id][r.split] = ReplicateVector.from_bytes(r.replicates)
    measured: dict[int, list[MeasuredRun]] = defaultdict(list)
    own: dict[int, Any] = {}
    own_run: dict[int, MeasuredRun] = {}
    for r in runs:
        if r.id == r.original:
            own[r.original] = r
        if r.energy_j is None:
            continue
        has_parts = r.energy_integration_j is not None and r.energy_confidence is not None
        scale = _rescale(r.energy_confidence, confidence) if has_parts else 1.0
        run = MeasuredRun(
            energy_j=r.energy_j,
            impact=r.impact_total,
            gwp_kgco2e=r.gwp_kgco2e,
            measurement_j=(
                scale * math.hypot(r.energy_integration_j, r.energy_edges_j or 0.0) if has_parts else None
            ),
            sensor_j=scale * r.energy_sensor_j if has_parts and r.energy_sensor_j is not None else None,
        )
        measured[r.original].append(run)
        if r.id == r.original:
            own_run[r.original] = run
    stored: dict[int, _Stored] = {}
    for sid in wanted:
        row = own.get(sid)
        if row is None:
            continue
        repeated = combine_runs(measured[sid], confidence=confidence) if measured.get(sid) else None
        stored[sid] = _Stored(
            repeated=repeated,
            own=own_run.get(sid),
            server=str(row.server or ""),
            impact_share=shares.get((sid, config.impact.criterion), 0.0),
            gwp_share=shares.get((sid, "gwp"), 0.0),
            impact_low=row.impact_measurement_low,
            impact_high=row.impact_measurement_high,
            replicates=vectors.get(sid, {}),
        )
    return BoardIntervals(confidence, stored)


def _rescale(stored_confidence: float, confidence: float) -> float:
    """A stored half-width at ``stored_confidence`` as one at ``confidence`` (normal quantiles)."""
    if stored_confidence == confidence:
        return 1.0
    return coverage_factor(confidence) / coverage_factor(stored_confidence)

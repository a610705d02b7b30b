"""Phases of a submission pipeline (train, predict) and the deployment footprint they project.

A pipeline may run two measured jobs: ``<name>-train`` (fits a model, writes no predictions) and
``<name>-predict`` (writes the predictions). Both are measured; the board ranks the pipeline once, on its predict
submission, with an impact that is either the raw sum (train + predict) or, with ``impact.lifecycle.inferences: N``
in the YAML, the projected footprint of deploying the model::

    projected = train + N x (predict / predicted rows)

in the event criterion's unit (the same formula gives the projected energy in J). The phase of a job comes from
its name (:func:`phase_of`); a stored train submission is recognised as the measured, ``scored`` submission of a
pipeline that has no performance (the evaluation gives one to every scored predict or single job): the store
reads them (:mod:`greenhack.store.pipeline_stages`), this module folds them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from greenhack.config import EventConfig
from greenhack.errors import ScoringError
from greenhack.scoring.models import RankInput

__all__ = [
    "LifecycleProjection",
    "Phase",
    "PhaseFootprint",
    "fold_phases",
    "phase_of",
    "project_lifecycle",
]

Phase = Literal["train", "predict", "single"]

_TRAIN = re.compile(r"(?:^|[-_:/ .])train(?:ing)?$")
_PREDICT = re.compile(r"(?:^|[-_:/ .])(?:predict|inference)$")


def phase_of(job_name: str) -> Phase:
    """``submission-train`` / ``train`` → train; ``submission-predict`` / ``predict`` → predict; else single."""
    name = job_name.strip().lower()
    if _TRAIN.search(name):
        return "train"
    if _PREDICT.search(name):
        return "predict"
    return "single"


@dataclass(frozen=True)
class PhaseFootprint:
    """One measured job of a pipeline.

    Attributes:
        submission_id: its row.
        job_id: its GitLab job.
        phase: train, predict or single.
        energy_j: measured energy, J (None while unmeasured).
        impact: impact in the event criterion's unit (None while unmeasured).
        gwp_kgco2e: global warming potential, kgCO2e.
        duration_s: the job's duration, s.
        rows: rows it predicted (public + private), None for a train job.
    """

    submission_id: int
    job_id: int
    phase: Phase
    energy_j: float | None
    impact: float | None
    gwp_kgco2e: float | None
    duration_s: float | None
    rows: int | None


@dataclass(frozen=True)
class LifecycleProjection:
    """The footprint the board ranks a two-phase pipeline by.

    Attributes:
        raw_impact / raw_energy_j / raw_gwp_kgco2e: train + predict as measured.
        projected_*: train + inferences x predict per row; None without ``impact.lifecycle``.
        formula: how the ranked figure was computed, in words and numbers.
    """

    train: PhaseFootprint | None
    predict: PhaseFootprint
    inferences: int | None
    raw_impact: float
    raw_energy_j: float
    raw_gwp_kgco2e: float | None
    projected_impact: float | None
    projected_energy_j: float | None
    projected_gwp_kgco2e: float | None
    formula: str

    @property
    def ranked_impact(self) -> float:
        return self.projected_impact if self.projected_impact is not None else self.raw_impact

    @property
    def ranked_energy_j(self) -> float:
        return self.projected_energy_j if self.projected_energy_j is not None else self.raw_energy_j

    @property
    def ranked_gwp_kgco2e(self) -> float | None:
        return self.projected_gwp_kgco2e if self.projected_gwp_kgco2e is not None else self.raw_gwp_kgco2e


def _need(value: float | None, what: str, job_id: int) -> float:
    if value is None or not math.isfinite(value) or value < 0:
        raise ScoringError(f"job {job_id}: {what} is not measured (got {value!r})")
    return value


def project_lifecycle(
    train: PhaseFootprint | None, predict: PhaseFootprint, *, inferences: int | None, unit: str
) -> LifecycleProjection:
    """Raw sum and, with ``inferences``, the projected deployment footprint of a pipeline.

    Raises:
        ScoringError: a phase is not measured, or the predict job predicted no row.
    """
    p_impact = _need(predict.impact, "impact", predict.job_id)
    p_energy = _need(predict.energy_j, "energy", predict.job_id)
    t_impact = _need(train.impact, "impact", train.job_id) if train else 0.0
    t_energy = _need(train.energy_j, "energy", train.job_id) if train else 0.0
    gwps = [predict.gwp_kgco2e] + ([train.gwp_kgco2e] if train else [])
    raw_gwp = math.fsum(g for g in gwps if g is not None) if all(g is not None for g in gwps) else None
    raw_impact, raw_energy = t_impact + p_impact, t_energy + p_energy
    if inferences is None:
        formula = (
            f"train {t_impact:.4g} + predict {p_impact:.4g} = {raw_impact:.4g} {unit}"
            if train
            else f"predict {p_impact:.4g} {unit}"
        )
        return LifecycleProjection(
            train, predict, None, raw_impact, raw_energy, raw_gwp, None, None, None, formula
        )
    if not predict.rows:
        raise ScoringError(f"job {predict.job_id}: no predicted rows, so no per-inference footprint")
    per_row = p_impact / predict.rows
    projected = t_impact + inferences * per_row
    projected_energy = t_energy + inferences * p_energy / predict.rows
    projected_gwp = None
    if raw_gwp is not None and predict.gwp_kgco2e is not None:
        train_gwp = train.gwp_kgco2e if train is not None and train.gwp_kgco2e is not None else 0.0
        projected_gwp = train_gwp + inferences * predict.gwp_kgco2e / predict.rows
    formula = (
        f"train {t_impact:.4g} + {inferences:,} inferences x predict {p_impact:.4g} / {predict.rows:,} rows "
        f"= {projected:.4g} {unit}"
    )
    return LifecycleProjection(
        train,
        predict,
        inferences,
        raw_impact,
        raw_energy,
        raw_gwp,
        projected,
        projected_energy,
        projected_gwp,
        formula,
    )


def fold_phases(
    inputs: Sequence[RankInput],
    *,
    pipelines: Mapping[int | str, int],
    phases: Mapping[int, list[PhaseFootprint]],
    config: EventConfig,
) -> list[RankInput]:
    """Rank inputs with each two-phase pipeline counted once: train rows leave the board; the predict row ranks
    with the pipeline's raw or projected impact (``impact.lifecycle``). Single-job pipelines are unchanged unless
    the YAML asks for a projection (then their job is read as the predict phase with no training).

    Args:
        inputs: the board's inputs (from ``greenhack.store.boards.board_inputs``).
        pipelines: submission id → GitLab pipeline id.
        phases: pipeline id → its measured jobs (:func:`greenhack.store.pipeline_stages.pipeline_phases`).
        config: the event (``impact.lifecycle``, the criterion's unit).
    """
    lifecycle = config.impact.lifecycle
    out: list[RankInput] = []
    for item in inputs:
        pipeline = pipelines.get(item.submission_id)
        jobs = phases.get(pipeline, []) if pipeline is not None else []
        mine = next((j for j in jobs if j.submission_id == item.submission_id), None)
        if mine is not None and mine.phase == "train":
            continue  # counted in its predict row
        train = next((j for j in jobs if j.phase == "train"), None)
        if mine is None or (train is None and lifecycle is None) or item.excluded is not None:
            out.append(item)
            continue
        try:
            projection = project_lifecycle(
                train, mine, inferences=lifecycle.inferences if lifecycle else None, unit=config.impact.unit
            )
        except ScoringError as exc:
            out.append(replace(item, excluded=f"lifecycle: {exc}"))
            continue
        out.append(
            replace(
                item,
                impact=projection.ranked_impact,
                energy_j=projection.ranked_energy_j,
                gwp_kgco2e=projection.ranked_gwp_kgco2e,
                duration_s=(mine.duration_s or 0.0) + ((train.duration_s or 0.0) if train else 0.0),
            )
        )
    return out

"""The train/predict phases of stored pipelines, read for the boards and the teams' reports.

A stored train submission is the measured, ``scored`` submission of a pipeline that has no performance (the
evaluation gives one to every scored predict or single job); :mod:`greenhack.scoring.pipeline_stages` folds what is read
here into the ranking.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.config import EventConfig
from greenhack.scoring.models import RankInput
from greenhack.scoring.pipeline_stages import Phase, PhaseFootprint, fold_phases
from greenhack.status import RANKABLE_STATUSES, Status
from greenhack.store.db import store_errors
from greenhack.store.models import Performance, Submission

__all__ = ["phase_rank_inputs", "pipeline_phases"]


def pipeline_phases(
    session: Session, *, event_id: int, pipeline_ids: Sequence[int]
) -> dict[int, list[PhaseFootprint]]:
    """Measured jobs of the given pipelines, by pipeline id (train: scored without performance)."""
    if not pipeline_ids:
        return {}
    rows_sum = (
        sa.select(Performance.submission_id, sa.func.sum(Performance.rows).label("rows"))
        .group_by(Performance.submission_id)
        .subquery()
    )
    with store_errors("reading the phases of pipelines"):
        rows = session.execute(
            sa.select(
                Submission.id,
                Submission.gitlab_job_id,
                Submission.gitlab_pipeline_id,
                Submission.status,
                Submission.performance_public,
                Submission.energy_j,
                Submission.impact_total,
                Submission.gwp_kgco2e,
                Submission.duration_s,
                rows_sum.c.rows,
            )
            .outerjoin(rows_sum, rows_sum.c.submission_id == Submission.id)
            .where(
                Submission.event_id == event_id,
                Submission.gitlab_pipeline_id.in_(list(pipeline_ids)),
                Submission.status.in_(RANKABLE_STATUSES),
                Submission.remeasure_of.is_(None),  # a re-measurement of a job is no phase of its pipeline
            )
            .order_by(Submission.gitlab_job_id)
        ).all()
    out: dict[int, list[PhaseFootprint]] = {}
    for r in rows:
        phase: Phase = "train" if r.status == Status.SCORED and r.performance_public is None else "predict"
        out.setdefault(int(r.gitlab_pipeline_id), []).append(
            PhaseFootprint(
                submission_id=r.id,
                job_id=int(r.gitlab_job_id),
                phase=phase,
                energy_j=r.energy_j,
                impact=r.impact_total,
                gwp_kgco2e=r.gwp_kgco2e,
                duration_s=r.duration_s,
                rows=int(r.rows) if r.rows is not None else None,
            )
        )
    return out


def phase_rank_inputs(
    session: Session, *, event_id: int, inputs: Sequence[RankInput], config: EventConfig
) -> list[RankInput]:
    """:func:`fold_phases` with the pipelines and phases read from the store (call it on ``board_inputs``)."""
    ids = [int(i.submission_id) for i in inputs]
    if not ids:
        return []
    with store_errors("reading the pipelines of submissions"):
        pairs = session.execute(
            sa.select(Submission.id, Submission.gitlab_pipeline_id).where(Submission.id.in_(ids))
        ).all()
    pipelines: dict[int | str, int] = {p.id: int(p.gitlab_pipeline_id) for p in pairs if p.gitlab_pipeline_id}
    phases = pipeline_phases(session, event_id=event_id, pipeline_ids=sorted(set(pipelines.values())))
    return fold_phases(inputs, pipelines=pipelines, phases=phases, config=config)

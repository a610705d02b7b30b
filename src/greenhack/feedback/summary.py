"""Read one submission from the store into the :class:`~greenhack.feedback.gitlab_report.SubmissionReport` a
team is shown in GitLab.

Only what the public board may show: the public split's metric, and the rank on the board the public sees now
(live; the frozen board after the freeze, where a later submission has no rank yet; the final board once the
event has closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from greenhack.competition import event_phases, phase_at
from greenhack.config import EventConfig
from greenhack.errors import NotFoundError, ScoringError
from greenhack.factsheet import factsheet_reason
from greenhack.feedback.accounts import team_account
from greenhack.feedback.gitlab_report import PhaseLine, SubmissionReport
from greenhack.scoring.pipeline_stages import project_lifecycle
from greenhack.store.db import store_errors
from greenhack.store.freeze import freeze_state
from greenhack.store.models import Event, Factsheet, Impact, Measurement, Score, Submission, Team
from greenhack.store.pipeline_stages import pipeline_phases

__all__ = ["load_report", "public_board", "submission_page_url"]


def submission_page_url(public_url: str, submission_id: int) -> str:
    return f"{public_url.rstrip('/')}/submissions/{submission_id}"


def public_board(
    config: EventConfig, event: Event, now: datetime, *, phase: str | None = None
) -> tuple[str, str | None]:
    """The board the public sees now of ``phase`` (the submission's; None: the phase a visitor lands on), and
    the note for a submission absent from it."""
    state = freeze_state(config, now=now, override=event.frozen_override, frozen_at=event.frozen_at, phase=phase)
    if state.closed:
        return "final", None
    if state.frozen:
        return "frozen", "the public board is frozen; ranks of later submissions show when the event closes"
    return "live", None


def load_report(
    session: Session,
    *,
    config: EventConfig,
    submission_id: int,
    public_url: str,
    now: datetime,
    problems: Sequence[str] = (),
) -> SubmissionReport:
    """The report of a stored submission.

    Raises:
        NotFoundError: no such submission, or GitLab's commit of it is not known yet.
        StoreError: the database refused.
    """
    with store_errors(f"reading submission {submission_id} for GitLab"):
        sub = session.get(Submission, submission_id)
        if sub is None:
            raise NotFoundError(f"submission {submission_id} does not exist")
        if not sub.commit_sha:
            raise NotFoundError(f"submission {submission_id}: its commit is not known yet")
        team = session.get(Team, sub.team_id)
        event = session.get(Event, sub.event_id)
        measurement = session.get(Measurement, submission_id)
        factsheet = session.get(Factsheet, submission_id)
        gwp = session.execute(
            sa.select(Impact).where(Impact.submission_id == submission_id, Impact.criterion == "gwp")
        ).scalar_one_or_none()
        # the boards of the submission's phase (by GitLab's created_at), ranked among its phase and track's
        in_phase = phase_at(event_phases(config), sub.created_at).phase
        board, absent_note = (
            public_board(config, event, now, phase=in_phase.name if in_phase is not None else None)
            if event is not None
            else ("live", None)
        )
        # a re-measure is ranked in its original's row (the median of their measurements): that row's rank
        score = session.get(Score, (sub.remeasure_of or submission_id, board))
        ranked = session.execute(
            sa.select(sa.func.count()).where(
                Score.event_id == sub.event_id,
                Score.board == board,
                Score.phase == (score.phase if score is not None else ""),
                Score.track == (score.track if score is not None else ""),
                Score.rank.is_not(None),
            )
        ).scalar_one()
    rank, note = (score.rank, score.note) if score is not None else (None, absent_note)
    if sub.status != "scored":
        rank, note = None, None
    name = team.name if team is not None else f"project-{sub.gitlab_project_id}"
    account = team_account(session, config=config, team=team, team_name=name, now=now)
    total = account.quota("submissions_total")
    baseline = team is not None and team.baseline  # the organisers': no quota nor budget to report
    phases: tuple[PhaseLine, ...] = ()
    lifecycle_text = None
    if sub.gitlab_pipeline_id is not None:
        jobs = pipeline_phases(
            session, event_id=sub.event_id, pipeline_ids=[int(sub.gitlab_pipeline_id)]
        ).get(int(sub.gitlab_pipeline_id), [])
        if len(jobs) > 1:
            phases = tuple(
                PhaseLine(
                    j.phase,
                    j.job_id,
                    j.energy_j,
                    j.gwp_kgco2e * 1000 if j.gwp_kgco2e is not None else None,
                    j.duration_s,
                )
                for j in jobs
            )
        train = next((j for j in jobs if j.phase == "train"), None)
        mine = next((j for j in jobs if j.submission_id == submission_id), None)
        lifecycle = config.impact.lifecycle
        if mine is not None and mine.phase == "predict" and (train is not None or lifecycle is not None):
            try:
                lifecycle_text = project_lifecycle(
                    train,
                    mine,
                    inferences=lifecycle.inferences if lifecycle else None,
                    unit=config.impact.unit,
                ).formula
            except ScoringError as exc:
                lifecycle_text = f"not computed: {exc}"
    return SubmissionReport(
        submission_id=sub.id,
        project_id=int(sub.gitlab_project_id),
        sha=sub.commit_sha,
        ref=sub.ref,
        pipeline_id=int(sub.gitlab_pipeline_id) if sub.gitlab_pipeline_id is not None else None,
        job_id=int(sub.gitlab_job_id),
        job_url=sub.job_url,
        team=name,
        status=sub.status if sub.status not in ("queued", "measuring") else "measuring",
        reason=sub.reason,
        problems=tuple(problems),
        metric=config.performance.metric,
        performance=sub.performance_public,
        energy_j=sub.energy_j,
        cpu_energy_j=measurement.cpu_energy_j if measurement is not None else None,
        gpu_energy_j=measurement.gpu_energy_j if measurement is not None else None,
        duration_s=sub.duration_s,
        gwp_g=gwp.total * 1000 if gwp is not None else None,
        gwp_use_g=gwp.use * 1000 if gwp is not None else None,
        gwp_embodied_g=gwp.embodied * 1000 if gwp is not None and gwp.embodied is not None else None,
        impact_total=sub.impact_total,
        impact_unit=sub.impact_unit,
        criterion=config.impact.criterion,
        measurement_valid=measurement.valid if measurement is not None else None,
        rank=rank,
        ranked=int(ranked) if ranked else None,
        rank_note=note,
        team_gwp_g=account.gwp_g,
        budget_g=None if baseline else account.budget_g,
        submissions_left_today=None if baseline else account.submissions_left_today,
        submissions_left_total=total.left if total is not None and not baseline else None,
        factsheet_reason=(
            factsheet_reason(file=factsheet.file, present=factsheet.present, problems=factsheet.problems)
            if factsheet is not None
            else None
        ),
        factsheet_problems=tuple(factsheet.problems) if factsheet is not None else (),
        phases=phases,
        lifecycle=lifecycle_text,
        page_url=submission_page_url(public_url, sub.id),
        updated_at=now,
    )

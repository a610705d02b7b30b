"""What a visitor may see of a submission, and a team's running account (budget, submissions left today).

Until the event closes, private-row performance and final-board scores are admins' only; while the board is
frozen, the performance of submissions made after the cut is hidden too (the frozen board must not leak).

Some fields are the platform's internals and only admins see them: ``last_error`` (the worker's last retry
reason), the GitLab job URL (team projects are private; a visitor could not open it and learns the project's
path), and reasons that may carry the predictions' problems (which can name truth labels: "label 'x' never seen
in the truth") or a platform error. Teams read their own problems in their commit comment in GitLab, which only
their project's members see. A visitor gets a public reason instead: what happened, not the details. Status,
window, timeline, energy split, impacts and the formula stay public: they are the platform's transparency.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenhack.feedback import accounts
from greenhack.status import Reason
from greenhack.store.disclosure import public_reason
from greenhack.store.models import Team
from greenhack.store.views import SubmissionDetail, SubmissionSummary, TeamDetail
from greenhack.web.context import AppContext
from greenhack.web.visibility import FreezeState

__all__ = [
    "TeamAccountView",
    "redact_detail",
    "redact_submission",
    "redact_team",
    "team_account",
]


def _after_cut(created_at: datetime, state: FreezeState) -> bool:
    return state.frozen and not state.closed and state.cut is not None and created_at > state.cut


def redact_submission(row: SubmissionSummary, *, state: FreezeState, admin: bool) -> SubmissionSummary:
    """The row as this visitor may see it (admins: all of it)."""
    if admin:
        return row
    reason = Reason.stored(code=row.reason_code, text=row.reason)
    update: dict[str, object] = {"job_url": None, "reason": public_reason(row.status, reason)}
    if _after_cut(row.created_at, state):
        update["performance_public"] = None
    return row.model_copy(update=update)


def redact_detail(detail: SubmissionDetail, *, state: FreezeState, admin: bool) -> SubmissionDetail:
    """The detail as this visitor may see it."""
    if admin:
        return detail
    hidden_boards = set() if state.closed else {"final"}
    hidden_splits = set() if state.closed else {"private"}
    if _after_cut(detail.submission.created_at, state):
        hidden_boards |= {"live", "frozen"}
        hidden_splits |= {"public"}
    return detail.model_copy(
        update={
            "last_error": None,
            "submission": redact_submission(detail.submission, state=state, admin=admin),
            "performances": [p for p in detail.performances if p.split not in hidden_splits],
            "scores": [s for s in detail.scores if s.board not in hidden_boards],
        }
    )


def redact_team(detail: TeamDetail, *, state: FreezeState, admin: bool) -> TeamDetail:
    """The team as this visitor may see it: each of its submissions redacted as in the submission list."""
    if admin:
        return detail
    return detail.model_copy(
        update={"submissions": [redact_submission(s, state=state, admin=admin) for s in detail.submissions]}
    )


class TeamAccountView(BaseModel):
    """A team's carbon budget (gCO2e) and daily submissions; ``budget_*`` are None when the event sets none."""

    model_config = ConfigDict(frozen=True)

    gwp_g: float
    energy_wh: float
    budget_g: float | None
    budget_left_g: float | None
    budget_used_fraction: float | None
    over_budget: bool
    submissions_per_day: int
    submissions_today: int
    submissions_left_today: int
    day_starts_at: datetime
    # limits.submissions_total: the event's total, used and left (None when the event sets none)
    submissions_limit_total: int | None = None
    submissions_total: int | None = None
    submissions_left_total: int | None = None
    # what the total counts over: "the event", or the open phase ("phase 'final'")
    submissions_total_period: str = "the event"
    # submissions whose evaluation is not final, and limits.in_flight (None when the event sets none)
    evaluating: int = 0
    in_flight_limit: int | None = None


def team_account(*, context: AppContext, session: Session, detail: TeamDetail) -> TeamAccountView:
    """The team's budget gauge and submissions left today: the account the budget check refuses jobs on
    (:func:`greenhack.feedback.accounts.team_account`, a train+predict pipeline counted once)."""
    limits, _ = accounts.limits_at(context.config, context.clock())  # the open phase's limits
    account = accounts.team_account(
        session,
        config=context.config,
        team=session.get(Team, detail.team.id),
        team_name=detail.team.name,
        now=context.clock(),
    )
    budget = account.budget_g
    total = account.quota("submissions_total")
    return TeamAccountView(
        gwp_g=account.gwp_g,
        energy_wh=account.energy_wh,
        budget_g=budget,
        budget_left_g=account.budget_left_g,
        budget_used_fraction=account.gwp_g / budget if budget else None,
        over_budget=account.over_budget,
        submissions_per_day=limits.submissions_per_day,
        submissions_today=account.submissions_today,
        submissions_left_today=account.submissions_left_today,
        day_starts_at=account.day_starts_at,
        submissions_limit_total=total.rule.limit if total is not None else None,
        submissions_total=total.used if total is not None else None,
        submissions_left_total=total.left if total is not None else None,
        submissions_total_period=total.rule.period.name if total is not None else "the event",
        evaluating=account.in_flight.evaluating,
        in_flight_limit=account.in_flight.limit,
    )
